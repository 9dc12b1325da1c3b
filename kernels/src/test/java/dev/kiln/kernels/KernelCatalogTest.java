package dev.kiln.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KernelCatalogTest {

    private final KernelCatalog catalog = KernelCatalog.standard();

    @Test
    void namesAreUniqueAndPrefixed() {
        Set<String> seen = new HashSet<>();
        for (KernelSpec s : catalog.all()) {
            assertTrue(seen.add(s.name()), s.name());
            assertTrue(s.name().startsWith("kiln_"), s.name());
        }
        assertEquals(catalog.size(), seen.size());
    }

    @Test
    void everySpiOpHasItsFloatKernels() {
        // the op lists of dev.kiln.spi.UnaryOp / BinaryOp / ReduceOp, by kernelName()
        List<String> unary = List.of("neg", "abs", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
                "gelu", "silu", "sign", "floor", "ceil", "round", "reciprocal", "square", "log1p", "expm1", "erf",
                "logical_not", "clamp", "leaky_relu", "elu");
        List<String> binary = List.of("add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder", "eq", "ne",
                "lt", "le", "gt", "ge", "logical_and", "logical_or");
        List<String> reduce = List.of("sum", "prod", "max", "min", "argmax", "argmin", "all", "any");
        for (KernelDType t : List.of(KernelDType.F32, KernelDType.F64)) {
            unary.forEach(op -> assertTrue(catalog.contains(KernelCatalog.unary(op, t)), op + " " + t));
            binary.forEach(op -> assertTrue(catalog.contains(KernelCatalog.binary(op, t)), op + " " + t));
            reduce.forEach(op -> assertTrue(catalog.contains(KernelCatalog.reduce(op, t)), op + " " + t));
            assertTrue(catalog.contains(KernelCatalog.softmax(true, t)));
            assertTrue(catalog.contains(KernelCatalog.crossEntropyBackward(t)));
        }
        binary.forEach(op -> assertTrue(catalog.contains(KernelCatalog.binary(op, KernelDType.I64)), op));
        assertTrue(catalog.contains(KernelCatalog.binary("eq", KernelDType.BOOL)));
        assertTrue(catalog.contains(KernelCatalog.unary("LEAKY_RELU", KernelDType.F32)), "SPI enum names work too");
    }

    @Test
    void castsCoverEveryPairAndStridedCopy() {
        for (KernelDType a : KernelDType.values()) {
            for (KernelDType b : KernelDType.values()) {
                assertEquals(KernelCatalog.CAST, catalog.require(KernelCatalog.cast(a, b)).paramKinds());
            }
            assertEquals("pGl", catalog.require(KernelCatalog.fill(a)).paramKinds());
            assertEquals("ppppG", catalog.require(KernelCatalog.where(a)).paramKinds());
        }
    }

    @Test
    void floatOnlyKernelsDoNotExistForIntegers() {
        assertFalse(catalog.contains(KernelCatalog.unary("exp", KernelDType.I64)));
        assertFalse(catalog.contains(KernelCatalog.reduce("mean", KernelDType.I64)));
        assertFalse(catalog.contains(KernelCatalog.scatterAdd(KernelDType.BOOL)));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> catalog.require("kiln_unary_exp_i64"));
        assertTrue(e.getMessage().contains("kiln_unary_exp_i64"), e.getMessage());
    }

    @Test
    void signaturesDescribeTheParameters() {
        KernelSpec adam = catalog.require(KernelCatalog.adamStep(KernelDType.F32));
        assertEquals(14, adam.parameterCount());
        assertEquals(ParamKind.POINTER, adam.parameters().get(0));
        assertEquals(ParamKind.INT64, adam.parameters().get(4));
        assertEquals(ParamKind.INT32, adam.parameters().get(13));
        assertEquals(List.of(ParamKind.POINTER, ParamKind.POINTER, ParamKind.GEOMETRY, ParamKind.FLOAT64,
                ParamKind.FLOAT64), catalog.require("kiln_unary_clamp_i64").parameters());
        assertEquals(252, catalog.size());
    }

    @Test
    void dtypesFollowCoreNames() {
        assertEquals(KernelDType.F32, KernelDType.forName("FLOAT32"));
        assertEquals(KernelDType.BF16, KernelDType.forName("bfloat16"));
        assertEquals(KernelDType.I64, KernelDType.forName("I64"));
        assertThrows(IllegalArgumentException.class, () -> KernelDType.forName("INT8"));
    }
}

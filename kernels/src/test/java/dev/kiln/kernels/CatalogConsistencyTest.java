package dev.kiln.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The build check: every kernel of the Java catalog exists in the emulator's registry and in the
 * PTX that nvcc built, with the same parameter list, and neither has kernels the catalog lacks.
 */
class CatalogConsistencyTest {

    private static final KernelCatalog CATALOG = KernelCatalog.standard();

    @Test
    void emulatorRegistryMatchesTheCatalog() {
        Assumptions.assumeTrue(EmulatedDevice.isAvailable(),
                () -> "skipped: " + EmulatedDevice.unavailableReason());
        Map<String, String> registry = new TreeMap<>();
        for (KernelSpec s : EmulatedDevice.registeredKernels()) {
            registry.put(s.name(), s.paramKinds());
        }
        List<String> problems = new ArrayList<>();
        for (KernelSpec s : CATALOG.all()) {
            String kinds = registry.remove(s.name());
            if (kinds == null) {
                problems.add(s.name() + " is not in the emulator");
            } else if (!kinds.equals(s.paramKinds())) {
                problems.add(s.name() + ": catalog (" + s.paramKinds() + "), emulator (" + kinds + ")");
            }
        }
        registry.forEach((name, kinds) -> problems.add(name + " (" + kinds + ") is not in the catalog"));
        assertEquals(List.of(), problems);
    }

    @Test
    void ptxMatchesTheCatalog() {
        Optional<String> ptx = KernelSources.ptx();
        boolean expected = Boolean.getBoolean("kiln.kernels.nvcc.expected")
                && !Boolean.getBoolean("kiln.kernels.native.skip");
        if (ptx.isEmpty()) {
            if (expected) {
                fail("nvcc is installed but the build produced no " + KernelSources.PTX);
            }
            Assumptions.abort("skipped: no PTX in this build (nvcc was not found at /usr/local/cuda/bin/nvcc)");
        }
        PtxInfo info = PtxInfo.parse(ptx.get());
        assertEquals("sm_75", info.target().split(",")[0].trim());
        Map<String, List<String>> entries = new TreeMap<>(info.entries());
        List<String> problems = new ArrayList<>();
        for (KernelSpec s : CATALOG.all()) {
            List<String> params = entries.remove(s.name());
            if (params == null) {
                problems.add(s.name() + " is not in the PTX");
            } else if (!params.equals(PtxInfo.ptxTypes(s))) {
                problems.add(s.name() + ": catalog " + PtxInfo.ptxTypes(s) + ", PTX " + params);
            }
        }
        entries.forEach((name, params) -> problems.add(name + " " + params + " is not in the catalog"));
        assertEquals(List.of(), problems);
        assertTrue(info.minimumDriverVersion() > 0, "unknown PTX ISA " + info.isaMajor() + "." + info.isaMinor());
    }

    @Test
    void fatbinCarriesEveryArchitecture() {
        Optional<byte[]> fatbin = KernelSources.fatbin();
        Assumptions.assumeTrue(fatbin.isPresent(), "skipped: no fatbin in this build (no nvcc)");
        byte[] b = fatbin.get();
        // fatbin file magic 0xBA55ED50, little-endian
        assertEquals(0x50, b[0] & 0xff);
        assertEquals(0xED, b[1] & 0xff);
        assertEquals(0x55, b[2] & 0xff);
        assertEquals(0xBA, b[3] & 0xff);
        for (String arch : KernelSources.FATBIN_ARCHITECTURES) {
            int sm = Integer.parseInt(arch.substring(3));
            assertTrue(FatbinEntries.architectures(b).contains(sm), "fatbin lacks " + arch + ": "
                    + FatbinEntries.architectures(b));
        }
    }

    @Test
    void ptxParsing() {
        String ptx = ".version 8.5\n.target sm_75\n.address_size 64\n"
                + ".visible .entry k1(\n\t.param .u64 k1_param_0,\n\t.param .align 8 .b8 k1_param_1[336],\n"
                + "\t.param .f32 k1_param_2,\n\t.param .u32 k1_param_3\n)\n{\n}\n"
                + ".visible .entry k2(\n\t.param .u64 .ptr .global .align 4 k2_param_0\n)\n{\n}\n";
        PtxInfo info = PtxInfo.parse(ptx);
        assertEquals(8, info.isaMajor());
        assertEquals(5, info.isaMinor());
        assertEquals(List.of("u64", "b8[336]", "f32", "u32"), info.entries().get("k1"));
        assertEquals(List.of("u64"), info.entries().get("k2"));
        assertEquals(12050, info.minimumDriverVersion());
        assertEquals(13000, PtxInfo.minimumDriverVersion(9, 0));
        assertEquals(List.of(8, 5), List.of(PtxInfo.newestIsaFor(12060)[0], PtxInfo.newestIsaFor(12060)[1]));
    }
}

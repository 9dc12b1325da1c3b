package dev.kiln.conformance;

import dev.kiln.Device;
import dev.kiln.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend conformance kit: every op of the PyTorch fixture table and every error case, run on
 * the device a subclass names. A backend module runs it with a one-line test class:
 * <pre>{@code class CpuConformanceTest extends ConformanceSuite {
 *     protected Device device() { return Device.cpu(); }
 * }}</pre>
 */
public abstract class ConformanceSuite {

    private static final List<OpFixtures.Case> CASES = OpFixtures.load();

    /** The device under test. */
    protected abstract Device device();

    @TestFactory
    Stream<DynamicTest> opsMatchPyTorch() {
        Map<String, OpTable.Op> table = OpTable.entries();
        return CASES.stream().map(c -> DynamicTest.dynamicTest(c.toString(), () -> {
            OpTable.Op op = table.get(c.name());
            Device d = device();
            Tensor[] in = c.inputs().stream().map(t -> t.to(d)).toArray(Tensor[]::new);
            List<Tensor> out = op.apply(in, d);
            assertEquals(c.outputs().size(), out.size(), c.name() + ": number of outputs");
            for (int i = 0; i < out.size(); i++) {
                assertEquals(d, out.get(i).device(), c.name() + ": output device");
                TensorAssertions.assertMatches(c.name() + " output " + i, c.outputs().get(i), out.get(i));
            }
        }));
    }

    @Test
    void everyFixtureCaseHasAnEntry() {
        Map<String, OpTable.Op> table = OpTable.entries();
        List<String> missing = new ArrayList<>();
        for (OpFixtures.Case c : CASES) {
            if (!table.containsKey(c.name())) {
                missing.add(c.name());
            }
        }
        assertTrue(missing.isEmpty(), "fixture cases without a Kiln entry: " + missing);
        assertEquals(CASES.size(), table.size(), "table entries without a fixture case");
    }

    @TestFactory
    Stream<DynamicTest> badInputIsRejected() {
        return ErrorCases.all().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            RuntimeException e = assertThrows(c.type(), () -> c.call().apply(device()), c.name());
            for (String fragment : c.fragments()) {
                assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                        c.name() + ": message \"" + e.getMessage() + "\" lacks \"" + fragment + "\"");
            }
        }));
    }
}

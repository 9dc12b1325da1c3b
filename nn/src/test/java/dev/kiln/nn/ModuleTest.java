package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTest {

    /** A small CNN with nested containers, a buffer-holding layer and a parameter of its own. */
    static final class Net extends Module {
        final Sequential features = register("features", new Sequential(
                new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2)));
        final ModuleList<Linear> heads = register("heads", new ModuleList<>(new Linear(16, 8), new Linear(8, 2)));
        final Tensor scale = registerParameter("scale", Tensor.ones(2));

        @Override
        public Tensor forward(Tensor x) {
            x = features.forward(x).flatten(1, -1);
            for (Linear l : heads) {
                x = l.forward(x);
            }
            return x.mul(scale);
        }
    }

    @Test
    void stateDictHasPyTorchKeysInPyTorchOrder() {
        Net net = new Net();
        assertEquals(List.of("scale", "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
                "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"), new ArrayList<>(net.stateDict().keySet()));
        assertEquals(List.of("scale", "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"), new ArrayList<>(net.namedParameters().keySet()));
        assertEquals(List.of("features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"),
                new ArrayList<>(net.namedBuffers().keySet()));
        assertEquals(List.of("", "features", "features.0", "features.1", "features.2", "features.3", "heads", "heads.0",
                "heads.1"), new ArrayList<>(net.namedModules().keySet()));
        assertEquals(List.of("features", "heads"), new ArrayList<>(net.namedChildren().keySet()));
        Tensor nbt = net.stateDict().get("features.1.num_batches_tracked");
        assertEquals(DType.INT64, nbt.dtype());
        assertEquals(0, nbt.dim());
        for (Tensor t : net.stateDict().values()) {
            assertFalse(t.requiresGrad(), "state-dict values are detached");
        }
        assertEquals(2 + 4 * 9 + 4 + 4 + 4 + 16 * 8 + 8 + 8 * 2 + 2, net.numParameters());
        assertEquals(9, net.parameters().size());
    }

    @Test
    void loadStateDictCopiesIntoTheSameTensors() {
        Kiln.manualSeed(1);
        Net a = new Net();
        Net b = new Net();
        List<Tensor> held = b.parameters();
        Tensor w = b.heads.get(0).weight();
        assertTrue(b.loadStateDict(a.stateDict()).isEmpty());
        assertSame(w, b.heads.get(0).weight());
        assertEquals(held, b.parameters());
        for (Map.Entry<String, Tensor> e : a.stateDict().entrySet()) {
            assertTrue(e.getValue().equal(b.stateDict().get(e.getKey())), e.getKey());
        }
        assertTrue(w.requiresGrad());
        assertTrue(w.isLeaf());
    }

    @Test
    void strictLoadNamesEveryProblemAndChangesNothing() {
        Net net = new Net();
        Map<String, Tensor> before = new HashMap<>();
        net.stateDict().forEach((k, v) -> before.put(k, v.clone()));
        Map<String, Tensor> sd = new LinkedHashMap<>(new Net().stateDict());
        sd.remove("heads.1.bias");
        sd.remove("features.1.running_var");
        sd.put("heads.2.weight", Tensor.zeros(3, 3));
        sd.put("heads.0.weight", Tensor.zeros(7, 16));
        sd.put("features.1.num_batches_tracked", Tensor.scalar(3.0));
        StateDictException e = assertThrows(StateDictException.class, () -> net.loadStateDict(sd));
        assertEquals(List.of("features.1.running_var", "heads.1.bias"), e.missingKeys());
        assertEquals(List.of("heads.2.weight"), e.unexpectedKeys());
        assertEquals(2, e.mismatches().size());
        String msg = e.getMessage();
        assertTrue(msg.contains("Net"), msg);
        assertTrue(msg.contains("\"heads.1.bias\"") && msg.contains("\"features.1.running_var\""), msg);
        assertTrue(msg.contains("\"heads.2.weight\""), msg);
        assertTrue(msg.contains("size mismatch for heads.0.weight") && msg.contains("[7, 16]") && msg.contains("[8, 16]"), msg);
        assertTrue(msg.contains("dtype mismatch for features.1.num_batches_tracked"), msg);
        net.stateDict().forEach((k, v) -> assertTrue(v.equal(before.get(k)), k + " was modified"));
    }

    @Test
    void nonStrictLoadReturnsMissingAndUnexpectedKeys() {
        Kiln.manualSeed(2);
        Net net = new Net();
        Net other = new Net();
        Map<String, Tensor> sd = new LinkedHashMap<>(other.stateDict());
        sd.remove("scale");
        sd.put("extra", Tensor.zeros(1));
        Module.IncompatibleKeys r = net.loadStateDict(sd, false);
        assertEquals(List.of("scale"), r.missingKeys());
        assertEquals(List.of("extra"), r.unexpectedKeys());
        assertTrue(net.heads.get(1).weight().equal(other.heads.get(1).weight()));
        sd.put("heads.0.bias", Tensor.zeros(9));
        StateDictException e = assertThrows(StateDictException.class, () -> net.loadStateDict(sd, false));
        assertTrue(e.getMessage().contains("size mismatch for heads.0.bias"), e.getMessage());
    }

    @Test
    void loadStateDictConvertsFloatDtypes() {
        Linear l = new Linear(2, 2);
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("weight", Tensor.ones(new long[] {2, 2}, DType.FLOAT64));
        sd.put("bias", Tensor.zeros(new long[] {2}, DType.FLOAT64));
        l.loadStateDict(sd);
        assertEquals(DType.FLOAT32, l.weight().dtype());
        assertTrue(l.weight().equal(Tensor.ones(2, 2)));
    }

    @Test
    void toDeviceKeepsTheSameTensorObjects() {
        Net net = new Net();
        List<Tensor> params = net.parameters();
        List<Tensor> buffers = net.buffers();
        assertSame(net, net.to(Device.cpu()));
        assertEquals(params, net.parameters());
        for (int i = 0; i < params.size(); i++) {
            assertSame(params.get(i), net.parameters().get(i));
        }
        for (int i = 0; i < buffers.size(); i++) {
            assertSame(buffers.get(i), net.buffers().get(i));
        }
        assertEquals(Device.cpu(), net.heads.get(0).weight().device());
    }

    @Test
    void toDtypeConvertsFloatingTensorsAndGradsInPlace() {
        Net net = new Net();
        net.forward(Tensor.randn(2, 1, 6, 6)).sum().backward();
        Tensor w = net.heads.get(0).weight();
        net.to(DType.FLOAT64);
        assertSame(w, net.heads.get(0).weight());
        assertEquals(DType.FLOAT64, w.dtype());
        assertEquals(DType.FLOAT64, w.grad().dtype());
        assertTrue(w.requiresGrad());
        assertEquals(DType.FLOAT64, net.features.get(1).getBuffer("running_mean").dtype());
        assertEquals(DType.INT64, net.features.get(1).getBuffer("num_batches_tracked").dtype());
        Tensor out = net.forward(Tensor.randn(2, 1, 6, 6).toDouble());
        assertEquals(DType.FLOAT64, out.dtype());
        assertThrows(IllegalArgumentException.class, () -> net.to(DType.INT64));
    }

    @Test
    void trainAndEvalReachEveryModule() {
        Net net = new Net();
        assertTrue(net.isTraining());
        assertSame(net, net.eval());
        for (Module m : net.modules()) {
            assertFalse(m.isTraining(), m.toString());
        }
        net.train();
        for (Module m : net.modules()) {
            assertTrue(m.isTraining());
        }
        net.features.train(false);
        assertTrue(net.isTraining());
        assertFalse(net.features.get(1).isTraining());
    }

    @Test
    void zeroGradSetsGradsToNull() {
        Net net = new Net();
        net.forward(Tensor.randn(2, 1, 6, 6)).sum().backward();
        for (Tensor p : net.parameters()) {
            assertNotNull(p.grad());
        }
        net.zeroGrad(false);
        for (Tensor p : net.parameters()) {
            assertEquals(0.0, p.grad().abs().sum().item());
        }
        net.zeroGrad();
        for (Tensor p : net.parameters()) {
            assertNull(p.grad());
        }
    }

    @Test
    void applyVisitsChildrenFirst() {
        Net net = new Net();
        List<String> order = new ArrayList<>();
        net.apply(m -> order.add(m.getClass().getSimpleName()));
        assertEquals(List.of("Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Sequential", "Linear", "Linear", "ModuleList", "Net"),
                order);
        net.apply(m -> {
            if (m instanceof Linear l) {
                Init.zeros(l.weight());
            }
        });
        assertEquals(0.0, net.heads.get(1).weight().abs().sum().item());
    }

    @Test
    void toStringPrintsTheTreeAsPyTorch() {
        Net net = new Net();
        assertEquals("Net(\n"
                + "  (features): Sequential(\n"
                + "    (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))\n"
                + "    (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
                + "    (2): ReLU()\n"
                + "    (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
                + "  )\n"
                + "  (heads): ModuleList(\n"
                + "    (0): Linear(in_features=16, out_features=8, bias=True)\n"
                + "    (1): Linear(in_features=8, out_features=2, bias=True)\n"
                + "  )\n"
                + ")", net.toString());
    }

    @Test
    void layerReprsMatchPyTorch() {
        assertEquals("Linear(in_features=784, out_features=128, bias=True)", new Linear(784, 128).toString());
        assertEquals("Linear(in_features=4, out_features=3, bias=False)", new Linear(4, 3, false).toString());
        assertEquals("Conv2d(2, 3, kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(2, 2), bias=False)",
                Conv2d.builder(2, 3, 2, 3).stride(2, 1).padding(1, 0).dilation(2).bias(false).build().toString());
        assertEquals("Conv1d(4, 2, kernel_size=(2,), stride=(1,), groups=2, bias=False)",
                Conv1d.builder(4, 2, 2).groups(2).bias(false).build().toString());
        assertEquals("ConvTranspose2d(2, 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))",
                ConvTranspose2d.builder(2, 3, 3).stride(2).padding(1).outputPadding(1).build().toString());
        assertEquals("MaxPool2d(kernel_size=(2, 3), stride=(1, 2), padding=0, dilation=1, ceil_mode=False)",
                MaxPool2d.builder(2, 3).stride(1, 2).build().toString());
        assertEquals("AvgPool2d(kernel_size=3, stride=2, padding=1)", new AvgPool2d(3, 2, 1).toString());
        assertEquals("AdaptiveAvgPool2d(output_size=1)", new AdaptiveAvgPool2d(1).toString());
        assertEquals("AdaptiveAvgPool2d(output_size=(3, 4))", new AdaptiveAvgPool2d(3, 4).toString());
        assertEquals("BatchNorm1d(3, eps=0.001, momentum=None, affine=False, track_running_stats=True)",
                new BatchNorm1d(3, 1e-3, null, false, true).toString());
        assertEquals("LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)", new LayerNorm(3, 4).toString());
        assertEquals("GroupNorm(2, 4, eps=1e-05, affine=True)", new GroupNorm(2, 4).toString());
        assertEquals("Dropout(p=0.5, inplace=False)", new Dropout().toString());
        assertEquals("Embedding(6, 4, padding_idx=0)", new Embedding(6, 4, 0).toString());
        assertEquals("Flatten(start_dim=1, end_dim=-1)", new Flatten().toString());
        assertEquals("Unflatten(dim=1, unflattened_size=(2, 5))", new Unflatten(1, 2, 5).toString());
        assertEquals("Identity()", new Identity().toString());
        assertEquals("LeakyReLU(negative_slope=0.01)", new LeakyReLU().toString());
        assertEquals("ELU(alpha=1.0)", new ELU().toString());
        assertEquals("GELU(approximate='none')", new GELU().toString());
        assertEquals("Softmax(dim=1)", new Softmax(1).toString());
        assertEquals("LogSoftmax(dim=-1)", new LogSoftmax(-1).toString());
        assertEquals("CrossEntropyLoss()", new CrossEntropyLoss().toString());
        assertEquals("Sequential()", new Sequential().toString());
    }

    @Test
    void pythonFloatRepr() {
        assertEquals("1e-05", Repr.pyFloat(1e-5));
        assertEquals("0.0001", Repr.pyFloat(1e-4));
        assertEquals("0.1", Repr.pyFloat(0.1));
        assertEquals("1.0", Repr.pyFloat(1));
        assertEquals("2.5e-07", Repr.pyFloat(2.5e-7));
        assertEquals("1e+16", Repr.pyFloat(1e16));
        assertEquals("123456.0", Repr.pyFloat(123456));
        assertEquals("-0.5", Repr.pyFloat(-0.5));
    }

    @Test
    void registrationRules() {
        Module m = new Module() {
        };
        assertThrows(IllegalArgumentException.class, () -> m.register("a.b", new ReLU()));
        assertThrows(IllegalArgumentException.class, () -> m.register("", new ReLU()));
        m.registerBuffer("x", Tensor.zeros(1));
        assertThrows(IllegalArgumentException.class, () -> m.registerParameter("x", Tensor.zeros(1)));
        assertThrows(IllegalArgumentException.class, () -> m.registerParameter("i", Tensor.of(1L, 2L)));
        Tensor leaf = Tensor.ones(2).requiresGrad(true);
        assertThrows(IllegalArgumentException.class, () -> m.registerParameter("nonleaf", leaf.mul(2.0)));
        Tensor p = m.register("p", Tensor.zeros(2));
        assertTrue(p.requiresGrad());
        assertEquals("Module()", m.toString());
        m.registerBuffer("tmp", Tensor.zeros(1), false);
        assertEquals(List.of("p", "x"), new ArrayList<>(m.stateDict().keySet()));
        assertEquals(2, m.buffers().size());
        assertThrows(UnsupportedOperationException.class, () -> m.forward(Tensor.zeros(1)));
    }

    @Test
    void sharedParametersAreListedOnce() {
        Linear shared = new Linear(3, 3);
        Sequential s = new Sequential(shared, new ReLU(), shared);
        assertEquals(2, s.parameters().size());
        assertEquals(12, s.numParameters());
        assertEquals(List.of("0.weight", "0.bias"), new ArrayList<>(s.namedParameters().keySet()));
    }

    @Test
    void containers() {
        Sequential s = new Sequential(new Linear(4, 3), new ReLU());
        s.add(new Linear(3, 1));
        assertEquals(3, s.size());
        assertTrue(s.get(-1) instanceof Linear);
        assertArrayEquals(new long[] {5, 1}, s.forward(Tensor.randn(5, 4)).shape());
        Map<String, Module> named = new LinkedHashMap<>();
        named.put("fc", new Linear(2, 2));
        named.put("act", new Tanh());
        Sequential byName = new Sequential(named);
        assertEquals(List.of("fc.weight", "fc.bias"), new ArrayList<>(byName.stateDict().keySet()));
        ModuleDict<Module> d = new ModuleDict<>();
        d.put("enc", new Linear(2, 3)).put("dec", new Linear(3, 2));
        assertEquals(List.of("enc", "dec"), new ArrayList<>(d.keySet()));
        assertEquals(List.of("enc.weight", "enc.bias", "dec.weight", "dec.bias"), new ArrayList<>(d.stateDict().keySet()));
        assertThrows(UnsupportedOperationException.class, () -> d.forward(Tensor.zeros(1)));
        assertThrows(IndexOutOfBoundsException.class, () -> s.get(3));
    }

    @Test
    void requiresGradFreezes() {
        Linear l = new Linear(2, 2);
        l.requiresGrad(false);
        assertEquals(0, l.numParameters(true));
        assertEquals(6, l.numParameters());
        assertFalse(l.forward(Tensor.randn(1, 2)).requiresGrad());
    }
}

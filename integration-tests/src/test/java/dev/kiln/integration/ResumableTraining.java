package dev.kiln.integration;

import dev.kiln.Checkpoint;
import dev.kiln.Generator;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.data.DataLoader;
import dev.kiln.data.TensorDataset;
import dev.kiln.nn.CrossEntropyLoss;
import dev.kiln.nn.Sequential;
import dev.kiln.optim.Adam;
import dev.kiln.optim.OneCycleLR;
import dev.kiln.optim.OptimizerState;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small training run with every source of state a resume must restore: shuffled batches and
 * dropout drawn from Kiln's default generator (the hardest case: one stream shared by both), Adam
 * with weight decay (moments and step counts), and a OneCycleLR stepped per batch (which also
 * cycles Adam's betas in the param groups). Steps are global; a checkpoint may fall mid-epoch.
 */
final class ResumableTraining {

    static final long SEED = 1234;
    static final int SAMPLES = 40;
    static final int BATCH = 8; // 5 batches per epoch

    final Sequential model;
    final Adam optimizer;
    final OneCycleLR scheduler;
    final DataLoader<List<Tensor>> loader;
    final CrossEntropyLoss lossFn = new CrossEntropyLoss();
    long step;
    long epoch;
    /** Batches already taken from the current epoch's iterator. */
    long batchInEpoch;
    /** The default generator's state just before this epoch drew its shuffle order. */
    long[] epochStartRng;
    private Iterator<List<Tensor>> batches;

    ResumableTraining(int totalSteps) {
        Kiln.manualSeed(SEED);
        Tensor x = Tensor.randn(SAMPLES, 6);
        Tensor y = Tensor.randint(0, 3, SAMPLES);
        loader = DataLoader.builder(new TensorDataset(x, y)).batchSize(BATCH).shuffle(true).build();
        model = Models.classifier();
        optimizer = Adam.builder(model.parameters()).lr(0.01).weightDecay(1e-4).build();
        scheduler = OneCycleLR.builder(optimizer, 0.05, totalSteps).build();
    }

    /** Trains until the global step count reaches {@code until}. */
    void trainUntil(long until) {
        model.train();
        while (step < until) {
            if (batches == null) {
                epochStartRng = Generator.defaultGenerator().getState();
                batches = loader.iterator(); // draws this epoch's order
                batchInEpoch = 0;
            }
            if (!batches.hasNext()) {
                batches = null;
                epoch++;
                continue;
            }
            List<Tensor> batch = batches.next();
            batchInEpoch++;
            Tensor loss = lossFn.forward(model.forward(batch.get(0)), batch.get(1));
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            scheduler.step();
            step++;
        }
    }

    void save(Path file) throws IOException {
        OptimizerState os = optimizer.stateDict();
        new Checkpoint()
                .put("model", model.stateDict())
                .put("optimizer", os.tensors(), os.json())
                .putState("scheduler", scheduler.stateDict())
                .putState("loop", Map.of("batch_in_epoch", batchInEpoch))
                .epoch(epoch)
                .step(step)
                .putRng("epoch_start", epochStartRng)
                .putMetadata("seed", Long.toString(SEED))
                .save(file);
    }

    /**
     * Continues from a checkpoint as if the run had never stopped: weights, optimizer and scheduler
     * state, counters, then the data order (rewind the generator to the epoch's start, draw the
     * same order, skip the batches already trained on) and finally the generator as it was at save.
     *
     * @param restoreRng false only for the control that shows the generator state matters
     */
    void resume(Path file, boolean restoreRng) throws IOException {
        Checkpoint ck = Checkpoint.load(file);
        model.loadStateDict(ck.tensors("model"));
        optimizer.loadStateDict(OptimizerState.of(ck.tensors("optimizer"), ck.json("optimizer")));
        scheduler.loadStateDict(ck.state("scheduler"));
        step = ck.step();
        epoch = ck.epoch();
        long done = ((Number) ck.state("loop").get("batch_in_epoch")).longValue();
        if (restoreRng) {
            ck.restoreRng("epoch_start", Generator.defaultGenerator());
        }
        epochStartRng = Generator.defaultGenerator().getState();
        batches = loader.iterator();
        for (long i = 0; i < done; i++) {
            batches.next();
        }
        batchInEpoch = done;
        if (restoreRng) {
            ck.restoreRng();
        }
    }

    /** Everything that must match: weights, optimizer buffers, the learning rate and the generator. */
    Map<String, Tensor> finalState() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> out.put("model." + k, v));
        optimizer.stateDict().tensors().forEach((k, v) -> out.put("optimizer." + k, v));
        out.put("lr", Tensor.of(optimizer.paramGroups().get(0).lr()));
        out.put("rng", Tensor.of(Generator.defaultGenerator().getState()));
        return out;
    }
}

package dev.kiln.integration;

import dev.kiln.Safetensors;

import java.nio.file.Path;

/**
 * The fresh JVM of {@link ExactResumeTest}: {@code ResumeMain CHECKPOINT TOTAL_STEPS OUT} resumes
 * from the checkpoint, trains to the total and saves the final state to OUT.
 */
public final class ResumeMain {

    private ResumeMain() {
    }

    public static void main(String[] args) throws Exception {
        int total = Integer.parseInt(args[1]);
        ResumableTraining run = new ResumableTraining(total);
        run.resume(Path.of(args[0]), true);
        run.trainUntil(total);
        Safetensors.save(run.finalState(), Path.of(args[2]));
        System.out.println("resumed to step " + total + ": ok");
    }
}

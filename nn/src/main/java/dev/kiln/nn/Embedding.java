package dev.kiln.nn;

import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Shapes;
import dev.kiln.Tensor;

/**
 * A lookup table of {@code numEmbeddings} vectors of {@code embeddingDim}, as
 * {@code torch.nn.Embedding}: int64 indices of any shape in, {@code indices.shape + [dim]} out.
 * The weight starts standard normal. With a padding index, that row starts at zero and never
 * receives a gradient.
 */
@SuppressWarnings("try") // no-grad scopes are opened and closed, never referenced
public class Embedding extends Module {

    private final long numEmbeddings;
    private final long embeddingDim;
    private final Long paddingIdx;
    private final Tensor weight;

    public Embedding(long numEmbeddings, long embeddingDim) {
        this(numEmbeddings, embeddingDim, null, null);
    }

    /** With a padding index (negative counts from the end). */
    public Embedding(long numEmbeddings, long embeddingDim, long paddingIdx) {
        this(numEmbeddings, embeddingDim, paddingIdx, null);
    }

    private Embedding(long numEmbeddings, long embeddingDim, Long paddingIdx, Tensor weight) {
        if (numEmbeddings <= 0 || embeddingDim < 0) {
            throw new IllegalArgumentException("Embedding: num_embeddings must be positive and embedding_dim non-negative, got "
                    + numEmbeddings + " and " + embeddingDim);
        }
        if (paddingIdx != null && (paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings)) {
            throw new IllegalArgumentException("Embedding: padding_idx " + paddingIdx + " must be within num_embeddings "
                    + numEmbeddings);
        }
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.paddingIdx = paddingIdx == null ? null : paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
        if (weight == null) {
            this.weight = registerParameter("weight", Tensor.empty(numEmbeddings, embeddingDim));
            resetParameters();
        } else {
            this.weight = registerParameter("weight", weight);
        }
    }

    /** A table holding {@code embeddings} {@code [num, dim]}; frozen (no gradient) when {@code freeze}. */
    public static Embedding fromPretrained(Tensor embeddings, boolean freeze) {
        if (embeddings.dim() != 2) {
            throw new IllegalArgumentException("Embedding.fromPretrained: embeddings must be 2-D [num, dim], got "
                    + Shapes.str(embeddings.shape()));
        }
        Tensor w = embeddings.detach().clone();
        Embedding e = new Embedding(w.size(0), w.size(1), null, w);
        w.requiresGrad(!freeze);
        return e;
    }

    /** Re-draws the weight from N(0, 1) and zeroes the padding row. */
    public void resetParameters() {
        Init.normal(weight, 0, 1);
        if (paddingIdx != null) {
            try (GradScope s = Kiln.noGrad()) {
                weight.select(0, paddingIdx).fill_(0);
            }
        }
    }

    @Override
    public Tensor forward(Tensor indices) {
        return F.embedding(indices, weight, paddingIdx);
    }

    public Tensor weight() {
        return weight;
    }

    /** The padding index (non-negative), or null. */
    public Long paddingIdx() {
        return paddingIdx;
    }

    @Override
    public String extraRepr() {
        return numEmbeddings + ", " + embeddingDim + (paddingIdx == null ? "" : ", padding_idx=" + paddingIdx);
    }
}

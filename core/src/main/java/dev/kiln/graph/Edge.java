package dev.kiln.graph;

import dev.kiln.Tensor;

/**
 * Where a gradient flows next: into another node (the input was computed) or into a leaf tensor's
 * {@code grad} (the input was created by the user with {@code requiresGrad}). Edges point at
 * nodes, not at intermediate tensors, so the graph does not keep their storage alive.
 */
public record Edge(Node node, Tensor leaf) {

    public boolean isLeaf() {
        return leaf != null;
    }
}

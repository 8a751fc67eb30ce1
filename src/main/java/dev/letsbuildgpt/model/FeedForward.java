package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * The per-position computation after attention: "the tokens have gathered information, now they think about it".
 * In a block it is Linear(C, 4C), ReLU, Linear(4C, C), dropout; the lecture's first version, before blocks, is a
 * single Linear(C, C) and ReLU.
 */
final class FeedForward {
    final String name;
    final Linear expand;
    final Linear project;  // null in the single-layer version

    private FeedForward(Parameters p, String name, int nEmbd, boolean inBlock, boolean bias) {
        this.name = name;
        // Named after the lecture's nn.Sequential indices: net.0 = Linear, net.1 = ReLU, net.2 = Linear.
        this.expand = new Linear(p, name + ".net.0", nEmbd, inBlock ? 4 * nEmbd : nEmbd, bias);
        this.project = inBlock ? new Linear(p, name + ".net.2", 4 * nEmbd, nEmbd, bias) : null;
    }

    /** Linear(C, 4C), ReLU, Linear(4C, C), dropout: the block's feed-forward. */
    static FeedForward block(Parameters p, String name, int nEmbd, boolean bias) {
        return new FeedForward(p, name, nEmbd, true, bias);
    }

    /** Linear(C, C), ReLU: the lecture's feed-forward before it introduces blocks. */
    static FeedForward single(Parameters p, String name, int nEmbd, boolean bias) {
        return new FeedForward(p, name, nEmbd, false, bias);
    }

    /** x: [B*T, C] -> [B*T, C] */
    SDVariable forward(GraphBuilder g, SDVariable x) {
        SDVariable h = g.sd.nn.relu(expand.forward(g, x), 0);
        if (project == null) {
            return h;
        }
        return g.dropout(name, project.forward(g, h), (long) g.batch * g.time, project.out);
    }
}

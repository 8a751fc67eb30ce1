package dev.letsbuildgpt.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam as {@code torch.optim.AdamW} computes it, for SameDiff's training loop:
 *
 * <pre>
 *   m = beta1 m + (1 - beta1) g          v = beta2 v + (1 - beta2) g^2
 *   update = lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 *
 * The weight decay is decoupled from the gradient (the "W"): SameDiff's {@code WeightDecay} regularisation with
 * {@code applyLR} adds {@code lr * weight_decay * p} to this update after the updater has run, which is
 * PyTorch's {@code p *= 1 - lr * weight_decay} (see {@link Trainer}). ND4J's own Adam differs from PyTorch's in
 * where epsilon goes; this one matches PyTorch exactly. The learning rate follows {@link TrainConfig#learningRateAt}.
 */
public final class AdamW implements IUpdater {
    static final double EPS = 1e-8;
    private final TrainConfig cfg;

    public AdamW(TrainConfig cfg) {
        this.cfg = cfg;
    }

    @Override
    public long stateSize(long numParams) {
        return 2 * numParams;  // m and v
    }

    @Override
    public GradientUpdater<AdamW> instantiate(INDArray viewArray, boolean initialize) {
        Updater u = new Updater(this);
        u.setStateViewArray(viewArray, viewArray.shape(), viewArray.ordering(), initialize);
        return u;
    }

    @Override
    public GradientUpdater<AdamW> instantiate(Map<String, INDArray> state, boolean initialize) {
        Updater u = new Updater(this);
        u.setState(state, initialize);
        return u;
    }

    @Override
    public AdamW clone() {
        return new AdamW(cfg);
    }

    /** The learning rate at a step (SameDiff counts iterations from 0). */
    @Override
    public double getLearningRate(int iteration, int epoch) {
        return cfg.learningRateAt(iteration);
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public void setLrAndSchedule(double lr, ISchedule schedule) {
        throw new UnsupportedOperationException("AdamW takes its schedule from TrainConfig");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AdamW a && a.cfg.equals(cfg);
    }

    @Override
    public int hashCode() {
        return cfg.hashCode();
    }

    /** The state of one parameter: its first and second moment estimates. */
    static final class Updater implements GradientUpdater<AdamW> {
        private final AdamW config;
        private INDArray m;
        private INDArray v;

        Updater(AdamW config) {
            this.config = config;
        }

        @Override
        public AdamW getConfig() {
            return config;
        }

        @Override
        public void setState(Map<String, INDArray> state, boolean initialize) {
            m = state.get("M");
            v = state.get("V");
            if (initialize) {
                m.assign(0);
                v.assign(0);
            }
        }

        @Override
        public Map<String, INDArray> getState() {
            Map<String, INDArray> s = new LinkedHashMap<>();
            s.put("M", m);
            s.put("V", v);
            return s;
        }

        @Override
        public void setStateViewArray(INDArray view, long[] shape, char order, boolean initialize) {
            long n = view.length() / 2;
            INDArray flat = view.reshape(view.length());
            m = flat.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, n));
            v = flat.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(n, 2 * n));
            if (initialize) {
                view.assign(0);
            }
        }

        /**
         * Turns the gradient, in place, into the step to subtract from the parameter. ND4J's fused Adam op computes
         * {@code lr sqrt(1-beta2^t)/(1-beta1^t) m / (sqrt(v) + e)}; with {@code e = eps sqrt(1-beta2^t)} that is
         * PyTorch's formula above, in one native call per parameter instead of a dozen.
         */
        @Override
        public void applyUpdater(INDArray gradient, int iteration, int epoch) {
            TrainConfig c = config.cfg;
            INDArray m = this.m.reshape(gradient.shape());  // views of the flat state, shaped like the parameter
            INDArray v = this.v.reshape(gradient.shape());
            double bc2 = 1 - Math.pow(c.beta2(), iteration + 1);
            Nd4j.exec(new org.nd4j.linalg.api.ops.impl.updaters.AdamUpdater(gradient, v, m,
                    c.learningRateAt(iteration), c.beta1(), c.beta2(), EPS * Math.sqrt(bc2), iteration));
        }
    }
}

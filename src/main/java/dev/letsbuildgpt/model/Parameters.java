package dev.letsbuildgpt.model;

import dev.letsbuildgpt.GptException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Every learnable array of a model, by name, in creation order.
 *
 * <p>The arrays are created once. Every SameDiff graph built from a model (training with dropout, evaluation
 * without, sampling) wraps these same arrays, so an optimizer step that updates them in place is seen by all.
 * Initialisation follows PyTorch's defaults, which the lecture's numbers depend on: embeddings N(0, 1), linear
 * weights and biases uniform in +-1/sqrt(fan_in), LayerNorm gain 1 and bias 0.
 */
public final class Parameters {
    private final Map<String, INDArray> arrays = new LinkedHashMap<>();
    private final DataType dataType;
    private final Random random;

    public Parameters(DataType dataType, long seed) {
        this.dataType = dataType;
        this.random = new Random(seed);
    }

    public DataType dataType() {
        return dataType;
    }

    /** An array of N(0, std^2) values. */
    String normal(String name, double std, long... shape) {
        return add(name, fill(shape, () -> random.nextGaussian() * std));
    }

    /** An array of values uniform in [-bound, bound). */
    String uniform(String name, double bound, long... shape) {
        return add(name, fill(shape, () -> (2 * random.nextDouble() - 1) * bound));
    }

    String constant(String name, double value, long... shape) {
        return add(name, fill(shape, () -> value));
    }

    private String add(String name, INDArray array) {
        if (arrays.putIfAbsent(name, array) != null) {
            throw new IllegalStateException("parameter defined twice: " + name);
        }
        return name;
    }

    private INDArray fill(long[] shape, java.util.function.DoubleSupplier values) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        double[] v = new double[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = values.getAsDouble();
        }
        return Nd4j.create(v, shape, DataType.DOUBLE).castTo(dataType);
    }

    public INDArray get(String name) {
        INDArray a = arrays.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no parameter named " + name);
        }
        return a;
    }

    /** An array's values in row-major order, as floats (what the hand-written paths compute on). */
    static float[] floats(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    public List<String> names() {
        return List.copyOf(arrays.keySet());
    }

    public Map<String, INDArray> asMap() {
        return Collections.unmodifiableMap(arrays);
    }

    /** Total number of learnable values, as the lecture prints it. */
    public long count() {
        return arrays.values().stream().mapToLong(INDArray::length).sum();
    }

    /** Copies values into the existing arrays (shapes must match), keeping every graph that wraps them valid. */
    public void assign(Map<String, INDArray> values) {
        if (!values.keySet().equals(arrays.keySet())) {
            throw new GptException("checkpoint parameters do not match the model (expected "
                    + arrays.size() + " named parameters such as " + arrays.keySet().iterator().next() + ")");
        }
        for (Map.Entry<String, INDArray> e : values.entrySet()) {
            INDArray target = arrays.get(e.getKey());
            if (!java.util.Arrays.equals(target.shape(), e.getValue().shape())) {
                throw new GptException("checkpoint parameter " + e.getKey() + " has shape "
                        + java.util.Arrays.toString(e.getValue().shape()) + ", the model expects "
                        + java.util.Arrays.toString(target.shape()));
            }
            target.assign(e.getValue().castTo(dataType));
        }
    }
}

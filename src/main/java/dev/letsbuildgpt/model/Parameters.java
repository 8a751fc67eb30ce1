package dev.letsbuildgpt.model;

import dev.letsbuildgpt.GptException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Every learnable value of a model: the one copy that training updates and that every way of computing reads.
 *
 * <p>Values live in {@link Tensor}s, plain float arrays laid out as the fast path computes with them. A
 * {@link Parameter} is a named block of a tensor, named as the lecture's PyTorch module tree names it
 * ({@code blocks.0.sa.heads.1.key.weight}); checkpoints, SameDiff graphs and parameter counts see parameters. Most
 * tensors hold one parameter; a {@link MultiHeadAttention} keeps every head's query, key and value weights side by
 * side in one tensor, so that one matrix product computes them all, while each head's weights keep their names.
 *
 * <p>Initialisation follows PyTorch's defaults, which the lecture's numbers depend on: embeddings N(0, 1), linear
 * weights and biases uniform in +-1/sqrt(fan_in), LayerNorm gain 1 and bias 0, drawn from one seeded stream in the
 * order the modules create their parameters.
 */
public final class Parameters {
    /** Values stored together: what the fast path, the optimizer and the gradients are indexed by. */
    public static final class Tensor {
        public final int id;          // index among the model's tensors
        public final String name;
        public final float[] data;    // null in a model's shapes only (see Parameters#shapesOnly)
        private final int size;
        private java.nio.FloatBuffer direct;   // its values for BLAS (see Parameters#direct), as of directVersion
        private long directVersion = -1;

        Tensor(int id, String name, int size, boolean allocate) {
            this.id = id;
            this.name = name;
            this.size = size;
            this.data = allocate ? new float[size] : null;
        }

        public int size() {
            return size;
        }
    }

    /**
     * A named parameter: {@code rows x cols} values of a tensor starting at {@code offset}, {@code stride} apart
     * from row to row (a whole tensor has {@code stride == cols}). 1-D parameters have one row.
     */
    public record Parameter(String name, Tensor tensor, int offset, int rows, int cols, int stride, long[] shape) {
        public int size() {
            return rows * cols;
        }

        /** Whether this parameter is its whole tensor, in order. */
        public boolean isWhole() {
            return offset == 0 && stride == cols && size() == tensor.size();
        }

        /** The values of this parameter taken out of {@code from}, an array laid out like its tensor. */
        public float[] gather(float[] from) {
            return gather(from, new float[size()]);
        }

        /** The same into {@code out} (at least {@link #size} long), which it returns. */
        public float[] gather(float[] from, float[] out) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(from, offset + r * stride, out, r * cols, cols);
            }
            return out;
        }

        /** Writes {@code values} (row-major, this parameter's shape) into its place in {@code to}. */
        public void scatter(float[] values, float[] to) {
            if (values.length != size()) {
                throw new IllegalArgumentException(name + " has " + size() + " values, got " + values.length);
            }
            for (int r = 0; r < rows; r++) {
                System.arraycopy(values, r * cols, to, offset + r * stride, cols);
            }
        }

        /** The index in the tensor of this parameter's element (row, col). */
        int index(int row, int col) {
            return offset + row * stride + col;
        }
    }

    private final List<Tensor> tensors = new ArrayList<>();
    private final Map<String, Parameter> named = new LinkedHashMap<>();
    private final java.util.Set<String> linearWeights = new java.util.HashSet<>();
    private final Random random;
    private final long maxValues;      // shapes only: what may be described before it is refused
    private final int maxParameters;
    private long values;
    private long version;

    public Parameters(long seed) {
        this(seed, -1, -1);
    }

    private Parameters(long seed, long maxValues, int maxParameters) {
        this.random = new Random(seed);
        this.maxValues = maxValues;
        this.maxParameters = maxParameters;
    }

    /**
     * Parameters that only record names and shapes, without values: what a model of a configuration from outside
     * (a checkpoint's) would hold, found out before allocating it. Describing more than {@code maxValues} values or
     * {@code maxParameters} parameters is refused as it happens, so a configuration cannot make this run out of
     * memory either.
     */
    public static Parameters shapesOnly(long maxValues, int maxParameters) {
        return new Parameters(0, maxValues, maxParameters);
    }

    /** Whether these parameters hold values (see {@link #shapesOnly}). */
    public boolean hasValues() {
        return maxValues < 0;
    }

    /** A new tensor of {@code size} zeros. */
    Tensor tensor(String name, long size) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new GptException(name + " would hold " + size + " values, more than a Java array can");
        }
        values += size;
        if (!hasValues() && (values > maxValues || tensors.size() >= maxParameters)) {
            throw new TooLarge(values, tensors.size() + 1);
        }
        Tensor t = new Tensor(tensors.size(), name, (int) size, hasValues());
        tensors.add(t);
        return t;
    }

    /** A description that went past the limits of {@link #shapesOnly}. */
    public static final class TooLarge extends RuntimeException {
        public final long values;
        public final int tensors;

        TooLarge(long values, int tensors) {
            super("at least " + values + " values in " + tensors + " tensors", null, false, false);
            this.values = values;
            this.tensors = tensors;
        }
    }

    /** Names a block of a tensor (see {@link Parameter}). */
    Parameter add(String name, Tensor t, int offset, int rows, int cols, int stride, long... shape) {
        Parameter p = new Parameter(name, t, offset, rows, cols, stride, shape);
        if (offset < 0 || cols > stride || offset + (rows - 1) * stride + cols > t.size()) {
            throw new IllegalArgumentException(name + " does not fit in " + t.name);
        }
        if (named.putIfAbsent(name, p) != null) {
            throw new IllegalStateException("parameter defined twice: " + name);
        }
        return p;
    }

    /** A whole tensor seen as one [rows, cols] matrix, without a name of its own (as a fused weight). */
    static Parameter whole(Tensor t, int rows, int cols) {
        if (rows * cols != t.size()) {
            throw new IllegalArgumentException(t.name + " is not " + rows + " x " + cols);
        }
        return new Parameter(t.name, t, 0, rows, cols, cols, new long[]{rows, cols});
    }

    /** A parameter that is a tensor of its own, [rows, cols] (or [cols] when {@code rows} is 0: a vector). */
    Parameter add(String name, int rows, int cols) {
        Tensor t = tensor(name, (long) Math.max(1, rows) * cols);
        return rows == 0 ? add(name, t, 0, 1, cols, cols, cols) : add(name, t, 0, rows, cols, cols, rows, cols);
    }

    /** Fills a parameter with N(0, std^2) values, row by row. */
    void normal(Parameter p, double std) {
        fill(p, () -> random.nextGaussian() * std);
    }

    /** Fills a parameter with values uniform in [-bound, bound), row by row. */
    void uniform(Parameter p, double bound) {
        fill(p, () -> (2 * random.nextDouble() - 1) * bound);
    }

    void constant(Parameter p, double value) {
        fill(p, () -> value);
    }

    private void fill(Parameter p, java.util.function.DoubleSupplier values) {
        float[] d = p.tensor().data;
        if (d == null) {
            return;   // shapes only
        }
        for (int r = 0; r < p.rows(); r++) {
            for (int c = 0; c < p.cols(); c++) {
                d[p.index(r, c)] = (float) values.getAsDouble();
            }
        }
    }

    /** Marks a linear layer's weight: stored [in, out] here, [out, in] in PyTorch's {@code nn.Linear}. */
    void markLinearWeight(Parameter p) {
        linearWeights.add(p.name());
    }

    /** Whether PyTorch stores this parameter transposed (a linear layer's weight). */
    public boolean isLinearWeight(String name) {
        return linearWeights.contains(name);
    }

    public List<Tensor> tensors() {
        return Collections.unmodifiableList(tensors);
    }

    /** Every named parameter, in creation order. */
    public Map<String, Parameter> named() {
        return Collections.unmodifiableMap(named);
    }

    public List<String> names() {
        return List.copyOf(named.keySet());
    }

    public Parameter parameter(String name) {
        Parameter p = named.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter named " + name);
        }
        return p;
    }

    /** Total number of learnable values, as the lecture prints it. */
    public long count() {
        return named.values().stream().mapToLong(Parameter::size).sum();
    }

    /** A parameter's current values, row-major in its shape (a copy). */
    public float[] values(String name) {
        return parameter(name).gather(parameter(name).tensor().data);
    }

    /** A parameter's current values as an ND4J array of its shape (a copy: writing to it changes nothing). */
    public INDArray get(String name) {
        Parameter p = parameter(name);
        return Nd4j.create(p.gather(p.tensor().data), p.shape(), 'c');
    }

    /** Every parameter's values by name (copies). */
    public Map<String, float[]> snapshot() {
        Map<String, float[]> out = new LinkedHashMap<>();
        named.forEach((name, p) -> out.put(name, p.gather(p.tensor().data)));
        return out;
    }

    /** Sets a parameter's values (row-major in its shape). */
    public void set(String name, float[] values) {
        Parameter p = parameter(name);
        p.scatter(values, p.tensor().data);
        changed();
    }

    /** Sets a parameter's values from an ND4J array of its shape. */
    public void set(String name, INDArray values) {
        Parameter p = parameter(name);
        if (!Arrays.equals(p.shape(), values.shape())) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(p.shape()) + ", got "
                    + Arrays.toString(values.shape()));
        }
        set(name, values.castTo(DataType.FLOAT).dup('c').data().asFloat());
    }

    /** Copies every parameter's values in (the names and sizes must be this model's). */
    public void assign(Map<String, float[]> values) {
        if (!values.keySet().equals(named.keySet())) {
            throw new GptException("checkpoint parameters do not match the model (expected "
                    + named.size() + " named parameters such as " + named.keySet().iterator().next() + ")");
        }
        values.forEach((name, v) -> {
            Parameter p = named.get(name);
            if (v.length != p.size()) {
                throw new GptException("checkpoint parameter " + name + " has " + v.length + " values, the model's has "
                        + p.size() + " (shape " + Arrays.toString(p.shape()) + ")");
            }
            p.scatter(v, p.tensor().data);
        });
        changed();
    }

    /**
     * Counts a change of the values (SameDiff graphs copy them and take a fresh copy when this has moved on). Code
     * that writes into a tensor's data directly, such as the optimizer, calls it after writing.
     */
    public void changed() {
        version++;
    }

    public long version() {
        return version;
    }

    /**
     * A tensor's values in a direct buffer, which BLAS reads in place (see {@link Sgemm}): allocated once, copied
     * again only when the values have changed since ({@link #changed}), so a training step copies each weight once,
     * not once per product. Called from every shard's thread at once, hence synchronized.
     */
    synchronized java.nio.FloatBuffer direct(Tensor t) {
        if (t.direct == null) {
            t.direct = Sgemm.direct(t.size());
        }
        if (t.directVersion != version) {
            Sgemm.put(t.data, t.direct);
            t.directVersion = version;
        }
        return t.direct;
    }
}

package dev.letsbuildgpt.train;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's {@code .npy} format for float32 arrays, C order: what a checkpoint's arrays are, so that {@code numpy.load}
 * opens them. Reading checks the header against the shape the caller expects before reading any data, so a damaged
 * or foreign file cannot make it allocate more than that.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern HEADER = Pattern.compile(
            "\\{\\s*'descr'\\s*:\\s*'([^']*)'\\s*,\\s*'fortran_order'\\s*:\\s*(True|False)\\s*,\\s*'shape'\\s*:\\s*\\(([^)]*)\\)\\s*,?\\s*}\\s*");

    private Npy() {
    }

    /** The bytes of a float32 array of this shape (format version 1.0, little-endian). */
    public static byte[] write(float[] values, long[] shape) {
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            dims.append(d).append(", ");
        }
        String shapeText = shape.length == 1 ? shape[0] + "," : dims.substring(0, Math.max(0, dims.length() - 2));
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shapeText + "), }";
        int unpadded = MAGIC.length + 2 + 2 + header.length() + 1;
        header = header + " ".repeat((64 - unpadded % 64) % 64) + "\n";   // the data starts 64-byte aligned
        ByteArrayOutputStream out = new ByteArrayOutputStream(10 + header.length() + 4 * values.length);
        out.writeBytes(MAGIC);
        out.write(1);
        out.write(0);
        out.write(header.length() & 0xff);
        out.write(header.length() >>> 8);
        out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
        ByteBuffer data = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        data.asFloatBuffer().put(values);
        out.writeBytes(data.array());
        return out.toByteArray();
    }

    /** Why an array is unreadable. */
    public static final class FormatException extends Exception {
        FormatException(String message) {
            super(message);
        }
    }

    /**
     * Reads a float32 array that must have {@code expected} shape (a 1-D array of the same length is also taken, as
     * is a little-endian float32 header written any way NumPy allows).
     */
    public static float[] read(InputStream in, long[] expected) throws IOException, FormatException {
        DataInputStream d = new DataInputStream(in);
        byte[] magic = new byte[MAGIC.length];
        d.readFully(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new FormatException("not a .npy array");
        }
        int major = d.readUnsignedByte();
        d.readUnsignedByte();
        int headerLength;
        if (major == 1) {
            headerLength = d.readUnsignedByte() | d.readUnsignedByte() << 8;
        } else if (major == 2 || major == 3) {
            headerLength = d.readUnsignedByte() | d.readUnsignedByte() << 8 | d.readUnsignedByte() << 16
                    | d.readUnsignedByte() << 24;
        } else {
            throw new FormatException(".npy format version " + major + " is not supported");
        }
        if (headerLength < 0 || headerLength > 4096) {
            throw new FormatException("its header claims " + headerLength + " bytes");
        }
        byte[] h = new byte[headerLength];
        d.readFully(h);
        Matcher m = HEADER.matcher(new String(h, StandardCharsets.ISO_8859_1));
        if (!m.matches()) {
            throw new FormatException("its header is not a .npy header");
        }
        if (!m.group(1).equals("<f4") && !m.group(1).equals("float32")) {
            throw new FormatException("it holds " + m.group(1) + ", not little-endian float32 ('<f4')");
        }
        if (m.group(2).equals("True")) {
            throw new FormatException("it is in Fortran order");
        }
        long[] shape = Arrays.stream(m.group(3).split(",")).map(String::trim).filter(t -> !t.isEmpty())
                .mapToLong(t -> {
                    try {
                        return Long.parseLong(t);
                    } catch (NumberFormatException e) {
                        return -1;
                    }
                }).toArray();
        long expectedSize = Arrays.stream(expected).reduce(1, (a, b) -> a * b);
        boolean sameShape = Arrays.equals(shape, expected)
                || (shape.length == 1 && shape[0] == expectedSize && expected.length <= 2);
        if (!sameShape) {
            throw new FormatException("its shape is " + Arrays.toString(shape) + " where the model of its configuration has "
                    + Arrays.toString(expected));
        }
        byte[] bytes = new byte[Math.toIntExact(4 * expectedSize)];
        try {
            d.readFully(bytes);
        } catch (java.io.EOFException e) {
            throw new FormatException("it is cut short");
        }
        if (d.read() != -1) {
            throw new FormatException("it holds more data than its shape");
        }
        float[] values = new float[Math.toIntExact(expectedSize)];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}

package dev.letsbuildgpt.kernel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The kernel's process as Jupyter starts it ({@code java ... JavaKernel CONNECTION_FILE}) when one of the ports Jupyter
 * chose is taken before the kernel binds it (ten kernels starting at once in a classroom). The port taken here is
 * IOPub's, bound last, so the heartbeat, shell, control and stdin sockets (and their threads) are already up.
 */
class KernelStartTest {
    private static final InetAddress LOCAL = InetAddress.getLoopbackAddress();

    /** Taken for good: the kernel exits, saying which port, rather than run on with some sockets bound. */
    @Test
    void aPortTakenForGoodMakesTheKernelExitSayingWhich(@TempDir Path dir) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, LOCAL)) {
            Process kernel = start(dir, taken.getLocalPort());
            boolean exited = kernel.waitFor(60, TimeUnit.SECONDS);
            if (!exited) {
                kernel.destroyForcibly().waitFor();
            }
            String output = Files.readString(dir.resolve("kernel.log"));
            assertTrue(exited, "the kernel kept running with its IOPub port taken; it said: " + output);
            assertEquals(1, kernel.exitValue(), output);
            assertTrue(output.contains("kernel: cannot listen on the ports in " + dir.resolve("kernel.json")
                    + ": the IOPub port " + taken.getLocalPort() + " stayed in use"), output);
        }
    }

    /** Taken for a moment: the kernel waits, binds it once it is free, and runs. */
    @Test
    void aPortTakenForAMomentIsBoundOnceFree(@TempDir Path dir) throws Exception {
        int port;
        Process kernel;
        try (ServerSocket taken = new ServerSocket(0, 1, LOCAL)) {
            port = taken.getLocalPort();
            kernel = start(dir, port);
            Thread.sleep(1500);
        }
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(50);
            boolean bound = false;
            while (!bound && kernel.isAlive() && System.nanoTime() < deadline) {
                try (java.net.Socket client = new java.net.Socket(LOCAL, port)) {
                    bound = true;   // something listens there now, and the test holds nothing: the kernel
                } catch (java.net.ConnectException notYet) {
                    Thread.sleep(200);
                }
            }
            assertTrue(bound && kernel.isAlive(), "the kernel did not bind its IOPub port once it was free; it said: "
                    + Files.readString(dir.resolve("kernel.log")));
        } finally {
            kernel.destroyForcibly().waitFor();
        }
    }

    /** The kernel started on a connection file with free ports but the given IOPub port, waiting 4 s for a port. */
    private static Process start(Path dir, int iopubPort) throws IOException {
        int[] free = new int[4];
        for (int i = 0; i < free.length; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, LOCAL)) {
                free[i] = s.getLocalPort();
            }
        }
        Path connection = dir.resolve("kernel.json");
        Files.writeString(connection, String.format("{\"transport\": \"tcp\", \"ip\": \"127.0.0.1\", "
                + "\"hb_port\": %d, \"shell_port\": %d, \"control_port\": %d, \"stdin_port\": %d, "
                + "\"iopub_port\": %d, \"key\": \"a0b1c2\", \"signature_scheme\": \"hmac-sha256\", "
                + "\"kernel_name\": \"java\"}", free[0], free[1], free[2], free[3], iopubPort));
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dletsbuildgpt.kernel.bindWaitSeconds=4", "-cp", System.getProperty("java.class.path"),
                JavaKernel.class.getName(), connection.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("kernel.log").toFile()).start();
    }
}

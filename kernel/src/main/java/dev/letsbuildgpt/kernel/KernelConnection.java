package dev.letsbuildgpt.kernel;

import io.github.spencerpark.jupyter.channels.JupyterConnection;
import io.github.spencerpark.jupyter.channels.JupyterSocket;
import io.github.spencerpark.jupyter.kernel.KernelConnectionProperties;
import io.github.spencerpark.jupyter.messages.Message;
import io.github.spencerpark.jupyter.messages.publish.PublishStatus;

import java.security.GeneralSecurityException;

/**
 * The kernel's five sockets, bound on the ports Jupyter wrote into the connection file, with patience for a port
 * that is taken.
 *
 * <p>Jupyter chooses ports that were free when it looked; the kernel binds them when its JVM has started, seconds
 * later under load. With ten students' servers starting kernels at once on one machine a port can be taken in
 * between (by another server's choice, or as the local port of some connection), usually for a moment. The base
 * library binds the sockets in turn and gives up at the first taken port, leaving the ones before it bound and their
 * threads running: a kernel that answers on its shell port and is silent on the others, so the notebook server waits
 * for an IOPub message that never comes and drops the student's connection a minute later (seen in
 * {@code make classroom-test}). Here each socket is retried while its port is taken, for up to
 * {@link #BIND_WAIT_SECONDS}; if it stays taken, {@link #connect} throws, naming the channel and port, and the kernel
 * exits ({@link JavaKernel#main}) so that Jupyter notices and starts it again.
 */
final class KernelConnection extends JupyterConnection {
    /** How long a taken port is waited for (system property {@code letsbuildgpt.kernel.bindWaitSeconds}). */
    static final double BIND_WAIT_SECONDS = Double.parseDouble(
            System.getProperty("letsbuildgpt.kernel.bindWaitSeconds", "30"));

    private final KernelConnectionProperties props;
    private boolean connected;

    KernelConnection(KernelConnectionProperties props) throws GeneralSecurityException {
        super(props);
        this.props = props;
    }

    /** A port could not be bound within the wait. */
    static final class PortTaken extends RuntimeException {
        PortTaken(String channel, int port, RuntimeException cause) {
            super(String.format("the %s port %d stayed in use for %.0f s (%s)", channel, port, BIND_WAIT_SECONDS,
                    cause.getMessage()), cause);
        }
    }

    @Override
    public void connect() {
        if (connected) {
            return;
        }
        // The base library's order.
        bind("heartbeat", heartbeat, props.getHbPort());
        bind("shell", shell, props.getShellPort());
        bind("control", control, props.getControlPort());
        bind("stdin", stdin, props.getStdinPort());
        bind("IOPub", iopub, props.getIopubPort());
        getIOPub().sendMessage(new Message<>(null, PublishStatus.MESSAGE_TYPE, PublishStatus.STARTING));
        connected = true;
    }

    private void bind(String channel, JupyterSocket socket, int port) {
        long deadline = System.nanoTime() + (long) (BIND_WAIT_SECONDS * 1e9);
        boolean waited = false;
        while (true) {
            try {
                socket.bind(props);
                return;
            } catch (RuntimeException e) {   // jeromq's ZMQException: EADDRINUSE
                if (System.nanoTime() > deadline) {
                    throw new PortTaken(channel, port, e);
                }
                if (!waited) {
                    System.err.printf("kernel: the %s port %d is in use (%s); waiting up to %.0f s for it%n", channel,
                            port, e.getMessage(), BIND_WAIT_SECONDS);
                    waited = true;
                }
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the " + channel + " port", e);
            }
        }
    }
}

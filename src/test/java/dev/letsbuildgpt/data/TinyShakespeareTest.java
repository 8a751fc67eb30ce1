package dev.letsbuildgpt.data;

import com.sun.net.httpserver.HttpServer;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TinyShakespeareTest {
    @TempDir
    Path tmp;

    @Test
    void theDataSetHasTheKnownChecksumAndSize() {
        String text = TestData.shakespeare();
        assertEquals(TinyShakespeare.SHA256, TinyShakespeare.sha256(text.getBytes(StandardCharsets.UTF_8)));
        assertEquals(1_115_394, text.length());
        assertTrue(text.startsWith("First Citizen:"));
    }

    @Test
    void downloadIsVerifiedCachedAtomicallyAndReused() throws Exception {
        byte[] bytes = TestData.shakespeare().getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        int[] hits = {0};
        server.createContext("/input.txt", ex -> {
            hits[0]++;
            ex.sendResponseHeaders(200, bytes.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(bytes);
            }
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/input.txt";
            Path cache = tmp.resolve("data");
            assertEquals(bytes.length, TinyShakespeare.load(url, cache).getBytes(StandardCharsets.UTF_8).length);
            assertEquals(1, hits[0]);
            assertTrue(Files.isRegularFile(cache.resolve(TinyShakespeare.FILE_NAME)));
            try (var files = Files.list(cache)) {
                assertEquals(1, files.count(), "no temporary file is left behind");
            }
            TinyShakespeare.load(url, cache);
            assertEquals(1, hits[0], "the second load reads the cache");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aDownloadWithTheWrongChecksumIsRejectedAndNothingIsWritten() throws Exception {
        byte[] bytes = "not Shakespeare".getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/input.txt", ex -> {
            ex.sendResponseHeaders(200, bytes.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(bytes);
            }
        });
        server.start();
        try {
            Path cache = tmp.resolve("data");
            GptException e = assertThrows(GptException.class, () -> TinyShakespeare.load(
                    "http://127.0.0.1:" + server.getAddress().getPort() + "/input.txt", cache));
            assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
            assertFalse(Files.exists(cache.resolve(TinyShakespeare.FILE_NAME)));
        } finally {
            server.stop(0);
        }
    }

    @Test
    void anUnreachableUrlIsAClearError() {
        GptException e = assertThrows(GptException.class,
                () -> TinyShakespeare.load("http://127.0.0.1:9/input.txt", tmp));
        assertTrue(e.getMessage().startsWith("cannot download"), e.getMessage());
    }

    @Test
    void aCorruptedLocalCopyIsRejected() throws Exception {
        Path f = tmp.resolve(TinyShakespeare.FILE_NAME);
        Files.writeString(f, TestData.shakespeare().replace("First Citizen", "Frist Citizen"));
        GptException e = assertThrows(GptException.class, () -> TinyShakespeare.load(f.toString(), tmp));
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
    }

    @Test
    void anyOtherTextFileCanBeUsed() throws Exception {
        Path f = tmp.resolve("poem.txt");
        Files.writeString(f, "to be or not to be");
        assertEquals("to be or not to be", TinyShakespeare.load("file://" + f.toAbsolutePath(), tmp));
    }

    @Test
    void missingEmptyBinaryAndNonUtf8FilesAreClearErrors() throws Exception {
        assertTrue(assertThrows(GptException.class, () -> TinyShakespeare.load(tmp.resolve("nope.txt").toString(), tmp))
                .getMessage().startsWith("data file not found"));
        Path empty = Files.createFile(tmp.resolve("empty.txt"));
        assertTrue(assertThrows(GptException.class, () -> TinyShakespeare.load(empty.toString(), tmp))
                .getMessage().startsWith("data is empty"));
        Path binary = Files.write(tmp.resolve("binary.txt"), new byte[]{'a', 0, 'b'});
        assertTrue(assertThrows(GptException.class, () -> TinyShakespeare.load(binary.toString(), tmp))
                .getMessage().startsWith("data is binary"));
        Path latin1 = Files.write(tmp.resolve("latin1.txt"), new byte[]{'c', 'a', 'f', (byte) 0xE9});
        assertTrue(assertThrows(GptException.class, () -> TinyShakespeare.load(latin1.toString(), tmp))
                .getMessage().startsWith("data is not valid UTF-8"));
    }
}

package dev.kiln.data.vision;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Downloads from mirrors served on the loopback interface: failing, corrupt, cut short, and good. */
class MnistDownloadTest {

    static final int N = 25;
    static final byte[] IMAGES_GZ = IdxFiles.gzip(IdxFiles.images(N, 28, 28));
    static final byte[] LABELS_GZ = IdxFiles.gzip(IdxFiles.labels(N));
    /** MNIST with the checksums of the generated files. */
    static final MNIST.Variant TEST_VARIANT = new MNIST.Variant("MNIST", MNIST.MIRRORS, MNIST.md5s(
            "train-images-idx3-ubyte.gz", IdxFiles.md5(IMAGES_GZ),
            "train-labels-idx1-ubyte.gz", IdxFiles.md5(LABELS_GZ)), MNIST.VARIANT.classes());

    @TempDir
    Path root;
    HttpServer server;
    final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();

    @BeforeEach
    void serve() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/down/", ex -> reply(ex, 503, new byte[0]));
        server.createContext("/corrupt/", ex -> {
            byte[] body = body(ex).clone();
            body[body.length / 2] ^= 1;
            reply(ex, 200, body);
        });
        server.createContext("/short/", ex -> {
            // Declares the full length, sends half, hangs up.
            byte[] body = body(ex);
            count(ex);
            ex.sendResponseHeaders(200, body.length);
            OutputStream out = ex.getResponseBody();
            out.write(body, 0, body.length / 2);
            out.flush();
            ex.close();
        });
        server.createContext("/good/", ex -> reply(ex, 200, body(ex)));
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void count(HttpExchange ex) {
        hits.computeIfAbsent(ex.getRequestURI().getPath(), k -> new AtomicInteger()).incrementAndGet();
    }

    private static byte[] body(HttpExchange ex) {
        String path = ex.getRequestURI().getPath();
        if (path.endsWith("train-images-idx3-ubyte.gz")) {
            return IMAGES_GZ;
        }
        if (path.endsWith("train-labels-idx1-ubyte.gz")) {
            return LABELS_GZ;
        }
        return new byte[0];
    }

    private void reply(HttpExchange ex, int status, byte[] body) throws IOException {
        count(ex);
        if (body.length == 0 && status == 200) {
            status = 404;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        ex.close();
    }

    private URI mirror(String name) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/" + name + "/");
    }

    private MNIST.Builder builder(String... mirrors) {
        return MNIST.builder().variant(TEST_VARIANT).root(root).download(true).timeout(Duration.ofSeconds(10))
                .mirrors(Stream.of(mirrors).map(this::mirror).toList());
    }

    private List<String> leftovers() throws IOException {
        Path raw = root.resolve("MNIST").resolve("raw");
        if (!Files.isDirectory(raw)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(raw)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void failingAndCorruptMirrorsAreSkippedUntilOneServesIntactFiles() throws IOException {
        MNIST ds = builder("down", "corrupt", "short", "good").build();
        assertEquals(N, ds.size());
        assertEquals(3, ds.label(13));
        assertEquals(List.of("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"), leftovers(),
                "only the verified files, no temporary ones");
        assertArrayEquals(IMAGES_GZ, Files.readAllBytes(root.resolve("MNIST/raw/train-images-idx3-ubyte.gz")));
        for (String m : List.of("down", "corrupt", "short", "good")) {
            assertEquals(1, hits.get("/" + m + "/train-images-idx3-ubyte.gz").get(), m);
        }

        // Present files are not fetched again.
        hits.clear();
        assertEquals(N, builder("good").build().size());
        assertTrue(hits.isEmpty(), hits.toString());
    }

    @Test
    void whenEveryMirrorFailsTheErrorListsEachAndNoFileIsLeftBehind() throws IOException {
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> builder("down", "corrupt", "short").build());
        String m = e.getMessage();
        assertTrue(m.contains("train-images-idx3-ubyte.gz"), m);
        assertTrue(m.contains("HTTP 503"), m);
        assertTrue(m.contains("MD5 mismatch"), m);
        assertTrue(m.contains("/short/") && m.contains("broke off after"), m);
        assertEquals(List.of(), leftovers(), "no half-written file under any name");
        assertFalse(Files.exists(root.resolve("MNIST/raw/train-images-idx3-ubyte.gz")));
    }

    @Test
    void withoutDownloadNothingIsFetched() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> builder("good").download(false).build());
        assertTrue(e.getMessage().contains("download(true)"), e.getMessage());
        assertTrue(hits.isEmpty());
    }

    @Test
    void theDefaultMirrorsAreTorchvisions() {
        assertEquals(URI.create("https://ossci-datasets.s3.amazonaws.com/mnist/"), MNIST.MIRRORS.get(0));
        assertEquals("8d4fb7e6c68d591d4c3dfef9ec88bf0d", FashionMNIST.FASHION.md5().get("train-images-idx3-ubyte.gz"));
    }
}

package dev.kiln.data.vision;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Fetches a file from the first mirror that serves it intact. Each attempt streams into a temporary
 * file in the target folder while computing the MD5, checks the length and the digest, and only then
 * renames the file into place, atomically: an interrupted or corrupt download never leaves a file
 * under the final name.
 */
final class Downloader {

    private static final Logger LOG = LoggerFactory.getLogger(Downloader.class);

    private final HttpClient client;
    private final Duration timeout;

    Downloader(Duration timeout) {
        this.timeout = timeout;
        this.client = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .proxy(ProxySelector.getDefault())
                .build();
    }

    /**
     * Downloads {@code file} into {@code dir}, trying {@code mirrors} in order.
     *
     * @param md5 the expected lowercase hex digest, or null to skip the check
     * @return the downloaded file
     * @throws IOException naming every mirror's failure when none worked
     */
    Path fetch(String file, String md5, List<URI> mirrors, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(file);
        List<String> failures = new ArrayList<>();
        for (URI mirror : mirrors) {
            String base = mirror.toString();
            URI url = URI.create(base.endsWith("/") ? base : base + "/").resolve(file);
            LOG.info("Downloading {}", url);
            Path tmp = Files.createTempFile(dir, "." + file + ".", ".part");
            try {
                String problem = attempt(url, md5, tmp);
                if (problem == null) {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    return target;
                }
                failures.add(url + ": " + problem);
                LOG.warn("Failed to download {}: {}; trying the next mirror", url, problem);
            } catch (IOException e) {
                failures.add(url + ": " + e);
                LOG.warn("Failed to download {}: {}; trying the next mirror", url, e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while downloading " + url);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        throw new IOException("could not download " + file + " into " + dir + (mirrors.isEmpty() ? ": no mirrors configured"
                : " from any mirror: " + String.join("; ", failures)));
    }

    /** One download into {@code tmp}; returns null when it is complete and intact, else the problem. */
    private String attempt(URI url, String md5, Path tmp) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout).GET().build();
        HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        MessageDigest digest = md5();
        long declared = response.headers().firstValueAsLong("Content-Length").orElse(-1);
        long received = 0;
        try (InputStream body = response.body();
             FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            if (response.statusCode() != 200) {
                return "HTTP " + response.statusCode();
            }
            byte[] buf = new byte[1 << 16];
            try {
                for (int k; (k = body.read(buf)) > 0; ) {
                    digest.update(buf, 0, k);
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, k);
                    while (bb.hasRemaining()) {
                        out.write(bb);
                    }
                    received += k;
                }
            } catch (IOException e) {
                return "size mismatch: the transfer broke off after " + received + " of "
                        + (declared >= 0 ? declared + " declared" : "an unknown number of") + " bytes (" + e.getMessage() + ")";
            }
            out.force(true);
        }
        if (declared >= 0 && declared != received) {
            return "size mismatch: the server declared " + declared + " bytes but sent " + received;
        }
        String got = HexFormat.of().formatHex(digest.digest());
        if (md5 != null && !got.equalsIgnoreCase(md5)) {
            return "MD5 mismatch: expected " + md5 + ", got " + got + " (" + received + " bytes)";
        }
        return null;
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no MD5", e);
        }
    }
}

package dev.syncline.server.cli;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("GET /backup over a link slower than readIdleTimeoutSeconds")
class BackupOverSlowLinkTest {

  private static <T> HttpResponse<T> getBackup(TestServer server, String token, HttpResponse.BodyHandler<T> body) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/backup"))
        .header("Authorization", "Bearer " + token).build(), body);
  }

  @Test
  @DisplayName("is sent whole: the idle timeout, meant for clients that went silent, does not cut a backup being sent; "
      + "meanwhile another is refused with 429, and after it one is made again")
  void sentWhole() throws Exception {
    try (TestServer server = TestServer.start(c -> c.readIdleTimeoutSeconds = 1)) {
      String token = fill(server);
      try (Socket s = requestBackup(server, token)) {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        HttpResponse<String> meanwhile = null;
        for (int n; (n = in.read(buf)) > 0; ) { // about 2 MB/s: several seconds for the whole zip
          all.write(buf, 0, n);
          // one at a time: another copy of the store on the data volume must wait
          if (meanwhile == null) meanwhile = getBackup(server, token, HttpResponse.BodyHandlers.ofString());
          Thread.sleep(30);
        }
        assertEquals(429, meanwhile.statusCode(), meanwhile.body());
        assertTrue(meanwhile.headers().firstValue("retry-after").isPresent(), meanwhile.headers().toString());
        String text = all.toString(StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        assertTrue(text.startsWith("HTTP/1.1 200"), text.substring(0, Math.min(200, text.length())));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: (\\d+)").matcher(text.substring(0, end));
        assertTrue(m.find(), text.substring(0, end));
        long length = Long.parseLong(m.group(1));
        assertTrue(length > 5_000_000, "a backup of some size: " + length);
        assertEquals(length, all.size() - end - 4, "every byte of the zip arrived");
      }
      // sent: the next one may be made (the first one's end is handled on the server a moment after its last byte)
      assertEquals(200, nextBackup(server, token), "a backup after the first one ended");
    }
  }

  @Test
  @DisplayName("to a client that stops taking it is cut once nothing moved for readIdleTimeoutSeconds: the next one may be made")
  void stalledClientIsCut() throws Exception {
    try (TestServer server = TestServer.start(c -> c.readIdleTimeoutSeconds = 1)) {
      String token = fill(server);
      try (Socket s = requestBackup(server, token)) {
        assertTrue(s.getInputStream().read(new byte[1024]) > 0, "the answer began");
        // and nothing more is read from it
        assertEquals(200, nextBackup(server, token), "the stalled download no longer holds the one backup slot");
      }
    }
  }

  @Test
  @DisplayName("asked on a kept-alive connection, is sent whole; the server leaves the connection to the client, "
      + "then cuts it once it is idle for readIdleTimeoutSeconds again; the next one is made")
  void idleTimeoutAppliesAfterIt() throws Exception {
    try (TestServer server = TestServer.start(c -> c.readIdleTimeoutSeconds = 3);
        Socket s = new Socket("127.0.0.1", server.port())) {
      String token = token(server);
      s.setSoTimeout(20_000);
      InputStream in = s.getInputStream();
      s.getOutputStream().write(("GET /backup HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
          + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int b = in.read();
        assertTrue(b >= 0, "an answer; got " + head);
        head.append((char) b);
      }
      assertTrue(head.toString().startsWith("HTTP/1.1 200"), head.toString());
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: (\\d+)").matcher(head);
      assertTrue(m.find(), head.toString());
      assertEquals(Long.parseLong(m.group(1)), in.readNBytes(Integer.parseInt(m.group(1))).length, "the whole zip");
      // not closed right behind the answer: a Vert.x client that paused it would lose its end
      s.setSoTimeout(500);
      assertThrows(java.net.SocketTimeoutException.class, in::read, "the connection stays open after the answer");
      s.setSoTimeout(20_000);
      long idleFrom = System.nanoTime();
      assertEquals(-1, in.read(), "closed once idle: it had no read-idle timeout while the backup was sent");
      assertTrue(System.nanoTime() - idleFrom < 15_000_000_000L, "by the read-idle timeout");
      assertEquals(200, nextBackup(server, token), "the next backup");
    }
  }

  /** The status of the next backup asked for, once one is no longer being sent (429), within 20 s. */
  private static int nextBackup(TestServer server, String token) throws Exception {
    long until = System.currentTimeMillis() + 20_000;
    int status;
    while ((status = getBackup(server, token, HttpResponse.BodyHandlers.discarding()).statusCode()) == 429
        && System.currentTimeMillis() < until) {
      Thread.sleep(50);
    }
    return status;
  }

  /** ~12 MB that does not compress much, more than socket buffers hold, in app; returns an admin's token. */
  static String fill(TestServer server) throws Exception {
    try (WsClient w = server.connect("filler")) {
      Random random = new Random(7);
      for (int i = 0; i < 20; i++) {
        ObjectNode p = push("app");
        for (int k = 0; k < 10; k++) {
          byte[] noise = new byte[45_000];
          random.nextBytes(noise);
          p.withArray("deltas").add(delta("c", "d" + i + "-" + k, "v", Base64.getEncoder().encodeToString(noise), now(i * 10 + k, "filler")));
        }
        assertEquals("ack", w.request(p).path("type").asText());
      }
    }
    return token(server);
  }

  private static String token(TestServer server) throws Exception {
    return Json.MAPPER.readTree(HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/auth/login"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"username\":\"admin\",\"password\":\"" + TestServer.ADMIN_PASSWORD + "\"}"))
            .build(), HttpResponse.BodyHandlers.ofString()).body()).path("token").asText();
  }

  /** GET /backup on a socket of its own with a small receive buffer, read by the caller. */
  static Socket requestBackup(TestServer server, String token) throws Exception {
    Socket s = new Socket("127.0.0.1", server.port());
    s.setReceiveBufferSize(64 * 1024);
    s.setSoTimeout(30_000);
    s.getOutputStream().write(("GET /backup HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    return s;
  }
}

package dev.syncline.server.metrics;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.protocol.Json;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.PrometheusText;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("GET /metrics: Prometheus text of what the server does, behind the configured access")
class MetricsEndpointTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  @DisplayName("connections, pushes and deltas by outcome, group commits, auth failures, store and JVM are scraped")
  void scrapes() throws Exception {
    try (TestServer server = TestServer.start(); WsClient writer = server.connect("metrics-writer");
        WsClient reader = server.connect("metrics-reader")) {
      reader.request(sub("app", 0));
      for (int i = 0; i < 20; i++) writer.request(push("app", delta("c", "d" + i, "v", i, now(i, "metrics-writer"))));
      writer.request(push("app", delta("c", "d0", "v", -1, dev.syncline.server.testing.Deltas.ts(1, 0, "metrics-writer"))));
      writer.request(WsClient.obj("push").put("db", "nope").set("deltas", Json.MAPPER.createArrayNode()
          .add(delta("c", "x", "v", 1, now(0, "metrics-writer")))));
      writer.request(WsClient.obj("login").put("username", "admin").put("password", "wrong"));

      HttpResponse<String> r = get(server, "/metrics", null);
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
      PrometheusText m = PrometheusText.parse(r.body());

      assertEquals(2, m.value("syncline_connections"));
      assertEquals(1, m.value("syncline_subscriptions"));
      assertEquals(21, m.value("syncline_pushes_total", "outcome", "acked"));
      assertEquals(1, m.value("syncline_pushes_total", "outcome", "not_found"));
      assertEquals(20, m.value("syncline_deltas_total", "outcome", "applied"));
      assertEquals(1, m.value("syncline_deltas_total", "outcome", "superseded"));
      assertEquals(1, m.value("syncline_auth_failed_total"));
      assertEquals("histogram", m.type("syncline_commit_group_duration_seconds"));
      double groups = m.value("syncline_commit_group_duration_seconds_count");
      assertTrue(groups >= 21 && groups == m.value("syncline_commit_sync_duration_seconds_count"), r.body());
      assertEquals(groups, m.value("syncline_commit_group_duration_seconds_bucket", "le", "+Inf"));
      assertTrue(m.value("syncline_commit_group_deltas_sum") >= 21);
      assertEquals(0, m.value("syncline_write_queue_deltas"));
      assertTrue(m.value("jvm_memory_used_bytes") > 0);
    }
  }

  @Test
  @DisplayName("HTTP methods a client makes up are counted as one label value, other: they cannot grow the metrics")
  void madeUpMethodsAreOneLabel() throws Exception {
    try (TestServer server = TestServer.start()) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.port())) {
        StringBuilder requests = new StringBuilder();
        for (int i = 0; i < 50; i++) requests.append("XMETHOD").append(i).append(" /health HTTP/1.1\r\nHost: x\r\n\r\n");
        s.getOutputStream().write(requests.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        s.setSoTimeout(10_000);
        java.io.InputStream in = s.getInputStream();
        String answers = "";
        byte[] buf = new byte[8192];
        while (answers.split("HTTP/1.1 ", -1).length - 1 < 50) { // every request answered, so every one was counted
          int n = in.read(buf);
          if (n < 0) break;
          answers += new String(buf, 0, n, java.nio.charset.StandardCharsets.US_ASCII);
        }
      }
      String body = get(server, "/metrics", null).body();
      assertTrue(body.contains("method=\"other\""), "made-up methods counted as other");
      assertTrue(!body.contains("XMETHOD"), "no label value per made-up method");
    }
  }

  @Test
  @DisplayName("bytes in and out and the store size are counted (Vert.x reports bytes at the latest when a connection closes)")
  void bytes() throws Exception {
    try (TestServer server = TestServer.start()) {
      try (WsClient writer = server.connect("bytes-writer")) {
        for (int i = 0; i < 5; i++) writer.request(push("app", delta("c", "d" + i, "v", "x".repeat(1000), now(i, "bytes-writer"))));
      }
      Cluster.await(() -> {
        try {
          PrometheusText m = PrometheusText.parse(get(server, "/metrics", null).body());
          return m.value("syncline_connections") == 0 && m.value("vertx_http_server_bytes_read_total") > 5000
              && m.value("vertx_http_server_bytes_written_total") > 0
              && m.value("syncline_store_disk_bytes") > 0; // Xodus measures its disk use in the background
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, Duration.ofSeconds(10), () -> "bytes counted");
    }
  }

  @Test
  @DisplayName("two servers in one JVM count their own connections' bytes, not each other's")
  void serversSideBySide() throws Exception {
    try (TestServer quiet = TestServer.start(); TestServer busy = TestServer.start()) {
      try (WsClient writer = busy.connect("side-writer")) {
        for (int i = 0; i < 5; i++) writer.request(push("app", delta("c", "d" + i, "v", "x".repeat(1000), now(i, "side-writer"))));
      }
      Cluster.await(() -> bytesRead(busy) > 5000, Duration.ofSeconds(10), () -> "the busy server's bytes counted");
      double quietBytes = bytesRead(quiet);
      // only its own scrapes' requests: a few hundred bytes
      assertTrue(quietBytes < 2000, "the quiet server read " + quietBytes + " bytes");
    }
  }

  /** vertx_http_server_bytes_read_total of the server, 0 while it has none. */
  private static double bytesRead(TestServer server) {
    try {
      String body = get(server, "/metrics", null).body();
      return body.contains("vertx_http_server_bytes_read_total")
          ? PrometheusText.parse(body).value("vertx_http_server_bytes_read_total") : 0;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  @DisplayName("metrics.access admin wants an admin's token; local refuses what a proxy forwards")
  void access() throws Exception {
    try (TestServer server = TestServer.start(c -> c.metrics.access = "admin")) {
      assertEquals(401, get(server, "/metrics", null).statusCode());
      String token = login(server, "admin", TestServer.ADMIN_PASSWORD);
      assertEquals(200, get(server, "/metrics", token).statusCode());
      server.admin(dev.syncline.server.testing.Deltas.admin("user.create", dev.syncline.server.testing.Deltas.args()
          .put("username", "viewer").put("password", "viewer-password-1")));
      assertEquals(403, get(server, "/metrics", login(server, "viewer", "viewer-password-1")).statusCode());
    }
    try (TestServer server = TestServer.start()) {
      // whichever header the proxy on this machine sets
      for (String[] header : new String[][] {{"X-Forwarded-For", "203.0.113.9"}, {"Forwarded", "for=203.0.113.9"},
          {"X-Real-IP", "203.0.113.9"}, {"X-Forwarded-Proto", "https"}}) {
        HttpResponse<String> forwarded = HTTP.send(HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + server.port() + "/metrics")).header(header[0], header[1]).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(403, forwarded.statusCode(), header[0]);
      }
      assertEquals(200, get(server, "/metrics", null).statusCode(), "this machine itself");
    }
    try (TestServer server = TestServer.start(c -> c.metrics.enabled = false)) {
      assertEquals(404, get(server, "/metrics", null).statusCode());
    }
  }

  @Test
  @DisplayName("each peer link has an up gauge and its replication lag; the peers' part of the stats comes back on the asker's event loop")
  void peers() throws Exception {
    // more loops than links: the links run on some, the askers below on others
    try (Cluster c = Cluster.ring(2, false, cfg -> cfg.eventLoops = 4)) {
      c.startAll();
      c.awaitLinksLive(Duration.ofSeconds(30));
      int port = c.node(0).port();
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      PrometheusText m = PrometheusText.parse(r.body());
      String peer = c.node(1).serverId();
      // a link both ways: each server dials the other, so there is a gauge per link, each 1 while live
      assertTrue(m.samples("syncline_peer_up", "peer", peer).stream().allMatch(g -> g.value() == 1), r.body());
      assertTrue(m.samples("syncline_peer_up", "peer", peer).size() >= 1, r.body());
      assertTrue(m.samples("syncline_replication_lag_deltas", "peer", peer).size() >= 1, r.body());

      // what a /metrics answer or a server.stats frame is written from: it must be the loop that owns that connection
      var server = c.node(0).server();
      java.util.Queue<String> offLoop = new java.util.concurrent.ConcurrentLinkedQueue<>();
      java.util.concurrent.CountDownLatch answered = new java.util.concurrent.CountDownLatch(8);
      for (int i = 0; i < 8; i++) {
        server.vertx().getOrCreateContext().runOnContext(v -> {
          Thread asker = Thread.currentThread();
          server.stats().onComplete(ar -> {
            if (Thread.currentThread() != asker || !ar.succeeded() || ar.result().path("peers").isEmpty()) {
              offLoop.add(asker.getName() + " -> " + Thread.currentThread().getName() + " " + ar.result());
            }
            answered.countDown();
          });
        });
      }
      assertTrue(answered.await(10, java.util.concurrent.TimeUnit.SECONDS), "stats answered");
      assertTrue(offLoop.isEmpty(), "answered off the asker's loop, or without peers: " + offLoop);
    }
  }

  private static HttpResponse<String> get(TestServer server, String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
    if (token != null) b.header("Authorization", "Bearer " + token);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String login(TestServer server, String user, String password) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/auth/login"))
        .POST(HttpRequest.BodyPublishers.ofString(Json.MAPPER.createObjectNode().put("username", user)
            .put("password", password).toString())).header("content-type", "application/json").build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).path("token").asText();
  }
}

package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Pipeline;
import dev.syncline.server.testing.PrometheusText;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Back-pressure on the writer")
class OverloadTest {

  @Test
  @DisplayName("pushes beyond the write queue bound get overloaded with retryAfterMs; only acked pushes are stored")
  void boundedWriteQueue() {
    try (TestServer server = TestServer.start(c -> c.maxQueuedDeltas = 10)) {
      try (WsClient c = server.connect("flood")) {
        // one push larger than the bound is taken when the queue is empty
        JsonNode big = c.request(push("app", deltas("big", 25)));
        assertEquals("ack", big.get("type").asText(), big.toString());

        Pipeline p = new Pipeline(c, 200);
        List<CompletableFuture<JsonNode>> answers = new ArrayList<>();
        for (int i = 0; i < 200; i++) answers.add(p.send(push("app", deltas("p" + i, 10))));
        int acked = 0;
        int overloaded = 0;
        for (CompletableFuture<JsonNode> f : answers) {
          JsonNode m = f.join();
          if (m.get("type").asText().equals("ack")) {
            acked++;
          } else {
            assertEquals("overloaded", m.get("code").asText(), m.toString());
            assertTrue(m.get("retryAfterMs").asLong() > 0);
            overloaded++;
          }
        }
        assertEquals(200, acked + overloaded);
        assertTrue(overloaded > 0, "200 pipelined pushes of 10 deltas overflow a queue of 10");
        assertTrue(acked > 0, "the writer keeps taking work while refusing the excess");
        JsonNode stats = server.admin(admin("db.stats", args().put("db", "app"))).get("data");
        assertEquals(25 + 10L * acked, stats.get("attributes").asLong(), "exactly the acked pushes are stored");
      }
    }
  }

  @Test
  @DisplayName("a connection that sends faster than the writer is not read on until its pushes are answered, so it is never refused")
  void unansweredPushesPauseReading() {
    // 200 pipelined pushes of 10 deltas overflow a queue of 100 (see above) unless the server stops
    // reading the connection at 50 unanswered deltas: then at most 50 + 10 ever wait for the writer
    try (TestServer server = TestServer.start(c -> {
      c.maxQueuedDeltas = 100;
      c.maxUnansweredDeltas = 50;
    })) {
      try (WsClient c = server.connect("flood")) {
        Pipeline p = new Pipeline(c, 200);
        List<CompletableFuture<JsonNode>> answers = new ArrayList<>();
        for (int i = 0; i < 200; i++) answers.add(p.send(push("app", deltas("p" + i, 10))));
        for (CompletableFuture<JsonNode> f : answers) {
          JsonNode m = f.join();
          assertEquals("ack", m.get("type").asText(), m.toString());
        }
        JsonNode stats = server.admin(admin("db.stats", args().put("db", "app"))).get("data");
        assertEquals(2000L, stats.get("attributes").asLong());
        // reading resumed: the connection still answers
        assertEquals("pong", c.request(WsClient.obj("ping")).get("type").asText());
      }
      assertTrue(metric(server, "syncline_push_pauses_total") > 0, "the pauses are counted in /metrics");
    }
  }

  @Test
  @DisplayName("pushes of large values overflow the write queue by their bytes, long before maxQueuedDeltas: overloaded; only acked pushes are stored")
  void boundedWriteQueueBytes() {
    try (TestServer server = TestServer.start(c -> c.maxQueuedBytes = 1 << 20)) {
      try (WsClient c = server.connect("flood-bytes")) {
        // the writer held still, as a slow disk would: the flood fills the queue, whatever this machine's speed
        WriterHold held = WriterHold.on(server.server());
        List<CompletableFuture<JsonNode>> answers = pipelineLargeValues(c, "flood-bytes");
        // the excess is refused at once, while the writer is held
        CompletableFuture.anyOf(answers.toArray(CompletableFuture[]::new)).join();
        held.close();
        int acked = 0;
        int overloaded = 0;
        for (CompletableFuture<JsonNode> f : answers) {
          JsonNode m = f.join();
          if (m.get("type").asText().equals("ack")) acked++;
          else if (m.get("code").asText().equals("overloaded")) overloaded++;
        }
        assertEquals(40, acked + overloaded);
        assertTrue(overloaded > 0, "12 MB pipelined overflow a queue of 1 MiB");
        assertTrue(acked > 0, "the writer keeps taking work while refusing the excess");
        JsonNode stats = server.admin(admin("db.stats", args().put("db", "app"))).get("data");
        assertEquals(5L * acked, stats.get("attributes").asLong(), "exactly the acked pushes are stored");
      }
    }
  }

  @Test
  @DisplayName("pushes of large values pause the connection by their bytes, long before maxUnansweredDeltas; every push is still acked")
  void pausedByBytes() {
    try (TestServer server = TestServer.start(c -> c.maxUnansweredBytes = 1 << 20)) {
      try (WsClient c = server.connect("big-values")) {
        List<CompletableFuture<JsonNode>> answers = pipelineLargeValues(c, "big-values");
        for (CompletableFuture<JsonNode> f : answers) assertEquals("ack", f.join().get("type").asText());
      }
      assertTrue(metric(server, "syncline_push_pauses_total") > 0, "paused by bytes: 200 deltas are far below maxUnansweredDeltas");
    }
  }

  /** 40 pipelined pushes of ~300 KB, 5 deltas each (200 deltas, 12 MB), by {@code client}; their answers. */
  private static List<CompletableFuture<JsonNode>> pipelineLargeValues(WsClient c, String client) {
    Pipeline p = new Pipeline(c, 40);
    List<CompletableFuture<JsonNode>> answers = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      JsonNode[] big = new JsonNode[5];
      for (int j = 0; j < 5; j++) big[j] = delta("c", client + i, "a" + j, "x".repeat(60_000), now(j, client));
      answers.add(p.send(push("app", big)));
    }
    return answers;
  }

  private static double metric(TestServer server, String name) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      return PrometheusText.parse(r.body()).value(name);
    } catch (java.io.IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  private static JsonNode[] deltas(String id, int n) {
    JsonNode[] out = new JsonNode[n];
    for (int i = 0; i < n; i++) out[i] = delta("c", id, "a" + i, i, now(i, "flood"));
    return out;
  }
}

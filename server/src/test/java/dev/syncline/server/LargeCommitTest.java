package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A commit larger than a page reaches live subscribers in frames of a page each")
class LargeCommitTest {
  static final int PAGE_BYTES = 8192;

  @Test
  @DisplayName("every delta once, in seq order, no frame over a page and its envelope, the last frame's cursor the ack's head")
  void splitIntoPages() {
    try (TestServer server = TestServer.start(c -> c.catchUpPageBytes = PAGE_BYTES);
        WsClient reader = server.connect("reader");
        WsClient writer = server.connect("writer")) {
      JsonNode subscribed = reader.request(sub("app", 0));
      String sid = subscribed.path("sid").asText();
      reader.await(m -> "synced".equals(m.path("type").asText()));
      ObjectNode p = push("app");
      for (int i = 0; i < 200; i++) p.withArray("deltas").add(delta("c", "d" + i, "v", "x".repeat(200), now(i, "writer")));
      long head = writer.request(p).path("seq").asLong();
      reader.until(() -> frames(reader, sid).stream().anyMatch(f -> f.path("seq").asLong() == head), "the last frame");
      List<JsonNode> frames = frames(reader, sid);
      assertTrue(frames.size() >= 5, "split: " + frames.size() + " frames");
      long lastSeq = 0;
      long cursor = 0;
      int deltas = 0;
      for (JsonNode f : frames) {
        // a page's deltas hold at most PAGE_BYTES; the rest is the frame's envelope (type, sid, db, seq)
        assertTrue(f.toString().length() <= PAGE_BYTES + 100, "a frame of " + f.toString().length() + " bytes");
        assertTrue(f.path("seq").asLong() > cursor, "cursors only grow");
        cursor = f.path("seq").asLong();
        for (JsonNode d : f.path("deltas")) {
          assertTrue(d.path("seq").asLong() > lastSeq, "seq order, no duplicate");
          assertTrue(d.path("seq").asLong() <= cursor, "no delta beyond its frame's cursor");
          lastSeq = d.path("seq").asLong();
          deltas++;
        }
      }
      assertEquals(200, deltas);
      assertEquals(head, cursor);
    }
  }

  @Test
  @DisplayName("to a live subscriber that stops reading, a commit far larger than its socket is sent only while the socket takes it: "
      + "it falls behind, and once it reads it gets every delta once")
  void largeCommitToASocketThatFills() throws Exception {
    int values = 60_000;
    int count = 250; // 15 MB: several times what the kernel's buffers on both ends hold on loopback
    try (TestServer server = TestServer.start(c -> c.maxMessageBytes = 16 << 20);
        dev.syncline.server.testing.RawWebSocket reader = dev.syncline.server.testing.RawWebSocket.connect(server.port(), 64 * 1024);
        WsClient writer = server.connect("writer")) {
      reader.sendText("{\"type\":\"hello\",\"protocol\":1,\"clientId\":\"slow-reader\"}");
      reader.sendText("{\"type\":\"sub\",\"rid\":1,\"db\":\"app\"}");
      for (String type = ""; !type.equals("synced"); ) type = Json.MAPPER.readTree(reader.readText()).path("type").asText();

      ObjectNode p = push("app");
      for (int i = 0; i < count; i++) p.withArray("deltas").add(delta("c", "d" + i, "v", "x".repeat(values), now(i, "writer")));
      long head = writer.request(p).path("seq").asLong();
      Cluster.await(() -> fanout(server).path("lagEvents").asLong() >= 1, java.time.Duration.ofSeconds(10),
          () -> "the subscriber to fall behind: " + fanout(server));

      long lastSeq = 0;
      int deltas = 0;
      while (lastSeq < head) { // it reads: the rest comes from the store, each delta once, in order
        JsonNode m = Json.MAPPER.readTree(reader.readText());
        for (JsonNode d : m.path("deltas")) {
          assertTrue(d.path("seq").asLong() > lastSeq, "seq order, no duplicate");
          lastSeq = d.path("seq").asLong();
          deltas++;
        }
      }
      assertEquals(count, deltas);
    }
  }

  private static JsonNode fanout(TestServer server) {
    return server.admin(dev.syncline.server.testing.Deltas.admin("server.stats", null)).path("data").path("fanout");
  }

  private static List<JsonNode> frames(WsClient c, String sid) {
    return c.receivedOfType("changes").stream().filter(m -> sid.equals(m.path("sid").asText())).toList();
  }
}

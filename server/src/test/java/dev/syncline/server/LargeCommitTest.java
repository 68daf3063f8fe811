package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

  private static List<JsonNode> frames(WsClient c, String sid) {
    return c.receivedOfType("changes").stream().filter(m -> sid.equals(m.path("sid").asText())).toList();
  }
}

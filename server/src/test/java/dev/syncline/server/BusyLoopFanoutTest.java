package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.EventLoops;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A subscriber's event loop that is held up (by other work, the JIT, a GC) finds several group
 * commits queued for it when it gets to run again. It sends them as one frame per subscriber, not
 * one per commit, so a loop that fell behind catches up with less work — and still without gap
 * or duplicate.
 */
@DisplayName("Commits queued for a busy event loop go out to its subscribers as one frame")
class BusyLoopFanoutTest {
  static final int COMMITS = 20;

  @Test
  @DisplayName("20 commits made while the reader's loop was blocked arrive in one changes frame, in seq order")
  void queuedCommitsMerge() throws Exception {
    try (TestServer server = TestServer.start(c -> c.eventLoops = 2)) {
      WsClient writer = server.connect("writer");
      // connections are spread over the loops: with a few readers, one shares no loop with the writer
      List<WsClient> readers = new ArrayList<>();
      for (int r = 0; r < 8; r++) {
        WsClient reader = server.connect("reader" + r);
        reader.request(sub("app", 0));
        reader.next("synced");
        readers.add(reader);
      }

      for (EventExecutor loop : EventLoops.of(server)) {
        CountDownLatch release = EventLoops.block(loop);
        WsClient reader = null;
        try {
          // a reader on the blocked loop, and the writer not on it: the writer's commits queue up for the reader
          List<WsClient> everyone = new ArrayList<>(readers);
          everyone.add(writer);
          List<WsClient> answered = EventLoops.answering(everyone, Duration.ofSeconds(3));
          if (!answered.contains(writer)) continue;
          reader = readers.stream().filter(r -> !answered.contains(r)).findFirst().orElse(null);
          if (reader == null) continue;
          for (int i = 0; i < COMMITS; i++) {
            // one at a time: each push is its own group commit
            JsonNode ack = writer.request(push("app", delta("c", "d" + i, "v", i, now(i, "writer"))));
            assertEquals("ack", ack.path("type").asText(), ack.toString());
          }
          assertNull(findChanges(reader), "the reader got changes while its loop was blocked");
        } finally {
          release.countDown();
        }
        WsClient blocked = reader;
        blocked.until(() -> deltasReceived(blocked) >= COMMITS, COMMITS + " deltas at the reader");
        List<JsonNode> frames = blocked.receivedOfType("changes");
        assertEquals(1, frames.size(), "one frame for the queued commits: " + frames);
        JsonNode frame = frames.get(0);
        long previous = 0;
        for (JsonNode d : frame.get("deltas")) {
          long seq = d.get("seq").asLong();
          if (seq <= previous) fail("seqs out of order or repeated: " + frame);
          previous = seq;
        }
        assertEquals(COMMITS, frame.get("deltas").size());
        assertEquals(previous, frame.get("seq").asLong(), "the frame's cursor is its last delta's seq");
        return;
      }
      fail("no event loop served the reader but not the writer");
    }
  }

  private static JsonNode findChanges(WsClient client) {
    List<JsonNode> changes = client.receivedOfType("changes");
    return changes.isEmpty() ? null : changes.get(0);
  }

  private static int deltasReceived(WsClient client) {
    int n = 0;
    for (JsonNode m : new ArrayList<>(client.receivedOfType("changes"))) n += m.get("deltas").size();
    return n;
  }
}

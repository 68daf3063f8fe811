package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A client the server stops reading because its pushes wait for the writer (maxUnansweredDeltas)
 * keeps sending pings the server does not read meanwhile: it is not idle, and must not be closed
 * as idle however long the writer takes.
 */
class HeldReadingIdleTest {

  @Test
  @DisplayName("a client not read while its push waits for the writer is not closed as idle; its pings are answered once read")
  void throttledClientIsNotIdle() {
    try (TestServer server = TestServer.start(c -> {
          c.readIdleTimeoutSeconds = 4; // shorter ones cut off handshakes on a loaded machine
          c.maxUnansweredDeltas = 1; // one push not yet answered: the socket is not read
        });
        WsClient c = server.connect("held")) {
      List<Long> pings = new ArrayList<>();
      long pushRid;
      try (WriterHold held = WriterHold.on(server.server())) {
        pushRid = c.sendWithRid(push("app", delta("c", "d", "v", 1, now(0, "held"))));
        // pings every 50 ms for over twice readIdleTimeoutSeconds: enough to fill what Vert.x buffers
        // for a paused socket, after which nothing more is read from it
        for (int i = 0; i < 200 && !c.isClosed(); i++) {
          pings.add(c.sendWithRid(WsClient.obj("ping")));
          SyncProtocolTest.sleep(50);
        }
        assertFalse(c.isClosed(), "closed as idle while the server held its reading back: " + c.received());
      }
      JsonNode ack = c.await(m -> m.path("rid").asLong(-1) == pushRid);
      assertEquals("ack", ack.path("type").asText(), ack.toString());
      for (long rid : pings) {
        assertEquals("pong", c.await(m -> m.path("rid").asLong(-1) == rid).path("type").asText(), "ping " + rid);
      }
      assertFalse(c.isClosed(), "the connection stays open");
    }
  }
}

package dev.syncline.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

@DisplayName("Connections are spread over every event loop")
class EventLoopSpreadTest {
  static final int CLIENTS = 6;

  @Test
  @DisplayName("on a server started on port 0 (any free port), each of its two loops serves some of six clients")
  void portZeroUsesEveryLoop() throws Exception {
    try (TestServer server = TestServer.start(c -> c.eventLoops = 2)) {
      List<WsClient> clients = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) clients.add(server.connect("client" + i));
      List<EventExecutor> loops = EventLoops.of(server);
      assertEquals(2, loops.size());
      int servedElsewhere = 0;
      for (EventExecutor loop : loops) {
        CountDownLatch release = EventLoops.block(loop);
        int answering;
        try {
          answering = EventLoops.answering(clients, Duration.ofSeconds(3)).size();
        } finally {
          release.countDown();
        }
        // a client that answers while this loop is held is served by the other one
        assertTrue(answering < CLIENTS, "no client on this loop: " + answering + " of " + CLIENTS + " answered while it was held");
        servedElsewhere += answering;
      }
      assertEquals(CLIENTS, servedElsewhere, "each client on exactly one of the loops");
    }
  }
}

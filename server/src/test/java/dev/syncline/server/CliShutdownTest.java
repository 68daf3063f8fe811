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
import dev.syncline.server.testing.ServerProcess;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The command line: start, log the address, shut down gracefully on SIGTERM")
class CliShutdownTest {
  @Test
  @DisplayName("SIGTERM closes clients with 1001, keeps every acked write, and exits")
  void sigtermIsGraceful(@org.junit.jupiter.api.io.TempDir Path data) throws Exception {
    try (ServerProcess process = ServerProcess.start(data, "{\"databases\":[\"cli\"],\"eventLoops\":1}")) {
      int port = process.port();
      AtomicInteger acked = new AtomicInteger();
      long total;
      try (WsClient client = WsClient.connect(port)) {
        client.hello("cli-writer");
        Pipeline p = new Pipeline(client, 100);
        List<CompletableFuture<JsonNode>> acks = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
          acks.add(p.send(push("cli", delta("c", "d" + i, "v", i, now(i, "cli-writer"))))
              .whenComplete((m, e) -> {
                if (m != null && m.path("type").asText().equals("ack")) acked.incrementAndGet();
              }));
        }
        CompletableFuture.allOf(acks.toArray(new CompletableFuture[0])).get(20, TimeUnit.SECONDS);
        total = acked.get();
        // more writes in flight while the signal arrives
        for (int i = 300; i < 350; i++) p.send(push("cli", delta("c", "d" + i, "v", i, now(i, "cli-writer"))));
        CompletableFuture<Boolean> exited = CompletableFuture.supplyAsync(() -> {
          try {
            return process.terminate(); // SIGTERM
          } catch (InterruptedException e) {
            return false;
          }
        });
        assertEquals(1001, client.awaitClose(), "clients are told the server is going away");
        assertTrue(exited.get(30, TimeUnit.SECONDS), "the process exits after SIGTERM");
      }
      assertEquals(300, total);

      // reopen the same store: every acked write is there (and the in-flight ones were finished)
      try (TestServer reopened = TestServer.reopen(data)) {
        {
          long attributes = reopened.admin(admin("db.stats", args().put("db", "cli"))).get("data").get("attributes").asLong();
          assertTrue(attributes >= 300, "acked writes survive: " + attributes);
        }
      }
    }
  }

}

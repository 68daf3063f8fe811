package dev.syncline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.SynclineServer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The writes scenario with many writers against a real server on port 0. */
class WritesBenchTest {
  @Test
  @DisplayName("writers split the deltas among them: every one lands once, as a new document")
  void writersShareTheDeltas(@TempDir Path dir) throws Exception {
    SynclineServer server = EmbeddedServer.start(dir);
    try {
      Path json = dir.resolve("result.jsonl");
      // 7 writers, 3 deltas a push: 167 pushes do not split evenly, nor 502 deltas into pushes
      int exit = new CommandLine(new WritesBench()).execute("--port", Integer.toString(server.port()),
          "--admin-password", EmbeddedServer.ADMIN_PASSWORD, "--connections", "7", "--in-flight", "2", "--deltas-per-push", "3",
          "--total", "502", "--warmup", "100", "--timeout", "60", "--json", json.toString());
      assertEquals(0, exit, "every push acked, every delta applied");

      JsonNode r = Json.MAPPER.readTree(Files.readAllLines(json).get(0));
      assertEquals(7, r.get("connections").asInt());
      assertEquals(502, r.get("applied").asLong());
      assertEquals(0, r.get("unchanged").asLong());
      assertEquals(0, r.get("errors").asLong());
      assertTrue(r.get("deltasPerSecond").asLong() > 0 && r.get("ackP99Ms").asDouble() > 0, "timed and latencies recorded");
      assertEquals(502, r.path("server").path("deltas").asLong(), "server.stats counted the measured deltas");

      // no two writers wrote the same register: the warm-up's and the run's deltas made as many documents
      try (BenchClient client = new BenchClient(server.port(), 1)) {
        Deadline deadline = Deadline.inSeconds(30);
        BenchConnection admin = client.openAdmin(0, EmbeddedServer.ADMIN_PASSWORD, deadline);
        Incoming stats = deadline.await(admin.request("admin", "\"op\":\"db.stats\",\"args\":{\"db\":\"bench\"}"), "db.stats");
        assertEquals(100 + 502, stats.data.get("documents").asLong(), stats.data.toString());
      }
    } finally {
      server.close().await();
    }
  }

  @Test
  @DisplayName("no writers, no window or empty pushes: refused before anything connects")
  void refusesEmptyOptions() {
    for (String[] bad : new String[][] {{"--connections", "0"}, {"--in-flight", "0"}, {"--deltas-per-push", "0"}}) {
      // port 1: nothing listens there, so a run that went ahead would fail to connect with 1, not 2
      int exit = new CommandLine(new WritesBench()).execute("--port", "1", "--timeout", "5", bad[0], bad[1]);
      assertEquals(2, exit, String.join(" ", bad));
    }
  }
}

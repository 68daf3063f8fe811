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

/** The fan-out scenario against a real server on port 0: its phases are counted apart, each delivery once. */
class FanoutBenchTest {
  @Test
  @DisplayName("every subscriber gets every measured delta once; warm-up and cool-down deltas are not counted")
  void measuredDeltasCountedOnce(@TempDir Path dir) throws Exception {
    SynclineServer server = EmbeddedServer.start(dir);
    try {
      Path json = dir.resolve("result.jsonl");
      Path timeline = dir.resolve("timeline.csv");
      int exit = new CommandLine(new FanoutBench()).execute("--port", Integer.toString(server.port()),
          "--admin-password", EmbeddedServer.ADMIN_PASSWORD, "--subscribers", "5", "--rate", "400", "--total", "300",
          "--warmup", "200", "--timeout", "60", "--json", json.toString(), "--timeline", timeline.toString());
      assertEquals(0, exit, "the run completes with everything delivered");

      JsonNode r = Json.MAPPER.readTree(Files.readAllLines(json).get(0));
      assertEquals(5 * 300, r.get("expected").asLong());
      assertEquals(5 * 300, r.get("delivered").asLong());
      assertEquals(0, r.get("duplicates").asLong());
      assertEquals(0, r.get("incompleteSubscribers").asInt());
      assertTrue(r.get("p99Ms").asDouble() > 0, "latencies were recorded");
      assertTrue(r.path("server").has("groups"), "server.stats was read around the window");
      // one row per measured delta, each sent once: the cool-down's deltas are not in it
      assertEquals(1 + 300, Files.readAllLines(timeline).size());
    } finally {
      server.close().await();
    }
  }
}

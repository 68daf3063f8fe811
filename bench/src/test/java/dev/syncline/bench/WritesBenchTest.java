package dev.syncline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.SynclineServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
      // 7 writers, 3 deltas a push: 167 pushes do not split evenly, nor 502 deltas into pushes
      JsonNode r = runWrites(server, dir, "--connections", "7", "--in-flight", "2", "--deltas-per-push", "3",
          "--total", "502", "--warmup", "100");
      assertEquals(7, r.get("connections").asInt());
      assertEquals(502, r.get("applied").asLong());
      assertEquals(0, r.get("unchanged").asLong());
      assertEquals(0, r.get("errors").asLong());
      assertTrue(r.get("deltasPerSecond").asLong() > 0 && r.get("ackP99Ms").asDouble() > 0, "timed and latencies recorded");
      assertEquals(502, r.path("server").path("deltas").asLong(), "server.stats counted the measured deltas");
      // no two writers wrote the same register: the warm-up's and the run's deltas made as many documents
      assertEquals(100 + 502, documents(server));
    } finally {
      server.close().await();
    }
  }

  @Test
  @DisplayName("with --documents, each writer updates its own documents: warm-up and run land on as many documents as writers times N, every delta applied")
  void writersUpdateTheirDocuments(@TempDir Path dir) throws Exception {
    SynclineServer server = EmbeddedServer.start(dir);
    try {
      JsonNode r = runWrites(server, dir, "--connections", "3", "--in-flight", "2", "--deltas-per-push", "2",
          "--documents", "5", "--total", "300", "--warmup", "60");
      assertEquals(300, r.get("applied").asLong(), "every update applied: each writer's clock only grows");
      assertEquals(0, r.get("unchanged").asLong());
      assertEquals(5, r.get("documents").asInt());
      assertEquals(3 * 5, documents(server));
    } finally {
      server.close().await();
    }
  }

  /** Runs the writes scenario against {@code server}; it must exit 0 (every push acked, every delta applied). */
  private static JsonNode runWrites(SynclineServer server, Path dir, String... options) throws Exception {
    Path json = dir.resolve("result.jsonl");
    List<String> args = new ArrayList<>(List.of("--port", Integer.toString(server.port()),
        "--admin-password", EmbeddedServer.ADMIN_PASSWORD, "--timeout", "60", "--json", json.toString()));
    args.addAll(List.of(options));
    assertEquals(0, new CommandLine(new WritesBench()).execute(args.toArray(String[]::new)), String.join(" ", options));
    return Json.MAPPER.readTree(Files.readAllLines(json).get(0));
  }

  /** The documents of database {@code bench}, from {@code db.stats}. */
  private static long documents(SynclineServer server) throws Exception {
    try (BenchClient client = new BenchClient(server.port(), 1)) {
      Deadline deadline = Deadline.inSeconds(30);
      BenchConnection admin = client.openAdmin(0, EmbeddedServer.ADMIN_PASSWORD, deadline);
      Incoming stats = deadline.await(admin.request("admin", "\"op\":\"db.stats\",\"args\":{\"db\":\"bench\"}"), "db.stats");
      return stats.data.get("documents").asLong();
    }
  }

  @Test
  @DisplayName("no writers, no window, empty pushes or fewer documents than a push holds: refused before anything connects")
  void refusesEmptyOptions() {
    for (String[] bad : new String[][] {{"--connections", "0"}, {"--in-flight", "0"}, {"--deltas-per-push", "0"},
        {"--documents", "-1"}, {"--documents", "10", "--deltas-per-push", "20"}}) {
      // port 1: nothing listens there, so a run that went ahead would fail to connect with 1, not 2
      String[] args = new String[4 + bad.length];
      System.arraycopy(new String[] {"--port", "1", "--timeout", "5"}, 0, args, 0, 4);
      System.arraycopy(bad, 0, args, 4, bad.length);
      int exit = new CommandLine(new WritesBench()).execute(args);
      assertEquals(2, exit, String.join(" ", bad));
    }
  }
}

package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The store's log is cleaned by the writer while the server runs, and nothing it holds is lost")
class LogCleaningTest {
  private static final int PUSHES = 3000;
  private static final int REGISTERS = 10;
  /** Live data is ~30 KB; the log may hold as much garbage again, the newest files, and files waiting for deletion. */
  private static final long CLEANED_LOG_BYTES = 3L << 20;

  @Test
  @DisplayName("3,000 overwrites of 10 registers write ~11 MB of log; a catch-up right after gets only the 10 newest values; the idle writer sweeps the 2,990 superseded entries, the log shrinks to a few files, and each register keeps its last value across a restart")
  void overwritesAreCleanedAway() throws IOException {
    try (TestServer server = TestServer.start()) {
      Map<String, Replica.Reg> expected = new HashMap<>();
      String value = "x".repeat(3000);
      try (WsClient writer = server.connect("writer")) {
        for (int i = 0; i < PUSHES; i++) {
          String id = "d" + (i % REGISTERS);
          String ts = now(i, writer.clientId());
          // one push at a time: one small commit each, the load that leaves most of each file garbage
          JsonNode ack = writer.request(push("app", delta("c", id, "v", value + i, ts)));
          assertEquals("applied", ack.path("results").path(0).asText(), ack.toString());
          expected.put(Replica.key("c", id, "v"), new Replica.Reg(WsClient.obj("x").textNode(value + i), ts));
        }
      }
      // superseded entries wait in the log until the writer has been idle for a second
      try (WsClient early = server.connect("early")) {
        Replica replica = new Replica();
        early.listen(replica::apply);
        early.request(sub("app", 0));
        early.next("synced");
        assertEquals(REGISTERS, replica.deltaCount(), "catching up never replays superseded values");
        assertEquals(expected, replica.registers());
      }
      // Xodus deletes a cleaned file a few seconds after it is cleaned
      long deadline = System.nanoTime() + 30_000_000_000L;
      long logBytes = logBytes(server.dataDir());
      while (logBytes > CLEANED_LOG_BYTES && System.nanoTime() < deadline) {
        sleepQuietly(200);
        logBytes = logBytes(server.dataDir());
      }
      assertTrue(logBytes > 0 && logBytes <= CLEANED_LOG_BYTES, "log files still hold " + logBytes + " bytes");
      JsonNode writes = server.admin(admin("server.stats", args())).path("data").path("writes");
      assertTrue(writes.path("logFilesCleaned").asLong() >= 3, writes.toString());
      assertEquals(PUSHES - REGISTERS, writes.path("logEntriesSwept").asLong(), writes.toString());

      server.restart();
      try (WsClient reader = server.connect("reader")) {
        Replica replica = new Replica();
        reader.listen(replica::apply);
        reader.request(sub("app", 0));
        reader.next("synced");
        assertEquals(expected, replica.registers());
      }
    }
  }

  @Test
  @DisplayName("200,000 registers written, then each updated once in pushes of 1,000 registers 200 apart, two in flight: every group supersedes ~2,000 entries too far apart for the commit to delete, more than one sweep deletes, yet those waiting stay under the backlog plus two groups, and the idle writer sweeps them all")
  void sweepsKeepUpWithLargeGroups() {
    int perPush = 1000;
    int stride = 200;
    int registers = stride * perPush;
    int pushes = 2 * stride;
    int inFlight = 2; // a group holds at most two pushes
    long bound = Committer.SWEEP_BACKLOG + 2L * inFlight * perPush;
    try (TestServer server = TestServer.start(); WsClient writer = server.connect("bulk")) {
      AtomicInteger acked = new AtomicInteger();
      AtomicReference<String> refused = new AtomicReference<>();
      writer.stopRecording(); // acks are counted as they come
      writer.listen(m -> {
        if (!"ack".equals(m.path("type").asText())) return;
        for (JsonNode r : m.path("results")) if (!"applied".equals(r.asText())) refused.compareAndSet(null, m.toString());
        acked.incrementAndGet();
      });
      long base = System.currentTimeMillis();
      long maxWaiting = 0;
      int sent = 0;
      while (acked.get() < pushes) {
        while (sent < pushes && sent - acked.get() < inFlight) {
          ObjectNode p = push("app");
          ArrayNode deltas = (ArrayNode) p.get("deltas");
          for (int i = 0; i < perPush; i++) {
            // first the registers in order; then k, k+200, k+400, …, whose entries lie 200 seqs apart
            int r = sent < stride ? sent * perPush + i : (sent - stride) + stride * i;
            deltas.add(delta("c", "d" + r, "v", sent, ts(base + sent, i, writer.clientId())));
          }
          writer.sendWithRid(p);
          sent++;
        }
        int before = acked.get();
        maxWaiting = Math.max(maxWaiting, writes(server).path("logEntriesWaiting").asLong());
        writer.until(() -> acked.get() > before, "the next ack"); // a poll per ack: under the message rate limit
        assertEquals(null, refused.get());
      }
      assertTrue(maxWaiting <= bound, "at most " + bound + " waiting; saw " + maxWaiting);

      long deadline = System.nanoTime() + 30_000_000_000L;
      while (writes(server).path("logEntriesWaiting").asLong() > 0 && System.nanoTime() < deadline) sleepQuietly(100);
      JsonNode writes = writes(server);
      assertEquals(0, writes.path("logEntriesWaiting").asLong(), writes.toString());
      assertEquals(registers, writes.path("logEntriesSwept").asLong(), writes.toString());
    }
  }

  private static JsonNode writes(TestServer server) {
    return server.admin(admin("server.stats", args())).path("data").path("writes");
  }

  private static long logBytes(Path dataDir) throws IOException {
    // listed without reading each file's attributes: Xodus deletes cleaned files meanwhile, and
    // one gone between listing and sizing counts as 0 bytes (a walk failed on it)
    try (Stream<Path> files = Files.list(dataDir.resolve("store"))) {
      return files.filter(p -> p.toString().endsWith(".xd")).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}

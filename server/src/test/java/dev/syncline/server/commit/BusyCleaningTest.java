package dev.syncline.server.commit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.server.store.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A writer whose queue never empties still cleans the store's log, step by step between groups")
class BusyCleaningTest {
  private static final int REGISTERS = 10;
  private static final int PUSHES = 20_000;
  /** Pushes queued at once: one group holds one, so ~99 always wait behind it. */
  private static final int IN_FLIGHT = 100;

  @Test
  @DisplayName("20,000 one-delta overwrites of 10 registers, 100 always queued, each committed alone: log files are cleaned while the load lasts, and every register keeps its last value")
  void cleansUnderConstantLoad() throws Exception {
    Path dir = Files.createTempDirectory("syncline-busy");
    Store store = Store.openXodus(dir, false, 8 << 20);
    store.createDatabase("db", 1);
    Committer committer = new Committer(store, new CommitterOptions(1_000_000, 1, 60_000, 3_600_000, 1000, Long.MAX_VALUE), group -> {});
    try {
      String value = "x".repeat(500);
      Semaphore slots = new Semaphore(IN_FLIGHT);
      Map<String, String> last = new ConcurrentHashMap<>();
      long cleanedDuringLoad = 0;
      long now = System.currentTimeMillis(); // not older than the tombstone retention: new registers take it
      for (int i = 0; i < PUSHES; i++) {
        slots.acquire();
        String id = "d" + (i % REGISTERS);
        Delta d = new Delta("c", id, "v", TextNode.valueOf(value + i), String.format("%013d-%04x-t", now + i, 0));
        last.put(id, value + i);
        committer.push("db", List.of(d)).onComplete(r -> slots.release()); // completes on the writer's thread
        if (i == PUSHES - IN_FLIGHT) cleanedDuringLoad = committer.stats().logFilesCleaned(); // the queue still full
      }
      assertTrue(slots.tryAcquire(IN_FLIGHT, 30, TimeUnit.SECONDS), "every push committed");
      // ~3 KB of log per commit, nearly all garbage by the next: ~60 MB, ~110 files of 512 KB
      assertTrue(cleanedDuringLoad >= 5, "files cleaned while the queue never emptied: " + cleanedDuringLoad);
      for (Delta d : store.registers("db", "c")) assertEquals(last.get(d.id()), d.value().asText(), d.id());
      assertEquals(REGISTERS, store.registers("db", "c").size());
    } finally {
      committer.close();
      store.close();
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}

package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Catch-up and repair pages stay within their byte budget, which is what keeps a page's frame
 * within the receiver's {@code maxMessageBytes}: a page ends before a delta it has no room for.
 */
@DisplayName("Catch-up and repair pages hold at most their byte budget, and together every change once")
class PageSizeTest extends StoreTestBase {
  static final int ROUNDS = 20;

  @Test
  @DisplayName("random documents and values (some larger than a page), random budgets: no page over budget unless it is one delta")
  void pagesStayWithinTheirBudget() {
    long seed = Long.getLong("syncline.seed", new Random().nextLong()); // -Dsyncline.seed=N replays a run
    Random random = new Random(seed);
    String context = "seed " + seed;
    List<Delta> written = new ArrayList<>();
    for (int doc = 0; doc < 60; doc++) {
      int attrs = 1 + random.nextInt(random.nextInt(10) == 0 ? 40 : 5);
      for (int a = 0; a < attrs; a++) {
        int size = random.nextInt(10) == 0 ? 500 + random.nextInt(3000) : random.nextInt(200);
        written.add(new Delta("c", "d" + doc, "a" + a, TextNode.valueOf("v".repeat(size)),
            new Hlc(1_700_000_000_000L + written.size(), 0, "w").format()));
      }
    }
    store.commit(List.of(WriteBatch.of("db", written)));
    Set<String> all = new HashSet<>();
    for (Delta d : written) all.add(d.col() + "/" + d.id() + "/" + d.attr());

    for (int round = 0; round < ROUNDS; round++) {
      int budget = 200 + random.nextInt(4000);
      String where = context + ", budget " + budget;

      Set<String> changes = new HashSet<>();
      long cursor = 0;
      ChangePage page;
      do {
        page = store.changesSince("db", null, cursor, 1000, budget);
        assertWithin(page.deltas(), budget, changes, where + ", changes after " + cursor);
        cursor = page.seq();
      } while (page.more());
      assertEquals(all, changes, where);

      Set<String> registers = new HashSet<>();
      byte[] after = null;
      RegisterPage repair;
      do {
        repair = store.registersInBuckets("db", allBuckets(), after, 1000, budget, 0);
        assertWithin(repair.deltas(), budget, registers, where + ", repair");
        after = repair.resumeKey();
      } while (repair.more());
      assertEquals(all, registers, where);
    }
  }

  private static void assertWithin(List<byte[]> page, int budget, Set<String> seen, String where) {
    int bytes = 0;
    for (byte[] json : page) {
      bytes += json.length + 1;
      JsonNode d = readTree(json);
      String key = d.get("col").asText() + "/" + d.get("id").asText() + "/" + d.get("attr").asText();
      assertTrue(seen.add(key), "sent twice: " + key + "; " + where);
    }
    assertTrue(page.size() <= 1 || bytes <= budget, bytes + " bytes in " + page.size() + " deltas; " + where);
  }

  private static BitSet allBuckets() {
    BitSet b = new BitSet();
    b.set(0, Digests.BUCKETS);
    return b;
  }

  private static JsonNode readTree(byte[] json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}

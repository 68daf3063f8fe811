package dev.syncline.server.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.server.store.CommittedDelta;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Live batches: consecutive commits merged for a loop that fell behind")
class LiveBatchTest {
  /** One commit of deltas with seqs {@code from..to}. */
  private static LiveBatch commit(long from, long to) {
    List<CommittedDelta> deltas = new ArrayList<>();
    for (long seq = from; seq <= to; seq++) {
      Delta d = new Delta("c", "d" + seq, "v", IntNode.valueOf((int) seq), "1796400106327-0000-w", seq);
      deltas.add(new CommittedDelta(d, ("{\"seq\":" + seq + "}").getBytes(StandardCharsets.UTF_8)));
    }
    return LiveBatch.of("app", deltas);
  }

  @Test
  @DisplayName("a merge holds every delta in commit order, its size and its commits")
  void mergeKeepsOrder() {
    LiveBatch a = commit(1, 2);
    LiveBatch b = commit(3, 3);
    LiveBatch c = commit(4, 6);
    LiveBatch merged = LiveBatch.merge(List.of(a, b, c));
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), merged.deltas().stream().map(d -> d.delta().seq()).toList());
    assertEquals(1, merged.firstSeq());
    assertEquals(6, merged.lastSeq());
    assertEquals(a.bytes() + b.bytes() + c.bytes(), merged.bytes());
    assertEquals(List.of(a, b, c), merged.commits());
    assertSame(a, LiveBatch.merge(List.of(a)), "one commit is its own batch");
    assertEquals(List.of(a), a.commits());
  }

  @Test
  @DisplayName("a subscriber whose cursor falls inside a merge, and only then, must get its commits one by one")
  void straddles() {
    LiveBatch merged = LiveBatch.merge(List.of(commit(5, 6), commit(7, 7), commit(8, 9)));
    assertFalse(merged.straddles(4), "cursor below the merge: all of it is new");
    assertTrue(merged.straddles(5), "cursor inside the first commit's seqs (not a commit boundary, but inside)");
    assertTrue(merged.straddles(6), "holds the first commit only");
    assertTrue(merged.straddles(7), "holds the first two");
    assertFalse(merged.straddles(9), "holds all of it");
    assertFalse(merged.straddles(12), "ahead of it");
    assertFalse(commit(5, 9).straddles(6), "a single commit is never split: it is sent whole or skipped");
  }
}

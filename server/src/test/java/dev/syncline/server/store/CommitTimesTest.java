package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("When each database's head was committed, for the purge")
class CommitTimesTest extends StoreTestBase {

  @Test
  @DisplayName("samples answer what was committed by a time, survive a reopen, thin out, and end with their database")
  void samples() {
    assertEquals(0, store.headCommittedBy("db", Long.MAX_VALUE), "nothing known yet");
    write(3);
    store.noteHeads(1_000, 100, 0);
    write(2);
    store.noteHeads(1_050, 100, 0); // too soon after the last sample: not taken
    assertEquals(3, store.headCommittedBy("db", 1_050));
    store.noteHeads(1_100, 100, 0);
    assertEquals(0, store.headCommittedBy("db", 999), "before the first sample nothing is known");
    assertEquals(3, store.headCommittedBy("db", 1_099));
    assertEquals(5, store.headCommittedBy("db", 1_100));
    store.noteHeads(1_300, 100, 0); // the head has not moved: the older sample says more
    assertEquals(5, store.headCommittedBy("db", 1_300));

    reopen();
    assertEquals(3, store.headCommittedBy("db", 1_099), "kept across a restart");
    assertEquals(5, store.headCommittedBy("db", 5_000));

    write(1);
    store.noteHeads(2_000, 100, 1_200); // times before 1,200 are no longer asked for: 1,000's sample goes
    assertEquals(0, store.headCommittedBy("db", 1_099));
    assertEquals(5, store.headCommittedBy("db", 1_200));
    assertEquals(6, store.headCommittedBy("db", 2_000));

    store.destroyThrough("db", new Hlc(Hlc.MAX_MS, 0, "admin").format());
    store.createDatabase("db", System.currentTimeMillis());
    assertEquals(0, store.headCommittedBy("db", 2_000), "a new life starts with none");
    reopen();
    assertEquals(0, store.headCommittedBy("db", 2_000));
  }

  private void write(int n) {
    long head = store.database("db").orElseThrow().head();
    List<Delta> deltas = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) deltas.add(new Delta("c", "d" + (head + i), "v", IntNode.valueOf(i), new Hlc(1_700_000_000_000L + head + i, 0, "w").format()));
    store.commit(List.of(WriteBatch.of("db", deltas)));
  }
}

package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Merge;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The store records owners, asks the write guard, and filters reads by owner")
class OwnershipStoreTest extends StoreTestBase {

  @Test
  @DisplayName("a signed-in writer's first write stores $owner just before it, with the same ts; an anonymous one stores none")
  void firstWriteRecordsTheOwner() {
    BatchOutcome byAlice = commit("alice", null, delta("c", "a", "title", "x", 1), delta("c", "a", "done", false, 2));
    List<Delta> committed = byAlice.committed().stream().map(CommittedDelta::delta).toList();
    assertEquals(List.of(Delta.OWNER, "title", "done"), committed.stream().map(Delta::attr).toList());
    assertEquals(TextNode.valueOf("alice"), committed.get(0).value());
    assertEquals(committed.get(1).ts(), committed.get(0).ts());
    assertEquals(List.of(1L, 2L, 3L), committed.stream().map(Delta::seq).toList());
    byAlice.committed().forEach(d -> assertEquals("alice", d.owner()));

    BatchOutcome anonymous = commit(null, null, delta("c", "b", "title", "y", 3));
    assertEquals(List.of("title"), anonymous.committed().stream().map(d -> d.delta().attr()).toList());
    assertNull(anonymous.committed().get(0).owner());

    BatchOutcome later = commit("bob", null, delta("c", "a", "title", "z", 4));
    assertEquals(List.of("title"), later.committed().stream().map(d -> d.delta().attr()).toList(), "not a first write: no new owner");
    assertEquals("alice", later.committed().get(0).owner());
    assertEquals(2, store.database("db").orElseThrow().documents());
  }

  @Test
  @DisplayName("the guard sees create for every delta of the push that makes a document, update and destroy after, with the owner")
  void guardSeesActionsAndOwner() {
    List<String> seen = new ArrayList<>();
    WriteGuard recording = (col, action, owner) -> {
      seen.add(action + ":" + owner);
      return true;
    };
    commit("alice", recording, delta("c", "a", "t", 1, 1), delta("c", "a", "u", 2, 2));
    commit("bob", recording, delta("c", "a", "t", 3, 3), new Delta("c", "a", Delta.DELETED, BooleanNode.TRUE, ts(4)));
    assertEquals(List.of("CREATE:alice", "CREATE:alice", "UPDATE:alice", "DESTROY:alice"), seen);
  }

  @Test
  @DisplayName("a refused delta gets no outcome and changes nothing; the rest of the batch applies")
  void refusedDeltasAreNotStored() {
    commit("alice", null, delta("c", "a", "t", 1, 1));
    WriteGuard ownerOnly = (col, action, owner) -> action == WriteGuard.Action.CREATE || "bob".equals(owner);
    BatchOutcome o = commit("bob", ownerOnly, delta("c", "a", "t", 2, 2), delta("c", "b", "t", 3, 3));
    assertNull(o.outcomes().get(0), "alice's document is not bob's");
    assertEquals(Merge.Outcome.APPLIED, o.outcomes().get(1));
    assertEquals(List.of(Delta.OWNER, "t"), o.committed().stream().map(d -> d.delta().attr()).toList());
    assertEquals(List.of("b", "b"), o.committed().stream().map(d -> d.delta().id()).toList());
  }

  @Test
  @DisplayName("reads filtered to one owner see that owner's documents only, also after reopening; a transfer is counted")
  void readsFilterByOwnerAndTransfersAreCounted() {
    commit("alice", null, delta("c", "a", "t", 1, 1));
    commit("bob", null, delta("c", "b", "t", 2, 2));
    ReadFilter alicesOnly = new ReadFilter() {
      @Override
      public boolean needsOwner(String col) {
        return true;
      }

      @Override
      public boolean allows(String col, String attr, String owner) {
        return "alice".equals(owner);
      }
    };
    assertEquals(List.of("a", "a"), ids(store.changesSince("db", null, alicesOnly, 0, 100, 1 << 20)));
    assertEquals(0, store.database("db").orElseThrow().ownerChanges());

    BatchOutcome moved = commit(null, null, new Delta("c", "b", Delta.OWNER, TextNode.valueOf("alice"), ts(3)));
    assertTrue(moved.committed().get(0).ownerChanged());
    assertEquals("alice", moved.committed().get(0).owner());
    assertEquals(1, store.database("db").orElseThrow().ownerChanges());

    reopen();
    assertEquals(List.of("a", "a", "b", "b"), ids(store.changesSince("db", null, alicesOnly, 0, 100, 1 << 20)).stream().sorted().toList());
    assertEquals(1, store.database("db").orElseThrow().ownerChanges());
    BatchOutcome same = commit(null, null, new Delta("c", "b", Delta.OWNER, TextNode.valueOf("alice"), ts(4)));
    assertFalse(same.committed().get(0).ownerChanged(), "the same owner again is no transfer");
  }

  @Test
  @DisplayName("a store written in format 2 (documents in a table of their own) keeps its documents and owners at the first open")
  void upgradesFormatTwo() {
    commit("alice", null, delta("c", "a", "t", 1, 1));
    commit(null, null, delta("c", "b", "t", 2, 2));
    store.close();
    OldFormats.toFormat2(dir);
    StoreFormatException refused = assertThrows(StoreFormatException.class,
        () -> Store.openXodus(dir, true, 8 << 20, Store.DEFAULT_MIN_UTILIZATION, Map.of(), false));
    assertTrue(refused.getMessage().contains("has format 2, older than"), refused.getMessage());
    store = Store.openXodus(dir, true, 8 << 20);

    List<String> seen = new ArrayList<>();
    WriteGuard recording = (col, action, owner) -> {
      seen.add(action + ":" + owner);
      return true;
    };
    BatchOutcome o = commit("bob", recording, delta("c", "a", "t", 3, 3), delta("c", "b", "t", 4, 4), delta("c", "n", "t", 5, 5));
    assertEquals(List.of("UPDATE:alice", "UPDATE:null", "CREATE:bob"), seen, "existing documents and their owners kept");
    assertEquals(List.of("t", "t", Delta.OWNER, "t"), o.committed().stream().map(d -> d.delta().attr()).toList());
    assertEquals(3, store.database("db").orElseThrow().documents());
    store.close();
    assertFalse(OldFormats.hasTable(dir, "doc:db"), "the old table is gone");
    store = Store.openXodus(dir, true, 8 << 20);
    assertEquals(List.of("UPDATE:alice"), guardActions(delta("c", "a", "t", 6, 6)), "and it stays so after another open");
  }

  private List<String> guardActions(Delta d) {
    List<String> seen = new ArrayList<>();
    commit("bob", (col, action, owner) -> seen.add(action + ":" + owner), d);
    return seen;
  }

  private BatchOutcome commit(String writer, WriteGuard guard, Delta... deltas) {
    return store.commit(List.of(WriteBatch.of("db", List.of(deltas), writer, guard))).get(0);
  }

  private static List<String> ids(ChangePage page) {
    List<String> out = new ArrayList<>();
    for (byte[] json : page.deltas()) {
      try {
        out.add(Json.MAPPER.readTree(json).get("id").asText());
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
    return out;
  }

  private static Delta delta(String col, String id, String attr, Object value, int i) {
    return new Delta(col, id, attr, Json.MAPPER.valueToTree(value), ts(i));
  }

  private static String ts(int i) {
    return String.format("%013d-%04x-w", 1_700_000_000_000L + i, 0);
  }
}

package dev.syncline.client.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.POJONode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The client's Xodus store when a commit fails. A value that throws while it is written stands in
 * for a failing disk: it is the store's own transaction that fails, nothing is mocked.
 */
@DisplayName("The Java client's store, when a write fails")
class XodusLocalStoreTest {
  private final Path dir;

  XodusLocalStoreTest() throws Exception {
    dir = Files.createTempDirectory("syncline-client-store");
  }

  /** Fails the first time it is written, as a disk that was full for a moment. */
  public static final class FailsOnce {
    private boolean failed;

    public String getText() {
      if (!failed) {
        failed = true;
        throw new IllegalStateException("no space left on device (for a moment)");
      }
      return "kept";
    }
  }

  /** Throws an Error whenever it is written. */
  public static final class ThrowsError {
    public String getText() {
      throw new AssertionError("a bug deep in a serializer");
    }
  }

  @AfterEach
  void removeFolder() throws Exception {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @DisplayName("its registers and drops are stored with the next write, so that write's cursor passes no register never stored")
  void failedRegistersGoWithTheNextWrite() throws Exception {
    LocalStore store = LocalStore.xodus(dir);
    try {
      store.write(new StoreWrite().register(reg("old", TextNode.valueOf("gone"))).cursor("app", new Cursor(5, "e1")))
          .get(10, TimeUnit.SECONDS);
      StoreWrite failing = new StoreWrite().drop("app").register(reg("r1", new POJONode(new FailsOnce())))
          .cursor("app", new Cursor(10, "e1"));
      ExecutionException e = assertThrows(ExecutionException.class, () -> store.write(failing).get(10, TimeUnit.SECONDS));
      assertInstanceOf(RuntimeException.class, e.getCause());
      store.write(new StoreWrite().register(reg("r2", TextNode.valueOf("b"))).cursor("app", new Cursor(20, "e1")))
          .get(10, TimeUnit.SECONDS);
    } finally {
      store.close();
    }
    LocalState s = reloaded();
    assertEquals(20, s.cursors().get("app").seq());
    var ids = s.registers().stream().map(StoredRegister::id).toList();
    assertTrue(ids.contains("r1"), "the failed write's register is stored with the next one: " + ids);
    assertTrue(ids.contains("r2"), ids.toString());
    assertFalse(ids.contains("old"), "its drop too: " + ids);
  }

  @Test
  @DisplayName("what failed writes leave to carry holds one register per attribute, the newest")
  void carryKeepsTheNewestPerAttribute() {
    StoreWrite carried = null;
    for (int i = 0; i < 5; i++) {
      carried = StoreWrite.carry(carried, new StoreWrite().register(
          new StoredRegister("app", "c", "same", "v", TextNode.valueOf("v" + i), "179600000000" + i + "-0000-me")));
    }
    assertEquals(1, carried.registers.size());
    assertEquals("v4", carried.registers.get(0).value().asText());
  }

  @Test
  @DisplayName("an Error in a commit fails that write; the writer goes on, and the next write is stored")
  void errorDoesNotStopTheWriter() throws Exception {
    LocalStore store = LocalStore.xodus(dir);
    try {
      StoreWrite failing = new StoreWrite().pendingPut(reg("p", new POJONode(new ThrowsError())));
      ExecutionException e = assertThrows(ExecutionException.class, () -> store.write(failing).get(10, TimeUnit.SECONDS));
      assertInstanceOf(AssertionError.class, e.getCause());
      store.write(new StoreWrite().register(reg("after", TextNode.valueOf("a")))).get(10, TimeUnit.SECONDS);
    } finally {
      store.close();
    }
    LocalState s = reloaded();
    assertEquals(1, s.registers().size());
    assertTrue(s.pending().isEmpty());
    assertNull(s.auth());
  }

  @Test
  @DisplayName("a register to forget (a value the server purged) is forgotten with the next write when the one that forgot it failed")
  void failedForgetGoesWithTheNextWrite() throws Exception {
    LocalStore store = LocalStore.xodus(dir);
    StoredRegister purged = reg("gone", TextNode.valueOf("secret"));
    try {
      store.write(new StoreWrite().register(purged).cursor("app", new Cursor(2, "e1"))).get(10, TimeUnit.SECONDS);
      // the frame with the $deleted marked valuesPurged: its write fails
      StoreWrite failing = new StoreWrite().register(reg("other", new POJONode(new FailsOnce()))).forget(purged)
          .cursor("app", new Cursor(3, "e1"));
      assertThrows(ExecutionException.class, () -> store.write(failing).get(10, TimeUnit.SECONDS));
      store.write(new StoreWrite().register(reg("next", TextNode.valueOf("b"))).cursor("app", new Cursor(4, "e1")))
          .get(10, TimeUnit.SECONDS);
    } finally {
      store.close();
    }
    LocalState s = reloaded();
    assertEquals(4, s.cursors().get("app").seq());
    var ids = s.registers().stream().map(StoredRegister::id).sorted().toList();
    assertEquals(java.util.List.of("next", "other"), ids, "the purged value is still stored, past the cursor that dropped it");
  }

  @Test
  @DisplayName("two failed writes, the first holding a value and the second forgetting it and taking an older value of that attribute "
      + "(a late write the server took after its purge): the next write stores the older value, as the client holds")
  void carriedForgetOfAValueCarriedWithIt() throws Exception {
    LocalStore store = LocalStore.xodus(dir);
    StoredRegister secret = new StoredRegister("app", "c", "d", "title", TextNode.valueOf("secret"), "1796000000002-0000-other");
    StoredRegister late = new StoredRegister("app", "c", "d", "title", TextNode.valueOf("late"), "1796000000001-0000-other");
    try {
      // the frame with the value: its write fails
      StoreWrite first = new StoreWrite().register(secret).register(reg("other", new POJONode(new FailsOnce())))
          .cursor("app", new Cursor(2, "e1"));
      assertThrows(ExecutionException.class, () -> store.write(first).get(10, TimeUnit.SECONDS));
      // the purge's frame, in order: the marked $deleted forgets the value, then the late title, which the client now holds
      StoreWrite second = new StoreWrite().forget(secret).register(late).register(reg("other2", new POJONode(new FailsOnce())))
          .cursor("app", new Cursor(5, "e1"));
      assertThrows(ExecutionException.class, () -> store.write(second).get(10, TimeUnit.SECONDS));
      store.write(new StoreWrite().register(reg("next", TextNode.valueOf("b"))).cursor("app", new Cursor(6, "e1")))
          .get(10, TimeUnit.SECONDS);
    } finally {
      store.close();
    }
    LocalState s = reloaded();
    assertEquals(6, s.cursors().get("app").seq());
    var titles = s.registers().stream().filter(r -> r.attr().equals("title")).map(r -> r.value().asText()).toList();
    assertEquals(java.util.List.of("late"), titles, "the title the client holds (and the server)");
  }

  /** What a store opened again on {@code dir} loads. */
  private LocalState reloaded() throws Exception {
    LocalStore reopened = LocalStore.xodus(dir);
    try {
      return reopened.load();
    } finally {
      reopened.close();
    }
  }

  private static StoredRegister reg(String id, com.fasterxml.jackson.databind.JsonNode value) {
    return new StoredRegister("app", "c", id, "v", value, "1796000000000-0000-me");
  }
}

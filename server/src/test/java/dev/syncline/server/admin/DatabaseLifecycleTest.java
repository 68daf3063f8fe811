package dev.syncline.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.hub.HubOptions;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import io.vertx.core.Vertx;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A destroy whose store step fails is carried out later, without a restart. */
class DatabaseLifecycleTest {
  @TempDir Path dir;
  private Vertx vertx;
  private Store store;
  /** How many of the next destroys fail, as on a full disk; everything else goes to the real store. */
  private final AtomicInteger failing = new AtomicInteger();
  private DatabaseLifecycle lifecycle;
  /** The steps of destroys queued for the writer, run when the test says. */
  private final java.util.ArrayDeque<Runnable> later = new java.util.ArrayDeque<>();

  @BeforeEach
  void open() {
    vertx = Vertx.vertx();
    store = Store.openXodus(dir, false, 8 << 20);
    Store faulty = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (p, m, args) -> {
      if (m.getName().equals("destroyStep") && failing.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new IllegalStateException("no space left on device");
      }
      try {
        return m.invoke(store, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    });
    lifecycle = new DatabaseLifecycle(faulty, new Hub(vertx, faulty, new HubOptions(1 << 20, 1000, 1 << 20, 1, 32 << 20)), 7);
    lifecycle.continueWith(later::add);
    store.createDatabase(SystemDb.NAME, 1);
    store.createDatabase("doomed", 1);
    store.createDatabase("kept", 1);
    store.commit(List.of(WriteBatch.of("doomed", List.of(new Delta("c", "d", "a", TextNode.valueOf("x"), ts(1)))),
        WriteBatch.of("kept", List.of(new Delta("c", "d", "a", TextNode.valueOf("y"), ts(1))))));
  }

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    store.close();
  }

  @Test
  @DisplayName("a destroy that failed is tried again until it is carried out; the database stays until then")
  void failedDestroyIsRetried() {
    failing.set(2);
    lifecycle.committed(destroy("doomed", ts(5)));
    assertTrue(lifecycle.hasFailed());
    assertTrue(lifecycle.destroying("doomed"), "not to be created again meanwhile");
    assertFalse(lifecycle.destroying("kept"));
    assertTrue(store.database("doomed").isPresent(), "a failed destroy left it");

    lifecycle.retry(); // fails again
    assertTrue(lifecycle.hasFailed());
    assertTrue(store.database("doomed").isPresent());

    lifecycle.retry();
    assertFalse(lifecycle.hasFailed());
    assertFalse(lifecycle.destroying("doomed"));
    assertTrue(store.database("doomed").isEmpty(), "destroyed at the retry");
    assertEquals(ts(5), store.floor("doomed"));
    assertTrue(store.database("kept").isPresent(), "no other database is touched");
  }

  @Test
  @DisplayName("a destroy that failed, then carried out by a later destroy's steps, is no longer said to be under way")
  void failedDestroyFinishedByALaterOne() {
    failing.set(1);
    lifecycle.committed(destroy("doomed", ts(5)));
    assertTrue(lifecycle.destroying("doomed"));
    lifecycle.committed(destroy("doomed", ts(6)));
    assertTrue(store.database("doomed").isEmpty(), "destroyed by the later one");
    assertFalse(lifecycle.destroying("doomed"), "a db.create would be refused as being destroyed until the next retry");
    assertFalse(lifecycle.hasFailed());
  }

  @Test
  @DisplayName("a database with writes after the destroy is trimmed in steps, commits going on between them; one cut short by a stop is finished at the next start")
  void destroyInSteps() {
    List<Delta> old = writtenBeforeTheDestroy(30);
    store.commit(List.of(WriteBatch.of("doomed", old)));
    store.commit(List.of(WriteBatch.of("doomed", List.of(new Delta("c", "after", "a", TextNode.valueOf("stays"), ts(10))))));
    String epoch = store.database("doomed").orElseThrow().epoch();
    long head = store.database("doomed").orElseThrow().head();

    lifecycle.committed(destroy("doomed", ts(5)));
    assertEquals(1, later.size(), "the next step waits behind the writer's queue");
    assertEquals(epoch, store.database("doomed").orElseThrow().epoch(), "not done yet");
    assertEquals(0, store.database("doomed").orElseThrow().purgedThrough(),
        "the purge point moves with the new life only: a catch-up below it would start over twice");
    List<BatchOutcome> meanwhile = store.commit(List.of(
        WriteBatch.of("doomed", List.of(new Delta("c", "late", "a", TextNode.valueOf("stamped before"), ts(3)),
            new Delta("c", "new", "a", TextNode.valueOf("stamped after"), ts(20))))));
    assertEquals(List.of(dev.syncline.protocol.Merge.Outcome.SUPERSEDED, dev.syncline.protocol.Merge.Outcome.APPLIED),
        meanwhile.get(0).outcomes(), "the destroy is in force from its first step");
    int steps = 1;
    while (!later.isEmpty()) {
      later.poll().run();
      steps++;
    }
    assertTrue(steps >= 5, steps + " steps of at most 7 registers for 31");
    var after = store.database("doomed").orElseThrow();
    assertEquals(2, after.attributes(), "what was stamped after the destroy");
    assertEquals(2, after.documents());
    assertTrue(after.head() > head + 1 && !after.epoch().equals(epoch), "a new life: " + after);
    assertEquals(ts(5), store.floor("doomed"));

    // cut short by a stop: nothing says it was done, so the next start does it
    store.commit(List.of(WriteBatch.of("kept", old)));
    store.commit(List.of(WriteBatch.of("kept", List.of(new Delta("c", "after", "a", TextNode.valueOf("stays"), ts(10))))));
    lifecycle.committed(destroy("kept", ts(5)));
    assertEquals(1, later.size());
    later.clear(); // the server stopped before the next step
    store.close();
    store = Store.openXodus(dir, false, 8 << 20);
    assertEquals(null, store.floor("kept"), "a destroy half done is not stored as done");
    new DatabaseLifecycle(store, new Hub(vertx, store, new HubOptions(1 << 20, 1000, 1 << 20, 1, 32 << 20)), 7).catchUp();
    assertEquals(ts(5), store.floor("kept"));
    assertEquals(1, store.database("kept").orElseThrow().attributes(), "only what was stamped after the destroy");
  }

  @Test
  @DisplayName("a big database whose every register is at or before the destroy goes in steps too, then whole")
  void bigDatabaseRemovedInSteps() {
    List<Delta> old = writtenBeforeTheDestroy(100);
    store.commit(List.of(WriteBatch.of("doomed", old)));
    lifecycle.committed(destroy("doomed", ts(5)));
    assertEquals(1, later.size(), "more than a step looks at (70): not scanned whole at once");
    assertEquals(101, store.database("doomed").orElseThrow().attributes(), "looked through first, nothing removed one by one");
    while (!later.isEmpty()) later.poll().run();
    assertTrue(store.database("doomed").isEmpty(), "gone, as if removed at once");
    assertEquals(ts(5), store.floor("doomed"));

    // looked through in parts, one written to meanwhile keeps what was written: trimmed, not dropped
    store.commit(List.of(WriteBatch.of("kept", old)));
    lifecycle.committed(destroy("kept", ts(5)));
    assertEquals(1, later.size());
    store.commit(List.of(WriteBatch.of("kept", List.of(new Delta("c", "late", "a", TextNode.valueOf("after"), ts(20))))));
    while (!later.isEmpty()) later.poll().run();
    assertEquals(1, store.database("kept").orElseThrow().attributes(), "what was written after the destroy stays");
  }

  /** {@code n} documents of one attribute, stamped before the destroys of these tests (ts(5)). */
  private static List<Delta> writtenBeforeTheDestroy(int n) {
    List<Delta> out = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) out.add(new Delta("c", "d" + i, "a", TextNode.valueOf("old"), ts(2)));
    return out;
  }

  private List<BatchOutcome> destroy(String db, String ts) {
    return store.commit(List.of(WriteBatch.of(SystemDb.NAME,
        List.of(new Delta(SystemDb.DATABASES, db, SystemDb.DESTROYED, BooleanNode.TRUE, ts)))));
  }

  private static String ts(long ms) {
    return new Hlc(1_800_000_000_000L + ms, 0, "admin").format();
  }
}

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

  @BeforeEach
  void open() {
    vertx = Vertx.vertx();
    store = Store.openXodus(dir, false, 8 << 20);
    Store faulty = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (p, m, args) -> {
      if (m.getName().equals("destroyThrough") && failing.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new IllegalStateException("no space left on device");
      }
      try {
        return m.invoke(store, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    });
    lifecycle = new DatabaseLifecycle(faulty, new Hub(vertx, faulty, new HubOptions(1 << 20, 1000, 1 << 20, 1, 32 << 20)));
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

  private List<BatchOutcome> destroy(String db, String ts) {
    return store.commit(List.of(WriteBatch.of(SystemDb.NAME,
        List.of(new Delta(SystemDb.DATABASES, db, SystemDb.DESTROYED, BooleanNode.TRUE, ts)))));
  }

  private static String ts(long ms) {
    return new Hlc(1_800_000_000_000L + ms, 0, "admin").format();
  }
}

package dev.syncline.server.hub;

import dev.syncline.server.store.Store;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** For hub tests: a real hub over a real Xodus store in {@code dir}, with the given databases. */
final class HubOnStore implements AutoCloseable {
  final Vertx vertx = Vertx.vertx();
  final Store store;
  final Hub hub;
  /** One event loop of {@link #vertx}, for the test's subscribers. */
  final Context loop;

  /** {@code inboxBytes}: what one event loop may have queued before commits are not handed to it. */
  HubOnStore(Path dir, long inboxBytes, String... databases) {
    this(dir, new HubOptions(1 << 20, 1000, 1 << 20, 1, inboxBytes), databases);
  }

  HubOnStore(Path dir, HubOptions options, String... databases) {
    store = Store.openXodus(dir, false, 8 << 20);
    for (String db : databases) store.createDatabase(db, 1);
    hub = new Hub(vertx, store, options);
    loop = vertx.getOrCreateContext();
  }

  /** Runs {@code r} on {@link #loop} and waits for it (and for what the loop had queued before). */
  void onLoop(Runnable r) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    loop.runOnContext(v -> {
      try {
        r.run();
        done.complete(null);
      } catch (Throwable t) {
        done.completeExceptionally(t);
      }
    });
    done.get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    store.close();
  }
}

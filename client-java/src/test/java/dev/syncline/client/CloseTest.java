package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.client.store.LocalStore;
import dev.syncline.client.store.StoreWrite;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Closing a client: what waits is answered, and a close in progress is the one close")
class CloseTest {

  @Test
  @DisplayName("a login waiting for a connection fails with offline when the client closes")
  void loginWaitingForConnectionFailsOnClose() {
    EmbeddedServer server = EmbeddedServer.start();
    String url = server.url();
    server.close(); // nothing answers at that address now
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(url).setConnectTimeoutMs(600_000));
    Await.result(c.ready());
    var login = c.login("erin", "erin's long password");
    settleEventLoop(c); // the login now waits for a connection
    c.close();
    try {
      Await.result(login);
      throw new AssertionError("signed in without a server");
    } catch (SynclineException e) {
      assertEquals("offline", e.code());
    }
  }

  @Test
  @DisplayName("logout after close fails with offline and leaves the store as it was")
  void logoutAfterClose(@TempDir Path dir) {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true));
      Await.result(c.ready());
      Await.result(c.db("app").col("c").doc("d").set(java.util.Map.of("v", 1)));
      Await.result(c.close());
      try {
        Await.result(c.logout());
        throw new AssertionError("logged out of a closed client");
      } catch (SynclineException e) {
        assertEquals("offline", e.code());
      }
      SynclineClient again = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true));
      try {
        Await.result(again.ready());
        assertEquals(1, again.status().pending(), "the unsent edit is still there");
      } finally {
        Await.result(again.close());
      }
    }
  }

  @Test
  @DisplayName("after close of a client with its own Vert.x, a database not opened before can be named, and a write to it fails with offline")
  void newDatabaseAfterCloseFailsOffline() {
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setOffline(true));
    Await.result(c.ready());
    Await.result(c.db("app").col("c").doc("d").set(java.util.Map.of("v", 1)));
    Await.result(c.close()); // its Vert.x is closed too: nothing runs on its event loop any more
    for (String db : List.of("app", "other")) {
      Document d = c.db(db).col("c").doc("d");
      try {
        Await.result(d.set(java.util.Map.of("v", 2)));
        throw new AssertionError("written to " + db + " after close");
      } catch (SynclineException e) {
        assertEquals("offline", e.code(), db);
      }
    }
    c.db("more").col("c").live(docs -> { }).close(); // nor does a live query, or going online, throw
    c.offline(false);
  }

  @Test
  @DisplayName("a second close while the first runs returns that close: once it completes, the store is free")
  void secondCloseIsTheFirst(@TempDir Path dir) {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      Await.result(c.ready());
      var first = c.close();
      var second = c.close();
      assertTrue(!second.isComplete() || first.isComplete(), "the second close completed before the first");
      Await.result(second);
      SynclineClient next = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true));
      try {
        Await.result(next.ready()); // the store is closed: another client may open it
      } finally {
        Await.result(next.close());
      }
    }
  }

  @Test
  @DisplayName("store writes racing the store's close each complete: stored, or failed as closed, never left waiting")
  void storeWritesRacingCloseComplete(@TempDir Path dir) throws InterruptedException {
    for (int round = 0; round < 150; round++) { // the race is narrow: many rounds to meet it
      LocalStore store = LocalStore.xodus(dir.resolve("r" + round));
      List<CompletableFuture<Void>> writes = new CopyOnWriteArrayList<>();
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> writers = new java.util.ArrayList<>();
      for (int t = 0; t < 3; t++) {
        Thread w = new Thread(() -> {
          while (!stop.get()) writes.add(store.write(new StoreWrite().clock("0000000000001-0000-test")));
        });
        w.start();
        writers.add(w);
      }
      Thread.sleep(2);
      store.close();
      stop.set(true);
      for (Thread w : writers) w.join();
      for (CompletableFuture<Void> f : writes) {
        try {
          f.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          // failed because the store closed: answered
        } catch (java.util.concurrent.TimeoutException e) {
          throw new AssertionError("round " + round + ": a write was never answered (of " + writes.size() + ")");
        }
      }
    }
  }

  @Test
  @DisplayName("a connection attempt still under way when the client goes offline or closes reports nothing after")
  void attemptUnderWayReportsNothingAfterOffline() throws Exception {
    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      // accepts, and never answers the WebSocket handshake: each attempt waits for its timeout
      List<java.net.Socket> accepted = new CopyOnWriteArrayList<>();
      Thread acceptor = new Thread(() -> {
        try {
          while (true) accepted.add(silent.accept());
        } catch (java.io.IOException closed) {
          // the test is over
        }
      });
      acceptor.start();
      SynclineClient c = SynclineClient.create(new ClientOptions()
          .setUrl("ws://127.0.0.1:" + silent.getLocalPort() + "/sync").setConnectTimeoutMs(300));
      List<String> errors = new CopyOnWriteArrayList<>();
      c.on(ClientEvent.ERROR, e -> errors.add(e.code() + ": " + e.message()));
      Await.result(c.ready());
      Await.until(() -> !accepted.isEmpty(), () -> "the first attempt reached the socket");
      errors.clear();
      c.offline(true);
      settleEventLoop(c);
      Thread.sleep(1000); // the attempt's 300 ms timeout passes: nothing may be reported for it
      assertEquals(List.of(), errors, "offline: the attempt under way was given up on");
      Await.result(c.close());
      for (java.net.Socket s : accepted) s.close();
    }
  }

  @Test
  @DisplayName("offline(false) while waiting out a backoff connects at once")
  void offlineFalseEndsTheBackoff() {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url())
          .setBackoffInitialMs(60_000).setBackoffMaxMs(60_000));
      try {
        Await.result(c.ready());
        Await.until(() -> c.status().online(), () -> "connected");
        server.restart(); // the socket drops: the next attempt is 30 to 60 s away
        Await.until(() -> !c.status().online(), () -> "dropped");
        long asked = System.currentTimeMillis();
        c.offline(false);
        Await.until(() -> c.status().online(), () -> "connected again");
        assertTrue(System.currentTimeMillis() - asked < 10_000, "at once, not after the backoff");
      } finally {
        Await.result(c.close());
      }
    }
  }

  @Test
  @DisplayName("a store this version cannot load fails ready() and close() instead of leaving them waiting")
  void unreadableStoreFailsReady(@TempDir Path dir) {
    LocalStore store = LocalStore.xodus(dir);
    store.write(new StoreWrite().clock("not a timestamp")).join();
    store.close();
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:1/sync").setStoreDirectory(dir));
    try {
      Await.result(c.ready());
      throw new AssertionError("loaded a store with a clock of 'not a timestamp'");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage().endsWith(": not a timestamp"), e.toString()); // Hlc.parse's refusal
    }
    Await.result(c.close().recover(x -> io.vertx.core.Future.succeededFuture()));
    LocalStore.xodus(dir).close(); // the lock is free again
  }

  // lets the client's event loop run what is queued now, and what that queues in turn
  private static void settleEventLoop(SynclineClient c) {
    for (int hop = 0; hop < 3; hop++) {
      io.vertx.core.Promise<Void> reached = io.vertx.core.Promise.promise();
      c.onContext(reached::complete);
      Await.result(reached.future());
    }
  }
}

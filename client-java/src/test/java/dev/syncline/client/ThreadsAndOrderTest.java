package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Where the client runs, and the order its listeners see events in")
class ThreadsAndOrderTest {

  @Test
  @DisplayName("a listener that writes: every listener sees the event it reacted to before the one its write made")
  void listenersSeeEventsInOrder() {
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setOffline(true));
    try {
      Await.result(c.ready());
      Document d = c.db("app").col("c").doc("d");
      // the first listener moves every v=1 on to v=2; the second keeps what it saw, as a view would
      c.on(ClientEvent.DOC_UPDATE, ch -> {
        if (ch.doc().getNumber("v").intValue() == 1) d.set(Map.of("v", 2));
      });
      List<Integer> seen = new CopyOnWriteArrayList<>();
      c.on(ClientEvent.DOC_CREATE, ch -> seen.add(ch.doc().getNumber("v").intValue()));
      c.on(ClientEvent.DOC_UPDATE, ch -> seen.add(ch.doc().getNumber("v").intValue()));

      Await.result(d.set(Map.of("v", 0)));
      Await.result(d.set(Map.of("v", 1)));
      Await.until(() -> seen.size() == 3, () -> "three events: " + seen);
      assertEquals(List.of(0, 1, 2), seen, "the last event seen is the document as it is");
      assertEquals(2, d.get().getNumber("v").intValue());
    } finally {
      Await.result(c.close());
    }
  }

  @Test
  @DisplayName("a client made on an event loop of the app's Vert.x lives there: its listeners run on that loop's thread")
  void livesOnTheCallersEventLoop() {
    Vertx vertx = Vertx.vertx();
    try {
      List<Thread> seen = new CopyOnWriteArrayList<>();
      List<SynclineClient> made = new CopyOnWriteArrayList<>();
      Await.result(vertx.deployVerticle(new VerticleBase() {
        @Override
        public Future<?> start() {
          seen.add(Thread.currentThread());
          SynclineClient c = SynclineClient.create(vertx, new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setOffline(true));
          made.add(c);
          c.on(ClientEvent.DOC_CREATE, ch -> seen.add(Thread.currentThread()));
          return c.ready().compose(v -> c.db("app").col("c").doc("d").set(Map.of("v", 1)));
        }
      }));
      assertEquals(2, seen.size(), "the verticle's start and the listener");
      assertEquals(seen.get(0), seen.get(1), "the listener ran on the verticle's event loop");
      for (SynclineClient c : made) Await.result(c.close());
    } finally {
      Await.result(vertx.close());
    }
  }

  @Test
  @DisplayName("the blocking view, called on the client's own event loop, throws at once instead of hanging for its timeout")
  void blockingOnTheEventLoopThrows() {
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setOffline(true));
    try {
      Await.result(c.ready());
      java.util.concurrent.CompletableFuture<Throwable> thrown = new java.util.concurrent.CompletableFuture<>();
      c.onContext(() -> {
        try {
          c.blocking().set(c.db("app").col("c").doc("d"), Map.of("v", 1));
          thrown.complete(null);
        } catch (RuntimeException e) {
          thrown.complete(e);
        }
      });
      Throwable e = thrown.orTimeout(5, java.util.concurrent.TimeUnit.SECONDS).join();
      org.junit.jupiter.api.Assertions.assertInstanceOf(IllegalStateException.class, e);
    } finally {
      Await.result(c.close());
    }
  }

  @Test
  @DisplayName("a client made in a worker verticle can be used blocking from that worker's thread")
  void blockingFromAWorker() {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      Vertx vertx = Vertx.vertx();
      try {
        List<SynclineClient> made = new CopyOnWriteArrayList<>();
        // a worker's tasks run one at a time: a client living on its context would wait behind the blocked start()
        Future<String> deployed = vertx.deployVerticle(new VerticleBase() {
          @Override
          public Future<?> start() {
            SynclineClient c = SynclineClient.create(vertx, new ClientOptions().setUrl(server.url()));
            made.add(c);
            BlockingClient b = c.blocking().ready();
            b.set(b.db("app").col("c").doc("w"), Map.of("v", 1));
            b.awaitSynced("app", Await.TIMEOUT);
            return Future.succeededFuture();
          }
        }, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER));
        Await.result(deployed);
        SynclineClient reader = SynclineClient.create(new ClientOptions().setUrl(server.url()));
        try {
          reader.blocking().ready().awaitSynced("app", Await.TIMEOUT);
          Doc got = reader.db("app").col("c").doc("w").get();
          assertTrue(got != null && got.getNumber("v").intValue() == 1, "the worker's write reached the server: " + got);
        } finally {
          Await.result(reader.close());
          for (SynclineClient c : made) Await.result(c.close());
        }
      } finally {
        Await.result(vertx.close());
      }
    }
  }
}

package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Listeners and live queries that write while they are told of a change")
class EventOrderTest {

  @Test
  @DisplayName("a listener that writes while a frame is told of: the frame's events all come first, then the write's")
  void frameEventsFirst() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      String ts = "1796600000000-0000-srv";
      // a server in this test, to send one frame that touches two documents
      HttpServer fake = ScriptedServer.start(vertx, (ws, m) -> {
        switch (m.path("type").asText()) {
          case "sub" -> {
            ScriptedServer.subscribeAsLive(ws, m, 2);
            ws.writeTextMessage("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":2,\"deltas\":["
                + "{\"col\":\"c\",\"id\":\"x\",\"attr\":\"v\",\"value\":\"theirs\",\"ts\":\"" + ts + "\",\"seq\":1},"
                + "{\"col\":\"c\",\"id\":\"y\",\"attr\":\"v\",\"value\":\"theirs\",\"ts\":\"" + ts + "\",\"seq\":2}]}");
          }
          default -> { }
        }
      });
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(ScriptedServer.url(fake)).setOffline(true));
      try {
        Await.result(c.ready());
        Collection col = c.db("app").col("c");
        List<String> seen = new CopyOnWriteArrayList<>();
        c.on(ClientEvent.DOC_CREATE, e -> {
          if (e.id().equals("x") && !e.local()) col.doc("y").set(Map.of("v", "mine"));
        });
        c.on(ClientEvent.DOC_CREATE, e -> {
          if (e.id().equals("y")) seen.add("create " + e.doc().getString("v"));
        });
        c.on(ClientEvent.DOC_UPDATE, e -> {
          if (e.id().equals("y")) seen.add("update " + e.doc().getString("v"));
        });
        c.offline(false);
        Await.until(() -> seen.size() == 2, () -> "y's events: " + seen);
        assertEquals(List.of("create theirs", "update mine"), seen, "the last event is y as it is");
      } finally {
        Await.result(c.close());
      }
    } finally {
      vertx.close().await();
    }
  }

  @Test
  @DisplayName("a live query listener that writes is called again after it returns: its last call has the last result")
  void liveListenerThatWrites() {
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setOffline(true));
    try {
      Await.result(c.ready());
      Collection col = c.db("app").col("c");
      List<List<String>> rendered = new CopyOnWriteArrayList<>();
      col.live(docs -> {
        if (docs.isEmpty()) col.doc("defaults").set(Map.of("theme", "light"));
        rendered.add(docs.stream().map(Doc::id).toList());
      });
      Await.until(() -> rendered.size() == 2, () -> "two calls: " + rendered);
      assertEquals(List.of(List.of(), List.of("defaults")), rendered);
    } finally {
      Await.result(c.close());
    }
  }

  @Test
  @DisplayName("a live query listener that writes something new at every call is stopped after 100 calls in a row, and reported")
  void liveListenerThatAlwaysWrites() {
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setOffline(true));
    try {
      Await.result(c.ready());
      Collection col = c.db("app").col("c");
      List<ClientEvent.ClientError> errors = new CopyOnWriteArrayList<>();
      c.on(ClientEvent.ERROR, errors::add);
      java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
      col.live(docs -> col.doc("meta").set(Map.of("seen", calls.incrementAndGet())));
      Await.until(() -> !errors.isEmpty(), () -> "reported after " + calls.get() + " calls");
      assertEquals(LiveQueries.MAX_RERUNS, calls.get());
      assertEquals("listener", errors.get(0).code(), errors.toString());
    } finally {
      Await.result(c.close());
    }
  }

}

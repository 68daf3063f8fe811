package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.config.ServerConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Two Java clients on one server")
class TwoClientsTest {

  @Test
  @DisplayName("converge: a write on one shows on the other, live queries fire on local and remote changes, record events follow")
  void converge() {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient a = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      SynclineClient b = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(a.ready());
        Await.result(b.ready());
        Collection onA = a.db("app").col("todos");
        Collection onB = b.db("app").col("todos");
        List<List<Doc>> seenByB = new CopyOnWriteArrayList<>();
        onB.live(d -> !Boolean.TRUE.equals(d.getBoolean("done")), seenByB::add);
        List<ClientEvent.Recorded> recorded = new CopyOnWriteArrayList<>();
        a.on(ClientEvent.DOC_RECORD, recorded::add);
        List<List<Doc>> seenByA = new CopyOnWriteArrayList<>();
        onA.live(seenByA::add);

        Document milk = onA.doc();
        Await.result(milk.set(Map.of("title", "Buy milk", "done", false)));
        assertEquals("Buy milk", milk.get().getString("title"), "applied locally at once");
        Await.until(() -> onB.doc(milk.id()).get() != null, () -> "b to see the document");
        assertEquals("Buy milk", onB.doc(milk.id()).get().getString("title"));
        Await.until(() -> recorded.size() == 2, () -> "both attributes recorded: " + recorded);
        assertEquals("applied", recorded.get(0).result());

        Await.result(onB.doc(milk.id()).set(Map.of("done", true)));
        // the document is published before a's loop runs the live queries on it: wait for both
        Await.until(() -> Boolean.TRUE.equals(milk.get().getBoolean("done")) && seenByA.size() >= 3,
            () -> "a to see b's edit, and a's live query to have run at once, on its own write and on b's: " + seenByA.size());
        assertTrue(seenByB.get(seenByB.size() - 1).isEmpty(), "the done item left b's live query of open items");
        assertTrue(seenByB.stream().anyMatch(l -> l.size() == 1), "it was there before");

        Await.result(onA.doc(milk.id()).destroy());
        Await.until(() -> onB.doc(milk.id()).get() == null, () -> "b to see the destroy");
        Await.result(onB.doc(milk.id()).restore());
        Await.until(() -> milk.get() != null && "Buy milk".equals(milk.get().getString("title")), () -> "a to see it restored whole");
        Await.until(() -> a.status().pending() == 0 && b.status().pending() == 0, () -> "nothing pending");
        assertEquals(onA.all(), onB.all());
      } finally {
        Await.result(a.close());
        Await.result(b.close());
      }
    }
  }

  @Test
  @DisplayName("both edit one document offline, the same and different attributes: per attribute, the later write wins everywhere")
  void offlineEditsMergePerAttribute() {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient a = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      SynclineClient b = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(a.ready());
        Await.result(b.ready());
        Document onA = a.db("app").col("notes").doc("n1");
        Document onB = b.db("app").col("notes").doc("n1");
        Await.result(onA.set(Map.of("title", "draft", "body", "…", "color", "white")));
        Await.until(() -> onB.get() != null, () -> "b to have the note");
        a.offline(true);
        b.offline(true);
        Await.until(() -> !a.status().online() && !b.status().online(), () -> "both offline");
        Await.result(onA.set(Map.of("title", "from a", "color", "red")));
        // b writes later, by b's clock: the clocks of two clients agree only as well as their offsets from the server
        long aWroteAt = a.core().clock.last().ms();
        Await.until(() -> b.core().now() > aWroteAt, () -> "b's clock to pass a's write");
        Map<String, Object> fromB = new HashMap<>();
        fromB.put("title", "from b"); // later: wins
        fromB.put("body", null);       // removed
        Await.result(onB.set(fromB));
        a.offline(false);
        b.offline(false);
        Await.until(() -> a.status().pending() == 0 && b.status().pending() == 0 && onA.get().equals(onB.get()),
            () -> "convergence: " + onA.get() + " vs " + onB.get());
        assertEquals("from b", onA.get().getString("title"));
        assertEquals("red", onA.get().getString("color"));
        assertNull(onA.get().get("body"));
        assertEquals(java.util.Set.of("title", "color"), onA.get().attributes().keySet());
      } finally {
        Await.result(a.close());
        Await.result(b.close());
      }
    }
  }

  @Test
  @DisplayName("databases opened from other threads while the client connects are each subscribed, whatever the order")
  void databasesOpenedWhileConnecting() throws InterruptedException {
    List<String> names = IntStream.range(0, 40).mapToObj(i -> "db" + i).toList();
    try (EmbeddedServer server = EmbeddedServer.start(cfg -> names.forEach(n -> cfg.databases.add(ServerConfig.DatabaseSpec.named(n))))) {
      for (int round = 0; round < 5; round++) {
        SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()));
        try {
          CountDownLatch go = new CountDownLatch(1);
          List<Thread> openers = new ArrayList<>();
          for (int t = 0; t < 4; t++) {
            List<String> mine = names.subList(t * 10, t * 10 + 10);
            Thread opener = new Thread(() -> {
              try {
                go.await();
              } catch (InterruptedException e) {
                return;
              }
              mine.forEach(c::db);
            });
            opener.start();
            openers.add(opener);
          }
          c.ready().onSuccess(v -> go.countDown()); // the client starts connecting now
          for (Thread t : openers) t.join();
          Await.until(() -> c.status().synced().keySet().containsAll(names), () -> "all 40 subscribed: " + c.status().synced().keySet());
        } finally {
          Await.result(c.close());
        }
      }
    }
  }
}

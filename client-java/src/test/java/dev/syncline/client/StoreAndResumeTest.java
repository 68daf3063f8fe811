package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.config.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("A client's store: edits survive a restart, and a restarted client pulls only what is new")
class StoreAndResumeTest {

  @Test
  @DisplayName("edits made offline are kept across a restart and pushed by the next client on the store")
  void offlineEditsSurviveRestart(@TempDir Path dir) {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      ClientOptions options = new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true);
      SynclineClient first = SynclineClient.create(options);
      Await.result(first.ready());
      String id = first.clientId();
      Collection notes = first.db("app").col("notes");
      for (int i = 0; i < 20; i++) Await.result(notes.doc("n" + i).set(Map.of("i", i)));
      assertEquals(20, first.status().pending());
      Await.result(first.close());

      SynclineClient second = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      try {
        List<Integer> sizes = new java.util.concurrent.CopyOnWriteArrayList<>();
        second.db("app").col("notes").live(docs -> sizes.add(docs.size())); // made before the store loaded
        Await.result(second.ready());
        Await.until(() -> !sizes.isEmpty(), () -> "the live query called");
        assertEquals(20, sizes.get(0), "first called with what the store holds, not empty before it loaded: " + sizes);
        assertEquals(id, second.clientId(), "the clientId is kept with the store");
        assertEquals(20, second.db("app").col("notes").all().size(), "the replica came back from the store");
        Await.until(() -> second.status().pending() == 0 && second.status().online(), () -> "the queue to be pushed");
      } finally {
        Await.result(second.close());
      }
      SynclineClient reader = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        reader.blocking().ready().awaitSynced("app", Await.TIMEOUT);
        assertEquals(20, reader.db("app").col("notes").all().size(), "the server has every edit");
      } finally {
        Await.result(reader.close());
      }
    }
  }

  @Test
  @DisplayName("a client started again on its store resumes from its cursor: it is sent what changed since, not everything")
  void resumesFromCursor(@TempDir Path dir) {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient writer = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      SynclineClient first = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      try {
        BlockingClient w = writer.blocking().ready();
        Collection items = w.db("app").col("items");
        for (int i = 0; i < 300; i++) items.doc("i" + i).set(Map.of("v", i));
        w.awaitSynced("app", Await.TIMEOUT);
        first.blocking().ready().awaitSynced("app", Await.TIMEOUT);
        Await.until(() -> first.db("app").col("items").all().size() == 300, () -> "the first run to have everything");
        assertTrue(first.core().receivedDeltas >= 300);
        Await.result(first.close());
        for (int i = 0; i < 5; i++) Await.result(items.doc("new" + i).set(Map.of("v", i)));
        w.awaitSynced("app", Await.TIMEOUT);

        SynclineClient again = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
        try {
          again.blocking().ready().awaitSynced("app", Await.TIMEOUT);
          Await.until(() -> again.db("app").col("items").all().size() == 305, () -> "the new documents");
          assertEquals(5, again.core().receivedDeltas, "only the 5 new deltas came");
          assertNotNull(again.db("app").col("items").doc("i299").get());
        } finally {
          Await.result(again.close());
        }
      } finally {
        Await.result(writer.close());
      }
    }
  }

  @Test
  @DisplayName("one store, one client: a second client on an open store fails to start, and says so with ERROR storage")
  void storeIsLocked(@TempDir Path dir) throws IOException {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient first = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true));
      Await.result(first.ready());
      SynclineClient second = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true));
      List<ClientEvent.ClientError> errors = new CopyOnWriteArrayList<>();
      second.on(ClientEvent.ERROR, errors::add);
      try {
        Await.result(second.ready());
        throw new AssertionError("a second client opened a store in use");
      } catch (RuntimeException expected) {
        // the store is locked by the first; listeners hear of it too
        Await.until(() -> errors.stream().anyMatch(e -> e.code().equals("storage")), () -> "ERROR storage: " + errors);
      } finally {
        Await.result(second.close());
        Await.result(first.close());
      }
      assertTrue(Files.exists(dir));
    }
  }

  @Test
  @DisplayName("edits queued offline under one clientId are pushed after the app starts with another")
  void queuedEditsFollowANewClientId(@TempDir Path dir) {
    try (EmbeddedServer server = EmbeddedServer.start(c -> { })) {
      SynclineClient before = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir)
          .setClientId("device-a").setOffline(true));
      Await.result(before.ready());
      Await.result(before.db("app").col("c").doc("queued").set(Map.of("v", "offline")));
      Await.result(before.close());
      SynclineClient after = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir)
          .setClientId("device-b"));
      SynclineClient reader = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        List<ClientEvent.ClientError> errors = new CopyOnWriteArrayList<>();
        after.on(ClientEvent.ERROR, errors::add);
        Await.result(after.ready());
        Await.until(() -> after.status().online() && after.status().pending() == 0, () -> "the queued edit answered");
        assertEquals(List.of(), errors);
        reader.blocking().ready().awaitSynced("app", Await.TIMEOUT);
        Await.until(() -> reader.db("app").col("c").doc("queued").get() != null, () -> "the edit on the server");
        assertEquals("offline", reader.db("app").col("c").doc("queued").get().attributes().get("v"));
      } finally {
        Await.result(reader.close());
        Await.result(after.close());
      }
    }
  }

  @Test
  @DisplayName("under a new clientId, a queued edit the server already has (its ack stored, its leaving the queue not) is "
      + "dropped, not stamped again over a newer write")
  void landedEditNotStampedAgain(@TempDir Path dir) throws Exception {
    try (EmbeddedServer server = EmbeddedServer.start(c -> { })) {
      SynclineClient before = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir)
          .setClientId("device-a"));
      Await.result(before.ready());
      Await.result(before.db("app").col("c").doc("d").set(Map.of("v", "old")));
      Await.until(() -> before.status().online() && before.status().pending() == 0, () -> "the edit acked");
      var landed = before.core().replica.registersOf("app").stream().filter(r -> r.attr().equals("v")).findFirst().orElseThrow();
      Await.result(before.close());
      // the app was killed after storing the ack and before taking the edit off the queue
      try (var store = dev.syncline.client.store.LocalStore.xodus(dir)) {
        store.write(new dev.syncline.client.store.StoreWrite().pendingPut(landed)).get();
      }
      SynclineClient other = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(other.ready());
        Await.result(other.db("app").col("c").doc("d").set(Map.of("v", "newer")));
        Await.until(() -> other.status().pending() == 0, () -> "the newer write acked");
      } finally {
        Await.result(other.close());
      }
      SynclineClient after = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir)
          .setClientId("device-b"));
      try {
        Await.result(after.ready());
        assertEquals(0, after.status().pending(), "the landed edit left the queue");
        after.blocking().awaitSynced("app", Await.TIMEOUT);
        Await.until(() -> "newer".equals(after.db("app").col("c").doc("d").get().attributes().get("v")), () -> "the newer write");
      } finally {
        Await.result(after.close());
      }
      SynclineClient reader = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        reader.blocking().ready().awaitSynced("app", Await.TIMEOUT);
        assertEquals("newer", reader.db("app").col("c").doc("d").get().attributes().get("v"), "not overwritten on the server");
      } finally {
        Await.result(reader.close());
      }
    }
  }

  @Test
  @DisplayName("data held without a cursor (writes acked before the first synced) gives way to the database as it is: one made "
      + "again since")
  void dataWithoutACursorReplaced(@TempDir Path dir) throws Exception {
    try (EmbeddedServer server = EmbeddedServer.start(c -> { })) {
      AdminConnection.admin(server.url(), "db.create", "{\"db\":\"nocursor\"}");
      SynclineClient writer = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(writer.ready());
        Await.result(writer.db("nocursor").col("c").doc("new").set(Map.of("v", "second life")));
        Await.until(() -> writer.status().online() && writer.status().pending() == 0, () -> "the second life written");
      } finally {
        Await.result(writer.close());
      }
      // an acked write of the database's first life, held with no cursor yet (the sub never synced)
      try (var store = dev.syncline.client.store.LocalStore.xodus(dir)) {
        store.write(new dev.syncline.client.store.StoreWrite().register(new dev.syncline.client.store.StoredRegister("nocursor",
            "c", "old", "v", com.fasterxml.jackson.databind.node.TextNode.valueOf("first life"),
            new dev.syncline.protocol.Hlc(System.currentTimeMillis() - 60_000, 0, "dev-x").format()))).get();
      }
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      try {
        c.blocking().ready().awaitSynced("nocursor", Await.TIMEOUT);
        Await.until(() -> c.db("nocursor").col("c").all().size() == 1, () -> "the old life replaced: " + c.db("nocursor").col("c").all());
        assertEquals("new", c.db("nocursor").col("c").all().get(0).id());
      } finally {
        Await.result(c.close());
      }
    }
  }

  @Test
  @DisplayName("a destroyed document's values the server purged (its $deleted sent again, marked valuesPurged) leave the replica "
      + "and the store; the document stays hidden, the others stay")
  void purgedValuesLeave(@TempDir Path dir) throws Exception {
    try (EmbeddedServer server = EmbeddedServer.start(cfg -> {
      cfg.tombstoneRetentionMs = 1_000;
      cfg.purgeIntervalMs = 100;
    })) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      try {
        Await.result(c.ready());
        Await.result(c.db("app").col("c").doc("gone").set(Map.of("title", "secret", "body", "x")));
        Await.result(c.db("app").col("c").doc("kept").set(Map.of("title", "stays")));
        Await.until(() -> c.status().online() && c.status().pending() == 0, () -> "the edits acked");
        Await.result(c.db("app").col("c").doc("gone").destroy());
        Await.until(() -> c.status().pending() == 0, () -> "the destroy acked");
        Await.until(() -> attrsOf(c.core().replica.registersOf("app"), "gone").equals(List.of("$deleted")),
            () -> "the hidden values to leave the replica: " + c.core().replica.registersOf("app"));
        assertNull(c.db("app").col("c").doc("gone").get());
        assertEquals("stays", c.db("app").col("c").doc("kept").get().getString("title"));
      } finally {
        Await.result(c.close());
      }
      try (var store = dev.syncline.client.store.LocalStore.xodus(dir)) {
        var registers = store.load().registers();
        assertEquals(List.of("$deleted"), attrsOf(registers, "gone"), "and the store: " + registers);
        assertEquals(List.of("title"), attrsOf(registers, "kept"));
      }
    }
  }

  private static List<String> attrsOf(List<dev.syncline.client.store.StoredRegister> registers, String id) {
    return registers.stream().filter(r -> r.id().equals(id)).map(dev.syncline.client.store.StoredRegister::attr).sorted().toList();
  }

  @Test
  @DisplayName("an offline write from before its database was destroyed is answered superseded and not kept as the server's")
  void supersededByADestroyIsNotKept() {
    try (EmbeddedServer server = EmbeddedServer.start(c -> { })) {
      AdminConnection.admin(server.url(), "db.create", "{\"db\":\"old\"}");
      SynclineClient a = SynclineClient.create(new ClientOptions().setUrl(server.url()).setOffline(true)); // no cursor: no reset
      SynclineClient b = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(a.ready());
        Await.result(a.db("old").col("c").doc("d").set(Map.of("y", "draft")));
        long wroteAt = a.core().clock.last().ms();
        Await.until(() -> System.currentTimeMillis() > wroteAt, () -> "the clock to pass the write");
        AdminConnection.admin(server.url(), "db.destroy", "{\"db\":\"old\"}");
        AdminConnection.admin(server.url(), "db.create", "{\"db\":\"old\"}");
        List<ClientEvent.Recorded> recorded = new CopyOnWriteArrayList<>();
        a.on(ClientEvent.DOC_RECORD, recorded::add);
        a.offline(false);
        Await.until(() -> !recorded.isEmpty() && a.status().pending() == 0, () -> "the write answered");
        assertEquals("superseded", recorded.get(0).result());
        assertNull(a.db("old").col("c").doc("d").get(), "the server holds no d; neither does this replica");
        Await.result(b.ready());
        b.blocking().awaitSynced("old", Await.TIMEOUT);
        assertNull(b.db("old").col("c").doc("d").get());
      } finally {
        Await.result(b.close());
        Await.result(a.close());
      }
    }
  }

  @Test
  @DisplayName("a database destroyed and created again while subscribed is followed again on the same connection; an edit made meanwhile lands")
  void destroyedAndCreatedAgainIsFollowedAgain() {
    try (EmbeddedServer server = EmbeddedServer.start(c -> { })) {
      AdminConnection.admin(server.url(), "db.create", "{\"db\":\"reborn\"}");
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      SynclineClient writer = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        List<ClientEvent.ClientError> errors = new CopyOnWriteArrayList<>();
        c.on(ClientEvent.ERROR, errors::add);
        List<ClientEvent.Connected> connects = new CopyOnWriteArrayList<>();
        c.on(ClientEvent.CONNECT, connects::add);
        Collection col = c.db("reborn").col("c");
        Await.result(c.ready());
        Await.result(col.doc("old").set(Map.of("v", "first life")));
        c.blocking().awaitSynced("reborn", Await.TIMEOUT);
        int connected = connects.size();

        AdminConnection.admin(server.url(), "db.destroy", "{\"db\":\"reborn\"}");
        Await.until(() -> !c.status().synced().containsKey("reborn"), () -> "synced to drop the destroyed database: " + c.status());
        Await.result(col.doc("mine").set(Map.of("v", "while gone"))); // refused not_found: kept, sent later
        Await.until(() -> holdingPushes(c, "reborn"), () -> "the push refused");
        AdminConnection.admin(server.url(), "db.create", "{\"db\":\"reborn\"}");
        Await.result(writer.ready());
        Await.result(writer.db("reborn").col("c").doc("new").set(Map.of("v", "second life")));
        writer.blocking().awaitSynced("reborn", Await.TIMEOUT);

        Await.until(() -> col.all().size() == 2 && c.status().pending() == 0 && c.status().synced().containsKey("reborn"),
            () -> "the second life synced: " + c.status() + " " + col.all());
        assertEquals(List.of("mine", "new"), col.all().stream().map(Doc::id).toList(), "the first life gone, the edit made meanwhile kept");
        assertEquals(connected, connects.size(), "on the same connection");
        assertEquals(List.of("not_found"), errors.stream().map(ClientEvent.ClientError::code).toList(), "reported once");
        Await.until(() -> writer.db("reborn").col("c").doc("mine").get() != null, () -> "the edit made while gone on the server");
      } finally {
        Await.result(writer.close());
        Await.result(c.close());
      }
    }
  }

  @Test
  @DisplayName("edits queued for a database that does not exist, and that this run does not open, are pushed once it is created")
  void queuedForAMissingDatabaseArePushedOnceCreated(@TempDir Path dir) {
    try (EmbeddedServer server = EmbeddedServer.start(c -> { })) {
      SynclineClient before = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true));
      try {
        Await.result(before.ready());
        Await.result(before.db("notyet").col("c").doc("x").set(Map.of("v", "queued")));
      } finally {
        Await.result(before.close());
      }
      SynclineClient after = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir)); // never opens notyet
      SynclineClient reader = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        List<ClientEvent.ClientError> errors = new CopyOnWriteArrayList<>();
        after.on(ClientEvent.ERROR, errors::add);
        Await.result(after.ready());
        Await.until(() -> holdingPushes(after, "notyet"), () -> "the push refused");
        AdminConnection.admin(server.url(), "db.create", "{\"db\":\"notyet\"}");
        Await.until(() -> after.status().pending() == 0, () -> "the queued edit pushed again and applied: " + after.status());
        assertEquals(List.of("not_found"), errors.stream().map(ClientEvent.ClientError::code).toList(), "reported once");
        Await.result(reader.ready());
        reader.blocking().awaitSynced("notyet", Await.TIMEOUT);
        assertEquals("queued", reader.db("notyet").col("c").doc("x").get().getString("v"));
      } finally {
        Await.result(reader.close());
        Await.result(after.close());
      }
    }
  }

  /** Whether {@code c}'s connection holds pushes to {@code db} back because the server said it does not exist. */
  private static boolean holdingPushes(SynclineClient c, String db) {
    io.vertx.core.Promise<Boolean> held = io.vertx.core.Promise.promise();
    c.onContext(() -> held.complete(c.session() != null && c.session().holdingPushes(db)));
    return Await.result(held.future());
  }

  @Test
  @DisplayName("a write acknowledged as superseded, after the newer value had arrived, leaves the newer value in the store")
  void supersededAckKeepsNewerValueStored(@TempDir Path dir) {
    try (EmbeddedServer server = EmbeddedServer.start(c -> c.users.add(new ServerConfig.UserSpec("erin", "erin's long password", List.of())))) {
      SynclineClient a = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      SynclineClient b = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(a.ready());
        Await.result(b.ready());
        Await.result(a.login("erin", "erin's long password"));
        a.offline(true);
        Document onA = a.db("app").col("c").doc("d");
        Await.result(onA.set(Map.of("x", 1))); // erin's edit, held offline
        // the server stops taking erin's token: when a comes back, it is anonymous, and erin's edit waits for her
        AdminConnection.admin(server.url(), "user.update", "{\"username\":\"erin\",\"password\":\"erin's new password\"}");
        long wroteAt = a.core().clock.last().ms();
        Await.until(() -> b.core().now() > wroteAt, () -> "b's clock to pass a's write");
        Await.result(b.db("app").col("c").doc("d").set(Map.of("x", 2))); // later: wins
        b.blocking().awaitSynced("app", Await.TIMEOUT);
        Await.until(() -> b.status().pending() == 0, () -> "b's write to land");

        a.offline(false);
        Await.until(() -> a.core().replica.registersOf("app").stream().anyMatch(r -> r.attr().equals("x") && r.value().asInt() == 2),
            () -> "a to hold b's newer value, with erin's older edit still unsent");
        List<ClientEvent.Recorded> recorded = new CopyOnWriteArrayList<>();
        a.on(ClientEvent.DOC_RECORD, recorded::add);
        Await.result(a.login("erin", "erin's new password"));
        Await.until(() -> !recorded.isEmpty() && a.status().pending() == 0, () -> "erin's edit answered");
        assertEquals("superseded", recorded.get(0).result());
        assertEquals(2, onA.get().getNumber("x").intValue());
      } finally {
        Await.result(b.close());
        Await.result(a.close());
      }
      SynclineClient again = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true));
      try {
        Await.result(again.ready());
        assertEquals(2, again.db("app").col("c").doc("d").get().getNumber("x").intValue(), "the store kept the newer value");
      } finally {
        Await.result(again.close());
      }
    }
  }
}

package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.UserInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The server signs a connection in as the new user when it takes a {@code login}, before the
 * client has the answer. A server in this test holds the answers the real one gives at once, to
 * make that window as wide as a slow link does.
 */
class SwitchUserTest {

  @Test
  @DisplayName("nothing is pushed between a login as another user and its answer; a refused login lets what waited go")
  void noPushWhileSigningIn() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<JsonNode> received = new CopyOnWriteArrayList<>();
    Map<String, Consumer<Boolean>> held = new ConcurrentHashMap<>();
    try {
      HttpServer fake = vertx.createHttpServer().webSocketHandler(ws -> ws.textMessageHandler(text -> {
        JsonNode m = ScriptedServer.read(text);
        received.add(m);
        long rid = m.path("rid").asLong();
        switch (m.path("type").asText()) {
          case "hello" -> ws.writeTextMessage(ScriptedServer.welcome(m));
          case "sub" -> ScriptedServer.subscribeAsLive(ws, m, 0);
          case "login" -> {
            String user = m.path("username").asText();
            if (user.equals("alice")) token(ws, rid, user);
            else held.put("login", ok -> {
              if (ok) token(ws, rid, user);
              else ws.writeTextMessage("{\"type\":\"error\",\"rid\":" + rid + ",\"code\":\"unauthenticated\",\"message\":\"no\"}");
            });
          }
          case "push" -> held.put("push-" + m.path("deltas").get(0).path("id").asText(), ok -> ws.writeTextMessage(
              "{\"type\":\"ack\",\"rid\":" + rid + ",\"db\":\"app\",\"seq\":1,\"results\":[\"applied\"]}"));
          default -> { }
        }
      })).listen(0, "127.0.0.1").await();
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(ScriptedServer.url(fake)));
      try {
        Await.result(c.login("alice", "alice-password"));
        Collection col = c.db("app").col("c");
        Await.result(col.doc("first").set(Map.of("v", 1)));
        Await.until(() -> held.containsKey("push-first"), () -> "alice's first push: " + received);
        Await.result(col.doc("second").set(Map.of("v", 2))); // waits behind the push in flight

        // a refused login: held meanwhile, pushed as alice after
        Future<UserInfo> wrong = c.login("bob", "wrong");
        Await.until(() -> held.containsKey("login"), () -> "the login: " + received);
        held.remove("push-first").accept(true);
        Thread.sleep(100);
        assertEquals(List.of(), pushesAfterLastLogin(received), "pushed while the login was out: " + received);
        held.remove("login").accept(false);
        assertEquals("unauthenticated", assertThrows(SynclineException.class, () -> Await.result(wrong)).code());
        Await.until(() -> held.containsKey("push-second"), () -> "the held edit pushed as alice: " + received);

        // a login as bob: alice's edits are not pushed in between, and go with her data
        Future<UserInfo> bob = c.login("bob", "bob-password");
        Await.until(() -> held.containsKey("login"), () -> "the login: " + received);
        Await.result(col.doc("third").set(Map.of("v", 3)));
        held.remove("push-second").accept(true);
        Thread.sleep(100);
        assertEquals(List.of(), pushesAfterLastLogin(received), "alice's edit was pushed as bob");
        held.remove("login").accept(true);
        assertEquals("bob", Await.result(bob).id());
        assertNull(col.doc("third").get(), "alice's edit went with her data");
      } finally {
        Await.result(c.close());
      }
    } finally {
      vertx.close().await();
    }
  }

  @Test
  @DisplayName("a listener that signs out while a frame is told of: nothing of that frame reaches the store the next user loads")
  void logoutFromAListener(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient writer = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      try {
        c.blocking().ready().awaitSynced("app", Await.TIMEOUT);
        List<Future<Void>> loggedOut = new CopyOnWriteArrayList<>();
        c.on(ClientEvent.DOC_CREATE, e -> {
          if (!e.local() && loggedOut.isEmpty()) {
            c.offline(true); // no anonymous connection after: it would read the document again, rightly
            loggedOut.add(c.logout());
          }
        });
        Await.result(writer.db("app").col("c").doc("seen").set(Map.of("v", 1)));
        Await.until(() -> !loggedOut.isEmpty(), () -> "the frame told of");
        Await.result(loggedOut.get(0));
        assertEquals(Map.of(), c.status().synced(), "the signed-out user's database is not synced for the next");
      } finally {
        Await.result(c.close());
        Await.result(writer.close());
      }
      SynclineClient next = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir).setOffline(true));
      try {
        Await.result(next.ready());
        assertEquals(List.of(), next.core().replica.registersOf("app"), "the signed-out user's data was stored after the wipe");
      } finally {
        Await.result(next.close());
      }
    }
  }

  @Test
  @DisplayName("a listener that writes when a logout drops the data writes as the next user, and its write is stored after the wipe")
  void listenerWritesDuringLogout(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setStoreDirectory(dir).setOffline(true));
    try {
      Await.result(c.ready());
      Collection col = c.db("app").col("c");
      Await.result(col.doc("x").set(Map.of("v", 1)));
      c.on(ClientEvent.DOC_DESTROY, e -> {
        if (col.doc("settings").get() == null) col.doc("settings").set(Map.of("theme", "light"));
      });
      Await.result(c.logout());
      assertEquals(1, c.status().pending(), "the listener's write is pending");
    } finally {
      Await.result(c.close());
    }
    SynclineClient next = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setStoreDirectory(dir).setOffline(true));
    try {
      Await.result(next.ready());
      assertEquals(1, next.status().pending(), "and stored, for the next user");
    } finally {
      Await.result(next.close());
    }
  }

  private static List<JsonNode> pushesAfterLastLogin(List<JsonNode> received) {
    int login = -1;
    for (int i = 0; i < received.size(); i++) if (received.get(i).path("type").asText().equals("login")) login = i;
    return received.subList(login + 1, received.size()).stream().filter(m -> m.path("type").asText().equals("push")).toList();
  }

  private static void token(ServerWebSocket ws, long rid, String user) {
    ws.writeTextMessage("{\"type\":\"token\",\"rid\":" + rid + ",\"token\":\"tok-" + user + "\",\"expiresAt\":"
        + (System.currentTimeMillis() + 3_600_000) + ",\"user\":{\"id\":\"" + user + "\",\"roles\":[]}}");
  }

}

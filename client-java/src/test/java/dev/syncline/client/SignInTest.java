package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Sign-in: tokens kept in the store, policies enforced, refused writes reverted")
class SignInTest {
  /** wiki: readable by signed-in users; only editors may create; owners update and destroy. */
  static final String POLICY = "{\"read\":[\"$user\"],\"create\":[\"role:editor\"],\"update\":[\"$owner\"],\"destroy\":[\"$owner\"]}";

  private static EmbeddedServer server() {
    return EmbeddedServer.start(c -> {
      ServerConfig.DatabaseSpec wiki = ServerConfig.DatabaseSpec.named("wiki");
      wiki.policy = EmbeddedServer.json(POLICY);
      c.databases.add(wiki);
      c.users.add(new ServerConfig.UserSpec("erin", "erin's long password", List.of("editor")));
      c.users.add(new ServerConfig.UserSpec("rita", "rita's long password", List.of()));
    });
  }

  @Test
  @DisplayName("login signs the connection in, the token survives a restart of the client, logout drops the user's data")
  void loginKeepsTokenAndLogoutWipes(@TempDir Path dir) {
    try (EmbeddedServer server = server()) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      Await.result(c.ready());
      List<String> errors = new CopyOnWriteArrayList<>();
      c.on(ClientEvent.ERROR, e -> errors.add(e.code()));
      c.db("wiki");
      Await.until(() -> errors.contains("forbidden"), () -> "anonymous: may read nothing of wiki");
      assertEquals("erin", Await.result(c.login("erin", "erin's long password")).id());
      Document page = c.db("wiki").col("pages").doc("home");
      Await.result(page.set(Map.of("title", "Welcome")));
      c.blocking().awaitSynced("wiki", Await.TIMEOUT);
      Await.result(c.close());

      SynclineClient again = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      try {
        Await.result(again.ready());
        assertEquals("erin", again.user().id(), "signed in from the store");
        again.blocking().awaitSynced("wiki", Await.TIMEOUT);
        Document home = again.db("wiki").col("pages").doc("home");
        assertEquals("erin", home.get().getString("$owner"));
        // a document read back with its $owner is written back with a change: $owner is not an edit
        Map<String, Object> edited = new java.util.HashMap<>(home.get().attributes());
        edited.put("title", "Edited as read");
        Await.result(home.set(edited));
        again.blocking().awaitSynced("wiki", Await.TIMEOUT);
        assertEquals(Map.of("title", "Edited as read", "$owner", "erin"), home.get().attributes());
        SynclineException refused = org.junit.jupiter.api.Assertions.assertThrows(SynclineException.class,
            () -> home.set(Map.of("$owner", "rita")));
        assertEquals("bad_request", refused.code(), "another owner is still refused");
        Await.result(again.logout());
        assertNull(again.user());
        assertTrue(again.db("wiki").col("pages").all().isEmpty(), "the user's data is gone locally");
      } finally {
        Await.result(again.close());
      }
    }
  }

  @Test
  @DisplayName("after a login that keeps the local copy (anonymous, then a user), awaitSynced waits for the copy the user may read")
  void awaitSyncedAfterLoginWaitsForTheUsersCopy() {
    try (EmbeddedServer server = server()) {
      AdminConnection.admin(server.url(), "policy.set", "{\"db\":\"app\",\"col\":\"members\",\"policy\":"
          + "{\"read\":[\"$user\"],\"create\":[\"$user\"],\"update\":[\"$user\"],\"destroy\":[\"$user\"]}}");
      SynclineClient writer = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        writer.blocking().login("rita", "rita's long password");
        Await.result(writer.db("app").col("members").doc("m1").set(Map.of("name", "only for members")));
        writer.blocking().awaitSynced("app", Await.TIMEOUT);
        c.blocking().ready().awaitSynced("app", Await.TIMEOUT);
        assertNull(c.db("app").col("members").doc("m1").get(), "anonymous: not readable");
        c.blocking().login("rita", "rita's long password");
        c.blocking().awaitSynced("app", Await.TIMEOUT);
        assertEquals("only for members", c.db("app").col("members").doc("m1").get().get("name"),
            "awaitSynced returned with the anonymous copy");
      } finally {
        Await.result(c.close());
        Await.result(writer.close());
      }
    }
  }

  @Test
  @DisplayName("a write the policy refuses comes back forbidden, is dropped, and the document returns to the server's state")
  void forbiddenWriteReverted() {
    try (EmbeddedServer server = server()) {
      SynclineClient erin = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      SynclineClient rita = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(erin.ready());
        Await.result(rita.ready());
        Await.result(erin.login("erin", "erin's long password"));
        Await.result(rita.login("rita", "rita's long password"));
        Await.result(erin.db("wiki").col("pages").doc("home").set(Map.of("title", "Welcome")));
        erin.blocking().awaitSynced("wiki", Await.TIMEOUT);
        rita.blocking().awaitSynced("wiki", Await.TIMEOUT);
        Await.until(() -> rita.db("wiki").col("pages").doc("home").get() != null, () -> "rita to read the page");

        List<ClientEvent.ClientError> errors = new CopyOnWriteArrayList<>();
        rita.on(ClientEvent.ERROR, errors::add);
        // seen through the event: the refusal may come back before this thread could look
        List<String> seenLocally = new CopyOnWriteArrayList<>();
        rita.on(ClientEvent.DOC_UPDATE, ch -> {
          if (ch.local()) seenLocally.add(ch.doc().getString("title"));
        });
        Document home = rita.db("wiki").col("pages").doc("home");
        Await.result(home.set(Map.of("title", "Defaced")));
        assertEquals(List.of("Defaced"), seenLocally, "applied locally at once");
        Document mine = rita.db("wiki").col("pages").doc("ritas");
        Await.result(mine.set(Map.of("title", "Mine")));
        Await.until(() -> errors.size() >= 2, () -> "two refusals: " + errors);
        assertTrue(errors.stream().allMatch(e -> e.code().equals("forbidden") && e.db().equals("wiki")), errors.toString());
        // the state is published before the loop updates the status: wait for both
        Await.until(() -> "Welcome".equals(home.get().getString("title")) && mine.get() == null && rita.status().pending() == 0,
            () -> "the server's state back, nothing pending: " + rita.status());
      } finally {
        Await.result(erin.close());
        Await.result(rita.close());
      }
    }
  }

  @Test
  @DisplayName("a login waiting for a connection, whose first welcome a listener answers with logout, signs in on the next one")
  void loginOutlastsALogoutAtConnect() {
    try (EmbeddedServer server = server()) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(c.ready());
        c.offline(true);
        var loggedOut = new java.util.concurrent.atomic.AtomicBoolean();
        c.on(ClientEvent.CONNECT, e -> {
          if (loggedOut.compareAndSet(false, true)) c.logout(); // reconnects: no session until the next welcome
        });
        var login = c.login("erin", "erin's long password"); // waits for a connection
        c.offline(false);
        assertEquals("erin", Await.result(login).id());
      } finally {
        Await.result(c.close());
      }
    }
  }

  @Test
  @DisplayName("a wrong password is refused with unauthenticated; the client stays anonymous")
  void wrongPassword() {
    try (EmbeddedServer server = server()) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(c.ready());
        try {
          Await.result(c.login("erin", "not the password"));
          throw new AssertionError("signed in with a wrong password");
        } catch (SynclineException e) {
          assertEquals("unauthenticated", e.code());
        }
        assertNull(c.user());
      } finally {
        Await.result(c.close());
      }
    }
  }

  @Test
  @DisplayName("login completes only once its token is in the store: a store that cannot take it fails the login with storage")
  void loginWaitsForTheStoredToken(@TempDir Path dir) {
    try (EmbeddedServer server = server()) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(dir));
      try {
        Await.result(c.ready());
        c.blocking().awaitSynced("app", Await.TIMEOUT); // online
        c.core().store.close(); // the disk is gone: nothing more can be stored
        try {
          Await.result(c.login("erin", "erin's long password"));
          throw new AssertionError("login completed, but its token was never stored");
        } catch (SynclineException e) {
          assertEquals("storage", e.code());
        }
      } finally {
        Await.result(c.close());
      }
    }
  }
}

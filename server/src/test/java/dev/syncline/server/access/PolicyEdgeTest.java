package dev.syncline.server.access;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.auth.Policy;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Edges of policies: removal and re-setting, retries, resends, overrides that change nothing. */
@DisplayName("Policy edges: fail closed after a removal, db.create retries, resends, and no needless resets")
class PolicyEdgeTest {
  static final String PASSWORD = "password-of-a-test-user";

  static JsonNode ok(JsonNode answer) {
    assertEquals("result", answer.path("type").asText(), answer.toString());
    return answer.get("data");
  }

  static ObjectNode all(String principal) {
    ObjectNode p = Json.MAPPER.createObjectNode();
    for (String a : List.of("read", "create", "update", "destroy")) p.putArray(a).add(principal);
    return p;
  }

  @Test
  @DisplayName("a collection policy of {} declared in the config grants nothing, also after an admin removed it and the server restarted")
  void emptyConfigPolicyStaysClosedAfterRemoval() {
    try (TestServer server = TestServer.start(c -> {
      ServerConfig.DatabaseSpec d = ServerConfig.DatabaseSpec.named("d");
      d.policy = Policy.OPEN.toJson();
      d.collections.put("private", Json.MAPPER.createObjectNode());
      c.databases.add(d);
    })) {
      ObjectNode sub = sub("d", 0);
      sub.putArray("cols").add("private");
      try (WsClient anon = server.connect("anon-1")) {
        assertEquals("forbidden", anon.request(sub).path("code").asText(), "{} grants nothing");
      }
      ok(server.admin(admin("policy.set", args().put("db", "d").put("col", "private").putNull("policy"))));
      server.restart(); // the config writes {} again, over the removal
      try (WsClient anon = server.connect("anon-2")) {
        assertEquals("forbidden", anon.request(sub).path("code").asText(), "still nothing: the removal must not hide the new {}");
      }
    }
  }

  @Test
  @DisplayName("db.create with a policy sets it even when the database already exists, so a retry after an error still applies it")
  void createWithPolicyIsRetrySafe() {
    try (TestServer server = TestServer.start(c -> c.newDatabasePolicy = null)) {
      ok(server.admin(admin("db.create", args().put("db", "retry"))));
      JsonNode again = ok(server.admin(admin("db.create", args().put("db", "retry").<ObjectNode>set("policy", all("$all")))));
      assertEquals(false, again.get("created").asBoolean());
      JsonNode policy = ok(server.admin(admin("policy.get", args().put("db", "retry"))));
      assertEquals(all("$all"), policy.get("policy"), policy.toString());
      try (WsClient anon = server.connect("anon")) {
        assertEquals("subscribed", anon.request(sub("retry", 0)).path("type").asText());
      }
    }
  }

  @Test
  @DisplayName("a resend of a write that landed is a duplicate, even after the writer lost the right to update")
  void resendAfterLosingUpdateIsDuplicate() {
    try (TestServer server = TestServer.start(c -> c.newDatabasePolicy = null)) {
      ok(server.admin(admin("user.create", args().put("username", "wren").put("password", PASSWORD))));
      ObjectNode p = all("$user");
      p.putArray("update"); // nobody may update
      ok(server.admin(admin("db.create", args().put("db", "once").<ObjectNode>set("policy", p))));
      try (WsClient wren = server.connectAs("wren-1", "wren", PASSWORD)) {
        ObjectNode write = push("once", delta("c", "doc", "title", "first", ts(System.currentTimeMillis(), 0, wren.clientId())));
        assertEquals("applied", wren.request(write).get("results").get(0).asText());
        assertEquals("duplicate", wren.request(write.deepCopy()).get("results").get(0).asText(), "the same write again");
        JsonNode other = wren.request(push("once", delta("c", "doc", "title", "second", ts(System.currentTimeMillis() + 1, 0, wren.clientId()))));
        assertEquals("forbidden", other.get("results").get(0).path("error").asText(), "a new write to it is an update");
      }
    }
  }

  @Test
  @DisplayName("a push of another's exact write, under that writer's clientId, is forbidden, not duplicate: it would confirm a guess at a value the pusher may not read")
  void duplicateConfirmsNothingToOthers() {
    try (TestServer server = TestServer.start(c -> c.newDatabasePolicy = null)) {
      ok(server.admin(admin("user.create", args().put("username", "ada").put("password", PASSWORD))));
      ok(server.admin(admin("user.create", args().put("username", "bob").put("password", PASSWORD))));
      ObjectNode ownersOnly = all("$owner");
      ownersOnly.set("create", Json.MAPPER.createArrayNode().add("$user"));
      ok(server.admin(admin("db.create", args().put("db", "notes").<ObjectNode>set("policy", ownersOnly))));
      ObjectNode write;
      try (WsClient ada = server.connectAs("ada-phone", "ada", PASSWORD)) {
        write = push("notes", delta("c", "salary", "amount", 100, ts(System.currentTimeMillis(), 0, ada.clientId())));
        assertEquals("applied", ada.request(write).get("results").get(0).asText());
        assertEquals("duplicate", ada.request(write.deepCopy()).get("results").get(0).asText(), "her own resend");
      }
      try (WsClient bob = server.connectAs("ada-phone", "bob", PASSWORD)) { // a clientId is whatever hello says
        JsonNode guess = bob.request(write.deepCopy());
        assertEquals("forbidden", guess.get("results").get(0).path("error").asText(), guess.toString());
      }
      // one who could have made it, or may read it, is told duplicate: an anonymous resend to a
      // collection anyone may add to and read, but nobody may update
      ObjectNode drop = Json.MAPPER.createObjectNode();
      drop.putArray("create").add("$all");
      drop.putArray("read").add("$all");
      ok(server.admin(admin("db.create", args().put("db", "guestbook").<ObjectNode>set("policy", drop))));
      try (WsClient guest = server.connect("guest-1")) {
        ObjectNode entry = push("guestbook", delta("c", "hello", "text", "hi", ts(System.currentTimeMillis(), 0, guest.clientId())));
        assertEquals("applied", guest.request(entry).get("results").get(0).asText());
        assertEquals("duplicate", guest.request(entry.deepCopy()).get("results").get(0).asText(), "its ack was lost: sent again");
      }
    }
  }

  @Test
  @DisplayName("a collection override whose read rule equals the database's changes nobody's access: no reset")
  void overrideThatReadsAlikeResetsNobody() {
    try (TestServer server = TestServer.start(c -> c.newDatabasePolicy = null)) {
      ok(server.admin(admin("user.create", args().put("username", "bo").put("password", PASSWORD))));
      ObjectNode ownersOnly = all("$owner");
      ownersOnly.set("create", Json.MAPPER.createArrayNode().add("$user"));
      ok(server.admin(admin("db.create", args().put("db", "same").<ObjectNode>set("policy", ownersOnly))));
      try (WsClient writer = server.connectAs("bo-w", "bo", PASSWORD); WsClient bo = server.connectAs("bo-r", "bo", PASSWORD)) {
        Feed f = Feed.open(bo, sub("same", 0));
        f.awaitSynced(0);
        ObjectNode override = all("$owner");
        override.putArray("destroy"); // differs only in destroy
        ok(server.admin(admin("policy.set", args().put("db", "same").put("col", "notes").<ObjectNode>set("policy", override))));
        writer.request(push("same", delta("items", "m1", "t", 1, ts(System.currentTimeMillis(), 0, writer.clientId()))));
        f.awaitDelta(d -> d.get("id").asText().equals("m1"), "bo's own new document");
        assertEquals(List.of(), f.resets(), "bo reads notes as before: " + f.resets());
      }
    }
  }
}

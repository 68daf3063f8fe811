package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Users, tokens and policies across the cluster")
class SignInAcrossClusterTest {
  static final Duration WITHIN = Duration.ofSeconds(30);

  @Test
  @DisplayName("a user created on one server signs in on another, a token from one works on the other, and a policy set on one filters reads on the other")
  void usersAndPoliciesAcrossTheCluster() {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      assertEquals("result", a.admin(admin("user.create", args().put("username", "carol").put("password", "correct horse battery")))
          .path("type").asText());
      assertEquals("result", a.admin(admin("db.create", args().put("db", "wiki"))).path("type").asText());
      c.awaitSameDigest("$system", WITHIN);
      String token;
      try (WsClient onB = b.connect("carol-phone")) {
        JsonNode signedIn = onB.request(WsClient.obj("login").put("username", "carol").put("password", "correct horse battery"));
        assertEquals("token", signedIn.path("type").asText(), signedIn.toString());
        token = signedIn.path("token").asText();
      }
      try (WsClient onA = WsClient.connect(a.port())) {
        JsonNode welcome = onA.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "carol-laptop").put("token", token));
        assertEquals("carol", welcome.path("user").path("id").asText(), "b's token works on a: " + welcome);
      }
      try (WsClient reader = WsClient.connect(b.port())) {
        reader.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "carol-tablet").put("token", token));
        JsonNode subscribed = reader.request(sub("wiki", 0));
        assertEquals("subscribed", subscribed.path("type").asText(), subscribed.toString());
        String sid = subscribed.path("sid").asText();
        reader.await(m -> "synced".equals(m.path("type").asText()));
        var closed = args().put("db", "wiki");
        closed.putObject("policy").putArray("read").add("role:editor");
        assertEquals("result", a.admin(admin("policy.set", closed)).path("type").asText());
        // the policy, set on a, reaches b, and b resets carol's subscription to what she may read now
        reader.await(m -> "reset".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText()));
        try (WsClient again = WsClient.connect(b.port())) {
          again.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "carol-tablet2").put("token", token));
          assertEquals("forbidden", again.request(sub("wiki", 0)).path("code").asText());
        }
      }
    }
  }

  @Test
  @DisplayName("a token of a user made on another server, shown before the user arrives, is overloaded on the same connection, then works; a deleted user's is refused")
  void tokenBeforeItsUserArrives() throws InterruptedException {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      c.awaitSameDigest("$system", WITHIN); // b has a's signing key
      c.proxy(0, 1).cut();
      c.proxy(1, 0).cut();
      String dave = tokenOfANewUser(a, "dave");
      String erin = tokenOfANewUser(a, "erin");
      assertEquals("result", a.admin(admin("user.delete", args().put("username", "erin"))).path("type").asText());
      assertEquals("dave", overloadedUntilHealed(c, b, dave).path("user").path("id").asText());
      try (WsClient onB = WsClient.connect(b.port())) {
        JsonNode refused = onB.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "erin-phone").put("token", erin));
        assertEquals("unauthenticated", refused.path("code").asText(), "erin was deleted: " + refused);
        assertEquals(1008, onB.awaitClose());
      }
    }
  }

  @Test
  @DisplayName("a token issued for a password, or an enabled account, that has not reached this server waits for it; one issued before the change is refused")
  void tokenForANewerPasswordWaitsForIt() throws InterruptedException {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      String before = tokenOfANewUser(a, "frank");
      tokenOfANewUser(a, "gina");
      assertEquals("result", a.admin(admin("user.update", args().put("username", "gina").put("disabled", true))).path("type").asText());
      c.awaitSameDigest("$system", WITHIN);
      c.proxy(0, 1).cut();
      c.proxy(1, 0).cut();
      assertEquals("result", a.admin(admin("user.update", args().put("username", "frank").put("password", "staple battery horse")))
          .path("type").asText());
      String after = tokenOf(a, "frank", "staple battery horse");
      assertEquals("result", a.admin(admin("user.update", args().put("username", "gina").put("disabled", false))).path("type").asText());
      String enabled = tokenOf(a, "gina", "correct horse battery");
      assertEquals("overloaded", helloAnswer(b, enabled).path("code").asText(), "gina is enabled again on a, not yet on b");
      assertEquals("frank", helloAnswer(b, before).path("user").path("id").asText(), "b has not heard of the change yet");
      assertEquals("frank", overloadedUntilHealed(c, b, after).path("user").path("id").asText());
      assertEquals("unauthenticated", helloAnswer(b, before).path("code").asText(), "issued for the old password");
      assertEquals("gina", helloAnswer(b, enabled).path("user").path("id").asText());
    }
  }

  @Test
  @DisplayName("an admin is not removed, disabled or demoted while a peer is cut off: on the other side the others may be going")
  void noAdminRemovedWhileCutOff() {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      var second = args().put("username", "admin2").put("password", "correct horse battery");
      second.putArray("roles").add("admin");
      assertEquals("result", a.admin(admin("user.create", second)).path("type").asText());
      c.awaitSameDigest("$system", WITHIN);
      c.proxy(0, 1).cut();
      c.proxy(1, 0).cut();
      Cluster.await(() -> a.stats().path("peers").findValuesAsText("state").stream().noneMatch("live"::equals), WITHIN,
          () -> "a sees the cut: " + a.stats().path("peers"));
      JsonNode refused = a.admin(admin("user.update", args().put("username", "admin2").put("disabled", true)));
      assertEquals("forbidden", refused.path("code").asText(), refused.toString());
      assertEquals("forbidden", a.admin(admin("user.delete", args().put("username", "admin2"))).path("code").asText());
      c.proxy(0, 1).heal();
      c.proxy(1, 0).heal();
      c.awaitLinksLive(WITHIN);
      Cluster.await(() -> "result".equals(a.admin(admin("user.update", args().put("username", "admin2").put("disabled", true)))
          .path("type").asText()), WITHIN, () -> "once linked again");
    }
  }

  @Test
  @DisplayName("a token of a user unknown here waits only while the user may be on its way: issued in the last 10 minutes, or a peer is not linked; hello again too soon closes")
  void unknownUserWaitsOnlyWhileItMayArrive() {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode b = c.node(1);
      long now = System.currentTimeMillis() / 1000;
      String fresh = clusterToken("nobody", now);
      String old = clusterToken("nobody", now - 11 * 60);
      assertEquals("overloaded", helloAnswer(b, fresh).path("code").asText());
      assertEquals("unauthenticated", helloAnswer(b, old).path("code").asText(), "every peer linked: the user would be here");
      try (WsClient hasty = WsClient.connect(b.port())) {
        hasty.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "hasty").put("token", fresh));
        hasty.send(WsClient.obj("hello").put("protocol", 1).put("clientId", "hasty").put("token", fresh));
        assertEquals(1008, hasty.awaitClose(), "a hello sooner than retryAfterMs");
      }
      c.proxy(0, 1).cut();
      c.proxy(1, 0).cut();
      Cluster.await(() -> "overloaded".equals(helloAnswer(b, old).path("code").asText()), WITHIN,
          () -> "an old token waits while a peer is cut off: " + helloAnswer(b, old));
    }
  }

  /** A token signed with the cluster's key, as any server of the cluster issues, for a user that may not exist. */
  private static String clusterToken(String user, long issuedAtSeconds) {
    var jwt = io.vertx.ext.auth.jwt.JWTAuth.create(WsClient.vertx(), new io.vertx.ext.auth.jwt.JWTAuthOptions()
        .addPubSecKey(new io.vertx.ext.auth.PubSecKeyOptions().setAlgorithm("HS256")
            .setBuffer(Replication.signingKeyFor(dev.syncline.server.testing.ClusterNode.CLUSTER_SECRET))));
    return jwt.generateToken(new io.vertx.core.json.JsonObject().put("sub", user).put("pwv", "0123456789abcdef")
            .put("iat", issuedAtSeconds).put("exp", issuedAtSeconds + 3600),
        new io.vertx.ext.auth.JWTOptions().setAlgorithm("HS256").setIssuer("syncline").setNoTimestamp(true));
  }

  /**
   * Says hello with {@code token} to {@code n} while its links are cut: {@code overloaded}. Heals
   * the links of a two-server cluster and says hello again on the same connection after
   * {@code retryAfterMs}, as the SDKs do; returns that answer.
   */
  private static JsonNode overloadedUntilHealed(Cluster c, ClusterNode n, String token) throws InterruptedException {
    try (WsClient conn = WsClient.connect(n.port())) {
      JsonNode early = conn.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "phone").put("token", token));
      long helloAgainAt = System.currentTimeMillis() + early.path("retryAfterMs").asLong();
      assertEquals("overloaded", early.path("code").asText(), early.toString());
      assertEquals(1000, early.path("retryAfterMs").asLong(), early.toString());
      c.proxy(0, 1).heal();
      c.proxy(1, 0).heal();
      c.awaitSameDigest("$system", WITHIN);
      Thread.sleep(Math.max(0, helloAgainAt - System.currentTimeMillis()));
      JsonNode welcome = conn.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "phone").put("token", token));
      assertEquals("welcome", welcome.path("type").asText(), welcome.toString());
      return welcome;
    }
  }

  private static JsonNode helloAnswer(ClusterNode n, String token) {
    try (WsClient c = WsClient.connect(n.port())) {
      return c.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "probe").put("token", token));
    }
  }

  private static String tokenOfANewUser(ClusterNode n, String user) {
    assertEquals("result", n.admin(admin("user.create", args().put("username", user).put("password", "correct horse battery")))
        .path("type").asText());
    return tokenOf(n, user, "correct horse battery");
  }

  private static String tokenOf(ClusterNode n, String user, String password) {
    try (WsClient c = n.connect(user + "-laptop")) {
      JsonNode signedIn = c.request(WsClient.obj("login").put("username", user).put("password", password));
      assertEquals("token", signedIn.path("type").asText(), signedIn.toString());
      return signedIn.path("token").asText();
    }
  }
}

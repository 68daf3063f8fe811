package dev.syncline.server.signin;

import static dev.syncline.server.signin.AuthTesting.HS256_HEADER;
import static dev.syncline.server.signin.AuthTesting.SECRET;
import static dev.syncline.server.signin.AuthTesting.adminOk;
import static dev.syncline.server.signin.AuthTesting.assertError;
import static dev.syncline.server.signin.AuthTesting.assertServes;
import static dev.syncline.server.signin.AuthTesting.assertToken;
import static dev.syncline.server.signin.AuthTesting.b64;
import static dev.syncline.server.signin.AuthTesting.claims;
import static dev.syncline.server.signin.AuthTesting.hello;
import static dev.syncline.server.signin.AuthTesting.jwt;
import static dev.syncline.server.signin.AuthTesting.login;
import static dev.syncline.server.signin.AuthTesting.nowSeconds;
import static dev.syncline.server.signin.AuthTesting.renew;
import static dev.syncline.server.signin.AuthTesting.type;
import static dev.syncline.server.signin.AuthTesting.userArgs;
import static dev.syncline.server.signin.AuthTesting.validToken;
import static dev.syncline.server.testing.Deltas.args;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every way a client may present a bad token in {@code hello}: each is answered {@code error
 * unauthenticated} carrying the hello's rid, then the connection is closed with 1008, and the
 * server keeps serving everyone else. Tokens are made by hand (HMAC over base64url JSON) so the
 * header, claims and signature can each be broken on its own; a control row shows the same
 * recipe with nothing broken is accepted.
 */
@DisplayName("Token attacks: forged, tampered, expired, alg none, wrong issuer, oversized — unauthenticated and 1008")
class TokenAttackTest {
  static TestServer server;
  /** Signed in before the attacks and checked after each: the server keeps serving it. */
  static WsClient bystander;

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.jwtSecret = SECRET;
      for (String u : List.of("alice", "bob", "victim", "disabled-one", "deleted-one")) {
        c.users.add(new ServerConfig.UserSpec(u, "password-of-" + u, List.of()));
      }
    });
    for (String u : List.of("alice", "bob", "victim", "disabled-one", "deleted-one")) {
      AuthTesting.learnStamp(server, u, "password-of-" + u);
    }
    AuthTesting.learnStamp(server, "admin", TestServer.ADMIN_PASSWORD);
    bystander = server.connectAs("bystander", "bob", "password-of-bob");
  }

  @AfterAll
  static void stop() {
    bystander.close();
    server.close();
  }

  static long inAnHour() {
    return nowSeconds() + 3600;
  }

  /** A token for alice issued by the server itself (login). */
  static String serverToken(String user) {
    try (WsClient c = server.connect("issuer-" + user)) {
      JsonNode t = c.request(login(user, "password-of-" + user));
      assertToken(user, t);
      return t.path("token").asText();
    }
  }

  /** Replaces the payload of {@code token}, keeping its header and signature. */
  static String withPayload(String token, String payloadJson) {
    String[] parts = token.split("\\.");
    return parts[0] + "." + b64(payloadJson) + "." + parts[2];
  }

  static String payloadOf(String token) {
    return new String(java.util.Base64.getUrlDecoder().decode(token.split("\\.")[1]), java.nio.charset.StandardCharsets.UTF_8);
  }

  static String hs256(String payloadJson) {
    return jwt(SECRET, "HmacSHA256", HS256_HEADER, payloadJson);
  }

  /** A correctly signed token whose size comes from a padding claim, so only its length is wrong. */
  static String paddedToken(int totalChars) {
    ObjectNode c = claims("alice", "syncline", inAnHour());
    c.put("pad", "");
    int base = hs256(c.toString()).length();
    // base64 grows 4 characters per 3 bytes of JSON
    c.put("pad", "x".repeat(Math.max(0, (totalChars - base) * 3 / 4)));
    return hs256(c.toString());
  }

  /** Says hello with {@code token} on a new connection: error unauthenticated with the rid, then 1008. */
  static void assertRefused(String token) {
    try (WsClient c = WsClient.connect(server.port())) {
      long rid = c.sendWithRid(hello("attacker", token));
      JsonNode answer = firstAnswer(c, 5_000);
      assertError("unauthenticated", answer);
      assertEquals(rid, answer.path("rid").asLong(), "the error carries the hello's rid: " + answer);
      assertEquals(1008, c.awaitClose(), "closed with 1008 after " + answer);
      assertEquals(1, c.received().size(), "nothing else is sent: " + c.received());
    }
    assertServes(bystander);
  }

  /** The first message on {@code c}, waiting at most {@code ms} (a server that never answers fails fast). */
  static JsonNode firstAnswer(WsClient c, long ms) {
    long deadline = System.currentTimeMillis() + ms;
    while (c.received().isEmpty()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("no answer to hello within " + ms + " ms; connection closed: " + c.isClosed());
      }
      AuthTesting.sleep(10);
    }
    return c.received().get(0);
  }

  record Attack(String name, Supplier<String> token) {}

  static List<Attack> attacks() {
    List<Attack> a = new ArrayList<>();
    a.add(new Attack("forged: right claims, signed with another secret",
        () -> jwt("another-secret-of-at-least-32-characters!!", "HmacSHA256", HS256_HEADER,
            claims("alice", "syncline", inAnHour()).toString())));
    a.add(new Attack("forged by Vert.x JWTAuth with another secret", () -> vertxToken("another-secret-of-at-least-32-characters!!",
        new JsonObject().put("sub", "admin").put("exp", inAnHour()), "syncline")));
    a.add(new Attack("tampered: sub changed to admin, signature kept", () -> {
      String t = serverToken("alice");
      return withPayload(t, payloadOf(t).replace("\"alice\"", "\"admin\""));
    }));
    a.add(new Attack("tampered: exp pushed a year ahead, signature kept", () -> {
      String t = serverToken("alice");
      ObjectNode p = (ObjectNode) AuthTesting.json(payloadOf(t));
      return withPayload(t, p.put("exp", p.get("exp").asLong() + 365L * 24 * 3600).toString());
    }));
    a.add(new Attack("tampered: signature of another token", () -> {
      String alice = serverToken("alice");
      String bob = serverToken("bob");
      return alice.substring(0, alice.lastIndexOf('.')) + bob.substring(bob.lastIndexOf('.'));
    }));
    a.add(new Attack("tampered: one character of the signature changed", () -> {
      String t = serverToken("alice");
      char last = t.charAt(t.length() - 2);
      return t.substring(0, t.length() - 2) + (last == 'A' ? 'B' : 'A') + t.charAt(t.length() - 1);
    }));
    a.add(new Attack("signature removed (header.payload.)", () -> {
      String t = serverToken("alice");
      return t.substring(0, t.lastIndexOf('.') + 1);
    }));
    a.add(new Attack("expired an hour ago", () -> hs256(claims("alice", "syncline", nowSeconds() - 3600).toString())));
    a.add(new Attack("expired a second ago", () -> hs256(claims("alice", "syncline", nowSeconds() - 1).toString())));
    a.add(new Attack("alg none, empty signature", () -> b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "."
        + b64(claims("admin", "syncline", inAnHour()).toString()) + "."));
    a.add(new Attack("alg none, no signature part", () -> b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "."
        + b64(claims("admin", "syncline", inAnHour()).toString())));
    a.add(new Attack("alg None (capitalised)", () -> b64("{\"alg\":\"None\",\"typ\":\"JWT\"}") + "."
        + b64(claims("admin", "syncline", inAnHour()).toString()) + "."));
    a.add(new Attack("alg none with a valid HS256 signature attached", () -> {
      String input = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + b64(claims("admin", "syncline", inAnHour()).toString());
      return input + "." + b64(AuthTesting.hmac(SECRET, "HmacSHA256", input));
    }));
    a.add(new Attack("alg HS512 with the right secret", () -> jwt(SECRET, "HmacSHA512", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
        claims("alice", "syncline", inAnHour()).toString())));
    a.add(new Attack("alg HS384 with the right secret", () -> jwt(SECRET, "HmacSHA384", "{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
        claims("alice", "syncline", inAnHour()).toString())));
    a.add(new Attack("alg RS256 header over an HMAC signature", () -> jwt(SECRET, "HmacSHA256", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
        claims("alice", "syncline", inAnHour()).toString())));
    a.add(new Attack("embedded jwk header, signed with the attacker's key", () -> jwt("attacker-key-attacker-key-attacker-key", "HmacSHA256",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"jwk\":{\"kty\":\"oct\",\"k\":\"" + b64("attacker-key-attacker-key-attacker-key") + "\"}}",
        claims("admin", "syncline", inAnHour()).toString())));
    a.add(new Attack("wrong issuer", () -> hs256(claims("alice", "evil", inAnHour()).toString())));
    a.add(new Attack("issuer differing only in case", () -> hs256(claims("alice", "Syncline", inAnHour()).toString())));
    a.add(new Attack("no issuer", () -> hs256(claims("alice", null, inAnHour()).toString())));
    a.add(new Attack("issuer as a list", () -> hs256(claims("alice", null, inAnHour()).set("iss",
        Json.MAPPER.createArrayNode().add("syncline")).toString())));
    a.add(new Attack("no sub", () -> hs256(claims(null, "syncline", inAnHour()).toString())));
    a.add(new Attack("sub not a string", () -> hs256(claims(null, "syncline", inAnHour()).put("sub", 42).toString())));
    a.add(new Attack("sub of a user who does not exist", () -> hs256(claims("nobody-at-all", "syncline", inAnHour()).toString())));
    a.add(new Attack("no exp", () -> {
      ObjectNode c = claims("alice", "syncline", 0);
      c.remove("exp");
      return hs256(c.toString());
    }));
    a.add(new Attack("not valid before an hour from now (nbf)", () -> hs256(claims("alice", "syncline", inAnHour() + 60)
        .put("nbf", inAnHour()).toString())));
    a.add(new Attack("issued an hour in the future (iat)", () -> hs256(claims("alice", "syncline", inAnHour() + 60)
        .put("iat", inAnHour()).toString())));
    a.add(new Attack("exp too large for a long (1e300)", () -> hs256("{\"sub\":\"alice\",\"iss\":\"syncline\",\"exp\":1e300}")));
    a.add(new Attack("oversized: 5000 characters, correctly signed", () -> paddedToken(5000)));
    a.add(new Attack("hugely oversized: 200 KB", () -> paddedToken(200 * 1024)));
    a.add(new Attack("hugely oversized garbage: 200 KB of x", () -> "x".repeat(200 * 1024)));
    a.add(new Attack("not a JWT", () -> "not-a-jwt"));
    a.add(new Attack("three empty parts", () -> ".."));
    a.add(new Attack("base64 of garbage", () -> b64("garbage") + "." + b64("garbage") + "." + b64("garbage")));
    a.add(new Attack("header not JSON", () -> b64("{\"alg\":\"HS256\"") + "." + b64(claims("alice", "syncline", inAnHour()).toString()) + ".x"));
    a.add(new Attack("four parts", () -> hs256(claims("alice", "syncline", inAnHour()).toString()) + ".extra"));
    a.add(new Attack("token of a disabled user", () -> {
      String t = serverToken("disabled-one");
      adminOk(server, "user.update", args().put("username", "disabled-one").put("disabled", true));
      return t;
    }));
    a.add(new Attack("token of a deleted user", () -> {
      String t = serverToken("deleted-one");
      adminOk(server, "user.delete", args().put("username", "deleted-one"));
      return t;
    }));
    return a;
  }

  static String vertxToken(String secret, JsonObject claims, String issuer) {
    JWTAuth auth = JWTAuth.create(WsClient.vertx(), new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(secret)));
    return auth.generateToken(claims, new JWTOptions().setAlgorithm("HS256").setIssuer(issuer).setNoTimestamp(true));
  }

  @Test
  @DisplayName("control: the same hand-made recipe with nothing broken signs in (also issued 20 s ahead, by a server whose clock is), "
      + "as does a Vert.x JWTAuth token with the right secret")
  void controlTokensWork() {
    for (String token : List.of(hs256(claims("alice", "syncline", inAnHour()).toString()),
        // made by another server of the cluster whose clock is 20 s ahead
        hs256(claims("alice", "syncline", inAnHour()).put("iat", nowSeconds() + 20).toString()),
        vertxToken(SECRET, new JsonObject().put("sub", "alice").put("pwv", AuthTesting.STAMPS.get("alice")).put("exp", inAnHour()), "syncline"),
        paddedToken(4000))) {
      try (WsClient c = WsClient.connect(server.port())) {
        JsonNode w = c.request(hello("control", token));
        assertEquals("welcome", type(w), w.toString());
        assertEquals("alice", w.path("user").path("id").asText(), w.toString());
        assertServes(c);
      }
    }
  }

  @TestFactory
  @DisplayName("each bad token in hello: error unauthenticated with the hello's rid, close 1008, other connections still served")
  Stream<DynamicTest> badTokens() {
    return attacks().stream().map(a -> dynamicTest(a.name(), () -> assertRefused(a.token().get())));
  }

  @TestFactory
  @DisplayName("a correctly signed token whose exp, iat or nbf is a string is refused like any bad token")
  Stream<DynamicTest> stringTimeClaims() {
    return Stream.of("exp", "iat", "nbf").map(claim -> dynamicTest(claim + " as a string", () -> {
      ObjectNode c = claims("alice", "syncline", inAnHour());
      c.put(claim, String.valueOf(claim.equals("exp") ? inAnHour() : nowSeconds()));
      assertRefused(hs256(c.toString()));
    }));
  }

  @Test
  @DisplayName("an empty token is a malformed hello: bad_request and close 1002")
  void emptyToken() {
    try (WsClient c = WsClient.connect(server.port())) {
      JsonNode a = c.request(hello("empty-token", ""));
      assertError("bad_request", a);
      assertEquals(1002, c.awaitClose());
    }
    assertServes(bystander);
  }

  @Test
  @DisplayName("after many bad tokens a valid login and a valid token still work")
  void serverStillServes() {
    for (int i = 0; i < 20; i++) assertRefused(hs256(claims("alice", "evil", inAnHour()).toString()));
    try (WsClient c = server.connect("after-attacks")) {
      assertToken("alice", c.request(login("alice", "password-of-alice")));
    }
    JsonNode w = AuthTesting.helloAnswer(server.port(), AuthTesting.validToken("alice", inAnHour()));
    assertEquals("alice", w.path("user").path("id").asText(), w.toString());
  }

  @Test
  @DisplayName("a token expiring while connected: unsolicited error unauthenticated \"token expired\", then 1008; a renewed one stays open")
  void expiryWhileConnected() {
    long exp = nowSeconds() + 2;
    try (WsClient expiring = AuthTesting.connectWithToken(server.port(), "expiring", validToken("victim", exp));
         WsClient renewing = AuthTesting.connectWithToken(server.port(), "renewing", validToken("victim", exp))) {
      JsonNode w = expiring.await(m -> type(m).equals("welcome"));
      assertEquals("victim", w.path("user").path("id").asText(), w.toString());
      assertToken("victim", renewing.request(renew()));

      JsonNode bye = expiring.await(m -> type(m).equals("error"));
      long at = System.currentTimeMillis();
      assertEquals("{\"type\":\"error\",\"code\":\"unauthenticated\",\"message\":\"token expired\"}", bye.toString());
      assertEquals(1008, expiring.awaitClose());
      assertTrue(at >= exp * 1000 - 50, "closed " + (exp * 1000 - at) + " ms before the token's expiry");
      assertTrue(at <= exp * 1000 + 5000, "closed " + (at - exp * 1000) + " ms after the token's expiry");

      // the renewed connection outlives the first token
      assertServes(renewing);
      assertFalse(renewing.isClosed());
      assertTrue(renewing.receivedOfType("error").isEmpty(), renewing.received().toString());
      assertServes(bystander);
    }
  }

  @Test
  @DisplayName("roles come from the directory at each use, never from the token: role claims are ignored, role changes apply to old tokens")
  void rolesComeFromTheDirectoryNotTheToken() {
    // a token carrying roles claims: they are ignored, the directory's roles are used
    ObjectNode c = claims("alice", "syncline", inAnHour());
    c.putArray("roles").add("admin");
    c.put("role", "admin");
    try (WsClient client = WsClient.connect(server.port())) {
      JsonNode w = client.request(hello("roles-claim", hs256(c.toString())));
      assertEquals("[]", w.path("user").path("roles").toString(), w.toString());
      JsonNode denied = client.request(dev.syncline.server.testing.Deltas.admin("db.list", args()));
      assertError("forbidden", denied);
    }
    // roles given later apply to the same token at once
    adminOk(server, "user.update", userArgs("alice", null, "auditor"));
    JsonNode w = AuthTesting.helloAnswer(server.port(), hs256(claims("alice", "syncline", inAnHour()).toString()));
    assertEquals("[\"auditor\"]", w.path("user").path("roles").toString(), w.toString());
    adminOk(server, "user.update", userArgs("alice", null));
  }
}

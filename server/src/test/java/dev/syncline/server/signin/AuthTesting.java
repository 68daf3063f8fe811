package dev.syncline.server.signin;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.TreeSet;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** Shared helpers of the sign-in tests: messages, hand-made JWTs, HTTP sign-in and small assertions. */
final class AuthTesting {
  /** A token signing key the tests share with the servers they start, so they can sign their own tokens. */
  static final String SECRET = "signin-tests-signing-key-0123456789-abcdefghij";

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  private AuthTesting() {}

  // ---- messages ----

  static ObjectNode login(String username, String password) {
    return WsClient.obj("login").put("username", username).put("password", password);
  }

  static ObjectNode signup(String username, String password) {
    return WsClient.obj("signup").put("username", username).put("password", password);
  }

  static ObjectNode renew() {
    return WsClient.obj("renew");
  }

  static ObjectNode hello(String clientId, String token) {
    ObjectNode h = WsClient.obj("hello").put("protocol", 1).put("clientId", clientId);
    if (token != null) h.put("token", token);
    return h;
  }

  /** A connection that said hello with {@code token}; returns the client (its first answer is welcome or error). */
  static WsClient connectWithToken(int port, String clientId, String token) {
    WsClient c = WsClient.connect(port);
    c.request(hello(clientId, token));
    return c;
  }

  /** The answer to hello with {@code token} on a fresh connection, the connection closed afterwards. */
  static JsonNode helloAnswer(int port, String token) {
    try (WsClient c = WsClient.connect(port)) {
      return c.request(hello("probe", token));
    }
  }

  // ---- answers ----

  static String type(JsonNode m) {
    return m.path("type").asText();
  }

  static String code(JsonNode m) {
    return m.path("code").asText();
  }

  static void assertError(String code, JsonNode answer) {
    assertEquals("error", type(answer), answer.toString());
    assertEquals(code, code(answer), answer.toString());
  }

  static void assertToken(String user, JsonNode answer) {
    assertEquals("token", type(answer), answer.toString());
    assertEquals(user, answer.path("user").path("id").asText(), answer.toString());
    assertTrue(answer.path("token").isTextual() && !answer.path("token").asText().isEmpty(), answer.toString());
    assertTrue(answer.path("expiresAt").asLong() > System.currentTimeMillis(), answer.toString());
  }

  /** The answer without its rid, for comparing two answers to different requests. */
  static JsonNode withoutRid(JsonNode m) {
    ObjectNode copy = m.deepCopy();
    copy.remove("rid");
    return copy;
  }

  /** Asserts the connection still answers a ping. */
  static void assertServes(WsClient c) {
    JsonNode pong = c.request(WsClient.obj("ping"));
    assertEquals("pong", type(pong), pong.toString());
  }

  // ---- admin reads ----

  /** {@code user.list} as admin: the sorted users, each as {@code name[roles](disabled)}. */
  static List<String> users(TestServer server) {
    JsonNode r = server.admin(admin("user.list", args()));
    assertEquals("result", type(r), r.toString());
    List<String> out = new ArrayList<>();
    for (JsonNode u : r.path("data").path("users")) {
      TreeSet<String> roles = new TreeSet<>();
      u.path("roles").forEach(x -> roles.add(x.asText()));
      out.add(u.path("username").asText() + roles + (u.path("disabled").asBoolean() ? "(disabled)" : ""));
    }
    return out;
  }

  static List<String> databases(TestServer server) {
    JsonNode r = server.admin(admin("db.list", args()));
    assertEquals("result", type(r), r.toString());
    List<String> out = new ArrayList<>();
    for (JsonNode d : r.path("data").path("databases")) out.add(d.path("db").asText() + "@" + d.path("head").asLong());
    return out;
  }

  static JsonNode adminOk(TestServer server, String op, ObjectNode a) {
    JsonNode r = server.admin(admin(op, a));
    assertEquals("result", type(r), op + " " + a + " → " + r);
    return r.path("data");
  }

  static ObjectNode userArgs(String username, String password, String... roles) {
    ObjectNode a = args().put("username", username);
    if (password != null) a.put("password", password);
    ArrayNode r = a.putArray("roles");
    for (String role : roles) r.add(role);
    return a;
  }

  /** Asserts no part of {@code text} (a frame, a body) gives away a password hash or a signing key. */
  static void assertNoSecrets(String text, String... secrets) {
    assertFalse(text.contains("passwordHash"), "passwordHash in " + text);
    assertFalse(text.contains("$argon2"), "a password hash in " + text);
    for (String s : secrets) if (s != null) assertFalse(text.contains(s), "a secret in " + text);
  }

  // ---- tokens made by hand ----

  static String b64(String json) {
    return B64.encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  static String b64(byte[] bytes) {
    return B64.encodeToString(bytes);
  }

  /** A JWT {@code header.payload.signature} signed with HMAC ({@code alg} HS256, HS384 or HS512 by {@code macAlg}). */
  static String jwt(String secret, String macAlg, String headerJson, String payloadJson) {
    String input = b64(headerJson) + "." + b64(payloadJson);
    return input + "." + b64(hmac(secret, macAlg, input));
  }

  static byte[] hmac(String secret, String macAlg, String input) {
    try {
      Mac mac = Mac.getInstance(macAlg);
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), macAlg));
      return mac.doFinal(input.getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static final String HS256_HEADER = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

  /**
   * The password stamp ({@code pwv}) of each user, as the server put it in a real token: a token
   * made by hand must carry it, or the server refuses it as made for another password.
   */
  static final java.util.Map<String, String> STAMPS = new java.util.concurrent.ConcurrentHashMap<>();

  /** Signs {@code user} in once to learn its password stamp, for tokens made by hand. */
  static void learnStamp(TestServer server, String user, String password) {
    try (WsClient c = server.connectAs("stamp-" + user, user, password)) {
      JsonNode token = c.await(m -> "token".equals(m.path("type").asText()));
      String payload = token.get("token").asText().split("\\.")[1];
      STAMPS.put(user, json(new String(Base64.getUrlDecoder().decode(payload), java.nio.charset.StandardCharsets.UTF_8))
          .get("pwv").asText());
    }
  }

  /** Claims naming {@code user}, issued by {@code issuer} (null: none), expiring {@code expSeconds} (epoch s). */
  static ObjectNode claims(String user, String issuer, long expSeconds) {
    ObjectNode c = Json.MAPPER.createObjectNode();
    if (user != null) c.put("sub", user);
    if (user != null && STAMPS.containsKey(user)) c.put("pwv", STAMPS.get(user));
    if (issuer != null) c.put("iss", issuer);
    c.put("iat", System.currentTimeMillis() / 1000);
    c.put("exp", expSeconds);
    return c;
  }

  static long nowSeconds() {
    return System.currentTimeMillis() / 1000;
  }

  /** A token the servers of these tests accept: HS256 with {@link #SECRET}, issuer syncline. */
  static String validToken(String user, long expSeconds) {
    return jwt(SECRET, "HmacSHA256", HS256_HEADER, claims(user, "syncline", expSeconds).toString());
  }

  // ---- HTTP ----

  static HttpResponse<String> postLogin(int port, String body) {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/auth/login"))
          .timeout(Duration.ofSeconds(20))
          .header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
          .build();
      return HTTP.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError("POST /auth/login failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static String loginBody(String username, String password) {
    return Json.MAPPER.createObjectNode().put("username", username).put("password", password).toString();
  }

  static JsonNode json(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}

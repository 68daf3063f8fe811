package dev.syncline.server.signin;

import static dev.syncline.server.signin.AuthTesting.SECRET;
import static dev.syncline.server.signin.AuthTesting.adminOk;
import static dev.syncline.server.signin.AuthTesting.assertError;
import static dev.syncline.server.signin.AuthTesting.assertServes;
import static dev.syncline.server.signin.AuthTesting.assertToken;
import static dev.syncline.server.signin.AuthTesting.helloAnswer;
import static dev.syncline.server.signin.AuthTesting.json;
import static dev.syncline.server.signin.AuthTesting.login;
import static dev.syncline.server.signin.AuthTesting.loginBody;
import static dev.syncline.server.signin.AuthTesting.nowSeconds;
import static dev.syncline.server.signin.AuthTesting.postLogin;
import static dev.syncline.server.signin.AuthTesting.renew;
import static dev.syncline.server.signin.AuthTesting.signup;
import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.signin.AuthTesting.sleep;
import static dev.syncline.server.signin.AuthTesting.type;
import static dev.syncline.server.signin.AuthTesting.userArgs;
import static dev.syncline.server.signin.AuthTesting.users;
import static dev.syncline.server.signin.AuthTesting.validToken;
import static dev.syncline.server.signin.AuthTesting.withoutRid;
import static dev.syncline.server.testing.Deltas.args;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Sign-in over the {@code login}, {@code signup} and {@code renew} messages and {@code POST
 * /auth/login}: tokens, identical answers for wrong passwords and unknown users, lock-out per
 * username and per address with its doubling, sign-up, and what disabling or deleting a user does
 * to its connections. Most tests share one server whose users each serve one test, so lock-outs
 * never cross tests.
 */
@DisplayName("Sign-in: login, lock-out, sign-up, renew, HTTP login, disabled and deleted users")
class SignInTest {
  static final long BASE_MS = 1000; // long enough that a stalled test machine still finds the lock on
  static final int FAILURES_PER_USER = 3;

  static TestServer server;

  static String pw(String user) {
    return "password-of-" + user;
  }

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.jwtSecret = SECRET;
      c.signup = true;
      c.loginFailuresPerUser = FAILURES_PER_USER;
      c.loginFailuresPerAddress = 10_000; // every test signs in from 127.0.0.1
      c.signupsPerAddressPerHour = 0; // and signs up from there: the budget has a test of its own
      c.lockoutBaseMs = BASE_MS;
      c.lockoutMaxMs = 5_000;
      for (String u : List.of("carol", "dave", "erin", "frank", "gina", "henry", "ivan", "judy", "kate", "leo", "mia")) {
        c.users.add(new ServerConfig.UserSpec(u, pw(u), u.equals("carol") ? List.of("editor", "viewer") : List.of()));
      }
    });
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  // ---- login ----

  @Test
  @DisplayName("login with the right password answers token {token, expiresAt, user} and the token signs in a new connection")
  void loginOk() {
    try (WsClient c = server.connect("carol-1")) {
      long before = System.currentTimeMillis();
      JsonNode t = c.request(login("carol", pw("carol")));
      assertToken("carol", t);
      assertEquals("[\"editor\",\"viewer\"]", t.path("user").path("roles").toString(), t.toString());
      // default lifetime: 7 days, in epoch ms (whole seconds)
      long expected = before + 7L * 24 * 3600 * 1000;
      assertTrue(Math.abs(t.path("expiresAt").asLong() - expected) < 5_000, t.toString());
      assertServes(c);

      JsonNode welcome = helloAnswer(server.port(), t.path("token").asText());
      assertEquals("welcome", type(welcome), welcome.toString());
      assertEquals("carol", welcome.path("user").path("id").asText(), welcome.toString());
      assertEquals("[\"editor\",\"viewer\"]", welcome.path("user").path("roles").toString());
    }
  }

  @Test
  @DisplayName("a wrong password and an unknown user get the very same answer, over WebSocket and HTTP")
  void wrongPasswordAndUnknownUserLookAlike() {
    try (WsClient c = server.connect("dave-1")) {
      JsonNode wrong = c.request(login("dave", "not-daves-password"));
      JsonNode unknown = c.request(login("nobody-by-this-name", "not-daves-password"));
      assertError("unauthenticated", wrong);
      assertEquals("wrong username or password", wrong.path("message").asText());
      assertEquals(withoutRid(wrong), withoutRid(unknown));
      assertFalse(wrong.has("retryAfterMs"), wrong.toString());
      // a success clears dave's count again
      assertToken("dave", c.request(login("dave", pw("dave"))));
    }
    HttpResponse<String> wrong = postLogin(server.port(), loginBody("dave", "not-daves-password"));
    HttpResponse<String> unknown = postLogin(server.port(), loginBody("nobody-by-this-name", "not-daves-password"));
    assertEquals(401, wrong.statusCode(), wrong.body());
    assertEquals(401, unknown.statusCode(), unknown.body());
    assertEquals(wrong.body(), unknown.body());
    assertEquals("unauthenticated", json(wrong.body()).path("code").asText());
    assertToken("dave", helloToken(postLogin(server.port(), loginBody("dave", pw("dave")))));
  }

  /** The HTTP sign-in answer as if it were a token message. */
  private static JsonNode helloToken(HttpResponse<String> r) {
    assertEquals(200, r.statusCode(), r.body());
    return ((com.fasterxml.jackson.databind.node.ObjectNode) json(r.body())).put("type", "token");
  }

  @Test
  @DisplayName("after N failures a username is locked for lockoutBaseMs, doubling per further failure; the right password is refused meanwhile and works after")
  void lockoutPerUsernameDoubles() {
    String u = "erin";
    try (WsClient c = server.connect("erin-1")) {
      for (int i = 1; i < FAILURES_PER_USER; i++) assertError("unauthenticated", c.request(login(u, "wrong-" + i)));

      // the Nth failure locks; while locked even the right password is refused before it is checked
      long r1 = failThenLocked(c, u, "wrong-3", 1);
      JsonNode stillLocked = c.request(login(u, "wrong-again"));
      assertError("rate_limited", stillLocked);
      assertTrue(stillLocked.path("retryAfterMs").asLong() <= r1, "an attempt while locked does not extend the lock: " + stillLocked);

      // each further failure doubles the lock
      sleep(r1 + 50);
      long r2 = failThenLocked(c, u, "wrong-4", 2);
      sleep(r2 + 50);
      long r3 = failThenLocked(c, u, "wrong-5", 4);

      // after waiting retryAfterMs the right password works
      sleep(r3 + 50);
      assertToken(u, c.request(login(u, pw(u))));

      // the success cleared the count: N-1 failures lock nothing, and the next lock starts at the base again
      for (int i = 1; i < FAILURES_PER_USER; i++) assertError("unauthenticated", c.request(login(u, "wrong-b" + i)));
      assertToken(u, c.request(login(u, pw(u))));
      for (int i = 1; i < FAILURES_PER_USER; i++) assertError("unauthenticated", c.request(login(u, "wrong-c" + i)));
      failThenLocked(c, u, "wrong-c3", 1);
      assertServes(c);
    }
  }

  /**
   * Sends a wrong password (which must be checked and refused), then the right one, which must be
   * refused {@code rate_limited} with a retryAfterMs of {@code times} × lockoutBaseMs less the time
   * that has passed since the failure was sent (measured here, so a slow machine does not fail it).
   */
  static long failThenLocked(WsClient c, String user, String wrong, int times) {
    long sent = System.nanoTime();
    assertError("unauthenticated", c.request(login(user, wrong)));
    JsonNode locked = c.request(login(user, pw(user)));
    long elapsedMs = (System.nanoTime() - sent) / 1_000_000 + 1;
    assertError("rate_limited", locked);
    long r = locked.path("retryAfterMs").asLong();
    long full = times * BASE_MS;
    assertTrue(r <= full && r >= full - elapsedMs, "lock of " + times + " × " + BASE_MS + " ms expected, "
        + elapsedMs + " ms after the failure was sent: " + locked);
    return r;
  }

  @Test
  @DisplayName("a locked username does not lock another account, even on the same connection")
  void otherAccountUnaffected() {
    try (WsClient c = server.connect("ivan-1")) {
      for (int i = 1; i <= FAILURES_PER_USER; i++) assertError("unauthenticated", c.request(login("ivan", "wrong-" + i)));
      assertError("rate_limited", c.request(login("ivan", pw("ivan"))));
      // checked at once: the lock lasts BASE_MS, and each of judy's sign-ins below takes a password check
      assertEquals(429, postLogin(server.port(), loginBody("ivan", pw("ivan"))).statusCode());
      assertToken("judy", c.request(login("judy", pw("judy"))));
    }
    try (WsClient other = server.connect("judy-2")) {
      assertToken("judy", other.request(login("judy", pw("judy"))));
    }
    assertEquals(200, postLogin(server.port(), loginBody("judy", pw("judy"))).statusCode());
  }

  @Test
  @DisplayName("logins sent all at once cannot get past the lock-out: beyond N failures the rest, the right password too, are refused")
  void concurrentAttemptsDoNotBypassLockout() {
    String u = "leo";
    try (WsClient c = server.connect("leo-1")) {
      List<Long> wrong = new java.util.ArrayList<>();
      for (int i = 0; i < 8; i++) wrong.add(c.sendWithRid(login(u, "guess-" + i)));
      long right = c.sendWithRid(login(u, pw(u)));
      int checked = 0;
      for (long rid : wrong) {
        JsonNode a = c.await(m -> m.path("rid").asLong() == rid);
        if ("unauthenticated".equals(a.path("code").asText())) checked++;
      }
      JsonNode last = c.await(m -> m.path("rid").asLong() == right);
      String what = checked + " wrong passwords were checked for a username locked after " + FAILURES_PER_USER
          + "; the right one sent with them got " + last;
      assertTrue(checked <= FAILURES_PER_USER, what);
      assertEquals("rate_limited", last.path("code").asText(), what);
    }
  }

  @Test
  @DisplayName("one address has at most a few password checks running at once, whatever usernames it tries: the hashing workers are everyone's")
  void fewChecksAtOncePerAddress() {
    try (TestServer own = TestServer.start(); WsClient c = own.connect("flooder")) { // its failures count against this address
      List<Long> rids = new java.util.ArrayList<>();
      for (int i = 0; i < 12; i++) rids.add(c.sendWithRid(login("nobody-" + i, "guess")));
      int checked = 0;
      int refused = 0;
      for (long rid : rids) {
        JsonNode a = c.await(m -> m.path("rid").asLong() == rid);
        if ("unauthenticated".equals(a.path("code").asText())) checked++;
        if ("rate_limited".equals(a.path("code").asText()) && a.path("retryAfterMs").asLong() > 0) refused++;
      }
      assertEquals(12, checked + refused);
      assertTrue(refused > 0, "all 12 were checked at once, from one address");
    }
  }

  @Test
  @DisplayName("per address: N failures on any usernames lock the address for every username; a success does not unlock the address")
  void lockoutPerAddress() {
    try (TestServer strict = TestServer.start(c -> {
      c.loginFailuresPerAddress = 4;
      c.loginFailuresPerUser = 100;
      c.lockoutBaseMs = BASE_MS;
      c.lockoutMaxMs = 5_000;
      c.users.add(new ServerConfig.UserSpec("dave", pw("dave"), List.of()));
    })) {
      List<String> before = users(strict); // opens the admin connection before the address is locked
      try (WsClient c = strict.connect("guesser")) {
        for (int i = 1; i <= 4; i++) assertError("unauthenticated", c.request(login("ghost" + i, "guess")));
        JsonNode locked = c.request(login("dave", pw("dave")));
        assertError("rate_limited", locked);
        long r1 = locked.path("retryAfterMs").asLong();
        assertTrue(r1 > 0 && r1 <= BASE_MS, locked.toString());
        HttpResponse<String> http = postLogin(strict.port(), loginBody("dave", pw("dave")));
        assertEquals(429, http.statusCode(), http.body());

        sleep(r1 + 50);
        assertToken("dave", c.request(login("dave", pw("dave"))));
        // dave's success does not clear the address: one more failure locks it again, for twice as long
        long sent = System.nanoTime();
        assertError("unauthenticated", c.request(login("ghost5", "guess")));
        JsonNode again = c.request(login("dave", pw("dave")));
        long elapsedMs = (System.nanoTime() - sent) / 1_000_000 + 1;
        assertError("rate_limited", again);
        long r2 = again.path("retryAfterMs").asLong();
        assertTrue(r2 <= 2 * BASE_MS && r2 >= 2 * BASE_MS - elapsedMs, elapsedMs + " ms: " + again);
        assertServes(c);
      }
      assertEquals(before, users(strict));
    }
  }

  // ---- sign-up ----

  @Test
  @DisplayName("signup (when enabled) creates a user without roles and signs the connection in; the password then works for login")
  void signupCreatesUser() {
    try (WsClient c = server.connect("newbie-1")) {
      JsonNode t = c.request(signup("newbie", "a-long-enough-pw"));
      assertToken("newbie", t);
      assertEquals("[]", t.path("user").path("roles").toString(), t.toString());
      // the connection is signed in: renew works
      assertToken("newbie", c.request(renew()));
    }
    assertTrue(users(server).contains("newbie[]"), users(server).toString());
    try (WsClient c = server.connect("newbie-2")) {
      assertToken("newbie", c.request(login("newbie", "a-long-enough-pw")));
    }
    // exactly eight characters, counted as code points, is enough
    try (WsClient c = server.connect("newbie-3")) {
      assertToken("eight.chars", c.request(signup("eight.chars", "\uD83D\uDE00".repeat(8))));
    }
  }

  @Test
  @DisplayName("signup refuses a taken name, a bad name and a short password with bad_request, and stores nothing")
  void signupBadRequests() {
    List<String> before = users(server);
    String[][] rows = {
        {"admin", "a-long-enough-pw"},            // taken
        {"carol", "a-long-enough-pw"},            // taken
        {"bad name", "a-long-enough-pw"},         // space
        {"a/b", "a-long-enough-pw"},              // slash
        {"ünïcode", "a-long-enough-pw"},          // outside [A-Za-z0-9_.@-]
        {"x".repeat(65), "a-long-enough-pw"},     // 65 characters
        {"role:x", "a-long-enough-pw"},           // colon
        {"$system", "a-long-enough-pw"},          // dollar
        {"shortpw", "seven77"},                   // 7 characters
        {"shortpw", "\uD83D\uDE00".repeat(7)},    // 7 code points (14 UTF-16 units)
    };
    try (WsClient c = server.connect("signup-bad")) {
      for (String[] row : rows) {
        JsonNode a = c.request(signup(row[0], row[1]));
        assertError("bad_request", a);
      }
      assertServes(c);
      // still anonymous
      assertError("unauthenticated", c.request(renew()));
    }
    assertEquals(before, users(server));
  }

  @Test
  @DisplayName("one address makes at most signupsPerAddressPerHour accounts: the next signup is rate_limited with retryAfterMs "
      + "and creates nothing; refused requests take nothing from the budget")
  void signupBudgetPerAddress() {
    try (TestServer budget = TestServer.start(c -> {
          c.signup = true;
          c.signupsPerAddressPerHour = 3;
        });
        WsClient c = budget.connect("many-accounts")) {
      assertError("bad_request", c.request(signup("no spaces", "a-long-enough-pw")));
      assertError("bad_request", c.request(signup("short.pw", "short")));
      for (int i = 0; i < 3; i++) assertToken("account" + i, c.request(signup("account" + i, "a-long-enough-pw")));
      List<String> before = users(budget);
      try (WsClient again = budget.connect("from-the-same-address")) {
        JsonNode a = again.request(signup("account3", "a-long-enough-pw"));
        assertError("rate_limited", a);
        long retry = a.path("retryAfterMs").asLong();
        assertTrue(retry > 0 && retry <= 3_600_000 / 3, "retryAfterMs " + retry);
        assertServes(again);
      }
      assertEquals(before, users(budget));
      assertFalse(users(budget).contains("account3[]"));
    }
  }

  @Test
  @DisplayName("a user of the configuration deleted by an admin is not created again at the next start: "
      + "its password and its old token stay refused")
  void deletedConfiguredUserStaysDeleted() {
    try (TestServer s = TestServer.start(c -> c.users.add(new ServerConfig.UserSpec("ops", "ops-password-1", List.of())));
        WsClient c = s.connect("ops-laptop")) {
      String token = c.request(login("ops", "ops-password-1")).path("token").asText();
      adminOk(s, "user.delete", args().put("username", "ops"));
      s.restart();
      assertFalse(users(s).stream().anyMatch(u -> u.startsWith("ops[")), "not created again: " + users(s));
      try (WsClient again = s.connect("ops-laptop-2")) {
        assertError("unauthenticated", again.request(login("ops", "ops-password-1")));
      }
      assertError("unauthenticated", helloAnswer(s.port(), token));
    }
  }

  @Test
  @DisplayName("deleted users stay deleted once old tombstones are purged: after a restart the name is still retired, "
      + "and a configured one is not made again")
  void deletedUsersOutliveThePurge() throws InterruptedException {
    try (TestServer s = TestServer.start(c -> {
      c.signup = true;
      c.tombstoneRetentionMs = 300;
      c.purgeIntervalMs = 100;
      c.users.add(new ServerConfig.UserSpec("ops", "ops-password-1", List.of()));
    })) {
      adminOk(s, "user.create", userArgs("bob", "bob-password-1"));
      adminOk(s, "user.delete", args().put("username", "bob"));
      adminOk(s, "user.delete", args().put("username", "ops"));
      // a removal in app, purged by the same steps as any other tombstone
      try (WsClient w = s.connect("writer")) {
        w.request(dev.syncline.server.testing.Deltas.push("app",
            dev.syncline.server.testing.Deltas.delta("c", "d", "a", 1, dev.syncline.server.testing.Deltas.now(0, "writer"))));
        w.request(dev.syncline.server.testing.Deltas.push("app",
            dev.syncline.server.testing.Deltas.delta("c", "d", "a", null, dev.syncline.server.testing.Deltas.now(1, "writer"))));
      }
      long deadline = System.nanoTime() + WsClient.TIMEOUT.toNanos();
      while (s.admin(admin("db.stats", args().put("db", "app"))).path("data").path("purgedThrough").asLong() == 0) {
        assertTrue(System.nanoTime() < deadline, "app's tombstone was never purged");
        Thread.sleep(20);
      }
      s.restart();
      assertFalse(users(s).stream().anyMatch(u -> u.startsWith("ops[")), "not made again: " + users(s));
      try (WsClient c = s.connect("bob-again")) {
        assertError("bad_request", c.request(signup("bob", "someone-else-1")));
      }
    }
  }

  @Test
  @DisplayName("a configured user without roles keeps the roles an admin gave it across a restart; one with roles gets them back")
  void configuredRolesOnlyWhenGiven() {
    try (TestServer s = TestServer.start(c -> {
      c.users.add(new ServerConfig.UserSpec("kept", "kept-password-1", null));
      c.users.add(new ServerConfig.UserSpec("declared", "declared-password-1", List.of("viewer")));
    })) {
      adminOk(s, "user.update", userArgs("kept", null, "editor"));
      adminOk(s, "user.update", userArgs("declared", null, "editor"));
      s.restart();
      assertTrue(users(s).contains("kept[editor]"), "an admin's roles stay: " + users(s));
      assertTrue(users(s).contains("declared[viewer]"), "declared roles are enforced: " + users(s));
    }
  }

  @Test
  @DisplayName("signup is forbidden when the server does not enable it, and creates nothing")
  void signupOff() {
    try (TestServer off = TestServer.start()) {
      List<String> before = users(off);
      try (WsClient c = off.connect("would-be")) {
        JsonNode a = c.request(signup("newcomer", "a-long-enough-pw"));
        assertError("forbidden", a);
        assertServes(c);
        assertError("unauthenticated", c.request(login("newcomer", "a-long-enough-pw")));
      }
      assertEquals(before, users(off));
    }
  }

  @Test
  @DisplayName("two sign-ups for the same new name at the same time: one gets the account, the other bad_request")
  void concurrentSignupsForOneName() {
    try (WsClient a = server.connect("race-a"); WsClient b = server.connect("race-b")) {
      long ra = a.sendWithRid(signup("racer", "password-of-a"));
      long rb = b.sendWithRid(signup("racer", "password-of-b"));
      JsonNode ansA = a.await(m -> m.path("rid").asLong() == ra);
      JsonNode ansB = b.await(m -> m.path("rid").asLong() == rb);
      long tokens = Stream.of(ansA, ansB).filter(m -> type(m).equals("token")).count();
      assertEquals(1, tokens, "answers: " + ansA + " / " + ansB);
      String winner = type(ansA).equals("token") ? "password-of-a" : "password-of-b";
      try (WsClient c = server.connect("race-c")) {
        assertToken("racer", c.request(login("racer", winner)));
      }
    }
  }

  @Test
  @DisplayName("a sign-up racing an admin's user.create of the same name: only one succeeds, and the sign-up never ends up with the admin's roles")
  void signupRacingUserCreate() {
    for (int i = 0; i < 5; i++) {
      String name = "ops-lead" + i;
      try (WsClient adm = server.connectAs("race-admin", "admin", TestServer.ADMIN_PASSWORD);
           WsClient b = server.connect("race-signup")) {
        long ra = adm.sendWithRid(dev.syncline.server.testing.Deltas.admin("user.create", userArgs(name, "admins-choice-pw", "admin")));
        long rb = b.sendWithRid(signup(name, "attacker-pw-123"));
        JsonNode created = adm.await(m -> m.path("rid").asLong() == ra);
        JsonNode signedUp = b.await(m -> m.path("rid").asLong() == rb);
        boolean both = type(created).equals("result") && type(signedUp).equals("token");
        String roles = both ? helloAnswer(server.port(), signedUp.path("token").asText()).path("user").path("roles").toString() : "";
        assertFalse(both, "both succeeded for " + name + "; the sign-up's token now has roles " + roles);
      }
    }
  }

  // ---- renew ----

  @Test
  @DisplayName("renew gives a fresh token with a later expiresAt and the current roles; anonymous renew is unauthenticated")
  void renewGivesLaterExpiry() {
    long exp = nowSeconds() + 120;
    try (WsClient c = WsClient.connect(server.port())) {
      AuthTesting.learnStamp(server, "kate", pw("kate"));
      JsonNode w = c.request(AuthTesting.hello("kate-1", validToken("kate", exp)));
      assertEquals("kate", w.path("user").path("id").asText(), w.toString());
      adminOk(server, "user.update", userArgs("kate", null, "reviewer"));
      JsonNode t = c.request(renew());
      assertToken("kate", t);
      assertTrue(t.path("expiresAt").asLong() > exp * 1000, "renewed expiry " + t + " is after " + exp * 1000);
      assertEquals("[\"reviewer\"]", t.path("user").path("roles").toString(), t.toString());
      assertNotEquals(t.path("token").asText(), validToken("kate", exp));
      JsonNode welcome = helloAnswer(server.port(), t.path("token").asText());
      assertEquals("kate", welcome.path("user").path("id").asText(), welcome.toString());
    }
    try (WsClient anon = server.connect("anon-renew")) {
      JsonNode a = anon.request(renew());
      assertError("unauthenticated", a);
      assertServes(anon);
    }
  }

  // ---- POST /auth/login ----

  @Test
  @DisplayName("POST /auth/login: 200 with {token, expiresAt, user}, no-store, and the token works in hello")
  void httpLoginOk() {
    HttpResponse<String> r = postLogin(server.port(), loginBody("carol", pw("carol")));
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
    assertEquals("no-store", r.headers().firstValue("cache-control").orElse(""));
    JsonNode body = json(r.body());
    assertEquals("carol", body.path("user").path("id").asText(), r.body());
    assertEquals("[\"editor\",\"viewer\"]", body.path("user").path("roles").toString());
    assertTrue(body.path("expiresAt").asLong() > System.currentTimeMillis());
    JsonNode welcome = helloAnswer(server.port(), body.path("token").asText());
    assertEquals("carol", welcome.path("user").path("id").asText(), welcome.toString());
  }

  @Test
  @DisplayName("POST /auth/login: 401 for a wrong password, 429 with retryAfterMs and retry-after once locked (shared with the WebSocket)")
  void httpLoginRefusals() {
    for (int i = 1; i <= FAILURES_PER_USER; i++) {
      HttpResponse<String> r = postLogin(server.port(), loginBody("henry", "wrong-" + i));
      assertEquals(401, r.statusCode(), r.body());
      assertEquals("unauthenticated", json(r.body()).path("code").asText());
    }
    HttpResponse<String> locked = postLogin(server.port(), loginBody("henry", pw("henry")));
    assertEquals(429, locked.statusCode(), locked.body());
    JsonNode body = json(locked.body());
    assertEquals("rate_limited", body.path("code").asText());
    long retry = body.path("retryAfterMs").asLong();
    assertTrue(retry > 0 && retry <= BASE_MS, locked.body());
    assertEquals("1", locked.headers().firstValue("retry-after").orElse(null), locked.headers().map().toString());
    try (WsClient c = server.connect("henry-ws")) {
      assertError("rate_limited", c.request(login("henry", pw("henry"))));
    }
    sleep(retry + 50);
    assertEquals(200, postLogin(server.port(), loginBody("henry", pw("henry"))).statusCode());
  }

  @Test
  @DisplayName("POST /auth/login: 400 bad_request for every malformed body, 413 for one over 4 KiB; none counts as a failure")
  void httpLoginMalformed() {
    List<String> bodies = List.of(
        "", "not json", "[]", "null", "\"mia\"", "42", "{}", "{\"username\":\"mia\"}", "{\"password\":\"x\"}",
        "{\"username\":1,\"password\":\"x\"}", "{\"username\":\"mia\",\"password\":null}",
        "{\"username\":\"mia\",\"password\":[\"x\"]}", "{\"username\":\"\",\"password\":\"x\"}",
        "{\"username\":\"mia\",\"password\":\"\"}", "{\"username\":\"mia\",\"password\":\"x\"",
        loginBody("m".repeat(257), "x"), loginBody("mia", "p".repeat(1025)),
        // what the login message refuses too: a duplicate key (not the last one taken), a lone surrogate
        "{\"username\":\"x\",\"username\":\"mia\",\"password\":\"" + pw("mia") + "\"}",
        "{\"username\":\"mia\\ud800\",\"password\":\"x\"}");
    for (String b : bodies) {
      HttpResponse<String> r = postLogin(server.port(), b);
      assertEquals(400, r.statusCode(), "body " + b + " → " + r.body());
      assertEquals("bad_request", json(r.body()).path("code").asText(), r.body());
    }
    HttpResponse<String> huge = postLogin(server.port(), loginBody("mia", "p".repeat(5000)));
    assertEquals(413, huge.statusCode(), huge.body());
    // none of the above was a failed attempt for mia: the right password still works at once
    assertEquals(200, postLogin(server.port(), loginBody("mia", pw("mia"))).statusCode());
  }

  @Test
  @DisplayName("a password of 600 emoji (600 characters, within the 1024 limit) signs in over HTTP as it does over the WebSocket")
  void httpCountsCharactersLikeTheWebSocket() {
    String emojiPassword = "\uD83D\uDE00".repeat(600);
    try (WsClient c = server.connect("emoji-1")) {
      assertToken("emoji.user", c.request(signup("emoji.user", emojiPassword)));
      assertToken("emoji.user", c.request(login("emoji.user", emojiPassword)));
    }
    HttpResponse<String> r = postLogin(server.port(), loginBody("emoji.user", emojiPassword));
    assertEquals(200, r.statusCode(), r.body());
  }

  // ---- disabled and deleted users ----

  @Test
  @DisplayName("disabling a user closes its connections (unauthenticated, 1008); it can sign in no way until enabled again, and then only anew: tokens from before stay void")
  void disabledUser() {
    WsClient frank = server.connectAs("frank-1", "frank", pw("frank"));
    String token = frank.await(m -> type(m).equals("token")).path("token").asText();
    try (WsClient bystander = server.connectAs("carol-2", "carol", pw("carol"))) {
      adminOk(server, "user.update", args().put("username", "frank").put("disabled", true));
      JsonNode bye = frank.await(m -> type(m).equals("error"));
      assertError("unauthenticated", bye);
      assertFalse(bye.has("rid"), "the sign-out is unsolicited: " + bye);
      assertEquals(1008, frank.awaitClose());
      frank.close();

      try (WsClient c = server.connect("frank-2")) {
        JsonNode refused = c.request(login("frank", pw("frank")));
        JsonNode unknown = c.request(login("no-such-frank", pw("frank")));
        assertError("unauthenticated", refused);
        assertEquals(withoutRid(unknown), withoutRid(refused), "a disabled user looks like a wrong password");
      }
      JsonNode hello = helloAnswer(server.port(), token);
      assertError("unauthenticated", hello);
      assertEquals(401, postLogin(server.port(), loginBody("frank", pw("frank"))).statusCode());
      assertTrue(users(server).contains("frank[](disabled)"), users(server).toString());
      assertServes(bystander);
    }
    adminOk(server, "user.update", args().put("username", "frank").put("disabled", false));
    try (WsClient c = server.connect("frank-3")) {
      assertToken("frank", c.request(login("frank", pw("frank"))));
    }
    assertError("unauthenticated", helloAnswer(server.port(), token));
  }

  @Test
  @DisplayName("deleting a user closes its connections (unauthenticated, 1008) and it can no longer sign in or use its token")
  void deletedUser() {
    WsClient gina = server.connectAs("gina-1", "gina", pw("gina"));
    String token = gina.await(m -> type(m).equals("token")).path("token").asText();
    JsonNode deleted = adminOk(server, "user.delete", args().put("username", "gina"));
    assertTrue(deleted.path("deleted").asBoolean(), deleted.toString());
    assertError("unauthenticated", gina.await(m -> type(m).equals("error")));
    assertEquals(1008, gina.awaitClose());
    gina.close();
    try (WsClient c = server.connect("gina-2")) {
      assertError("unauthenticated", c.request(login("gina", pw("gina"))));
      assertServes(c);
    }
    try (WsClient c = WsClient.connect(server.port())) {
      assertError("unauthenticated", c.request(AuthTesting.hello("gina-3", token)));
      assertEquals(1008, c.awaitClose());
    }
    assertEquals(401, postLogin(server.port(), loginBody("gina", pw("gina"))).statusCode());
    assertFalse(users(server).stream().anyMatch(u -> u.startsWith("gina")), users(server).toString());
  }

  /** Creates {@code username} and returns a token it signed in with. */
  static String newUserToken(String username, String password) {
    adminOk(server, "user.create", userArgs(username, password));
    try (WsClient c = server.connect(username + "-1")) {
      return c.request(login(username, password)).path("token").asText();
    }
  }

  @Test
  @DisplayName("a deleted user's name is not given out again (its documents and grants still name it), and its token stays void")
  void tokenOfDeletedUserDoesNotComeBack() {
    String old = newUserToken("reused", "first-owner-pw");
    adminOk(server, "user.delete", args().put("username", "reused"));
    assertError("bad_request", server.admin(admin("user.create", userArgs("reused", "second-owner-pw"))));
    try (WsClient c = server.connect("reused-2")) {
      assertError("bad_request", c.request(signup("reused", "third-owner-pw")));
    }
    assertError("unauthenticated", helloAnswer(server.port(), old));
  }

  @Test
  @DisplayName("changing a user's password ends the tokens issued with the old one")
  void passwordChangeRevokesTokens() {
    String old = newUserToken("rotated", "first-password");
    adminOk(server, "user.update", args().put("username", "rotated").put("password", "second-password"));
    assertError("unauthenticated", helloAnswer(server.port(), old));
  }

  // ---- first start and stored passwords ----

  @Test
  @DisplayName("first start without adminPassword: a generated admin password is printed once, works, and is not printed at the next start")
  void generatedAdminPassword() throws Exception {
    Path data = Files.createTempDirectory("syncline-first-start");
    String config = "{\"todoExample\":false,\"eventLoops\":1}";
    try {
      String password;
      try (FirstStartProcess p = FirstStartProcess.start(data, config)) {
        Matcher m = Pattern.compile("created user 'admin' with password (\\S+)").matcher(p.output());
        assertTrue(m.find(), "no generated password in: " + p.output());
        password = m.group(1);
        assertTrue(password.length() >= 16, password);
        String token;
        try (WsClient c = WsClient.connect(p.port())) {
          c.hello("first-start");
          JsonNode t = c.request(login("admin", password));
          assertToken("admin", t);
          assertEquals("[\"admin\"]", t.path("user").path("roles").toString());
          token = t.path("token").asText();
          assertError("unauthenticated", c.request(login("admin", "not-the-password")));
        }
        String out = p.stop();
        assertEquals(1, out.split(Pattern.quote(password), -1).length - 1, "printed exactly once: " + out);
        // the log of a start, a sign-in and a failed one holds no token and no password hash
        assertFalse(out.contains(token), "a token in the log: " + out);
        assertFalse(out.contains("$argon2"), "a password hash in the log: " + out);
        assertFalse(out.contains("not-the-password"), "a tried password in the log: " + out);
      }
      try (FirstStartProcess p = FirstStartProcess.start(data, config)) {
        try (WsClient c = WsClient.connect(p.port())) {
          c.hello("second-start");
          assertToken("admin", c.request(login("admin", password)));
        }
        String out = p.stop();
        assertFalse(out.contains(password), "the password is printed again: " + out);
        assertFalse(out.contains("created user 'admin'"), out);
      }
    } finally {
      deleteTree(data);
    }
  }

  @Test
  @DisplayName("passwords are stored as Argon2id PHC strings, never in plain text")
  void passwordsStoredHashed() throws Exception {
    String seeded = "seeded-plain-password-7f3a";
    String created = "created-plain-password-9c2d";
    String signedUp = "signedup-plain-password-1b8e";
    String changed = "changed-plain-password-4d6f";
    TestServer s = TestServer.start(c -> {
      c.signup = true;
      c.users.add(new ServerConfig.UserSpec("seeded", seeded, List.of()));
    });
    try {
      adminOk(s, "user.create", userArgs("created", created));
      try (WsClient c = s.connect("signer")) {
        assertToken("signedup", c.request(signup("signedup", signedUp)));
      }
      adminOk(s, "user.update", args().put("username", "seeded").put("password", changed));
      s.stop();
      byte[] all = readTree(s.dataDir());
      String text = new String(all, StandardCharsets.ISO_8859_1);
      assertTrue(text.contains("$argon2id$"), "the store holds Argon2id hashes");
      for (String p : List.of(TestServer.ADMIN_PASSWORD, seeded, created, signedUp, changed)) {
        assertFalse(text.contains(p), "plain password in the store: " + p);
        assertFalse(new String(all, StandardCharsets.UTF_16LE).contains(p), p);
      }
    } finally {
      s.close();
    }
  }

  private static byte[] readTree(Path dir) throws Exception {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) out.write(Files.readAllBytes(f));
    }
    return out.toByteArray();
  }

  private static void deleteTree(Path dir) throws Exception {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @DisplayName("POST /auth/login with a file in a multipart body is a bad request and leaves no file on disk")
  void loginKeepsNoUploadedFiles() throws Exception {
    java.nio.file.Path uploads = java.nio.file.Path.of("file-uploads"); // where Vert.x keeps uploads by default
    long before = countFiles(uploads);
    String boundary = "syncline-test-boundary";
    String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"junk.bin\"\r\n"
        + "Content-Type: application/octet-stream\r\n\r\n" + "x".repeat(1000) + "\r\n--" + boundary + "--\r\n";
    java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.port() + "/auth/login"))
            .header("content-type", "multipart/form-data; boundary=" + boundary)
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(400, r.statusCode(), r.body());
    assertEquals(before, countFiles(uploads), "no uploaded file kept in " + uploads.toAbsolutePath());
  }

  private static long countFiles(java.nio.file.Path dir) throws java.io.IOException {
    if (!java.nio.file.Files.isDirectory(dir)) return 0;
    try (var files = java.nio.file.Files.list(dir)) {
      return files.count();
    }
  }
}

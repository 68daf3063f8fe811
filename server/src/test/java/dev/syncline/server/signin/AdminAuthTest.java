package dev.syncline.server.signin;

import static dev.syncline.server.signin.AuthTesting.assertError;
import static dev.syncline.server.signin.AuthTesting.assertNoSecrets;
import static dev.syncline.server.signin.AuthTesting.assertServes;
import static dev.syncline.server.signin.AuthTesting.login;
import static dev.syncline.server.signin.AuthTesting.type;
import static dev.syncline.server.signin.AuthTesting.userArgs;
import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Json;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.store.Store;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Who may send which admin op: anonymous callers get {@code unauthenticated}, signed-in non-admins
 * {@code forbidden}, admins a result; a policy on {@code $system}'s {@code users} collection grants
 * {@code user.*} ops to a role and nothing else; the last enabled admin is kept; every change is
 * audited in {@code $system}; and no answer or {@code $system} frame gives away a password hash or
 * the token signing key. The server makes its own signing key (none is configured); the test reads
 * it from the store between a first start and a restart so it can look for it in every frame.
 */
@DisplayName("Admin authorization: unauthenticated, forbidden, $system grants, last admin, audit, no secrets")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdminAuthTest {
  static TestServer server;
  /** The signing key the server generated and stored in $system/secrets. */
  static String signingKey;
  /** Every password hash in the store at start. */
  static final List<String> hashes = new ArrayList<>();
  /** Every client this class opened: their frames are searched for secrets at the end. */
  static final List<WsClient> clients = new CopyOnWriteArrayList<>();
  /** Every answer to server.admin(...) made here. */
  static final List<JsonNode> adminAnswers = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.users.add(new ServerConfig.UserSpec("bob", "password-of-bob", List.of("editor")));
      c.users.add(new ServerConfig.UserSpec("sue", "password-of-sue", List.of("support")));
      c.users.add(new ServerConfig.UserSpec("fake", "password-of-fake", List.of("Admin", "administrator", "admins")));
      c.users.add(new ServerConfig.UserSpec("doomed", "password-of-doomed", List.of()));
    });
    // read the generated key and the stored hashes from the store, then serve again
    server.stop();
    try (Store store = Store.openXodus(server.dataDir().resolve("store"), true, 0)) {
      for (Delta d : store.registers("$system", "secrets")) if (d.attr().equals("key")) signingKey = d.value().textValue();
      for (Delta d : store.registers("$system", "users")) if (d.attr().equals("passwordHash")) hashes.add(d.value().textValue());
    }
    assertNotNull(signingKey, "the server stored a generated signing key");
    assertTrue(hashes.size() >= 5 && hashes.stream().allMatch(h -> h.startsWith("$argon2id$")), hashes.toString());
    server.restart();
    ok("db.create", args().put("db", "victim-db"));
    try (WsClient c = server.connectAs("seeder", "admin", TestServer.ADMIN_PASSWORD)) {
      JsonNode ack = c.request(push("app", delta("notes", "n1", "title", "hello", now(0, "seeder"))));
      assertEquals("ack", type(ack), ack.toString());
    }
  }

  @AfterAll
  static void stop() {
    clients.forEach(WsClient::close);
    server.close();
  }

  static WsClient track(WsClient c) {
    clients.add(c);
    return c;
  }

  static JsonNode adminAnswer(String op, ObjectNode a) {
    JsonNode r = server.admin(admin(op, a));
    adminAnswers.add(r);
    return r;
  }

  static JsonNode ok(String op, ObjectNode a) {
    JsonNode r = adminAnswer(op, a);
    assertEquals("result", type(r), op + " " + a + " → " + r);
    return r.path("data");
  }

  /** A snapshot of what admin ops could change: users, databases with heads ($system included), policies of app. */
  static String state() {
    JsonNode users = ok("user.list", args());
    JsonNode dbs = ok("db.list", args());
    JsonNode appPolicy = ok("policy.get", args().put("db", "app"));
    JsonNode colPolicy = ok("policy.get", args().put("db", "app").put("col", "guarded"));
    JsonNode note = readNote();
    return users + "\n" + dbs + "\n" + appPolicy + "\n" + colPolicy + "\n" + note;
  }

  /** The owner and title of app/notes/n1, as an admin subscriber sees them. */
  static JsonNode readNote() {
    try (WsClient c = server.connectAs("reader", "admin", TestServer.ADMIN_PASSWORD)) {
      JsonNode subscribed = c.request(WsClient.obj("sub").put("db", "app"));
      assertEquals("subscribed", type(subscribed), subscribed.toString());
      c.await(m -> type(m).equals("synced"));
      ObjectNode out = Json.MAPPER.createObjectNode();
      for (JsonNode m : c.receivedOfType("changes")) {
        for (JsonNode d : m.path("deltas")) if (d.path("id").asText().equals("n1")) out.set(d.path("attr").asText(), d.path("value"));
      }
      return out;
    }
  }

  /** Every admin op with arguments that an admin may run; {@code tag} keeps names unique per run. */
  static List<Map.Entry<String, ObjectNode>> everyOp(String tag) {
    ObjectNode policy = Json.MAPPER.createObjectNode();
    policy.putArray("read").add("$user");
    return List.of(
        Map.entry("db.create", args().put("db", "created-by-" + tag)),
        Map.entry("db.list", args()),
        Map.entry("db.stats", args().put("db", "app")),
        Map.entry("server.stats", args()),
        Map.entry("owner.set", args().put("db", "app").put("col", "notes").put("id", "n1").put("owner", "bob")),
        Map.entry("user.create", userArgs("made-by-" + tag, "long-enough-password")),
        Map.entry("user.update", args().put("username", "bob").put("disabled", false)),
        Map.entry("user.list", args()),
        Map.entry("policy.get", args().put("db", "app")),
        Map.entry("policy.set", args().put("db", "app").put("col", "guarded").set("policy", policy)),
        Map.entry("user.delete", args().put("username", "doomed")),
        Map.entry("db.destroy", args().put("db", "victim-db")));
  }

  @Test
  @Order(1)
  @DisplayName("every admin op from an anonymous connection is unauthenticated and changes nothing")
  void anonymousRefused() {
    String before = state();
    WsClient anon = track(server.connect("anon"));
    for (var op : everyOp("anon")) {
      JsonNode r = anon.request(admin(op.getKey(), op.getValue()));
      assertError("unauthenticated", r);
      assertServes(anon);
    }
    assertEquals(before, state());
  }

  @Test
  @Order(2)
  @DisplayName("every admin op from a signed-in non-admin is forbidden, also for roles that only look like admin")
  void nonAdminForbidden() {
    String before = state();
    for (String user : List.of("bob", "fake")) {
      WsClient c = track(server.connectAs("non-admin-" + user, user, "password-of-" + user));
      for (var op : everyOp(user)) {
        JsonNode r = c.request(admin(op.getKey(), op.getValue()));
        assertError("forbidden", r);
      }
      assertServes(c);
    }
    assertEquals(before, state());
  }

  @Test
  @Order(3)
  @DisplayName("an admin may run every op, and each one takes effect")
  void adminAllowed() {
    WsClient c = track(server.connectAs("admin-ops", "admin", TestServer.ADMIN_PASSWORD));
    for (var op : everyOp("admin")) {
      JsonNode r = c.request(admin(op.getKey(), op.getValue()));
      assertEquals("result", type(r), op + " → " + r);
    }
    String users = ok("user.list", args()).toString();
    assertTrue(users.contains("made-by-admin"), users);
    assertFalse(users.contains("doomed"), users);
    String dbs = ok("db.list", args()).toString();
    assertTrue(dbs.contains("created-by-admin"), dbs);
    assertFalse(dbs.contains("victim-db"), dbs);
    JsonNode policy = ok("policy.get", args().put("db", "app").put("col", "guarded"));
    assertEquals("[\"$user\"]", policy.path("policy").path("read").toString(), policy.toString());
    assertEquals("bob", readNote().path("$owner").asText());
  }

  @Test
  @Order(4)
  @DisplayName("a $system policy on users granting read to role:support lets support run user.list, and nothing else; revoking it ends that at once")
  void systemPolicyGrant() {
    WsClient sue = track(server.connectAs("sue", "sue", "password-of-sue"));
    WsClient bob = track(server.connectAs("bob-grant", "bob", "password-of-bob"));
    assertError("forbidden", sue.request(admin("user.list", args())));

    ObjectNode grant = args().put("db", "$system").put("col", "users");
    grant.putObject("policy").putArray("read").add("role:support");
    ok("policy.set", grant);

    JsonNode list = sue.request(admin("user.list", args()));
    assertEquals("result", type(list), list.toString());
    assertTrue(list.toString().contains("\"sue\""), list.toString());
    assertNoSecrets(list.toString(), signingKey);
    for (var op : List.of(
        Map.entry("db.create", args().put("db", "by-support")),
        Map.entry("db.list", args()),
        Map.entry("server.stats", args()),
        Map.entry("user.create", userArgs("by-support", "long-enough-password")),
        Map.entry("user.update", userArgs("sue", null, "support", "admin")),
        Map.entry("user.delete", args().put("username", "bob")),
        Map.entry("policy.get", args().put("db", "app")))) {
      assertError("forbidden", sue.request(admin(op.getKey(), op.getValue())));
    }
    assertError("forbidden", bob.request(admin("user.list", args())));
    try (WsClient anon = server.connect("anon-grant")) {
      assertError("unauthenticated", anon.request(admin("user.list", args())));
    }

    // the grant also lets support read the users collection of $system, without hashes
    JsonNode subscribed = sue.request(WsClient.obj("sub").put("db", "$system").set("cols", Json.MAPPER.createArrayNode().add("users")));
    assertEquals("subscribed", type(subscribed), subscribed.toString());
    sue.await(m -> type(m).equals("synced"));
    String frames = sue.receivedOfType("changes").toString();
    assertTrue(frames.contains("\"roles\""), frames);
    assertNoSecrets(frames, signingKey);
    assertError("forbidden", bob.request(WsClient.obj("sub").put("db", "$system")));

    grant.putNull("policy");
    ok("policy.set", grant);
    assertError("forbidden", sue.request(admin("user.list", args())));
  }

  @Test
  @Order(5)
  @DisplayName("a role granted user.update on $system cannot make itself (or anyone) admin")
  void grantedUserUpdateCannotEscalate() {
    WsClient sue = track(server.connectAs("sue-escalate", "sue", "password-of-sue"));
    ObjectNode grant = args().put("db", "$system").put("col", "users");
    ObjectNode rights = grant.putObject("policy");
    rights.putArray("update").add("role:support");
    rights.putArray("create").add("role:support");
    ok("policy.set", grant);
    ok("user.create", userArgs("pat", "password-of-pat", "polmgr")); // a role some other policy may name
    ok("user.create", userArgs("sam", "password-of-sam", "support"));
    try {
      JsonNode r = sue.request(admin("user.update", userArgs("sue", null, "support", "admin")));
      assertError("forbidden", r);
      assertError("forbidden", sue.request(admin("db.create", args().put("db", "by-escalated-support"))));
      // nor any role she does not hold, to herself or to a new user, nor another's password
      assertError("forbidden", sue.request(admin("user.update", userArgs("sue", null, "support", "polmgr"))));
      assertError("forbidden", sue.request(admin("user.create", userArgs("sue-alt", "password-of-alt", "polmgr"))));
      assertError("forbidden", sue.request(admin("user.update", args().put("username", "pat").put("password", "taken-over-pat"))));
      // what her own roles cover she may still do
      assertEquals("result", type(sue.request(admin("user.update", userArgs("sam", "new-password-of-sam", "support")))));
      assertEquals("result", type(sue.request(admin("user.create", userArgs("sue-helper", "password-of-helper", "support")))));
    } finally {
      grant.putNull("policy");
      ok("policy.set", grant);
      ok("user.update", userArgs("sue", null, "support"));
    }
  }

  @Test
  @DisplayName("user.list pages: by name, after a name, at most limit, more when others follow; a bad after or limit is bad_request")
  void userListPages() {
    for (String name : List.of("page-c", "page-a", "page-b")) ok("user.create", userArgs(name, "password-of-" + name));
    JsonNode first = ok("user.list", args().put("after", "page-").put("limit", 2));
    assertEquals(List.of("page-a", "page-b"), first.path("users").findValuesAsText("username"));
    assertTrue(first.path("more").asBoolean(), first.toString());
    JsonNode next = ok("user.list", args().put("after", "page-b").put("limit", 2));
    assertEquals("page-c", next.path("users").path(0).path("username").asText(), next.toString());
    assertFalse(next.path("users").findValuesAsText("username").stream().anyMatch(n -> n.compareTo("page-b") <= 0));
    assertFalse(ok("user.list", args().put("after", "page-c").put("limit", 1000)).path("users").findValuesAsText("username")
        .contains("page-c"), "strictly after");
    for (var bad : List.of(args().put("limit", 0), args().put("limit", 1001), args().put("limit", "ten"), args().put("after", 5))) {
      assertEquals("bad_request", server.admin(admin("user.list", bad)).path("code").asText(), bad.toString());
    }
  }

  @Test
  @Order(6)
  @DisplayName("audit: user.create, policy.set, user.update and user.delete each write $system entries with by = the admin; users and policies docs carry changedBy")
  void auditEntries() {
    WsClient sys = track(server.connectAs("audit-reader", "admin", TestServer.ADMIN_PASSWORD));
    JsonNode subscribed = sys.request(WsClient.obj("sub").put("db", "$system"));
    assertEquals("subscribed", type(subscribed), subscribed.toString());
    sys.await(m -> type(m).equals("synced"));

    ok("user.create", userArgs("audited-user", "long-enough-password", "viewer"));
    ObjectNode p = args().put("db", "app").put("col", "audited-col");
    p.putObject("policy").putArray("read").add("role:viewer");
    ok("policy.set", p);
    ok("user.update", userArgs("audited-user", null, "editor"));
    ok("user.delete", args().put("username", "audited-user"));

    assertAudit(sys, "user.create", "audited-user");
    assertAudit(sys, "policy.set", "app/audited-col");
    assertAudit(sys, "user.update", "audited-user");
    assertAudit(sys, "user.delete", "audited-user");
    assertEquals("admin", changedBy(sys, "users", "audited-user"));
    assertEquals("admin", changedBy(sys, "policies", "app/audited-col"));
  }

  @Test
  @Order(7)
  @DisplayName("audit: db.create writes an entry with op db.create, by the admin, naming the database")
  void auditDbCreate() {
    WsClient sys = track(server.connectAs("audit-reader-2", "admin", TestServer.ADMIN_PASSWORD));
    sys.request(WsClient.obj("sub").put("db", "$system"));
    sys.await(m -> type(m).equals("synced"));
    ok("db.create", args().put("db", "audited-db"));
    assertAudit(sys, "db.create", "audited-db");
  }

  /** Waits for the audit entry {op, by: admin, target, at} on a $system subscription. */
  static void assertAudit(WsClient sys, String op, String target) {
    JsonNode d = sys.await(m -> type(m).equals("changes") && findDelta(m, x -> x.path("col").asText().equals("audit")
        && x.path("value").path("op").asText().equals(op) && x.path("value").path("target").asText().equals(target)) != null);
    JsonNode entry = findDelta(d, x -> x.path("col").asText().equals("audit") && x.path("value").path("op").asText().equals(op)
        && x.path("value").path("target").asText().equals(target)).path("value");
    assertEquals("admin", entry.path("by").asText(), entry.toString());
    assertTrue(Math.abs(entry.path("at").asLong() - System.currentTimeMillis()) < 60_000, entry.toString());
  }

  static String changedBy(WsClient sys, String col, String id) {
    JsonNode m = sys.await(deltaOf(col, id, "changedBy"));
    return findDelta(m, x -> x.path("col").asText().equals(col) && x.path("id").asText().equals(id)
        && x.path("attr").asText().equals("changedBy")).path("value").asText();
  }

  static Predicate<JsonNode> deltaOf(String col, String id, String attr) {
    return m -> type(m).equals("changes") && findDelta(m, x -> x.path("col").asText().equals(col)
        && x.path("id").asText().equals(id) && x.path("attr").asText().equals(attr)) != null;
  }

  static JsonNode findDelta(JsonNode changes, Predicate<JsonNode> p) {
    for (JsonNode d : changes.path("deltas")) if (p.test(d)) return d;
    return null;
  }

  @Test
  @Order(8)
  @DisplayName("anonymous and non-admin callers cannot subscribe to $system; nobody may push to it")
  void systemDatabaseClosed() {
    try (WsClient anon = server.connect("anon-sys")) {
      assertError("forbidden", anon.request(WsClient.obj("sub").put("db", "$system")));
      assertError("forbidden", anon.request(push("$system", delta("users", "evil", "roles", List.of("admin"), now(0, "anon")))));
    }
    WsClient bob = track(server.connectAs("bob-sys", "bob", "password-of-bob"));
    assertError("forbidden", bob.request(WsClient.obj("sub").put("db", "$system")));
    WsClient admin = track(server.connectAs("admin-sys", "admin", TestServer.ADMIN_PASSWORD));
    assertError("forbidden", admin.request(push("$system", delta("users", "evil", "roles", List.of("admin"), now(0, "adm")))));
    assertFalse(ok("user.list", args()).toString().contains("evil"));
  }

  @Test
  @Order(9)
  @DisplayName("a $system policy opening secrets to everyone still shows nobody the signing key or a hash")
  void secretsStayHidden() {
    ObjectNode open = args().put("db", "$system").put("col", "secrets");
    open.putObject("policy").putArray("read").add("$all");
    ok("policy.set", open);
    ObjectNode openUsers = args().put("db", "$system").put("col", "users");
    openUsers.putObject("policy").putArray("read").add("$all");
    ok("policy.set", openUsers);
    try {
      WsClient anon = track(server.connect("anon-secrets"));
      JsonNode s = anon.request(WsClient.obj("sub").put("db", "$system")
          .set("cols", Json.MAPPER.createArrayNode().add("secrets").add("users")));
      assertEquals("subscribed", type(s), s.toString());
      anon.await(m -> type(m).equals("synced"));
      assertNoSecrets(anon.received().toString(), signingKey);
      assertFalse(anon.received().toString().contains("\"secrets\""), anon.received().toString());
    } finally {
      open.putNull("policy");
      ok("policy.set", open);
      openUsers.putNull("policy");
      ok("policy.set", openUsers);
    }
  }

  @Test
  @Order(99)
  @DisplayName("no answer and no frame seen in this class holds passwordHash, a stored hash, or the signing key")
  void noSecretsAnywhere() {
    WsClient sys = track(server.connectAs("final-reader", "admin", TestServer.ADMIN_PASSWORD));
    sys.request(WsClient.obj("sub").put("db", "$system"));
    sys.await(m -> type(m).equals("synced"));
    adminAnswer("server.stats", args());
    adminAnswer("db.stats", args().put("db", "$system"));
    adminAnswer("policy.get", args().put("db", "$system").put("col", "secrets"));
    List<String> frames = new ArrayList<>();
    adminAnswers.forEach(a -> frames.add(a.toString()));
    clients.forEach(c -> c.received().forEach(m -> frames.add(m.toString())));
    assertTrue(frames.size() > 50, "frames seen: " + frames.size());
    assertTrue(frames.stream().anyMatch(f -> f.contains("\"col\":\"users\"")), "the $system users docs were seen");
    for (String f : frames) {
      assertNoSecrets(f, signingKey);
      for (String h : hashes) assertFalse(f.contains(h.substring(h.lastIndexOf('$') + 1)), "a hash in " + f);
    }
  }

  // ---- the last admin ----

  @Test
  @Order(20)
  @DisplayName("the last enabled admin cannot be deleted, disabled or demoted; a disabled admin does not count; demotion applies at once")
  void lastAdminKept() {
    try (TestServer s = TestServer.start()) {
      String before = AuthTesting.users(s).toString();
      assertError("forbidden", s.admin(admin("user.delete", args().put("username", "admin"))));
      assertError("forbidden", s.admin(admin("user.update", args().put("username", "admin").put("disabled", true))));
      assertError("forbidden", s.admin(admin("user.update", userArgs("admin", null))));
      assertError("forbidden", s.admin(admin("user.update", userArgs("admin", null, "ops"))));
      assertEquals(before, AuthTesting.users(s).toString());
      assertEquals("result", type(s.admin(admin("db.list", args()))));

      // a second admin, disabled, does not count
      AuthTesting.adminOk(s, "user.create", userArgs("admin2", "password-of-admin2", "admin"));
      AuthTesting.adminOk(s, "user.update", args().put("username", "admin2").put("disabled", true));
      assertError("forbidden", s.admin(admin("user.delete", args().put("username", "admin"))));
      AuthTesting.adminOk(s, "user.update", args().put("username", "admin2").put("disabled", false));

      // with two enabled admins one may go; demoting one applies to its open connection at once
      try (WsClient admin2 = s.connectAs("admin2", "admin2", "password-of-admin2")) {
        assertEquals("result", type(admin2.request(admin("db.list", args()))));
        AuthTesting.adminOk(s, "user.update", userArgs("admin2", null, "ops"));
        assertError("forbidden", admin2.request(admin("db.list", args())));
        assertFalse(admin2.isClosed());
        AuthTesting.adminOk(s, "user.update", userArgs("admin2", null, "admin"));
        assertEquals("result", type(admin2.request(admin("db.list", args()))));
        // admin2 deletes admin; then admin2 is the last one
        assertEquals("result", type(admin2.request(admin("user.delete", args().put("username", "admin")))));
        assertError("forbidden", admin2.request(admin("user.delete", args().put("username", "admin2"))));
        assertError("forbidden", admin2.request(admin("user.update", args().put("username", "admin2").put("disabled", true))));
        assertServes(admin2);
      }
    }
  }

  @Test
  @Order(21)
  @DisplayName("two admins disabling each other at the same moment cannot leave the server without an enabled admin")
  void lastAdminRace() {
    try (TestServer s = TestServer.start()) {
      AuthTesting.adminOk(s, "user.create", userArgs("admin2", "password-of-admin2", "admin"));
      // each admin on a connection of its own, so the two changes really race (one connection's run one after the other)
      try (WsClient one = s.connectAs("racer-1", "admin", TestServer.ADMIN_PASSWORD);
          WsClient two = s.connectAs("racer-2", "admin2", "password-of-admin2")) {
        long first = one.sendWithRid(admin("user.update", args().put("username", "admin2").put("disabled", true)));
        long second = sendUnlessClosed(two, admin("user.update", args().put("username", "admin").put("disabled", true)));
        one.until(() -> one.isClosed() || answered(one, first), "admin's answer");
        two.until(() -> two.isClosed() || answered(two, second), "admin2's answer");
      }
      boolean adminWorks;
      boolean admin2Works;
      try (WsClient c = s.connect("check")) {
        adminWorks = type(c.request(login("admin", TestServer.ADMIN_PASSWORD))).equals("token");
        admin2Works = type(c.request(login("admin2", "password-of-admin2"))).equals("token");
      }
      assertTrue(adminWorks || admin2Works, "neither admin can sign in any more");
      assertTrue(adminWorks != admin2Works, "one of the two changes was refused, not both: " + adminWorks + ", " + admin2Works);
    }
  }

  /** Sends, unless the server closed the connection first (admin2 disabled by the other change): then -1. */
  private static long sendUnlessClosed(WsClient c, com.fasterxml.jackson.databind.node.ObjectNode message) {
    try {
      return c.sendWithRid(message);
    } catch (RuntimeException e) {
      c.awaitClose(); // fails the test unless the server is closing it
      return -1;
    }
  }

  private static boolean answered(WsClient c, long rid) {
    return c.received().stream().anyMatch(m -> m.path("rid").asLong() == rid);
  }
}

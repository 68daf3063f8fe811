package dev.syncline.server.access;

import static dev.syncline.server.access.AccessModel.Action.CREATE;
import static dev.syncline.server.access.AccessModel.Action.DESTROY;
import static dev.syncline.server.access.AccessModel.Action.READ;
import static dev.syncline.server.access.AccessModel.Action.UPDATE;
import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.access.AccessModel.Pol;
import dev.syncline.server.access.AccessModel.Policies;
import dev.syncline.server.access.AccessModel.Who;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Read filtering while access changes under a live subscription: a policy, a user's roles, the
 * connection's sign-in, or the owner of a document read under {@code $owner}. Each change must
 * reach the subscriber as {@code reset} (with the new epoch) and a full catch-up under the new
 * access, after which the client's copy — built only from the frames after the last reset — is
 * exactly what it may read, per {@link AccessModel}, of the server's state as an admin reads it.
 */
@DisplayName("Live read filtering: access changes reset subscriptions to exactly what the reader may read now")
class LiveAccessTest {
  static final String PASSWORD = "password-of-a-test-user";
  static final Who ALICE = new Who("alice", Set.of());
  static final Who BOB = new Who("bob", Set.of());
  static final Who CAROL = new Who("carol", Set.of());
  static final Who DAVE = new Who("dave", Set.of("editor"));
  /** Writes by $user, read as given. */
  static final Pol WRITE_BY_USERS = Pol.of(CREATE, List.of("$user"), UPDATE, List.of("$user"), DESTROY, List.of("$user"));
  static final AtomicLong CLOCK = new AtomicLong(System.currentTimeMillis() - 30 * 60_000);
  static final AtomicInteger IDS = new AtomicInteger();

  static TestServer server;
  /** An admin connection that only reads databases whole, to know the server's state. */
  static WsClient adminReader;

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.newDatabasePolicy = null;
      c.durability = "async"; // more, smaller commits: more chances for a change to land mid catch-up
      c.catchUpPageDeltas = 17; // catch-ups of several pages, so a restart can overtake a page being read
    });
    for (Who w : List.of(ALICE, BOB, CAROL, DAVE)) createUser(w);
    adminReader = server.connectAs("admin-reader", "admin", TestServer.ADMIN_PASSWORD);
  }

  @AfterAll
  static void stop() {
    adminReader.close();
    server.close();
  }

  // ---- helpers ----

  static void createUser(Who w) {
    ObjectNode a = args().put("username", w.name()).put("password", PASSWORD);
    w.roles().forEach(a.putArray("roles")::add);
    ok(server.admin(admin("user.create", a)));
  }

  static JsonNode ok(JsonNode answer) {
    assertEquals("result", answer.path("type").asText(), answer.toString());
    return answer.get("data");
  }

  static WsClient as(Who who) {
    return server.connectAs(who.name() + "-" + IDS.incrementAndGet(), who.name(), PASSWORD);
  }

  static Pol readBy(String... principals) {
    return WRITE_BY_USERS.with(READ, principals);
  }

  /** Creates {@code name} with {@code policy}; returns its epoch. */
  static String newDb(String name, Pol policy) {
    JsonNode data = ok(server.admin(admin("db.create", args().put("db", name).<ObjectNode>set("policy", policy.json()))));
    assertTrue(data.get("created").asBoolean(), data.toString());
    return data.get("epoch").asText();
  }

  static void setPolicy(String db, String col, Pol p) {
    ObjectNode a = args().put("db", db);
    if (col != null) a.put("col", col);
    ok(server.admin(admin("policy.set", a.set("policy", p == null ? null : p.json()))));
  }

  static void setRoles(Who w, String... roles) {
    ObjectNode a = args().put("username", w.name());
    var arr = a.putArray("roles");
    for (String r : roles) arr.add(r);
    ok(server.admin(admin("user.update", a)));
  }

  /** The documents {@code noGapNoDuplicateUnderChanges} gives to another owner. */
  static final java.util.Set<String> GIVEN_AWAY = java.util.Set.of("items/bob-1", "items/alice-2", "memo/bob-3");

  static void setOwner(String db, String col, String id, String owner) {
    ok(server.admin(admin("owner.set", args().put("db", db).put("col", col).put("id", id).put("owner", owner))));
  }

  /** Writes one attribute and expects it applied. */
  static void write(WsClient c, String db, String col, String id, String attr, Object value) {
    JsonNode ack = c.request(push(db, delta(col, id, attr, value, ts(CLOCK.incrementAndGet(), 0, c.clientId()))));
    assertEquals("ack", ack.path("type").asText(), ack.toString());
    assertEquals("applied", ack.get("results").get(0).asText(), ack.toString());
  }

  /** The server's registers of {@code db}, as a fresh admin subscription reads them. */
  static Map<String, Replica.Reg> serverState(String db) {
    Feed f = Feed.open(adminReader, sub(db, 0));
    f.awaitSynced(0);
    Map<String, Replica.Reg> state = f.replica().registers();
    assertEquals("ok", adminReader.request(WsClient.obj("unsub").put("sid", f.sid)).path("type").asText());
    return state;
  }

  static ObjectNode subFrom(String db, long since, String epoch) {
    ObjectNode s = sub(db, since);
    if (epoch != null) s.put("epoch", epoch);
    return s;
  }

  /** Asserts the client's copy (frames after the last reset) is exactly what {@code who} may read of the server now. */
  static void assertHoldsExactlyReadable(Feed f, String db, Policies p, Who who) {
    Map<String, Replica.Reg> state = serverState(db);
    Map<String, Replica.Reg> expected = AccessModel.readable(state, p, who, null);
    List<String> diff = AccessModel.diff(expected, f.replica().registers());
    assertTrue(diff.isEmpty(), who + " under " + p + " should hold exactly what it may read; differences: " + diff);
  }

  static boolean holdsDoc(Feed f, String col, String id) {
    return f.replica().registers().keySet().stream().anyMatch(k -> k.startsWith(col + "/" + id + "/"));
  }

  /**
   * A barrier for negative checks: {@code who} writes a document of its own to {@code db} and
   * waits until it arrives on {@code f}. Changes reach a subscription in commit order, and an
   * access change is applied in order with them, so whatever an earlier change would have caused
   * has happened by then.
   */
  static void marker(Feed f, WsClient writer, String db) {
    String id = "marker-" + IDS.incrementAndGet();
    write(writer, db, "items", id, "m", true);
    f.awaitDelta(d -> d.get("id").asText().equals(id), "marker " + id);
  }

  // ---- (a) gain, (b) loss ----

  @Test
  @DisplayName("gain: an owner-only reader gets reset with a new epoch, then every document, when read opens to all users")
  void gainByPolicy() {
    Pol ownerRead = readBy("$owner");
    String epoch = newDb("gain", ownerRead);
    newDb("gain-other", readBy("$user"));
    try (WsClient aliceW = as(ALICE); WsClient bobW = as(BOB); WsClient alice = as(ALICE); WsClient carol = as(CAROL)) {
      write(aliceW, "gain", "items", "a1", "title", "alice 1");
      write(aliceW, "gain", "items", "a2", "title", "alice 2");
      write(bobW, "gain", "items", "b1", "title", "bob 1");
      write(bobW, "gain", "notes", "b2", "title", "bob 2");
      Feed f = Feed.open(alice, sub("gain", 0));
      Feed unrelated = Feed.open(carol, sub("gain-other", 0));
      f.awaitSynced(0);
      assertHoldsExactlyReadable(f, "gain", Policies.of(ownerRead), ALICE);
      assertTrue(holdsDoc(f, "items", "a1") && !holdsDoc(f, "items", "b1"), "alice sees her own documents only");
      assertNotEquals(epoch, f.epoch(), "a filtered reader's epoch is not the database's");
      assertTrue(f.epoch().startsWith(epoch + "."), f.epoch());

      setPolicy("gain", null, readBy("$user"));
      JsonNode reset = f.awaitReset(1);
      f.awaitSynced(1);
      assertEquals(epoch, reset.path("epoch").asText(), "alice now reads everything: the database's own epoch");
      assertHoldsExactlyReadable(f, "gain", Policies.of(readBy("$user")), ALICE);
      assertTrue(holdsDoc(f, "items", "b1") && holdsDoc(f, "notes", "b2"), "bob's documents arrived");

      // live changes of others now reach alice
      write(bobW, "gain", "items", "b3", "title", "bob 3");
      f.awaitDelta(d -> d.get("id").asText().equals("b3"), "bob's new document");
      // a fresh subscription is told the same epoch as the reset
      Feed again = Feed.open(alice, sub("gain", 0));
      assertEquals(reset.path("epoch").asText(), again.epoch());
      assertEquals(1, f.resets().size(), "one change, one reset");

      // a subscriber of another database is not disturbed by the change
      marker(unrelated, carol, "gain-other");
      assertEquals(List.of(), unrelated.resets(), "a policy change on gain resets no subscription of gain-other");
    }
  }

  @Test
  @DisplayName("loss: a reader of everything is reset to its own documents, then to nothing, and gets no later changes it may not read")
  void lossByPolicy() {
    String epoch = newDb("loss", readBy("$user"));
    newDb("loss-marker", readBy("$user"));
    try (WsClient aliceW = as(ALICE); WsClient bobW = as(BOB); WsClient alice = as(ALICE)) {
      write(aliceW, "loss", "items", "a1", "title", "alice 1");
      write(bobW, "loss", "items", "b1", "title", "bob 1");
      write(bobW, "loss", "notes", "b2", "title", "bob 2");
      Feed f = Feed.open(alice, sub("loss", 0));
      f.awaitSynced(0);
      assertEquals(epoch, f.epoch(), "reading everything: the database's epoch");
      assertHoldsExactlyReadable(f, "loss", Policies.of(readBy("$user")), ALICE);
      assertTrue(holdsDoc(f, "items", "b1"));

      setPolicy("loss", null, readBy("$owner"));
      JsonNode reset = f.awaitReset(1);
      f.awaitSynced(1);
      assertNotEquals(epoch, reset.path("epoch").asText(), "the reset names the new access");
      assertHoldsExactlyReadable(f, "loss", Policies.of(readBy("$owner")), ALICE);
      assertFalse(holdsDoc(f, "items", "b1") || holdsDoc(f, "notes", "b2"), "bob's documents are gone from alice's copy");

      // live: bob's new writes stay hidden, alice's own arrive
      write(bobW, "loss", "items", "b3", "title", "bob 3");
      write(bobW, "loss", "items", "b1", "title", "bob 1 again");
      write(aliceW, "loss", "items", "a2", "title", "alice 2");
      f.awaitDelta(d -> d.get("id").asText().equals("a2"), "alice's new document");
      assertHoldsExactlyReadable(f, "loss", Policies.of(readBy("$owner")), ALICE);
      assertTrue(f.lastSegment().stream().filter(m -> Feed.type(m, "changes"))
          .flatMap(m -> java.util.stream.StreamSupport.stream(m.get("deltas").spliterator(), false))
          .allMatch(d -> d.get("id").asText().startsWith("a")), "after the reset only alice's documents: " + f.lastSegment());

      // and then nothing at all: the copy is emptied, and nothing more arrives
      Feed markers = Feed.open(alice, sub("loss-marker", 0));
      markers.awaitSynced(0);
      setPolicy("loss", null, readBy());
      f.awaitReset(2);
      alice.until(() -> f.lastSegment().stream().anyMatch(m -> Feed.type(m, "synced") || Feed.type(m, "error")),
          "the end of the catch-up after losing all access: " + f.tail());
      assertEquals(Map.of(), f.replica().registers(), "a reader that may read nothing holds nothing");
      write(aliceW, "loss", "items", "a3", "title", "alice 3");
      write(bobW, "loss", "items", "b4", "title", "bob 4");
      marker(markers, aliceW, "loss-marker");
      assertEquals(Map.of(), f.replica().registers(), "no change reaches a reader that may read nothing: " + f.lastSegment());
    }
  }

  // ---- (c) roles ----

  @Test
  @DisplayName("a role granted or taken by user.update widens or narrows a live subscription; an irrelevant change resets nothing")
  void roleChange() {
    Pol p = readBy("$owner", "role:editor");
    newDb("roles", p);
    // users of this test alone: their roles and passwords change
    Who erin = new Who("erin", Set.of());
    Who frank = new Who("frank", Set.of());
    createUser(erin);
    createUser(frank);
    Who erinEditor = new Who("erin", Set.of("editor"));
    Who erinViewer = new Who("erin", Set.of("viewer"));
    try (WsClient aliceW = as(ALICE); WsClient erinW = as(erin); WsClient c = as(erin)) {
      write(aliceW, "roles", "items", "a1", "title", "alice 1");
      write(aliceW, "roles", "notes", "a2", "title", "alice 2");
      write(erinW, "roles", "items", "e1", "title", "erin 1");
      Feed f = Feed.open(c, sub("roles", 0));
      f.awaitSynced(0);
      assertHoldsExactlyReadable(f, "roles", Policies.of(p), erin);
      assertTrue(holdsDoc(f, "items", "e1") && !holdsDoc(f, "items", "a1"));

      setRoles(erin, "editor");
      f.awaitReset(1);
      f.awaitSynced(1);
      assertHoldsExactlyReadable(f, "roles", Policies.of(p), erinEditor);
      assertTrue(holdsDoc(f, "items", "a1") && holdsDoc(f, "notes", "a2"), "the editor role shows alice's documents");
      write(aliceW, "roles", "items", "a3", "title", "alice 3");
      f.awaitDelta(d -> d.get("id").asText().equals("a3"), "alice's new document, live");

      setRoles(erin, "viewer");
      f.awaitReset(2);
      f.awaitSynced(2);
      assertHoldsExactlyReadable(f, "roles", Policies.of(p), erinViewer);
      assertFalse(holdsDoc(f, "items", "a1") || holdsDoc(f, "items", "a3"), "without the role, alice's documents are dropped");

      // changes that alter nothing erin may read: another role of hers, another user's roles
      // (a new password would sign her connections out: sign-ins made with the old one end)
      setRoles(erin, "viewer", "reader");
      setRoles(frank, "editor");
      marker(f, erinW, "roles");
      assertEquals(2, f.resets().size(), "changes that leave erin's access as it was send no reset: " + f.resets());
    }
  }

  // ---- login on a subscribed connection ----

  @Test
  @DisplayName("signing in on a connection that is already subscribed resets it to what the user may read; the reset comes "
      + "before the token, so a client holding the token knows its copy is being replaced")
  void loginOnSubscribedConnection() {
    Pol p = readBy("$user");
    String epoch = newDb("signin", p);
    setPolicy("signin", "pub", readBy("$all"));
    Policies policies = Policies.of(p).withCollection("pub", readBy("$all"));
    try (WsClient aliceW = as(ALICE); WsClient c = server.connect("anon-then-alice")) {
      write(aliceW, "signin", "pub", "p1", "title", "public");
      write(aliceW, "signin", "items", "i1", "title", "private");
      Feed f = Feed.open(c, sub("signin", 0));
      f.awaitSynced(0);
      assertHoldsExactlyReadable(f, "signin", policies, Who.ANONYMOUS);
      assertTrue(holdsDoc(f, "pub", "p1") && !holdsDoc(f, "items", "i1"), "anonymous reads pub only");
      assertTrue(f.epoch().startsWith(epoch + "."), f.epoch());

      JsonNode token = c.request(WsClient.obj("login").put("username", "alice").put("password", PASSWORD));
      assertEquals("token", token.path("type").asText(), token.toString());
      List<String> order = c.received().stream().map(m -> m.path("type").asText()).filter(t -> t.equals("reset") || t.equals("token")).toList();
      assertEquals(List.of("reset", "token"), order, "the reset before the token");
      JsonNode reset = f.awaitReset(1);
      f.awaitSynced(1);
      assertEquals(epoch, reset.path("epoch").asText());
      assertHoldsExactlyReadable(f, "signin", policies, ALICE);
      assertTrue(holdsDoc(f, "items", "i1"));
    }
  }

  // ---- (d) owner.set ----

  @Test
  @DisplayName("owner.set moves a document: its old owner's subscription loses it, its new owner's gains it; a reader of all and an uninvolved owner-only reader are not reset")
  void ownerMoves() {
    Pol p = readBy("$owner", "role:editor");
    String epoch = newDb("owners", p);
    Policies policies = Policies.of(p);
    try (WsClient aliceW = as(ALICE); WsClient bobW = as(BOB); WsClient alice = as(ALICE); WsClient bob = as(BOB);
        WsClient dave = as(DAVE); WsClient carolW = as(CAROL); WsClient carol = as(CAROL)) {
      write(carolW, "owners", "items", "c1", "title", "carol's");
      Feed fc = Feed.open(carol, sub("owners", 0));
      fc.awaitSynced(0);
      write(aliceW, "owners", "items", "x", "title", "moving");
      write(aliceW, "owners", "items", "x", "done", false);
      write(aliceW, "owners", "items", "a2", "title", "stays with alice");
      write(bobW, "owners", "items", "b1", "title", "bob's");
      Feed fa = Feed.open(alice, sub("owners", 0));
      Feed fb = Feed.open(bob, sub("owners", 0));
      Feed fd = Feed.open(dave, sub("owners", 0));
      fa.awaitSynced(0);
      fb.awaitSynced(0);
      fd.awaitSynced(0);
      assertTrue(holdsDoc(fa, "items", "x") && !holdsDoc(fb, "items", "x"));
      assertEquals(epoch, fd.epoch(), "dave reads everything");

      setOwner("owners", "items", "x", "bob");
      JsonNode ra = fa.awaitReset(1);
      JsonNode rb = fb.awaitReset(1);
      fa.awaitSynced(1);
      fb.awaitSynced(1);
      assertHoldsExactlyReadable(fa, "owners", policies, ALICE);
      assertHoldsExactlyReadable(fb, "owners", policies, BOB);
      assertFalse(holdsDoc(fa, "items", "x"), "alice lost x");
      assertTrue(fb.replica().registers().containsKey("items/x/title") && fb.replica().registers().containsKey("items/x/done"),
          "bob gained all of x, including what was written before he owned it: " + fb.replica().registers().keySet());
      assertEquals("bob", fb.replica().registers().get("items/x/$owner").value().asText());
      assertNotEquals(fa.epoch(), ra.path("epoch").asText(), "the reset names the new access of alice");
      assertNotEquals(fb.epoch(), rb.path("epoch").asText(), "the reset names the new access of bob");

      // dave reads everything: no reset, only the new $owner value
      fd.awaitDelta(d -> d.get("id").asText().equals("x") && d.get("attr").asText().equals("$owner")
          && d.get("value").asText().equals("bob"), "the new owner of x");
      assertEquals(List.of(), fd.resets(), "a reader of every document is not reset by an owner change");
      marker(fc, carolW, "owners");
      assertEquals(List.of(), fc.resets(), "carol reads only her own documents, and x was never hers: no reset");
      assertHoldsExactlyReadable(fd, "owners", policies, DAVE);

      // live writes to x now reach bob and not alice
      write(aliceW, "owners", "items", "x", "title", "written by alice after the move");
      fb.awaitDelta(d -> d.get("id").asText().equals("x") && d.get("value").asText().equals("written by alice after the move"),
          "alice's write to x at bob's");
      marker(fa, aliceW, "owners");
      assertFalse(holdsDoc(fa, "items", "x"), "alice's write to a document she no longer owns does not come back to her");

      // a client that stored the reset's epoch and its cursor resumes without another reset
      try (WsClient alice2 = as(ALICE)) {
        Feed again = Feed.open(alice2, subFrom("owners", fa.cursor(), ra.path("epoch").asText()));
        again.awaitSynced(0);
        assertEquals(List.of(), again.resets(), "nothing changed for alice since her reset: " + again.frames());
      }
    }
  }

  @Test
  @DisplayName("a subscription to some collections is not reset by a policy change on another collection")
  void otherCollectionsPolicyResetsNothing() {
    newDb("scoped", readBy("$owner"));
    try (WsClient aliceW = as(ALICE); WsClient alice = as(ALICE)) {
      write(aliceW, "scoped", "items", "i1", "title", "mine");
      ObjectNode s = sub("scoped", 0);
      s.putArray("cols").add("items");
      Feed f = Feed.open(alice, s);
      f.awaitSynced(0);
      setPolicy("scoped", "other", readBy("$user"));
      marker(f, aliceW, "scoped");
      assertEquals(List.of(), f.resets(), "the policy of 'other' does not change what this subscription reads");
      setPolicy("scoped", "items", readBy("$user"));
      f.awaitReset(1);
      f.awaitSynced(1);
    }
  }

  // ---- (e) offline ----

  @Test
  @DisplayName("offline through a change: re-subscribing with the old cursor and epoch resets to exactly what may be read now")
  void offlineThroughChanges() {
    // e1: lost access while offline
    Pol all = readBy("$user");
    Pol own = readBy("$owner");
    newDb("offline-loss", all);
    newDb("offline-gain", own);
    newDb("offline-owner", own);
    try (WsClient aliceW = as(ALICE); WsClient bobW = as(BOB)) {
      for (String db : List.of("offline-loss", "offline-gain", "offline-owner")) {
        write(aliceW, db, "items", "a1", "title", "alice 1");
        write(bobW, db, "items", "b1", "title", "bob 1");
        write(bobW, db, "items", "b2", "title", "bob 2");
      }
      long[] cursor = new long[3];
      String[] epoch = new String[3];
      List<String> dbs = List.of("offline-loss", "offline-gain", "offline-owner");
      for (int i = 0; i < 3; i++) {
        try (WsClient alice = as(ALICE)) {
          Feed f = Feed.open(alice, sub(dbs.get(i), 0));
          f.awaitSynced(0);
          cursor[i] = f.cursor();
          epoch[i] = f.epoch();
        }
      }
      // while alice is away: more writes, then the changes
      for (String db : dbs) write(bobW, db, "items", "b3", "title", "bob 3, while alice was away");
      setPolicy("offline-loss", null, own);
      setPolicy("offline-gain", null, all);
      setOwner("offline-owner", "items", "b1", "alice");

      Policies[] now = {Policies.of(own), Policies.of(all), Policies.of(own)};
      for (int i = 0; i < 3; i++) {
        try (WsClient alice = as(ALICE)) {
          Feed f = Feed.open(alice, subFrom(dbs.get(i), cursor[i], epoch[i]));
          JsonNode reset = f.awaitReset(1);
          f.awaitSynced(1);
          assertNotEquals(epoch[i], f.epoch(), dbs.get(i) + ": subscribed names the new access");
          assertEquals(f.epoch(), reset.path("epoch").asText(), dbs.get(i));
          assertHoldsExactlyReadable(f, dbs.get(i), now[i], ALICE);
          // resuming once more from the new cursor and epoch needs no reset
          Feed again = Feed.open(alice, subFrom(dbs.get(i), f.cursor(), f.epoch()));
          again.awaitSynced(0);
          assertEquals(List.of(), again.resets(), dbs.get(i) + ": unchanged access, no reset");
        }
      }
    }
  }

  // ---- (f) no gap, no duplicate ----

  @Test
  @DisplayName("while writers push, policies, roles and owners change; each reader's copy after its last reset is exactly its readable part of the server")
  void noGapNoDuplicateUnderChanges() throws Exception {
    String db = "flux";
    Pol start = readBy("$owner", "role:editor");
    newDb(db, start);
    Random rng = new Random(7);
    int pushes = 250;
    try (WsClient aliceW = as(ALICE); WsClient bobW = as(BOB); WsClient carolW = as(CAROL);
        WsClient aliceR = as(ALICE); WsClient carolR = as(CAROL)) {
      write(aliceW, db, "items", "alice-0", "n", -1);
      write(bobW, db, "items", "bob-0", "n", -1);
      write(carolW, db, "memo", "carol-0", "n", -1);
      // the documents the owner changes below move
      write(bobW, db, "items", "bob-1", "n", -1);
      write(aliceW, db, "items", "alice-2", "n", -1);
      write(bobW, db, "memo", "bob-3", "n", -1);
      Feed fa = Feed.open(aliceR, sub(db, 0));
      Feed fc = Feed.open(carolR, sub(db, 0));
      AtomicReference<Throwable> failed = new AtomicReference<>();
      List<Thread> writers = new ArrayList<>();
      for (Object[] w : new Object[][] {{aliceW, "alice"}, {bobW, "bob"}, {carolW, "carol"}}) {
        WsClient c = (WsClient) w[0];
        String name = (String) w[1];
        long seed = rng.nextLong();
        Thread t = new Thread(() -> {
          Random r = new Random(seed);
          try {
            for (int i = 0; i < pushes; i++) {
              List<JsonNode> deltas = new ArrayList<>();
              int n = 1 + r.nextInt(3);
              for (int k = 0; k < n; k++) {
                String col = r.nextInt(3) == 0 ? "memo" : "items";
                // mostly own documents, sometimes another writer's (update is granted to all users)
                String owner = r.nextInt(4) == 0 ? List.of("alice", "bob", "carol").get(r.nextInt(3)) : name;
                String id = owner + "-" + r.nextInt(12);
                // the documents owner.set gives away below are never destroyed: owner.set refuses a destroyed one
                String attr = r.nextInt(10) == 0 && !GIVEN_AWAY.contains(col + "/" + id) ? "$deleted" : "a" + r.nextInt(3);
                Object value = attr.equals("$deleted") ? (Object) r.nextBoolean() : name + " " + i;
                deltas.add(delta(col, id, attr, value, ts(CLOCK.incrementAndGet(), 0, c.clientId())));
              }
              JsonNode ack = c.request(push(db, deltas.toArray(JsonNode[]::new)));
              if (!"ack".equals(ack.path("type").asText())) throw new AssertionError(name + ": " + ack);
            }
          } catch (Throwable e) {
            failed.compareAndSet(null, e);
          }
        });
        writers.add(t);
        t.start();
      }
      // access changes, spread over the writes
      Pol memoOpen = Pol.of(READ, List.of("$user"), CREATE, List.of("$user"), UPDATE, List.of("$user"));
      // the resets each reader needs, at least: alice 1 3 4 5 7 8, carol 1 6 7 8 9 (a reader
      // that may read only what it owns in a collection is also reset when any document of that
      // collection changes owner, so alice's count may include 9)
      List<Runnable> changes = List.of(
          () -> setPolicy(db, null, readBy("$user")),
          () -> setRoles(CAROL, "editor"),
          () -> setPolicy(db, null, readBy("$owner", "role:editor")),
          () -> setOwner(db, "items", "bob-1", "alice"),
          () -> setPolicy(db, "memo", memoOpen),
          () -> setRoles(CAROL),
          () -> setOwner(db, "items", "alice-2", "carol"),
          () -> setPolicy(db, "memo", null),
          () -> setOwner(db, "memo", "bob-3", "carol"),
          () -> setPolicy(db, null, readBy("$owner")));
      for (Runnable change : changes) {
        Thread.sleep(20 + rng.nextInt(40)); // spreads the changes over the stream of writes
        change.run();
      }
      for (Thread t : writers) t.join();
      assertNull(failed.get(), () -> "a writer failed: " + failed.get());
      Policies end = Policies.of(readBy("$owner"));

      // barrier: each reader's own new document arrives after everything before it
      marker(fa, aliceW, db);
      marker(fc, carolW, db);
      fa.awaitSynced(fa.resets().size());
      fc.awaitSynced(fc.resets().size());
      for (Object[] r : new Object[][] {{fa, ALICE, 6}, {fc, CAROL, 5}}) {
        Feed f = (Feed) r[0];
        Who who = (Who) r[1];
        int needed = (Integer) r[2];
        assertTrue(f.resets().size() >= needed && f.resets().size() <= changes.size(),
            who + " needs " + needed + " resets, at most one per change; got " + f.resets().size());
        for (List<JsonNode> segment : f.segments()) {
          Replica seg = new Replica();
          segment.forEach(seg::apply);
          assertNull(seg.violation(), who + ": seqs must only increase between resets (no duplicate, no reordering)");
        }
        assertHoldsExactlyReadable(f, db, end, who);
      }
    }
  }

  // ---- (g) $system ----

  @Test
  @DisplayName("$system: an admin's subscription carries users, policies and audit but never a password hash nor secrets; others are refused")
  void systemDatabase() {
    try (WsClient adm = server.connectAs("sys-admin", "admin", TestServer.ADMIN_PASSWORD);
        WsClient alice = as(ALICE); WsClient anon = server.connect("sys-anon")) {
      Feed f = Feed.open(adm, sub("$system", 0));
      Feed usersOnly = Feed.open(adm, WsClient.obj("sub").put("db", "$system").set("cols", Json.MAPPER.createArrayNode().add("users")));
      f.awaitSynced(0);
      usersOnly.awaitSynced(0);
      // live: a new user, a new password, new roles, a policy
      ok(server.admin(admin("user.create", args().put("username", "gina").put("password", "gina-password-1"))));
      ok(server.admin(admin("user.update", args().put("username", "gina").put("password", "gina-password-2"))));
      newDb("sys-watch", readBy("$user"));
      ObjectNode roles = args().put("username", "gina");
      roles.putArray("roles").add("done");
      ok(server.admin(admin("user.update", roles)));
      for (Feed feed : List.of(f, usersOnly)) {
        feed.awaitDelta(d -> d.get("col").asText().equals("users") && d.get("id").asText().equals("gina")
            && d.get("attr").asText().equals("roles") && d.get("value").toString().contains("done"), "gina's new roles");
      }
      List<JsonNode> all = new ArrayList<>(f.allDeltas());
      all.addAll(usersOnly.allDeltas());
      for (JsonNode d : all) {
        assertNotEquals("secrets", d.get("col").asText(), "a secret left the server: " + d);
        assertNotEquals("passwordHash", d.get("attr").asText(), "a password hash left the server: " + d);
        assertFalse(d.toString().contains("$argon2"), "a password hash left the server: " + d);
      }
      assertTrue(all.stream().anyMatch(d -> d.get("col").asText().equals("users") && d.get("id").asText().equals("alice")),
          "users arrive");
      assertTrue(all.stream().anyMatch(d -> d.get("col").asText().equals("policies") && d.get("id").asText().equals("sys-watch")),
          "policies arrive");
      assertTrue(all.stream().anyMatch(d -> d.get("col").asText().equals("audit")), "audit entries arrive");

      // only the secrets: nothing may be sent
      JsonNode secrets = adm.request(WsClient.obj("sub").put("db", "$system").set("cols", Json.MAPPER.createArrayNode().add("secrets")));
      if ("subscribed".equals(secrets.path("type").asText())) {
        String sid = secrets.get("sid").asText();
        adm.await(m -> Feed.type(m, "synced") && sid.equals(m.path("sid").asText()));
        assertTrue(adm.received().stream().noneMatch(m -> Feed.type(m, "changes") && sid.equals(m.path("sid").asText())),
            "the secrets collection must not be sent");
      } else {
        assertEquals("forbidden", secrets.path("code").asText(), secrets.toString());
      }

      for (WsClient c : List.of(alice, anon)) {
        JsonNode refused = c.request(sub("$system", 0));
        assertEquals("forbidden", refused.path("code").asText(), refused.toString());
        JsonNode refusedCols = c.request(WsClient.obj("sub").put("db", "$system").set("cols", Json.MAPPER.createArrayNode().add("users")));
        assertEquals("forbidden", refusedCols.path("code").asText(), refusedCols.toString());
      }
    }
  }

  @Test
  @DisplayName("$system: users granted read of $system/users by policy still never receive password hashes, and lose the read live")
  void systemReadGrantedByPolicy() {
    try (TestServer own = TestServer.start(c -> c.newDatabasePolicy = null)) {
      ok(own.admin(admin("user.create", args().put("username", "alice").put("password", PASSWORD))));
      ok(own.admin(admin("policy.set", args().put("db", "$system").put("col", "users")
          .set("policy", Pol.of(READ, List.of("$user")).json()))));
      try (WsClient alice = own.connectAs("alice-sys", "alice", PASSWORD)) {
        Feed f = Feed.open(alice, sub("$system", 0));
        f.awaitSynced(0);
        List<JsonNode> got = f.allDeltas();
        assertTrue(got.stream().anyMatch(d -> d.get("id").asText().equals("admin")), "the users collection arrives: " + got);
        for (JsonNode d : got) {
          assertEquals("users", d.get("col").asText(), "only users may be read: " + d);
          assertNotEquals("passwordHash", d.get("attr").asText(), "a password hash left the server: " + d);
        }
        ok(own.admin(admin("policy.set", args().put("db", "$system").put("col", "users").set("policy", null))));
        f.awaitReset(1);
        alice.until(() -> f.lastSegment().stream().anyMatch(m -> Feed.type(m, "synced") || Feed.type(m, "error")),
            "the end of the catch-up: " + f.tail());
        assertEquals(Map.of(), f.replica().registers(), "after the grant is removed alice holds nothing of $system");
        JsonNode refused = alice.request(sub("$system", 0));
        assertEquals("forbidden", refused.path("code").asText(), refused.toString());
      }
    }
  }

  @Test
  @DisplayName("$system: an admin demoted while subscribed is reset to nothing and gets no later user changes")
  void demotedAdminLosesSystem() {
    Who second = new Who("second-admin", Set.of("admin"));
    createUser(second);
    newDb("sys-barrier", readBy("$user"));
    try (WsClient c = as(second)) {
      Feed f = Feed.open(c, sub("$system", 0));
      Feed barrier = Feed.open(c, sub("sys-barrier", 0));
      f.awaitSynced(0);
      barrier.awaitSynced(0);
      assertTrue(f.allDeltas().stream().anyMatch(d -> d.get("col").asText().equals("users")), "an admin reads the users");

      setRoles(second);
      f.awaitReset(1);
      c.until(() -> f.lastSegment().stream().anyMatch(m -> Feed.type(m, "synced") || Feed.type(m, "error")),
          "the end of the catch-up after the demotion: " + f.tail());
      assertEquals(Map.of(), f.replica().registers(), "a demoted admin holds nothing of $system");
      createUser(new Who("henry", Set.of()));
      marker(barrier, c, "sys-barrier");
      assertEquals(Map.of(), f.replica().registers(), "no later change of $system reaches the demoted admin: " + f.lastSegment());
      JsonNode refused = c.request(sub("$system", 0));
      assertEquals("forbidden", refused.path("code").asText(), refused.toString());
    }
  }

  @Test
  @DisplayName("a user disabled while subscribed is told unauthenticated and disconnected with 1008")
  void disabledUserIsDisconnected() {
    Who ivan = new Who("ivan", Set.of());
    createUser(ivan);
    newDb("disable-me", readBy("$user"));
    try (WsClient c = as(ivan)) {
      Feed f = Feed.open(c, sub("disable-me", 0));
      f.awaitSynced(0);
      ok(server.admin(admin("user.update", args().put("username", "ivan").put("disabled", true))));
      assertEquals(1008, c.awaitClose());
      assertTrue(c.received().stream().anyMatch(m -> Feed.type(m, "error") && "unauthenticated".equals(m.path("code").asText())),
          "told why: " + c.received());
    }
  }
}

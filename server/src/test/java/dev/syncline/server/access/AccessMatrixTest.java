package dev.syncline.server.access;

import static dev.syncline.server.access.AccessModel.Action.CREATE;
import static dev.syncline.server.access.AccessModel.Action.DESTROY;
import static dev.syncline.server.access.AccessModel.Action.READ;
import static dev.syncline.server.access.AccessModel.Action.UPDATE;
import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.access.AccessModel.Action;
import dev.syncline.server.access.AccessModel.Pol;
import dev.syncline.server.access.AccessModel.Policies;
import dev.syncline.server.access.AccessModel.Who;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A generated matrix of callers × policies × actions, each cell checked against {@link AccessModel}.
 *
 * <p>Each group gets a fresh database: created open, seeded with one document per caller and
 * collection (so each signed-in caller owns one, and the anonymous one has no owner), then given
 * the group's policies. Every caller then pushes one create, an update of every seeded document
 * (its own and everyone else's) and destroys of some, and every answer in {@code ack.results} is
 * checked. Every caller that may read something is subscribed while those writes happen, and its
 * live copy must end up as exactly the registers it may read of the model's state (so a refused
 * write that was stored or sent anyway is caught, and so is a live filter that leaks or drops).
 * Then every caller subscribes again to the whole database and to each collection, and must be
 * refused exactly when it may read nothing there, and otherwise catch up exactly the registers it
 * may read; the admin's catch-up is the whole state.
 *
 * <p>The seed is printed in every failure; run one again with {@code -Dsyncline.access.seed=N}.
 */
@DisplayName("Access policies: a generated matrix of callers, policies and actions against a reference model")
class AccessMatrixTest {
  static final long SEED = Long.getLong("syncline.access.seed", 20240611L);
  static final int RANDOM_GROUPS = Integer.getInteger("syncline.access.groups", 30);
  static final String PASSWORD = "password-of-a-test-user";
  static final List<String> COLS = List.of("items", "notes");
  /** Principals the generator draws from; {@code role:nobody} and {@code user:ghost} match no caller. */
  static final List<String> POOL = List.of("$all", "$user", "$owner", "$owner", "role:editor", "role:viewer",
      "role:nobody", "user:plain", "user:ed", "user:ghost");

  static TestServer server;
  /** Every caller, in a fixed order, with its connection. */
  static final Map<String, Who> WHO = new LinkedHashMap<>();
  static final Map<String, WsClient> CONN = new LinkedHashMap<>();
  /** A database everyone reads; a marker written to it after a group's writes orders each caller's live frames. */
  static final String BARRIER = "barrier";
  static final Map<String, String> BARRIER_SIDS = new LinkedHashMap<>();
  /** Distinct, increasing timestamps: one millisecond per delta, starting in the past, so none is ahead of the server. */
  static final AtomicLong CLOCK = new AtomicLong(System.currentTimeMillis() - 30 * 60_000);

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.newDatabasePolicy = null; // the production default: every action for signed-in users
      c.durability = "async";
    });
    WHO.put("anon", Who.ANONYMOUS);
    WHO.put("plain", new Who("plain", Set.of()));
    WHO.put("ed", new Who("ed", Set.of("editor")));
    WHO.put("vi", new Who("vi", Set.of("viewer")));
    WHO.put("multi", new Who("multi", Set.of("editor", "viewer")));
    WHO.put("boss", new Who("boss", Set.of("admin")));
    for (Who w : WHO.values()) {
      if (!w.signedIn()) continue;
      ObjectNode a = args().put("username", w.name()).put("password", PASSWORD);
      w.roles().forEach(a.putArray("roles")::add);
      ok(server.admin(admin("user.create", a)));
    }
    WHO.forEach((key, w) -> CONN.put(key, w.signedIn() ? server.connectAs("c-" + key, w.name(), PASSWORD) : server.connect("c-" + key)));
    ok(server.admin(admin("db.create", args().put("db", BARRIER).<ObjectNode>set("policy", Pol.uniform("$all").json()))));
    CONN.forEach((key, c) -> {
      JsonNode s = c.request(WsClient.obj("sub").put("db", BARRIER));
      assertEquals("subscribed", s.path("type").asText(), s.toString());
      BARRIER_SIDS.put(key, s.get("sid").asText());
    });
  }

  @AfterAll
  static void stop() {
    CONN.values().forEach(WsClient::close);
    server.close();
  }

  static JsonNode ok(JsonNode answer) {
    assertEquals("result", answer.path("type").asText(), answer.toString());
    return answer.get("data");
  }

  /** The next timestamp for a delta pushed on {@code c}: its ORIGIN is the connection's clientId. */
  static String nextTs(WsClient c) {
    return ts(CLOCK.incrementAndGet(), 0, c.clientId());
  }

  // ---- the generator ----

  static Pol randomPolicy(Random rng) {
    Map<Action, List<String>> g = new java.util.EnumMap<>(Action.class);
    for (Action a : Action.values()) {
      int r = rng.nextInt(10);
      if (r < 2) continue; // missing: nobody
      if (r == 2) {
        g.put(a, List.of()); // empty: nobody
        continue;
      }
      List<String> p = new ArrayList<>();
      int n = 1 + rng.nextInt(3);
      for (int i = 0; i < n; i++) {
        String pick = POOL.get(rng.nextInt(POOL.size()));
        // $all makes the rest moot: keep it rarer, so the finer principals decide most cells
        if (pick.equals("$all") && rng.nextInt(3) != 0) pick = "$owner";
        if (!p.contains(pick)) p.add(pick);
      }
      g.put(a, p);
    }
    return new Pol(g);
  }

  /** Fixed groups first (default deny, empty lists, the default policy, overrides both ways), then generated ones. */
  static List<Policies> groups(Random rng) {
    List<Policies> out = new ArrayList<>();
    out.add(Policies.of(new Pol(Map.of()))); // nothing granted: everything denied but to admins
    out.add(Policies.of(Pol.uniform())); // every action an empty list: the same
    out.add(Policies.of(null)); // no stored policy: the default, every action for signed-in users
    out.add(Policies.of(new Pol(Map.of())).withCollection("notes", Pol.uniform("$all")));
    out.add(Policies.of(Pol.uniform("$all")).withCollection("notes", new Pol(Map.of())));
    out.add(Policies.of(Pol.uniform("$owner")));
    out.add(Policies.of(Pol.uniform("role:editor")).withCollection("notes", Pol.uniform("user:vi", "$owner")));
    out.add(Policies.of(Pol.of(READ, List.of("$user"), CREATE, List.of("$user"), UPDATE, List.of("$owner"),
        DESTROY, List.of("role:editor"))));
    for (int i = 0; i < RANDOM_GROUPS; i++) {
      int shape = rng.nextInt(4);
      Pol db = shape == 0 ? null : randomPolicy(rng);
      Policies p = Policies.of(db);
      if (shape >= 2) p = p.withCollection("notes", randomPolicy(rng));
      out.add(p);
    }
    return out;
  }

  // ---- the matrix ----

  /** One pushed delta and what the model says about it. */
  record Cell(String caller, Action action, String col, String id, String attr, JsonNode value, String ts,
      String owner, boolean allowed) {
    String describe() {
      return caller + " " + action.wire() + " " + col + "/" + id + "." + attr + " (owner " + owner + ")";
    }
  }

  @Test
  @DisplayName("every caller may read, create, update and destroy exactly what the policies grant it, and nothing else")
  void matrix() {
    Random rng = new Random(SEED);
    List<Policies> groups = groups(rng);
    List<String> failures = new ArrayList<>();
    int[] counts = new int[4]; // allowed writes, refused writes, readable subs, refused subs
    for (int g = 0; g < groups.size(); g++) {
      runGroup(g, groups.get(g), rng, failures, counts);
    }
    String report = "seed " + SEED + " (rerun with -Dsyncline.access.seed=" + SEED + "): " + failures.size()
        + " cells differ from the model:\n  " + String.join("\n  ", failures.subList(0, Math.min(60, failures.size())));
    assertTrue(failures.isEmpty(), report);
    // the generator must have produced both answers plenty of times, or the matrix proves little
    assertTrue(counts[0] > 200 && counts[1] > 200, "seed " + SEED + ": writes allowed/refused " + counts[0] + "/" + counts[1]);
    assertTrue(counts[2] > 50 && counts[3] > 50, "seed " + SEED + ": subs readable/refused " + counts[2] + "/" + counts[3]);
  }

  private void runGroup(int g, Policies policies, Random rng, List<String> failures, int[] counts) {
    String db = "matrix-" + g;
    String where = "seed " + SEED + ", group " + g + " " + policies + ": ";
    // 1. a fresh database, open to anyone while it is seeded
    JsonNode created = ok(server.admin(admin("db.create", args().put("db", db).<ObjectNode>set("policy", Pol.uniform("$all").json()))));
    String dbEpoch = created.get("epoch").asText();
    Map<String, Replica.Reg> state = new java.util.HashMap<>();
    for (String caller : WHO.keySet()) {
      Who who = WHO.get(caller);
      List<JsonNode> deltas = new ArrayList<>();
      for (String col : COLS) {
        String t = nextTs(CONN.get(caller));
        deltas.add(delta(col, "own-" + caller, "v", "seed", t));
        state.put(col + "/own-" + caller + "/v", new Replica.Reg(AccessModel.text("seed"), t));
        if (who.signedIn()) state.put(col + "/own-" + caller + "/$owner", new Replica.Reg(AccessModel.text(who.name()), t));
      }
      JsonNode ack = CONN.get(caller).request(push(db, deltas.toArray(JsonNode[]::new)));
      for (JsonNode r : ack.path("results")) assertEquals("applied", r.asText(), where + "seeding as " + caller + ": " + ack);
    }
    // 2. the group's policies
    ok(server.admin(admin("policy.set", args().put("db", db).set("policy",
        policies.db() == null ? null : policies.db().json()))));
    policies.collections().forEach((col, p) ->
        ok(server.admin(admin("policy.set", args().put("db", db).put("col", col).set("policy", p.json())))));

    // live readers: every caller that may read something subscribes before the writes, so the
    // writes below reach it through the live path (filtered per batch), not a store read
    Map<String, String> liveSids = new LinkedHashMap<>();
    for (String caller : WHO.keySet()) {
      if (COLS.stream().noneMatch(c -> AccessModel.mayReadSome(policies, c, WHO.get(caller)))) continue;
      JsonNode answer = CONN.get(caller).request(WsClient.obj("sub").put("db", db));
      if (!"subscribed".equals(answer.path("type").asText())) {
        failures.add(where + caller + " live read: expected subscribed, got " + answer);
        continue;
      }
      String sid = answer.get("sid").asText();
      CONN.get(caller).await(m -> Feed.type(m, "synced") && sid.equals(m.path("sid").asText()));
      liveSids.put(caller, sid);
    }

    // 3. writes: each caller, in a random order, one push of creates, updates and destroys
    List<String> callers = new ArrayList<>(WHO.keySet());
    java.util.Collections.shuffle(callers, rng);
    for (String caller : callers) {
      Who who = WHO.get(caller);
      List<Cell> cells = new ArrayList<>();
      for (String col : COLS) {
        // create: the would-be owner is the writer itself
        cells.add(cell(caller, CREATE, col, "new-" + caller, "v", AccessModel.text("made by " + caller), who.name(), policies, who));
        for (String target : WHO.keySet()) {
          String owner = WHO.get(target).name(); // the anonymous caller's document has no owner
          cells.add(cell(caller, UPDATE, col, "own-" + target, "by-" + caller,
              rng.nextInt(8) == 0 ? com.fasterxml.jackson.databind.node.NullNode.getInstance() // a removal is an update too
                  : AccessModel.text("g" + g), owner, policies, who));
          if (rng.nextInt(3) == 0) {
            cells.add(cell(caller, DESTROY, col, "own-" + target, "$deleted",
                com.fasterxml.jackson.databind.node.BooleanNode.valueOf(rng.nextBoolean()), owner, policies, who));
          }
        }
      }
      java.util.Collections.shuffle(cells, rng);
      JsonNode ack = CONN.get(caller).request(push(db, cells.stream().map(c -> (JsonNode) delta(c.col(), c.id(), c.attr(), c.value(), c.ts())).toArray(JsonNode[]::new)));
      if (!"ack".equals(ack.path("type").asText())) {
        failures.add(where + caller + "'s push was answered " + ack);
        continue;
      }
      for (int i = 0; i < cells.size(); i++) {
        Cell c = cells.get(i);
        JsonNode r = ack.get("results").get(i);
        boolean applied = "applied".equals(r.asText());
        boolean forbidden = "forbidden".equals(r.path("error").asText());
        if (c.allowed() ? !applied : !forbidden) {
          failures.add(where + c.describe() + ": expected " + (c.allowed() ? "applied" : "forbidden") + ", got " + r);
        }
        counts[c.allowed() ? 0 : 1]++;
        if (c.allowed()) {
          state.put(c.col() + "/" + c.id() + "/" + c.attr(), new Replica.Reg(c.value(), c.ts()));
          if (c.action() == CREATE && who.signedIn()) {
            state.put(c.col() + "/" + c.id() + "/$owner", new Replica.Reg(AccessModel.text(who.name()), c.ts()));
          }
        }
      }
    }

    // the live readers: once a marker written after every write reaches a caller's barrier
    // subscription (same connection, so in commit order), its live copy must be complete
    String marker = "after-group-" + g;
    JsonNode markAck = CONN.get("boss").request(push(BARRIER, delta("marks", marker, "v", g, nextTs(CONN.get("boss")))));
    assertEquals("applied", markAck.path("results").path(0).asText(), markAck.toString());
    liveSids.forEach((caller, sid) -> {
      WsClient client = CONN.get(caller);
      String barrierSid = BARRIER_SIDS.get(caller);
      client.await(m -> Feed.type(m, "changes") && barrierSid.equals(m.path("sid").asText())
          && m.get("deltas").toString().contains("\"" + marker + "\""));
      Replica live = new Replica();
      boolean reset = false;
      for (JsonNode m : client.received()) {
        if (!sid.equals(m.path("sid").asText())) continue;
        if (Feed.type(m, "reset")) reset = true;
        live.apply(m);
      }
      String cellName = where + caller + " live read: ";
      if (reset) failures.add(cellName + "reset, though nothing about its access changed");
      if (live.violation() != null) failures.add(cellName + live.violation());
      List<String> diff = AccessModel.diff(AccessModel.readable(state, policies, WHO.get(caller), null), live.registers());
      if (!diff.isEmpty()) failures.add(cellName + "live copy differs: " + diff);
      client.request(WsClient.obj("unsub").put("sid", sid));
    });

    // 4. reads: the whole database, then each collection
    List<Set<String>> colSets = new ArrayList<>();
    colSets.add(null);
    COLS.forEach(c -> colSets.add(Set.of(c)));
    for (String caller : WHO.keySet()) {
      Who who = WHO.get(caller);
      WsClient client = CONN.get(caller);
      for (Set<String> cols : colSets) {
        Set<String> in = cols == null ? Set.copyOf(COLS) : cols;
        boolean some = in.stream().anyMatch(c -> AccessModel.mayReadSome(policies, c, who));
        boolean all = in.stream().allMatch(c -> AccessModel.readsAll(policies, c, who));
        ObjectNode sub = WsClient.obj("sub").put("db", db);
        if (cols != null) cols.forEach(sub.putArray("cols")::add);
        JsonNode answer = client.request(sub);
        String cellName = where + caller + " read " + (cols == null ? "(all)" : cols) + ": ";
        counts[some ? 2 : 3]++;
        if (!some) {
          if (!"forbidden".equals(answer.path("code").asText())) failures.add(cellName + "expected forbidden, got " + answer);
          if ("subscribed".equals(answer.path("type").asText())) client.request(WsClient.obj("unsub").put("sid", answer.get("sid").asText()));
          continue;
        }
        if (!"subscribed".equals(answer.path("type").asText())) {
          failures.add(cellName + "expected subscribed, got " + answer);
          continue;
        }
        String sid = answer.get("sid").asText();
        client.await(m -> Feed.type(m, "synced") && sid.equals(m.path("sid").asText()));
        Replica r = new Replica();
        for (JsonNode m : client.received()) if (Feed.type(m, "changes") && sid.equals(m.path("sid").asText())) r.apply(m);
        List<String> diff = AccessModel.diff(AccessModel.readable(state, policies, who, cols), r.registers());
        if (!diff.isEmpty()) failures.add(cellName + "catch-up differs: " + diff);
        // the epoch is the database's own exactly when nothing is filtered out; the epoch of the
        // database itself is what an admin reads (a subscription with a collection filter never reads it all)
        String epoch = answer.get("epoch").asText();
        if (cols == null && all && !epoch.equals(dbEpoch)) failures.add(cellName + "reads everything, yet epoch " + epoch + " is not the database's " + dbEpoch);
        if (!all && !epoch.startsWith(dbEpoch + ".")) failures.add(cellName + "reads a part, yet epoch " + epoch + " is not " + dbEpoch + ".DIGEST");
        JsonNode unsub = client.request(WsClient.obj("unsub").put("sid", sid));
        assertEquals("ok", unsub.path("type").asText(), unsub.toString());
      }
    }
  }

  private static Cell cell(String caller, Action action, String col, String id, String attr, JsonNode value,
      String owner, Policies policies, Who who) {
    return new Cell(caller, action, col, id, attr, value, nextTs(CONN.get(caller)), owner,
        AccessModel.allowed(policies, col, action, who, owner));
  }

  // ---- what counts as create, update and destroy ----

  /** A fresh database with {@code policy}. */
  private static String database(String name, Pol policy) {
    ok(server.admin(admin("db.create", args().put("db", name).<ObjectNode>set("policy", policy.json()))));
    return name;
  }

  private static List<String> results(JsonNode ack) {
    assertEquals("ack", ack.path("type").asText(), ack.toString());
    List<String> out = new ArrayList<>();
    ack.get("results").forEach(r -> out.add(r.isTextual() ? r.asText() : r.path("error").asText()));
    return out;
  }

  @Test
  @DisplayName("every delta of the push that creates a document is a create, even several attributes of it")
  void wholeCreatingPushIsCreate() {
    WsClient plain = CONN.get("plain");
    String db = database("create-only", Pol.of(READ, List.of("$user"), CREATE, List.of("$user")));
    assertEquals(List.of("applied", "applied", "applied"), results(plain.request(push(db,
        delta("t", "a", "x", 1, nextTs(plain)), delta("t", "a", "y", 2, nextTs(plain)), delta("t", "a", "z", 3, nextTs(plain))))));
    // the next push to it is an update, which nobody was granted
    assertEquals(List.of("forbidden"), results(plain.request(push(db, delta("t", "a", "x", 4, nextTs(plain))))));

    String db2 = database("update-only", Pol.of(READ, List.of("$user"), UPDATE, List.of("$user"), DESTROY, List.of("$user")));
    assertEquals(List.of("forbidden", "forbidden"), results(plain.request(push(db2,
        delta("t", "a", "x", 1, nextTs(plain)), delta("t", "a", "y", 2, nextTs(plain))))),
        "without create, no attribute of a new document may be written");
  }

  @Test
  @DisplayName("a removal (value null) of an existing attribute is an update, and $deleted false is a destroy")
  void removalIsUpdateAndRestoreIsDestroy() {
    WsClient plain = CONN.get("plain");
    String db = database("classify", Pol.of(READ, List.of("$user"), CREATE, List.of("$user")));
    assertEquals(List.of("applied"), results(plain.request(push(db, delta("t", "a", "x", 1, nextTs(plain))))));
    assertEquals(List.of("forbidden", "forbidden", "forbidden"), results(plain.request(push(db,
        delta("t", "a", "x", null, nextTs(plain)), delta("t", "a", "$deleted", true, nextTs(plain)),
        delta("t", "a", "$deleted", false, nextTs(plain))))));
    ok(server.admin(admin("policy.set", args().put("db", db).set("policy",
        Pol.of(READ, List.of("$user"), DESTROY, List.of("$owner")).json()))));
    assertEquals(List.of("forbidden", "applied", "applied"), results(plain.request(push(db,
        delta("t", "a", "x", null, nextTs(plain)), delta("t", "a", "$deleted", true, nextTs(plain)),
        delta("t", "a", "$deleted", false, nextTs(plain))))));
    // a write to a destroyed document is an update of it, not a new document
    assertEquals(List.of("applied"), results(plain.request(push(db, delta("t", "a", "$deleted", true, nextTs(plain))))));
    assertEquals(List.of("forbidden"), results(plain.request(push(db, delta("t", "a", "y", 1, nextTs(plain))))));
  }

  @Test
  @DisplayName("a first write of $deleted creates the document, so it needs create permission")
  void deletedOnNewDocumentNeedsCreate() {
    WsClient plain = CONN.get("plain");
    // users may edit and remove documents, but not make new ones
    String db = database("no-create", Pol.of(READ, List.of("$user"), UPDATE, List.of("$user"), DESTROY, List.of("$user")));
    JsonNode ack = plain.request(push(db, delta("t", "fresh", "$deleted", false, nextTs(plain))));
    JsonNode stats = ok(server.admin(admin("db.stats", args().put("db", db))));
    JsonNode ack2 = plain.request(push(db, delta("t", "fresh", "title", "made without create", nextTs(plain))));
    assertEquals(List.of("forbidden"), results(ack),
        "a $deleted write to a document that does not exist creates it (documents=" + stats.get("documents")
            + " after it); then an update writes to it: " + ack2);
  }

  @Test
  @DisplayName("a database destroyed and created again starts with its new policy only, not the collection overrides of the old one")
  void recreatedDatabaseForgetsOldPolicies() {
    String db = database("reborn", Pol.uniform("$user"));
    ok(server.admin(admin("policy.set", args().put("db", db).put("col", "notes").set("policy", Pol.uniform("$all").json()))));
    ok(server.admin(admin("db.destroy", args().put("db", db))));
    ok(server.admin(admin("db.create", args().put("db", db)))); // the default: every action for signed-in users
    JsonNode got = ok(server.admin(admin("policy.get", args().put("db", db).put("col", "notes"))));
    JsonNode sub = CONN.get("anon").request(WsClient.obj("sub").put("db", db).set("cols",
        dev.syncline.protocol.Json.MAPPER.createArrayNode().add("notes")));
    // stamped after the destroy: a delta stamped at or before it is superseded whatever the policy
    // (PROTOCOL.md §12 db.destroy, §17.6), and this test is about the policy
    CLOCK.accumulateAndGet(System.currentTimeMillis(), Math::max);
    JsonNode ack = CONN.get("anon").request(push(db, delta("notes", "n1", "v", "anonymous", nextTs(CONN.get("anon")))));
    assertTrue(got.get("policy").isNull(), "the new database has no collection policy on notes, yet policy.get says " + got
        + "; anonymous sub answered " + sub + ", anonymous push answered " + ack);
    assertEquals("forbidden", sub.path("code").asText(), sub.toString());
    assertEquals(List.of("forbidden"), results(ack));
  }

  @Test
  @DisplayName("a policy set while its database is being destroyed is refused (not_found), not kept for its next life")
  void policySetRacingADestroy() {
    String db = database("raced", Pol.uniform("$user"));
    try (WsClient a = server.connectAs("racing-admin", "admin", dev.syncline.server.testing.TestServer.ADMIN_PASSWORD)) {
      long destroy = a.sendWithRid(admin("db.destroy", args().put("db", db)));
      long set = a.sendWithRid(admin("policy.set", args().put("db", db).put("col", "notes").set("policy", Pol.uniform("$all").json())));
      assertEquals("result", a.await(m -> m.path("rid").asLong() == destroy).path("type").asText());
      JsonNode setAnswer = a.await(m -> m.path("rid").asLong() == set);
      assertEquals("not_found", setAnswer.path("code").asText(), setAnswer.toString());
    }
    ok(server.admin(admin("db.create", args().put("db", db))));
    JsonNode got = ok(server.admin(admin("policy.get", args().put("db", db).put("col", "notes"))));
    assertTrue(got.get("policy").isNull(), "the new life has no policy on notes: " + got);
  }

  @Test
  @DisplayName("under an $owner rule, owner.set moves the right to update and destroy with the document")
  void ownerSetMovesWriteRights() {
    String db = database("owner-rights", Pol.of(READ, List.of("$user"), CREATE, List.of("$user"),
        UPDATE, List.of("$owner"), DESTROY, List.of("$owner")));
    WsClient plain = CONN.get("plain");
    WsClient ed = CONN.get("ed");
    assertEquals(List.of("applied"), results(plain.request(push(db, delta("t", "d", "v", 1, nextTs(plain))))));
    assertEquals(List.of("forbidden", "forbidden"), results(ed.request(push(db,
        delta("t", "d", "v", 2, nextTs(ed)), delta("t", "d", "$deleted", true, nextTs(ed))))));
    ok(server.admin(admin("owner.set", args().put("db", db).put("col", "t").put("id", "d").put("owner", "ed"))));
    assertEquals(List.of("applied", "applied"), results(ed.request(push(db,
        delta("t", "d", "v", 3, nextTs(ed)), delta("t", "d", "$deleted", true, nextTs(ed))))));
    assertEquals(List.of("forbidden", "forbidden"), results(plain.request(push(db,
        delta("t", "d", "v", 4, nextTs(plain)), delta("t", "d", "$deleted", false, nextTs(plain))))));
    // owner.set never makes a document
    JsonNode missing = server.admin(admin("owner.set", args().put("db", db).put("col", "t").put("id", "nope").put("owner", "ed")));
    assertEquals("not_found", missing.path("code").asText(), missing.toString());
  }

  @Test
  @DisplayName("policy.get reports the stored policy and the one in force, a collection override replacing the database's")
  void policyGet() {
    String db = database("get-me", Pol.of(READ, List.of("$user")));
    JsonNode none = ok(server.admin(admin("policy.get", args().put("db", db).put("col", "t"))));
    assertTrue(none.get("policy").isNull(), none.toString());
    assertEquals(List.of("$user"), strings(none.get("effective").get("read")), none.toString());
    Pol col = Pol.of(UPDATE, List.of("role:editor"));
    ok(server.admin(admin("policy.set", args().put("db", db).put("col", "t").set("policy", col.json()))));
    JsonNode got = ok(server.admin(admin("policy.get", args().put("db", db).put("col", "t"))));
    assertEquals(List.of(), strings(got.get("effective").get("read")), "the override replaces the database policy entirely: " + got);
    assertEquals(List.of("role:editor"), strings(got.get("effective").get("update")), got.toString());
    // a signed-in user without the role can read nothing of t, and nothing else is granted there
    JsonNode sub = CONN.get("plain").request(WsClient.obj("sub").put("db", db).set("cols",
        dev.syncline.protocol.Json.MAPPER.createArrayNode().add("t")));
    assertEquals("forbidden", sub.path("code").asText(), sub.toString());
  }

  @Test
  @DisplayName("non-admins may not run policy, owner or user admin ops; anonymous callers are told to sign in")
  void adminOpsNeedAdmin() {
    String db = database("ops", Pol.uniform("$all"));
    ok(server.admin(admin("user.create", args().put("username", "victim").put("password", PASSWORD))));
    for (String caller : List.of("anon", "plain", "ed", "multi")) {
      for (ObjectNode op : List.of(
          admin("policy.set", args().put("db", db).set("policy", Pol.uniform("$all").json())),
          admin("policy.get", args().put("db", db)),
          admin("owner.set", args().put("db", db).put("col", "t").put("id", "x").put("owner", "plain")),
          admin("user.update", args().put("username", "victim").set("roles", dev.syncline.protocol.Json.MAPPER.createArrayNode().add("admin"))),
          admin("user.list", args()))) {
        JsonNode answer = CONN.get(caller).request(op);
        String expected = caller.equals("anon") ? "unauthenticated" : "forbidden";
        assertEquals(expected, answer.path("code").asText(), caller + " " + op + " -> " + answer);
      }
    }
    JsonNode users = ok(CONN.get("boss").request(admin("user.list", args())));
    assertTrue(users.toString().contains("\"plain\"") && !users.toString().contains("passwordHash"), users.toString());
  }

  private static List<String> strings(JsonNode arr) {
    List<String> out = new ArrayList<>();
    if (arr != null) arr.forEach(n -> out.add(n.asText()));
    return out;
  }
}

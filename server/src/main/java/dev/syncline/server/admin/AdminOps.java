package dev.syncline.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.MessageCodec;
import dev.syncline.server.auth.Auth;
import dev.syncline.server.auth.AuthException;
import dev.syncline.server.auth.Caller;
import dev.syncline.server.auth.Policy;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.replication.Replication;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.Digests;
import dev.syncline.server.store.Store;
import io.vertx.core.Future;
import dev.syncline.protocol.Delta;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@code admin} ops of PROTOCOL.md. Reads answer from the store's metadata or the auth
 * directory; writes run on the committer thread, the store's only writer, and every change is
 * also written to {@code $system} (with who made it), so it is auditable and replicates. Must be
 * called on an event loop.
 *
 * <p>Only role {@code admin} may send admin ops, except the {@code user.*} and {@code policy.*}
 * ops, which a policy on {@code $system}'s {@code users} or {@code policies} collection may grant.
 */
public final class AdminOps {
  /** An op's handler and, for ops a {@code $system} policy may grant, what it needs. */
  private record Op(Handler handler, String collection, Policy.Action action) {}

  @FunctionalInterface
  interface Handler {
    Future<JsonNode> run(Caller caller, ObjectNode args);
  }

  private final Store store;
  private final Committer committer;
  private final Hub hub;
  private final Auth auth;
  private final Supplier<Future<ObjectNode>> serverStats;
  private final Replication replication;
  private final Map<String, Op> ops = new HashMap<>();
  private final InLine line;
  private final DatabaseLifecycle databases;

  public AdminOps(Store store, Committer committer, Hub hub, Auth auth, Replication replication, DatabaseLifecycle databases,
      Supplier<Future<ObjectNode>> serverStats, dev.syncline.protocol.Limits limits) {
    this.databases = databases;
    this.store = store;
    this.committer = committer;
    this.hub = hub;
    this.auth = auth;
    this.replication = replication;
    this.serverStats = serverStats;
    this.line = new InLine(auth);
    UserOps users = new UserOps(auth, committer, line, replication::cutOffFromAPeer);
    PolicyOps policies = new PolicyOps(store, auth, committer, limits, line);
    adminOnly("db.create", this::createDatabase);
    adminOnly("db.destroy", this::destroyDatabase);
    adminOnly("db.list", (c, args) -> Future.succeededFuture(listDatabases()));
    adminOnly("db.stats", (c, args) -> Future.succeededFuture(describe(existing(dbArg(args)))));
    adminOnly("db.digest", (c, args) -> Future.succeededFuture(digest(dbArg(args))));
    adminOnly("server.stats", (c, args) -> serverStats.get().map(s -> (JsonNode) s));
    adminOnly("peer.forget", this::forgetPeer);
    adminOnly("owner.set", policies::setOwner);
    granted("user.create", users::create, SystemDb.USERS, Policy.Action.CREATE);
    granted("user.update", users::update, SystemDb.USERS, Policy.Action.UPDATE);
    granted("user.delete", users::delete, SystemDb.USERS, Policy.Action.DESTROY);
    granted("user.list", users::list, SystemDb.USERS, Policy.Action.READ);
    granted("policy.get", policies::get, SystemDb.POLICIES, Policy.Action.READ);
    granted("policy.set", policies::set, SystemDb.POLICIES, Policy.Action.UPDATE);
  }

  private void adminOnly(String name, Handler h) {
    ops.put(name, new Op(h, null, null));
  }

  private void granted(String name, Handler h, String collection, Policy.Action action) {
    ops.put(name, new Op(h, collection, action));
  }

  /**
   * Runs an op for {@code caller}; the future fails with {@link AdminException} (or {@link
   * AuthException}, from a check of auth) for a refused or unknown op: {@code unauthenticated}
   * when not signed in, {@code forbidden} when not allowed.
   */
  public Future<JsonNode> handle(Caller asSignedIn, String op, ObjectNode args) {
    Op o = ops.get(op);
    // roles as they are now, not as they were when the session last heard of a change
    Caller caller = auth.refresh(asSignedIn);
    if (caller == null) return Future.failedFuture(new AdminException(ErrorCode.UNAUTHENTICATED, "op: sign in again"));
    if (o == null) {
      return Future.failedFuture(new AdminException(ErrorCode.BAD_REQUEST,
          "op: unknown admin op " + op + "; one of " + String.join(", ", new java.util.TreeSet<>(ops.keySet()))));
    }
    boolean allowed = caller.isAdmin() || (o.collection() != null && auth.mayManage(caller, o.collection(), o.action()));
    if (!allowed) {
      return Future.failedFuture(caller.signedIn()
          ? new AdminException(ErrorCode.FORBIDDEN, "op: " + op + " needs role admin")
          : new AdminException(ErrorCode.UNAUTHENTICATED, "op: sign in as an admin first"));
    }
    try {
      return o.handler().run(caller, args);
    } catch (AdminException | AuthException e) {
      return Future.failedFuture(e); // a refusal with its code, from the op or from auth's checks
    }
  }

  private Future<JsonNode> createDatabase(Caller caller, ObjectNode args) {
    String db = dbArg(args);
    if (db.startsWith("$")) throw new AdminException(ErrorCode.FORBIDDEN, "db: names starting with $ are reserved");
    Policy given = args.hasNonNull("policy") ? Policy.parse(args.get("policy"), "policy") : null;
    // in line with other database changes; the policy is stored before the database exists, so it
    // is never under another, even for a moment (and a retry still sets it). Without one given, the
    // server's policy for new databases, unless one is stored already: stored, it stays if that
    // setting changes, and a name once destroyed (admins only without one) is open again
    return line.run(caller, null, null, by -> {
      if (databases.destroying(db)) { // the retry would take the new one's data with the old
        throw new AdminException(ErrorCode.OVERLOADED, "db: " + db + " is still being destroyed; try again shortly", 1000L);
      }
      Policy initial = given != null ? given
          : auth.directory().storedPolicy(db, null) == null ? auth.newDatabasePolicy() : null;
      Future<?> policyFirst = initial == null ? Future.succeededFuture()
          : committer.push(SystemDb.NAME, auth.system().setPolicy(db, null, initial, caller.user()));
      return policyFirst
          .compose(v -> committer.execute(s -> s.createDatabase(db, System.currentTimeMillis())))
          .compose(created -> {
            // its policy is stored now: one a peer brought is open and offered on from here
            replication.policiesHere(db);
            if (created.isEmpty()) return Future.succeededFuture(false);
            hub.databaseCreated(db); // peers' feeds start serving it
            return committer.push(SystemDb.NAME, auth.system().audited("db.create", caller.user(), db)).map(true);
          })
          .map(created -> {
            ObjectNode out = describe(store.database(db).orElseThrow());
            out.put("created", created);
            return (JsonNode) out;
          });
    });
  }

  private Future<JsonNode> destroyDatabase(Caller caller, ObjectNode args) {
    String db = dbArg(args);
    if (db.startsWith("$")) throw new AdminException(ErrorCode.FORBIDDEN, "db: reserved databases cannot be destroyed");
    existing(db);
    return line.run(caller, null, null, by -> {
      existing(db); // not destroyed by an op before it in line
      // the destroy itself is a change of $system, carried out wherever it commits (see DatabaseLifecycle);
      // its policies go with it: a database created again under this name starts from its own
      List<Delta> changes = new ArrayList<>(auth.system().destroyDatabase(db, caller.user()));
      var dir = auth.directory();
      if (dir.storedPolicy(db, null) != null) changes.addAll(auth.system().setPolicy(db, null, null, caller.user()));
      for (String col : dir.collectionPolicies(db).keySet()) changes.addAll(auth.system().setPolicy(db, col, null, caller.user()));
      return committer.push(SystemDb.NAME, changes)
          .map(o -> (JsonNode) Json.MAPPER.createObjectNode().put("db", db).put("destroyed", true));
    });
  }

  /** {@code {db, digest, buckets, head}}: equal digests on two servers mean equal data. */
  private JsonNode digest(String db) {
    var d = store.digest(db).orElseThrow(() -> new AdminException(ErrorCode.NOT_FOUND, "no database " + db));
    ObjectNode out = Json.MAPPER.createObjectNode().put("db", db).put("digest", d.digest());
    ArrayNode buckets = out.putArray("buckets");
    for (long v : d.buckets()) buckets.add(Digests.hex(v));
    return out.put("head", d.head());
  }

  /** {@code peer.forget {serverId}}: a peer gone for good stops holding back purging and quorums. */
  private Future<JsonNode> forgetPeer(Caller caller, ObjectNode args) {
    JsonNode id = args.get("serverId");
    if (id == null || !id.isTextual() || !dev.syncline.protocol.Hlc.isValidOrigin(id.textValue())) {
      throw new AdminException(ErrorCode.BAD_REQUEST, "serverId: required, a server id (1 to 64 of [A-Za-z0-9_.:-])");
    }
    // forgotten, a running server's writes would never reach this one: stop it first
    if (replication.linkedTo(id.textValue())) {
      throw new AdminException(ErrorCode.BAD_REQUEST, id.textValue() + " is linked now: stop it before forgetting it");
    }
    return replication.forget(id.textValue())
        .map(known -> (JsonNode) Json.MAPPER.createObjectNode().put("serverId", id.textValue()).put("forgotten", known));
  }

  private JsonNode listDatabases() {
    ObjectNode out = Json.MAPPER.createObjectNode();
    ArrayNode list = out.putArray("databases");
    for (DatabaseInfo info : store.databases()) list.add(describe(info));
    return out;
  }

  private DatabaseInfo existing(String db) {
    return store.database(db).orElseThrow(() -> new AdminException(ErrorCode.NOT_FOUND, "no database " + db));
  }

  static String dbArg(ObjectNode args) {
    JsonNode db = args.get("db");
    if (db == null || !db.isTextual() || !MessageCodec.isDatabaseName(db.textValue())) {
      throw new AdminException(ErrorCode.BAD_REQUEST, "db: required, 1 to 64 of [A-Za-z0-9_.-]");
    }
    return db.textValue();
  }

  private static ObjectNode describe(DatabaseInfo info) {
    return Json.MAPPER.createObjectNode()
        .put("db", info.name())
        .put("epoch", info.epoch())
        .put("head", info.head())
        .put("createdAt", info.createdAt())
        .put("documents", info.documents())
        .put("attributes", info.attributes())
        .put("tombstones", info.tombstones())
        .put("purgedThrough", info.purgedThrough());
  }
}

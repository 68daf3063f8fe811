package dev.syncline.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.MessageCodec;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.Store;
import io.vertx.core.Future;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The {@code admin} ops of PROTOCOL.md. Reads answer from the store's metadata; writes run on the
 * committer thread, the store's only writer. Must be called on an event loop.
 */
public final class AdminOps {
  private final Store store;
  private final Committer committer;
  private final Hub hub;
  private final Supplier<ObjectNode> serverStats;
  private final Map<String, Function<ObjectNode, Future<JsonNode>>> ops;

  public AdminOps(Store store, Committer committer, Hub hub, Supplier<ObjectNode> serverStats) {
    this.store = store;
    this.committer = committer;
    this.hub = hub;
    this.serverStats = serverStats;
    this.ops = Map.of(
        "db.create", this::createDatabase,
        "db.destroy", this::destroyDatabase,
        "db.list", args -> Future.succeededFuture(listDatabases()),
        "db.stats", args -> Future.succeededFuture(describe(existing(dbArg(args)))),
        "server.stats", args -> Future.succeededFuture(serverStats.get()));
  }

  /** Runs an op; the future fails with {@link AdminException} for a refused or unknown op. */
  public Future<JsonNode> handle(String op, ObjectNode args) {
    Function<ObjectNode, Future<JsonNode>> f = ops.get(op);
    if (f == null) return Future.failedFuture(new AdminException(ErrorCode.BAD_REQUEST, "op: unknown admin op " + op));
    try {
      return f.apply(args);
    } catch (AdminException e) {
      return Future.failedFuture(e);
    }
  }

  private Future<JsonNode> createDatabase(ObjectNode args) {
    String db = dbArg(args);
    if (db.startsWith("$")) throw new AdminException(ErrorCode.FORBIDDEN, "db: names starting with $ are reserved");
    return committer.execute(s -> s.createDatabase(db, System.currentTimeMillis()))
        .map(created -> {
          ObjectNode out = describe(store.database(db).orElseThrow());
          out.put("created", created.isPresent());
          return out;
        });
  }

  private Future<JsonNode> destroyDatabase(ObjectNode args) {
    String db = dbArg(args);
    if (db.startsWith("$")) throw new AdminException(ErrorCode.FORBIDDEN, "db: reserved databases cannot be destroyed");
    existing(db);
    return committer.execute(s -> s.destroyDatabase(db)).map(destroyed -> {
      if (destroyed) hub.databaseDestroyed(db);
      return Json.MAPPER.createObjectNode().put("db", db).put("destroyed", destroyed);
    });
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

  private static String dbArg(ObjectNode args) {
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

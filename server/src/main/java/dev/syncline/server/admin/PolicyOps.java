package dev.syncline.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Json;
import dev.syncline.server.auth.Auth;
import dev.syncline.server.auth.Caller;
import dev.syncline.server.auth.Policy;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteGuard;
import io.vertx.core.Future;
import java.util.List;

/** {@code policy.get}, {@code policy.set} and {@code owner.set}. */
final class PolicyOps {
  private final Store store;
  private final Auth auth;
  private final Committer committer;
  /** The names a client may write: a collection or document of any of them can be given a policy or an owner. */
  private final dev.syncline.protocol.Limits limits;

  private final InLine line;

  PolicyOps(Store store, Auth auth, Committer committer, dev.syncline.protocol.Limits limits, InLine line) {
    this.line = line;
    this.limits = limits;
    this.store = store;
    this.auth = auth;
    this.committer = committer;
  }

  /** {@code {db, col, policy, effective}}: the stored policy (null when none) and the one in force. */
  Future<JsonNode> get(Caller caller, ObjectNode args) {
    String db = existingDb(args);
    String col = colArg(args);
    Policy stored = auth.directory().storedPolicy(db, col);
    Policy effective = col == null ? auth.directory().databasePolicy(db) : auth.directory().policy(db, col);
    ObjectNode out = Json.MAPPER.createObjectNode().put("db", db).put("col", col);
    out.set("policy", stored == null ? null : stored.toJson());
    out.set("effective", effective.toJson());
    return Future.succeededFuture(out);
  }

  /** Sets (or, with {@code policy: null}, removes) the policy of a database or collection. */
  Future<JsonNode> set(Caller caller, ObjectNode args) {
    String db = existingDb(args);
    String col = colArg(args);
    if (!args.has("policy")) throw new AdminException(ErrorCode.BAD_REQUEST, "policy: required (an object, or null to remove)");
    // the policies of $system say who manages users and policies: only admins may change them
    if (db.equals(SystemDb.NAME) && !caller.isAdmin()) {
      throw new AdminException(ErrorCode.FORBIDDEN, "db: only admins may set the policies of " + SystemDb.NAME);
    }
    Policy policy = args.get("policy").isNull() ? null : Policy.parse(args.get("policy"), "policy");
    // in line with db.destroy: a policy set as its database goes would be in force in its next life
    return line.run(caller, SystemDb.POLICIES, Policy.Action.UPDATE, by -> {
      existingDb(args);
      if (db.equals(SystemDb.NAME) && !by.isAdmin()) {
        throw new AdminException(ErrorCode.FORBIDDEN, "db: only admins may set the policies of " + SystemDb.NAME);
      }
      return committer.push(SystemDb.NAME, auth.system().setPolicy(db, col, policy, by.user()))
          .map(o -> {
            ObjectNode out = Json.MAPPER.createObjectNode().put("db", db).put("col", col);
            out.set("policy", policy == null ? null : policy.toJson());
            return (JsonNode) out;
          });
    });
  }

  /** Gives a document to another owner. The document must exist; its readers are reset if what they see changes. */
  Future<JsonNode> setOwner(Caller caller, ObjectNode args) {
    String db = existingDb(args);
    if (db.startsWith("$")) throw new AdminException(ErrorCode.FORBIDDEN, "db: reserved databases have no owners");
    String col = requiredName(args, "col", limits.maxColLength());
    String id = requiredName(args, "id", limits.maxIdLength());
    String owner = UserOps.text(args, "owner");
    if (!Policy.NAME.matcher(owner).matches()) throw new AdminException(ErrorCode.BAD_REQUEST, "owner: 1 to 64 of [A-Za-z0-9_.@-]");
    // a document given to a name nobody holds would go to whoever signs up as it
    if (auth.directory().user(owner) == null) throw new AdminException(ErrorCode.NOT_FOUND, "owner: no user " + owner);
    Delta d = new Delta(col, id, Delta.OWNER, TextNode.valueOf(owner), auth.system().tick());
    // owner.set never creates a document, nor brings a destroyed one back as {$owner}
    WriteGuard existingOnly = new WriteGuard() {
      @Override
      public boolean permits(String c, Action action, String o) {
        return action != WriteGuard.Action.CREATE;
      }

      @Override
      public boolean permitsHidden() {
        return false;
      }
    };
    // not in auth's line: it changes no user or policy, and a script moving many documents would hold
    // sign-ups up; with nothing to hash, it is checked (in handle) just before it is queued
    return committer.push(db, List.of(d), null, existingOnly).compose(outcome -> {
      if (outcome.missing() || outcome.outcomes().get(0) == null) {
        return Future.failedFuture(new AdminException(ErrorCode.NOT_FOUND, "no document " + col + "/" + id + " in " + db));
      }
      return committer.push(SystemDb.NAME, auth.system().audited("owner.set", caller.user(), db + "/" + col + "/" + id + " → " + owner))
          .map(o -> (JsonNode) Json.MAPPER.createObjectNode().put("db", db).put("col", col).put("id", id).put("owner", owner));
    });
  }


  private String existingDb(ObjectNode args) {
    String db = AdminOps.dbArg(args);
    if (store.database(db).isEmpty()) throw new AdminException(ErrorCode.NOT_FOUND, "no database " + db);
    return db;
  }

  private String colArg(ObjectNode args) {
    return args.hasNonNull("col") ? requiredName(args, "col", limits.maxColLength()) : null;
  }

  /** A collection or document name as a push takes it: 1 to {@code max} characters (code points), no NUL. */
  private static String requiredName(ObjectNode args, String field, int max) {
    JsonNode n = args.get(field);
    if (n == null || !n.isTextual() || n.textValue().isEmpty() || UserOps.characters(n.textValue()) > max
        || n.textValue().indexOf('\0') >= 0 || (field.equals("col") && n.textValue().startsWith("$"))) {
      throw new AdminException(ErrorCode.BAD_REQUEST, field + ": required name of 1 to " + max + " characters");
    }
    return n.textValue();
  }
}

package dev.syncline.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Json;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The reserved database {@code $system}: users, policies and the token signing key are documents
 * in it, so they are stored, merged and replicated like any other data, and every change an admin
 * makes is a delta (who: {@code changedBy}; when: its ts) plus an entry in {@code audit}.
 *
 * <ul>
 *   <li>{@code users/NAME}: {@code passwordHash} (secret), {@code roles}, {@code disabled}, {@code revokedAt},
 *       {@code createdAt}, {@code changedBy}
 *   <li>{@code policies/DB} and {@code policies/DB/COL}: {@code read}, {@code create}, {@code update}, {@code destroy}, {@code changedBy}
 *   <li>{@code secrets/jwt}: {@code key} (secret, and this server's alone: never replicated)
 *   <li>{@code databases/DB}: {@code destroyed} = true, stamped with when the database was
 *       destroyed cluster-wide (see {@code DatabaseLifecycle})
 *   <li>{@code audit/TS}: {@code entry} = {@code {op, by, target, at}}
 * </ul>
 *
 * This class builds those deltas; each change is stamped with one tick of the server's clock.
 */
public final class SystemDb {
  public static final String NAME = "$system";
  public static final String USERS = "users";
  public static final String POLICIES = "policies";
  public static final String SECRETS = "secrets";
  public static final String AUDIT = "audit";
  public static final String DATABASES = "databases";
  /** The attribute of {@code databases/DB} whose timestamp says when the database was destroyed. */
  public static final String DESTROYED = "destroyed";

  /** Collections of {@code $system} that belong to each server alone: not replicated, not in digests. */
  public static final java.util.Map<String, java.util.Set<String>> LOCAL_COLLECTIONS = java.util.Map.of(NAME, java.util.Set.of(SECRETS));
  public static final String PASSWORD_HASH = "passwordHash";
  /** When a user was last disabled, in ms: sign-ins made before it stay void. */
  public static final String REVOKED_AT = "revokedAt";
  public static final String DISABLED = "disabled";
  public static final String SIGNING_KEY_ID = "jwt";

  private final HlcClock clock;

  public SystemDb(HlcClock clock) {
    this.clock = clock;
  }

  /** Whether a register of {@code $system} must never leave the server. */
  public static boolean isSecret(String col, String attr) {
    return col.equals(SECRETS) || (col.equals(USERS) && attr.equals(PASSWORD_HASH));
  }

  /** The id of a policy document: {@code DB} or {@code DB/COL} (database names hold no {@code /}). */
  public static String policyId(String db, String col) {
    return col == null ? db : db + "/" + col;
  }

  /** A new user, or one written again after a delete. */
  public List<Delta> createUser(String name, String passwordHash, Collection<String> roles, String by) {
    String ts = tick();
    List<Delta> out = new ArrayList<>();
    out.add(user(name, PASSWORD_HASH, TextNode.valueOf(passwordHash), ts));
    out.add(user(name, "roles", strings(roles), ts));
    out.add(user(name, DISABLED, BooleanNode.FALSE, ts));
    out.add(user(name, "createdAt", LongNode.valueOf(System.currentTimeMillis()), ts));
    out.add(user(name, "changedBy", by == null ? NullNode.getInstance() : TextNode.valueOf(by), ts));
    out.add(audit("user.create", by, name, ts));
    return out;
  }

  /** Changes the given fields of a user; null leaves a field as it is. */
  public List<Delta> updateUser(String name, String passwordHash, Collection<String> roles, Boolean disabled, String by) {
    String ts = tick();
    List<Delta> out = new ArrayList<>();
    if (passwordHash != null) out.add(user(name, PASSWORD_HASH, TextNode.valueOf(passwordHash), ts));
    if (roles != null) out.add(user(name, "roles", strings(roles), ts));
    if (disabled != null) out.add(user(name, DISABLED, BooleanNode.valueOf(disabled), ts));
    if (Boolean.TRUE.equals(disabled)) out.add(user(name, REVOKED_AT, LongNode.valueOf(System.currentTimeMillis()), ts));
    out.add(user(name, "changedBy", by == null ? NullNode.getInstance() : TextNode.valueOf(by), ts));
    out.add(audit("user.update", by, name, ts));
    return out;
  }

  public List<Delta> deleteUser(String name, String by) {
    String ts = tick();
    return List.of(user(name, Delta.DELETED, BooleanNode.TRUE, ts), audit("user.delete", by, name, ts));
  }

  /** Sets the policy of a database ({@code col} null) or collection; a null policy removes it. */
  public List<Delta> setPolicy(String db, String col, Policy policy, String by) {
    String ts = tick();
    String id = policyId(db, col);
    List<Delta> out = new ArrayList<>();
    if (policy == null) {
      out.add(new Delta(POLICIES, id, Delta.DELETED, BooleanNode.TRUE, ts));
    } else {
      // $deleted = false makes the document whole again after an earlier removal, so every action
      // written here is in force even where it is null (grants nothing)
      out.add(new Delta(POLICIES, id, Delta.DELETED, BooleanNode.FALSE, ts));
      for (Policy.Action a : Policy.Action.values()) {
        List<String> p = policy.grants().get(a);
        out.add(new Delta(POLICIES, id, a.wire(), p == null ? NullNode.getInstance() : strings(p), ts));
      }
      out.add(new Delta(POLICIES, id, "changedBy", by == null ? NullNode.getInstance() : TextNode.valueOf(by), ts));
    }
    out.add(audit("policy.set", by, id, ts));
    return out;
  }

  /** Destroys a database on every server: what was written in it up to now goes. */
  public List<Delta> destroyDatabase(String db, String by) {
    String ts = tick();
    return List.of(new Delta(DATABASES, db, DESTROYED, BooleanNode.TRUE, ts), audit("db.destroy", by, db, ts));
  }

  public List<Delta> signingKey(String key) {
    return List.of(new Delta(SECRETS, SIGNING_KEY_ID, "key", TextNode.valueOf(key), tick()));
  }

  /** An audit entry for an op that has no document of its own in {@code $system} (e.g. {@code db.create}). */
  public List<Delta> audited(String op, String by, String target) {
    return List.of(audit(op, by, target, tick()));
  }

  private Delta audit(String op, String by, String target, String ts) {
    // one audit document per change, named by its unique timestamp
    return new Delta(AUDIT, ts, "entry", Json.MAPPER.createObjectNode()
        .put("op", op).put("by", by).put("target", target).put("at", System.currentTimeMillis()), ts);
  }

  private static Delta user(String name, String attr, JsonNode value, String ts) {
    return new Delta(USERS, name, attr, value, ts);
  }

  private static ArrayNode strings(Collection<String> values) {
    ArrayNode a = Json.MAPPER.createArrayNode();
    values.forEach(a::add);
    return a;
  }

  /** A new timestamp of this server's clock, for a delta the server writes. */
  public String tick() {
    return clock.tick().format();
  }
}

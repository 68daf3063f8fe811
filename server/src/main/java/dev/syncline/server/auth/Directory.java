package dev.syncline.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Register;
import dev.syncline.protocol.Visibility;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A view of {@code $system}: users, policies and the signing key. Event loops read the current one
 * without locks; the writer thread publishes a new one after each commit that touches
 * {@code $system} (see {@link Auth}). Each is an immutable snapshot: a reader holding one sees
 * nothing that changed after it. Users (many) share what did not change with the snapshot before
 * (see {@link UserTable}).
 */
public final class Directory {

  /**
   * A user as stored; {@code passwordHash} never leaves the server. {@code revokedAt} is when
   * the account was last disabled (0: never): sign-ins made before it stay void when it is
   * enabled again. {@code credentialsTs} is the timestamp of the latest change to what decides
   * whether a token signs in (password, disabled, revokedAt): a token issued for a later one
   * comes from a server this one has not heard from yet.
   */
  public record User(String name, String passwordHash, Set<String> roles, boolean disabled, long revokedAt,
      String credentialsTs) {

    /** Names the sign-ins this account's password allows now; put in tokens, so a new password or a disable voids old ones. */
    public String stamp() {
      return stampOf(passwordHash, revokedAt);
    }
  }

  static String stampOf(String passwordHash, long revokedAt) {
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256")
          .digest((passwordHash + "|" + revokedAt).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(d, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private final UserTable users;
  private final Set<String> retired;
  private final Map<String, Policy> databasePolicies;
  private final Map<String, Map<String, Policy>> collectionPolicies;
  /** Databases ever destroyed: without a stored policy, such a name is for admins only (see {@link #databasePolicy}). */
  private final Set<String> destroyed;
  private final Policy newDatabasePolicy;
  private final String signingKey;

  private Directory(UserTable users, Set<String> retired, Map<String, Policy> databasePolicies,
      Map<String, Map<String, Policy>> collectionPolicies, Set<String> destroyed, Policy newDatabasePolicy, String signingKey) {
    this.users = users;
    this.retired = retired;
    this.databasePolicies = databasePolicies;
    this.collectionPolicies = collectionPolicies;
    this.destroyed = destroyed;
    this.newDatabasePolicy = newDatabasePolicy;
    this.signingKey = signingKey;
  }

  public User user(String name) {
    return users.get(name);
  }

  /** Every user, by name (a copy, made on each call). */
  public Map<String, User> users() {
    return users.toMap();
  }

  /** Every user, in no order, without a copy. */
  public void forEachUser(java.util.function.Consumer<User> action) {
    users.forEach(action);
  }

  /** How many users hold the admin role and are not disabled. */
  public int enabledAdmins() {
    return users.enabledAdmins();
  }

  /**
   * Whether {@code name} belonged to a user who was deleted. Such names are not given out again:
   * documents ({@code $owner}) and grants ({@code user:NAME}) still name the old user.
   */
  public boolean retired(String name) {
    return retired.contains(name);
  }

  public String signingKey() {
    return signingKey;
  }

  /** The stored policy of a database (col null) or collection, or null when none is stored. */
  public Policy storedPolicy(String db, String col) {
    if (col == null) return databasePolicies.get(db);
    return collectionPolicies.getOrDefault(db, Map.of()).get(col);
  }

  /**
   * The database's own policy: stored, else the server's policy for new databases. Nobody but
   * admins for {@code $system}, and for a name that was destroyed: {@code db.destroy} removes its
   * policies at once, while the data goes a moment later, and writes made after the destroy
   * elsewhere survive it, or a peer may bring a new life before its policy arrives. Neither is
   * opened to everyone; {@code db.create} and the configuration store a policy again.
   */
  public Policy databasePolicy(String db) {
    Policy p = databasePolicies.get(db);
    if (p != null) return p;
    return db.equals(SystemDb.NAME) || destroyed.contains(db) ? Policy.NOBODY : newDatabasePolicy;
  }

  /** Collection overrides of a database's policy. */
  public Map<String, Policy> collectionPolicies(String db) {
    return collectionPolicies.getOrDefault(db, Map.of());
  }

  /** The policy in force for a collection: its own override, else its database's. */
  public Policy policy(String db, String col) {
    Policy p = collectionPolicies(db).get(col);
    return p != null ? p : databasePolicy(db);
  }

  /** Whether a stored policy, of any database or collection, grants anything to {@code user:NAME}. */
  public boolean namedInAPolicy(String name) {
    for (Policy p : databasePolicies.values()) if (p.namesUser(name)) return true;
    for (Map<String, Policy> byCol : collectionPolicies.values()) {
      for (Policy p : byCol.values()) if (p.namesUser(name)) return true;
    }
    return false;
  }

  /** The user a {@code users/NAME} document holds, or null when it holds none (deleted: the name is retired). */
  private static User userOf(String name, Map<String, Register> regs) {
    Map<String, JsonNode> v = Visibility.visible(regs);
    JsonNode hash = v == null ? null : v.get(SystemDb.PASSWORD_HASH);
    if (hash == null || !hash.isTextual()) return null;
    Set<String> roles = new LinkedHashSet<>();
    JsonNode r = v.get("roles");
    if (r != null && r.isArray()) r.forEach(role -> { if (role.isTextual()) roles.add(role.textValue()); });
    JsonNode disabled = v.get(SystemDb.DISABLED);
    JsonNode revokedAt = v.get(SystemDb.REVOKED_AT);
    String credentialsTs = regs.get(SystemDb.PASSWORD_HASH).ts();
    for (String attr : List.of(SystemDb.DISABLED, SystemDb.REVOKED_AT)) {
      Register changed = regs.get(attr);
      if (changed != null && Hlc.compare(changed.ts(), credentialsTs) > 0) credentialsTs = changed.ts();
    }
    return new User(name, hash.textValue(), Set.copyOf(roles), disabled != null && disabled.asBoolean(false),
        revokedAt != null ? revokedAt.asLong(0) : 0, credentialsTs);
  }

  private static Policy policyOf(Map<String, JsonNode> attrs) {
    Map<Policy.Action, List<String>> grants = new java.util.EnumMap<>(Policy.Action.class);
    for (Policy.Action a : Policy.Action.values()) {
      JsonNode list = attrs.get(a.wire());
      if (list == null || !list.isArray()) continue;
      List<String> principals = new java.util.ArrayList<>();
      list.forEach(p -> { if (p.isTextual() && Policy.isPrincipal(p.textValue())) principals.add(p.textValue()); });
      grants.put(a, List.copyOf(principals));
    }
    return new Policy(grants);
  }

  /**
   * The registers of {@code $system} that matter here (audit entries are not kept), updated delta
   * by delta on the writer thread. A snapshot recomputes only the users whose documents changed,
   * and copies only the part of the user table they fall in, so a sign-up costs little more with a
   * hundred thousand users than with ten; policies (few) are rebuilt whole when any changed.
   */
  static final class Model {
    private final Map<String, Map<String, Map<String, Register>>> docs = new HashMap<>();
    private final Policy newDatabasePolicy;
    private UserTable users = UserTable.EMPTY;
    private Set<String> retired = Set.of();
    private final Set<String> changedUsers = new HashSet<>();
    private boolean policiesChanged = true;
    private Map<String, Policy> databasePolicies = Map.of();
    private Map<String, Map<String, Policy>> collectionPolicies = Map.of();
    private Set<String> destroyed = Set.of();

    Model(Policy newDatabasePolicy) {
      this.newDatabasePolicy = newDatabasePolicy;
    }

    /** Applies a committed (winning) delta of {@code $system}; true when it touched users, policies or secrets. */
    boolean apply(Delta d) {
      if (d.col().equals(SystemDb.AUDIT)) return false;
      docs.computeIfAbsent(d.col(), c -> new HashMap<>())
          .computeIfAbsent(d.id(), i -> new HashMap<>())
          .put(d.attr(), new Register(d.value(), d.ts()));
      if (d.col().equals(SystemDb.USERS)) changedUsers.add(d.id());
      if (d.col().equals(SystemDb.POLICIES) || d.col().equals(SystemDb.DATABASES)) policiesChanged = true;
      return true;
    }

    Directory snapshot() {
      Map<String, Map<String, Register>> userDocs = docs.getOrDefault(SystemDb.USERS, Map.of());
      Map<String, User> changes = new HashMap<>();
      Set<String> nowRetired = new HashSet<>();
      Set<String> back = new HashSet<>();
      for (String name : changedUsers) {
        User u = userOf(name, userDocs.getOrDefault(name, Map.of()));
        changes.put(name, u); // null: deleted
        if (u == null) nowRetired.add(name);
        else back.add(name);
      }
      changedUsers.clear();
      users = users.with(changes);
      if (!nowRetired.isEmpty() || back.stream().anyMatch(retired::contains)) {
        Set<String> r = new HashSet<>(retired);
        r.addAll(nowRetired);
        r.removeAll(back);
        retired = Set.copyOf(r);
      }
      if (policiesChanged) rebuildPolicies();
      Map<String, Register> secret = docs.getOrDefault(SystemDb.SECRETS, Map.of()).get(SystemDb.SIGNING_KEY_ID);
      Register key = secret == null ? null : secret.get("key");
      return new Directory(users, retired, databasePolicies, collectionPolicies, destroyed,
          newDatabasePolicy, key != null && key.value().isTextual() ? key.value().textValue() : null);
    }

    private void rebuildPolicies() {
      Map<String, Policy> dbPolicies = new HashMap<>();
      Map<String, Map<String, Policy>> colPolicies = new HashMap<>();
      docs.getOrDefault(SystemDb.POLICIES, Map.of()).forEach((id, regs) -> {
        Map<String, JsonNode> v = Visibility.visible(regs);
        if (v == null) return;
        Policy p = policyOf(v);
        int slash = id.indexOf('/');
        if (slash < 0) dbPolicies.put(id, p);
        else colPolicies.computeIfAbsent(id.substring(0, slash), k -> new HashMap<>()).put(id.substring(slash + 1), p);
      });
      databasePolicies = Map.copyOf(dbPolicies);
      Map<String, Map<String, Policy>> frozen = new HashMap<>();
      colPolicies.forEach((db, m) -> frozen.put(db, Map.copyOf(m)));
      collectionPolicies = Map.copyOf(frozen);
      Set<String> gone = new HashSet<>();
      docs.getOrDefault(SystemDb.DATABASES, Map.of()).forEach((db, regs) -> {
        Register r = regs.get(SystemDb.DESTROYED);
        if (r != null && r.value().asBoolean(false)) gone.add(db);
      });
      destroyed = Set.copyOf(gone);
      policiesChanged = false;
    }
  }
}

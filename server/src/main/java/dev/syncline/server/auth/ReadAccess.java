package dev.syncline.server.auth;

import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.ReadFilter;
import java.util.Map;

/**
 * What one caller may read of one database: a level for collections without an override
 * ({@code otherwise}) and one per overridden collection, plus, for {@code $system}, that secrets
 * are hidden. Two equal values filter identically, so the hub shares one encoded frame among the
 * subscribers that have equal access.
 */
public record ReadAccess(String db, String user, Policy.Level otherwise, Map<String, Policy.Level> collections,
    boolean hideSecrets) implements ReadFilter {

  public ReadAccess {
    collections = Map.copyOf(collections);
  }

  /**
   * {@code only}: the collections a subscription asked for (null: all). Access to other
   * collections is left out, so a policy change there is no change for this reader.
   */
  static ReadAccess of(Directory dir, Caller caller, String db, java.util.Collection<String> only) {
    Map<String, Policy.Level> cols = new java.util.HashMap<>();
    Policy.Level otherwise;
    if (only == null) {
      otherwise = dir.databasePolicy(db).level(Policy.Action.READ, caller);
      dir.collectionPolicies(db).forEach((col, p) -> cols.put(col, p.level(Policy.Action.READ, caller)));
    } else {
      // never consulted (the subscription's collection filter runs first); ALL keeps everything() exact
      otherwise = Policy.Level.ALL;
      for (String col : only) cols.put(col, dir.policy(db, col).level(Policy.Action.READ, caller));
    }
    // an override that reads like the rest changes nothing: left out, a change to it resets nobody
    final Policy.Level rest = otherwise;
    cols.values().removeIf(l -> l == rest);
    boolean owned = otherwise == Policy.Level.OWNED || cols.containsValue(Policy.Level.OWNED);
    // the user matters only to owner-only levels; leaving it out lets equal access share frames
    return new ReadAccess(db, owned ? caller.user() : null, otherwise, cols, db.equals(SystemDb.NAME));
  }

  public Policy.Level level(String col) {
    return collections.getOrDefault(col, otherwise);
  }

  /** True when the caller may see every register (of the collections in scope): no filter needs to run. */
  public boolean everything() {
    return !hideSecrets && otherwise == Policy.Level.ALL
        && collections.values().stream().allMatch(l -> l == Policy.Level.ALL);
  }

  /** True when the caller may see nothing in {@code cols} (null: the whole database). */
  public boolean nothing(java.util.Collection<String> cols) {
    if (cols != null) return cols.stream().allMatch(c -> level(c) == Policy.Level.NONE);
    return otherwise == Policy.Level.NONE && collections.values().stream().allMatch(l -> l == Policy.Level.NONE);
  }

  /** The filter for the store and the hub, or null when nothing needs filtering. */
  public ReadFilter filter() {
    return everything() ? null : this;
  }

  /** Only the old or the new owner of a moved document sees a difference, and only where it reads as owner. */
  @Override
  public boolean seesOwnerChange(String col, String from, String to) {
    return level(col) == Policy.Level.OWNED && user != null && (user.equals(from) || user.equals(to));
  }

  @Override
  public boolean needsOwner(String col) {
    return level(col) == Policy.Level.OWNED;
  }

  @Override
  public boolean allows(String col, String attr, String owner) {
    if (hideSecrets && SystemDb.isSecret(col, attr)) return false;
    return switch (level(col)) {
      case ALL -> true;
      case OWNED -> owner != null && owner.equals(user);
      case NONE -> false;
    };
  }

  /**
   * The epoch a subscriber with this access is told: the database's own when it may read
   * everything, else that plus a digest of the access (and, for owner-only readers, of how often
   * owners changed). A client whose stored epoch differs gets {@code reset}, so a copy made under
   * other access — e.g. before a policy change while it was offline — is replaced, never kept.
   */
  public String epoch(DatabaseInfo info) {
    if (everything()) return info.epoch();
    StringBuilder key = new StringBuilder().append(user).append('|').append(otherwise).append('|').append(hideSecrets);
    new java.util.TreeMap<>(collections).forEach((c, l) -> key.append('|').append(c).append('=').append(l));
    if (user != null) key.append("|owners=").append(info.ownerChanges());
    return info.epoch() + "." + digest(key.toString());
  }

  private static String digest(String s) {
    try {
      byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(h, 0, 6);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

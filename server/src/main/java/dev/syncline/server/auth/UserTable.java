package dev.syncline.server.auth;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The users of one {@link Directory}: immutable, so a reader holding a directory never sees a
 * change made after it. Copying every user on every change would make a sign-up cost as much as
 * the number of users, so users are split by name into {@link #BUCKETS} maps and a new table
 * shares every bucket with the one before but those it changes (copy on change): publishing one
 * change copies about n / {@value #BUCKETS} users.
 */
final class UserTable {
  /** How many parts the users are split into; a power of two. */
  static final int BUCKETS = 256;

  static final UserTable EMPTY = new UserTable(emptyBuckets(), 0, 0);

  /** Never changed once the table is made; shared between tables. */
  private final List<Map<String, Directory.User>> buckets;
  private final int size;
  /** Users with the admin role and not disabled: counted, so keeping one needs no look at all users. */
  private final int enabledAdmins;

  private UserTable(List<Map<String, Directory.User>> buckets, int size, int enabledAdmins) {
    this.buckets = buckets;
    this.size = size;
    this.enabledAdmins = enabledAdmins;
  }

  private static List<Map<String, Directory.User>> emptyBuckets() {
    Map<String, Directory.User>[] empty = newArray();
    Arrays.fill(empty, Map.of());
    return List.of(empty);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Directory.User>[] newArray() {
    return new Map[BUCKETS];
  }

  private static int bucketOf(String name) {
    int h = name.hashCode();
    return (h ^ (h >>> 16)) & (BUCKETS - 1);
  }

  Directory.User get(String name) {
    return buckets.get(bucketOf(name)).get(name);
  }

  int size() {
    return size;
  }

  int enabledAdmins() {
    return enabledAdmins;
  }

  /** Every user, in no order, without copying them. */
  void forEach(Consumer<Directory.User> action) {
    for (Map<String, Directory.User> bucket : buckets) bucket.values().forEach(action);
  }

  /** Every user, in a map of its own (a copy: as long as the table). */
  Map<String, Directory.User> toMap() {
    Map<String, Directory.User> all = new HashMap<>(size * 2);
    buckets.forEach(all::putAll);
    return all;
  }

  private static int enabledAdmin(Directory.User u) {
    return u != null && !u.disabled() && u.roles().contains(Caller.ADMIN_ROLE) ? 1 : 0;
  }

  /** This table with {@code changes} made: a user to put, or null to remove the name. */
  UserTable with(Map<String, Directory.User> changes) {
    if (changes.isEmpty()) return this;
    Map<String, Directory.User>[] next = buckets.toArray(newArray());
    Map<Integer, Map<String, Directory.User>> copied = new HashMap<>();
    int n = size;
    int admins = enabledAdmins;
    for (Map.Entry<String, Directory.User> c : changes.entrySet()) {
      int b = bucketOf(c.getKey());
      Map<String, Directory.User> bucket = copied.computeIfAbsent(b, i -> new HashMap<>(buckets.get(i)));
      Directory.User before = c.getValue() == null ? bucket.remove(c.getKey()) : bucket.put(c.getKey(), c.getValue());
      if (before == null && c.getValue() != null) n++;
      if (before != null && c.getValue() == null) n--;
      admins += enabledAdmin(c.getValue()) - enabledAdmin(before);
    }
    copied.forEach((b, bucket) -> next[b] = Map.copyOf(bucket));
    return new UserTable(List.of(next), n, admins);
  }
}

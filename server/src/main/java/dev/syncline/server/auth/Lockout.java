package dev.syncline.server.auth;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Failed sign-ins, counted per username and per address. After {@code threshold} failures a key is
 * locked for {@code baseMs}, doubling with each further failure up to {@code maxMs}; while locked,
 * every attempt is refused before the password is checked — the right one too. A success clears
 * the username's count (not the address's: one good account must not unlock an address guessing
 * at others). Unknown usernames are counted like known ones, so answers do not tell them apart.
 * Safe from any thread; the map is bounded by forgetting keys idle for longer than {@code maxMs}.
 */
final class Lockout {
  private record State(int failures, long lockedUntil, long lastFailure) {}

  private static final int MAX_KEYS = 100_000;

  private final int userThreshold;
  private final int addressThreshold;
  private final long baseMs;
  private final long maxMs;
  private final ConcurrentHashMap<String, State> keys = new ConcurrentHashMap<>();

  Lockout(int userThreshold, int addressThreshold, long baseMs, long maxMs) {
    this.userThreshold = userThreshold;
    this.addressThreshold = addressThreshold;
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** Milliseconds until either key may try again; 0 when neither is locked. */
  long retryAfter(String username, String address, long now) {
    return Math.max(wait(userKey(username), now), wait(addressKey(address), now));
  }

  void failed(String username, String address, long now) {
    fail(userKey(username), userThreshold, now);
    if (address != null) fail(addressKey(address), addressThreshold, now);
  }

  void succeeded(String username) {
    keys.remove(userKey(username));
  }

  private long wait(String key, long now) {
    if (key == null) return 0;
    State s = keys.get(key);
    return s == null ? 0 : Math.max(0, s.lockedUntil - now);
  }

  private void fail(String key, int threshold, long now) {
    if (keys.size() >= MAX_KEYS) forgetIdle(now);
    keys.compute(key, (k, s) -> {
      int failures = (s == null || now - s.lastFailure > maxMs * 2 ? 0 : s.failures) + 1;
      long lockedUntil = failures < threshold ? 0 : now + lockMs(failures - threshold);
      return new State(failures, lockedUntil, now);
    });
  }

  /** baseMs, 2·baseMs, 4·baseMs, … capped at maxMs. */
  private long lockMs(int beyond) {
    return beyond >= 40 ? maxMs : Math.min(maxMs, baseMs << beyond);
  }

  private void forgetIdle(long now) {
    keys.entrySet().removeIf(e -> now - e.getValue().lastFailure > maxMs && e.getValue().lockedUntil < now);
    // still full: drop counts that lock nothing yet, never a standing lock
    if (keys.size() >= MAX_KEYS) keys.entrySet().removeIf(e -> e.getValue().lockedUntil < now);
  }

  private static String userKey(String username) {
    return "u:" + username;
  }

  private static String addressKey(String address) {
    return address == null ? null : "a:" + address;
  }
}

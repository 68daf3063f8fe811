package dev.syncline.server.auth;

import java.util.HashMap;
import java.util.Map;

/**
 * Failed sign-ins, counted per username and per address. After {@code threshold} failures a key is
 * locked for {@code baseMs}, doubling with each further failure up to {@code maxMs}; while locked,
 * every attempt is refused before the password is checked — the right one too.
 *
 * <p>A password check takes a while on a worker, so attempts sent together must not all pass the
 * lock before any of them has failed: a key lets at most as many attempts be checked at once as
 * it has failures left before its threshold (at least one). A success clears the username's
 * count; the address's stays (one good account must not unlock an address guessing at others).
 * Unknown usernames are counted like known ones, so answers do not tell them apart. Safe from any
 * thread; keys idle for longer than {@code maxMs} are forgotten when the map grows large.
 */
final class Lockout {
  private static final class State {
    int failures;
    int inFlight;
    long lockedUntil;
    long lastFailure;
  }

  private static final int MAX_KEYS = 100_000;
  /** Password checks one address may have running at once (people behind one NAT sign in together now and then). */
  static final int MAX_IN_FLIGHT_PER_ADDRESS = 4;
  private static final String ADDRESS = "a:";

  private final int userThreshold;
  private final int addressThreshold;
  private final long baseMs;
  private final long maxMs;
  private final Map<String, State> keys = new HashMap<>();

  Lockout(int userThreshold, int addressThreshold, long baseMs, long maxMs) {
    this.userThreshold = userThreshold;
    this.addressThreshold = addressThreshold;
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /**
   * Starts an attempt. Returns 0 when it may go ahead (then {@link #end} must follow), else the
   * milliseconds to wait: the rest of a lock, or {@code baseMs} while the attempts already being
   * checked could reach the threshold.
   */
  synchronized long begin(String username, String address, long now) {
    String user = userKey(username);
    String addr = addressKey(address);
    long wait = Math.max(wait(user, userThreshold, now), wait(addr, addressThreshold, now));
    if (wait > 0) return wait;
    state(user, now).inFlight++;
    if (addr != null) state(addr, now).inFlight++;
    return 0;
  }

  /** Whether the username or the address is locked out now (not only at its limit of checks running). */
  synchronized boolean locked(String username, String address, long now) {
    State u = keys.get(userKey(username));
    State a = address == null ? null : keys.get(addressKey(address));
    return (u != null && u.lockedUntil > now) || (a != null && a.lockedUntil > now);
  }

  /**
   * Ends an attempt begun with {@link #begin}: {@code ok} when the password was right;
   * {@code checked} false when it was never checked (then it counts neither way).
   */
  synchronized void end(String username, String address, boolean ok, boolean checked, long now) {
    finish(userKey(username), userThreshold, ok, checked, now, true);
    String addr = addressKey(address);
    if (addr != null) finish(addr, addressThreshold, ok, checked, now, false);
  }

  private long wait(String key, int threshold, long now) {
    if (key == null) return 0;
    State s = keys.get(key);
    if (s == null) return 0;
    if (s.lockedUntil > now) return s.lockedUntil - now;
    // and an address has at most a few checks running: the hashing workers are shared by everyone,
    // so a handful of addresses must not take them all
    int most = key.startsWith(ADDRESS) ? Math.min(MAX_IN_FLIGHT_PER_ADDRESS, threshold - s.failures) : threshold - s.failures;
    return s.inFlight >= Math.max(1, most) ? baseMs : 0;
  }

  private State state(String key, long now) {
    if (keys.size() >= MAX_KEYS && !keys.containsKey(key)) forgetIdle(now);
    return keys.computeIfAbsent(key, k -> new State());
  }

  private void finish(String key, int threshold, boolean ok, boolean checked, long now, boolean successClears) {
    State s = keys.get(key);
    if (s == null) return;
    s.inFlight = Math.max(0, s.inFlight - 1);
    if (!checked) {
      // neither a success nor a failure
    } else if (ok) {
      if (successClears) {
        s.failures = 0;
        s.lockedUntil = 0;
      }
    } else {
      if (now - s.lastFailure > maxMs * 2) s.failures = 0; // long quiet: start counting again
      s.failures++;
      s.lastFailure = now;
      if (s.failures >= threshold) s.lockedUntil = now + lockMs(s.failures - threshold);
    }
    if (s.failures == 0 && s.inFlight == 0) keys.remove(key);
  }

  /** baseMs, 2·baseMs, 4·baseMs, … capped at maxMs. */
  private long lockMs(int beyond) {
    return beyond >= 40 ? maxMs : Math.min(maxMs, baseMs << beyond);
  }

  private void forgetIdle(long now) {
    keys.values().removeIf(s -> s.inFlight == 0 && s.lockedUntil < now && now - s.lastFailure > maxMs);
    // still full: drop counts that lock nothing yet, never a standing lock or a running attempt
    if (keys.size() >= MAX_KEYS) keys.values().removeIf(s -> s.inFlight == 0 && s.lockedUntil < now);
  }

  private static String userKey(String username) {
    return "u:" + username;
  }

  private static String addressKey(String address) {
    return address == null ? null : ADDRESS + address;
  }
}

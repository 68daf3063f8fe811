package dev.syncline.server.auth;

import java.util.HashMap;
import java.util.Map;

/**
 * Accounts one address may create by self sign-up: {@code perHour}, refilled evenly over the hour
 * (a token bucket), so a script cannot fill the user table from one machine while people behind
 * one address can still sign up now and then. Safe from any thread; addresses whose budget is
 * whole again are forgotten when the map grows large.
 */
final class SignupBudget {
  private static final long HOUR_MS = 3_600_000;
  private static final int MAX_KEYS = 100_000;

  private static final class Bucket {
    double left;
    long at;
  }

  private final int perHour;
  private final Map<String, Bucket> buckets = new HashMap<>();

  /** {@code perHour} 0: no budget. */
  SignupBudget(int perHour) {
    this.perHour = perHour;
  }

  /** Takes one sign-up from {@code address}'s budget: 0 if it may go ahead, else the milliseconds until it may. */
  synchronized long take(String address, long now) {
    if (perHour == 0 || address == null) return 0;
    if (buckets.size() >= MAX_KEYS && !buckets.containsKey(address)) {
      forgetFull(now);
      if (buckets.size() >= MAX_KEYS) return HOUR_MS / perHour; // signing up from that many places at once: everyone waits
    }
    Bucket b = buckets.computeIfAbsent(address, a -> {
      Bucket fresh = new Bucket();
      fresh.left = perHour;
      fresh.at = now;
      return fresh;
    });
    refill(b, now);
    if (b.left < 1) return (long) Math.ceil((1 - b.left) * HOUR_MS / perHour);
    b.left--;
    return 0;
  }

  /** Gives back a sign-up taken by {@link #take} that never got as far as hashing its password. */
  synchronized void giveBack(String address) {
    Bucket b = address == null ? null : buckets.get(address);
    if (b != null) b.left = Math.min(perHour, b.left + 1);
  }

  private void refill(Bucket b, long now) {
    if (now > b.at) b.left = Math.min(perHour, b.left + (double) (now - b.at) * perHour / HOUR_MS);
    b.at = Math.max(b.at, now);
  }

  private void forgetFull(long now) {
    buckets.values().removeIf(b -> {
      refill(b, now);
      return b.left >= perHour;
    });
  }
}

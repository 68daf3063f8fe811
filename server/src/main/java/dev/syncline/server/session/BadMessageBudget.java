package dev.syncline.server.session;

/**
 * How many malformed messages a connection may still send: a token bucket refilled at the
 * configured rate per minute, so an occasional client bug is forgiven but a stream of garbage is not.
 */
final class BadMessageBudget {
  private final int perMinute;
  private double tokens;
  private long lastRefillNanos = System.nanoTime();

  BadMessageBudget(int perMinute) {
    this.perMinute = perMinute;
    this.tokens = perMinute;
  }

  /** Spends one token; false when none is left. */
  boolean take() {
    long now = System.nanoTime();
    tokens = Math.min(perMinute, tokens + (now - lastRefillNanos) / 60e9 * perMinute);
    lastRefillNanos = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
}

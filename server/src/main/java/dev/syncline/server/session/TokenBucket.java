package dev.syncline.server.session;

/**
 * A token bucket: starts full with {@code capacity} tokens and refills at {@code perSecond}. Used
 * per connection for malformed messages (an occasional client bug is forgiven, a stream of
 * garbage is not) and for messages in general (a flood is slowed). Touched only on the
 * connection's event loop.
 */
final class TokenBucket {
  private final double capacity;
  private final double perSecond;
  private double tokens;
  private long lastRefillNanos = System.nanoTime();

  TokenBucket(double capacity, double perSecond) {
    this.capacity = capacity;
    this.perSecond = perSecond;
    this.tokens = capacity;
  }

  /** Spends one token; false when none is left. */
  boolean take() {
    long now = System.nanoTime();
    tokens = Math.min(capacity, tokens + (now - lastRefillNanos) / 1e9 * perSecond);
    lastRefillNanos = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available again. */
  long retryAfterMs() {
    return tokens >= 1 ? 0 : (long) Math.ceil((1 - tokens) / perSecond * 1000);
  }
}

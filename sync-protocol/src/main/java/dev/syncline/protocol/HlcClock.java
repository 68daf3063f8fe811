package dev.syncline.protocol;

import java.util.function.LongSupplier;

/**
 * One writer's hybrid logical clock. {@link #tick()} stamps a local write; {@link #receive}
 * moves the clock past a timestamp seen from elsewhere, so the next local write orders after
 * everything this writer has observed even when wall clocks disagree.
 *
 * <p>Thread-safe: the state is a single (ms, counter) pair guarded by this object.
 */
public final class HlcClock {
  private final String origin;
  private final LongSupplier wallClock;
  private long ms;
  private int counter;

  public HlcClock(String origin) {
    this(origin, System::currentTimeMillis);
  }

  public HlcClock(String origin, LongSupplier wallClock) {
    if (!Hlc.isValidOrigin(origin)) throw new IllegalArgumentException("bad origin: " + origin);
    this.origin = origin;
    this.wallClock = wallClock;
  }

  public String origin() {
    return origin;
  }

  /** A timestamp for a new local write, greater than every timestamp issued or received. */
  public synchronized Hlc tick() {
    long now = wallClock.getAsLong();
    if (now > ms) {
      ms = now;
      counter = 0;
    } else if (counter < Hlc.MAX_COUNTER) {
      counter++;
    } else {
      // counter exhausted within one millisecond: borrow the next millisecond
      ms++;
      counter = 0;
    }
    return new Hlc(ms, counter, origin);
  }

  /** Moves the clock to at least the (MS, COUNTER) of a timestamp received from elsewhere. */
  public void receive(Hlc seen) {
    receive(seen.ms(), seen.counter());
  }

  /**
   * {@link #receive(Hlc)} for a timestamp string already checked ({@link Hlc#fault} null), as a
   * decoded delta's is: reads MS and COUNTER in place, without checking the string again or
   * copying its origin (on a server's event loop, once per push).
   */
  public void receive(String validTs) {
    receive(Hlc.msOf(validTs), Integer.parseInt(validTs, 14, 18, 16));
  }

  private synchronized void receive(long seenMs, int seenCounter) {
    if (seenMs > ms || (seenMs == ms && seenCounter > counter)) {
      ms = seenMs;
      counter = seenCounter;
    }
  }

  /** The last issued or received (MS, COUNTER), for persisting the clock. */
  public synchronized Hlc last() {
    return new Hlc(ms, counter, origin);
  }
}

package dev.syncline.bench;

import io.vertx.core.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/** The time by which a whole scenario must be over, so every run stops by itself. */
final class Deadline {
  private final long endNanos;

  private Deadline(long endNanos) {
    this.endNanos = endNanos;
  }

  static Deadline inSeconds(long seconds) {
    return new Deadline(System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds));
  }

  long remainingMillis() {
    return Math.max(0, TimeUnit.NANOSECONDS.toMillis(endNanos - System.nanoTime()));
  }

  /** Waits for a future, failing with a message that says what was being waited for. */
  <T> T await(Future<T> future, String what) throws TimeoutException {
    try {
      return future.await(Math.max(1, remainingMillis()), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new TimeoutException("timed out waiting for " + what);
    }
  }

  /** Polls {@code done} every few milliseconds until it holds or the deadline passes. */
  void until(BooleanSupplier done, String what) throws TimeoutException {
    while (!done.getAsBoolean()) {
      if (remainingMillis() == 0) throw new TimeoutException("timed out waiting for " + what);
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TimeoutException("interrupted waiting for " + what);
      }
    }
  }
}

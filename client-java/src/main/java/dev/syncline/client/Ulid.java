package dev.syncline.client;

import java.security.SecureRandom;
import java.util.function.LongSupplier;

/**
 * Document ids that sort by creation: ULIDs, 26 characters of Crockford base32 — 48 bits of
 * milliseconds, then 80 random bits, incremented within one millisecond so ids made in the same
 * millisecond still sort in the order they were made. Thread-safe.
 */
final class Ulid {
  private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();

  private final LongSupplier clock;
  private final SecureRandom random = new SecureRandom();
  private long lastMs = -1;
  private final byte[] randomness = new byte[10];

  Ulid(LongSupplier clock) {
    this.clock = clock;
  }

  synchronized String next() {
    long ms = Math.max(clock.getAsLong(), lastMs);
    if (ms == lastMs) {
      increment();
    } else {
      lastMs = ms;
      random.nextBytes(randomness);
      randomness[0] &= 0x7f; // room to increment without wrapping
    }
    char[] out = new char[26];
    long t = ms;
    for (int i = 9; i >= 0; i--) {
      out[i] = ALPHABET[(int) (t & 31)];
      t >>>= 5;
    }
    // 80 bits of randomness as 16 base32 digits
    long hi = 0;
    for (int i = 0; i < 5; i++) hi = (hi << 8) | (randomness[i] & 0xff);
    long lo = 0;
    for (int i = 5; i < 10; i++) lo = (lo << 8) | (randomness[i] & 0xff);
    for (int i = 17; i >= 10; i--) {
      out[i] = ALPHABET[(int) (hi & 31)];
      hi >>>= 5;
    }
    for (int i = 25; i >= 18; i--) {
      out[i] = ALPHABET[(int) (lo & 31)];
      lo >>>= 5;
    }
    return new String(out);
  }

  private void increment() {
    for (int i = randomness.length - 1; i >= 0; i--) {
      if (++randomness[i] != 0) return;
    }
  }
}

package dev.syncline.server.store;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * The state digest of a database: {@link #BUCKETS} buckets, each the XOR of the hashes of the
 * registers of the documents that fall in it. A register's hash covers its key, timestamp and
 * value (the delta's wire encoding without its seq), so two stores hold the same registers,
 * tombstones included, exactly when their buckets are equal — up to 64-bit hash collisions.
 *
 * <p>XOR makes the digest incremental: a write XORs the old register's hash out and the new one
 * in, inside the write transaction, so asking for a digest costs nothing. Bucketing by document
 * keeps a document's registers together, so repairing a bucket moves whole documents.
 */
public final class Digests {
  private Digests() {}

  /** Buckets per database; fixed, since peers compare them index by index. */
  public static final int BUCKETS = 256;

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });

  /** The hash of one register, from its delta's encoding without the seq ({@code encodeDeltaOpen}). */
  static long entryHash(byte[] encodedOpen) {
    byte[] d = SHA256.get().digest(encodedOpen);
    long h = ByteBuffer.wrap(d, 0, 8).getLong();
    return h == 0 ? 1 : h; // 0 is "no register": keep every real one visible in the XOR
  }

  /**
   * Hashes until the JIT has compiled SHA-256 with the CPU's SHA instructions. Only C2 does that:
   * before it, each delta's hash runs as plain Java, ~10× slower (1.4 µs against 0.15 µs for a
   * 90-byte delta), and under load C2 gets to it seconds late — a new replica catching up spent
   * a fifth of its event loop hashing for the first 8 s (bench/README.md, fourteenth pass).
   * Hashing 30,000 deltas when nothing else runs takes ~0.1 s and gets it compiled; later calls in
   * the same JVM return at once.
   */
  public static void warmUp() {
    if (warm) return;
    byte[] delta = new byte[90];
    for (int i = 0; i < 30_000; i++) {
      delta[i % delta.length] = (byte) i;
      entryHash(delta);
    }
    warm = true;
  }

  private static volatile boolean warm;

  /** The bucket of a document, from its key prefix {@code col\0id\0}. */
  public static int bucketOf(byte[] documentPrefix) {
    CRC32C crc = new CRC32C();
    crc.update(documentPrefix);
    return (int) (crc.getValue() & (BUCKETS - 1));
  }

  /** The whole digest, as hex: a hash over every bucket in order. */
  public static String digestOf(long[] buckets) {
    ByteBuffer b = ByteBuffer.allocate(buckets.length * 8);
    for (long v : buckets) b.putLong(v);
    return HexFormat.of().formatHex(SHA256.get().digest(b.array()), 0, 16);
  }

  public static String hex(long bucket) {
    return HexFormat.of().toHexDigits(bucket);
  }

  static long[] fromBytes(byte[] raw, int length) {
    long[] out = new long[BUCKETS];
    ByteBuffer b = ByteBuffer.wrap(raw, 0, length);
    for (int i = 0; i < BUCKETS && b.remaining() >= 8; i++) out[i] = b.getLong();
    return out;
  }
}

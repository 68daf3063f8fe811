package dev.syncline.server.store;

import dev.syncline.protocol.Json;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.bindings.StringBinding;

/**
 * How keys and values of {@link XodusStore} are laid out in bytes. Names cannot hold NUL, so
 * {@code col\0id\0attr} keys sort by document and a document's registers are adjacent.
 *
 * <ul>
 *   <li>register key: {@code col\0id\0attr}; value: seq (8 bytes), flags (1), entry hash (8,
 *       see {@link Digests}), then the HLC timestamp in ASCII
 *   <li>document key: {@code col\0id\0}, in the registers' table, just before its registers; value:
 *       the {@code $owner} in UTF-8 (empty: none). No register key ends with NUL (an attr has 1
 *       or more characters), so the two never clash
 *   <li>log key: seq (order-preserving 8 bytes); value: register key length (4), register key,
 *       then the delta's wire encoding with its seq
 *   <li>stale key ({@code stale:D}, {@link StaleEntries}): the seq of a write (8 bytes); value: the
 *       seq of the log entry it superseded, which waits in the log for a sweep
 * </ul>
 */
final class Layout {
  private Layout() {}

  /** Register flag: the value is null (a removed attribute). */
  static final byte REMOVED = 1;
  /** Register flag: {@code $deleted = true}, which destroys its document. */
  static final byte DESTROYS = 2;
  /**
   * Register flag on a {@code $deleted = true}: its document's values were purged and it was
   * committed again at its seq; it is purged itself a retention after that commit.
   */
  static final byte VALUES_PURGED = 4;

  private static final int REG_HEADER = 17;
  static final ArrayByteIterable EMPTY = new ArrayByteIterable(new byte[0]);

  static byte[] registerKey(String col, String id, String attr) {
    return (col + '\0' + id + '\0' + attr).getBytes(StandardCharsets.UTF_8);
  }

  /** A register key from its document's key ({@link #documentPrefix}). */
  static byte[] registerKey(byte[] documentPrefix, String attr) {
    byte[] a = attr.getBytes(StandardCharsets.UTF_8);
    byte[] key = Arrays.copyOf(documentPrefix, documentPrefix.length + a.length);
    System.arraycopy(a, 0, key, documentPrefix.length, a.length);
    return key;
  }

  static byte[] documentPrefix(String col, String id) {
    return (col + '\0' + id + '\0').getBytes(StandardCharsets.UTF_8);
  }

  static byte[] collectionPrefix(String col) {
    return (col + '\0').getBytes(StandardCharsets.UTF_8);
  }

  /** The {@code col\0id\0} part of a register key. */
  static byte[] documentPrefixOf(byte[] regKey) {
    int first = indexOf(regKey, 0);
    return Arrays.copyOf(regKey, indexOf(regKey, first + 1) + 1);
  }

  /** col, id and attr of a register key; each decoded from its bytes (a peer's catch-up reads one per change). */
  static String[] partsOf(byte[] regKey) {
    int first = indexOf(regKey, 0);
    int second = indexOf(regKey, first + 1);
    return new String[] {
        new String(regKey, 0, first, StandardCharsets.UTF_8),
        new String(regKey, first + 1, second - first - 1, StandardCharsets.UTF_8),
        new String(regKey, second + 1, regKey.length - second - 1, StandardCharsets.UTF_8)};
  }

  private static int indexOf(byte[] b, int from) {
    for (int i = from; i < b.length; i++) if (b[i] == 0) return i;
    throw new IllegalStateException("corrupt register key");
  }

  /** Whether a key of the registers' table is a document's entry ({@code col\0id\0}), not a register. */
  static boolean isDocumentKey(ByteIterable key) {
    return key.getBytesUnsafe()[key.getLength() - 1] == 0;
  }

  static ArrayByteIterable ownerValue(String owner) {
    return owner == null ? EMPTY : new ArrayByteIterable(owner.getBytes(StandardCharsets.UTF_8));
  }

  static String ownerOf(ByteIterable doc) {
    return doc.getLength() == 0 ? null : new String(doc.getBytesUnsafe(), 0, doc.getLength(), StandardCharsets.UTF_8);
  }

  static ArrayByteIterable registerValue(long seq, byte flags, long hash, String ts) {
    byte[] tsBytes = ts.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer b = ByteBuffer.allocate(REG_HEADER + tsBytes.length);
    b.putLong(seq).put(flags).putLong(hash).put(tsBytes);
    return new ArrayByteIterable(b.array());
  }

  static long seqOf(ByteIterable reg) {
    return ByteBuffer.wrap(reg.getBytesUnsafe(), 0, 8).getLong();
  }

  static byte flagsOf(ByteIterable reg) {
    return reg.getBytesUnsafe()[8];
  }

  static long hashOf(ByteIterable reg) {
    return ByteBuffer.wrap(reg.getBytesUnsafe(), 9, 8).getLong();
  }

  static String tsOf(ByteIterable reg) {
    return new String(reg.getBytesUnsafe(), REG_HEADER, reg.getLength() - REG_HEADER, StandardCharsets.US_ASCII);
  }

  static ArrayByteIterable logValue(byte[] regKey, byte[] json) {
    ByteBuffer b = ByteBuffer.allocate(4 + regKey.length + json.length);
    b.putInt(regKey.length).put(regKey).put(json);
    return new ArrayByteIterable(b.array());
  }

  static byte[] regKeyOf(ByteIterable log) {
    byte[] raw = log.getBytesUnsafe();
    int len = ByteBuffer.wrap(raw, 0, 4).getInt();
    return Arrays.copyOfRange(raw, 4, 4 + len);
  }

  static byte[] jsonOf(ByteIterable log) {
    byte[] raw = log.getBytesUnsafe();
    int from = 4 + ByteBuffer.wrap(raw, 0, 4).getInt();
    return Arrays.copyOfRange(raw, from, log.getLength());
  }

  /** A committed delta's encoding without its {@code ,"seq":N}} tail: what {@code MessageCodec.encodeDeltaOpen} made. */
  static byte[] openOf(byte[] committedJson) {
    for (int i = committedJson.length - 1; i >= 0; i--) {
      if (committedJson[i] == ',') return Arrays.copyOf(committedJson, i);
    }
    throw new IllegalStateException("corrupt log entry");
  }

  static boolean startsWith(ByteIterable key, byte[] prefix) {
    return key.getLength() >= prefix.length
        && Arrays.equals(key.getBytesUnsafe(), 0, prefix.length, prefix, 0, prefix.length);
  }

  /** Whether a log entry's register key starts with one of the prefixes. */
  static boolean logMatchesAny(ByteIterable log, byte[][] prefixes) {
    byte[] raw = log.getBytesUnsafe();
    for (byte[] p : prefixes) {
      if (p.length + 4 <= log.getLength() && Arrays.equals(raw, 4, 4 + p.length, p, 0, p.length)) return true;
    }
    return false;
  }

  /** A key or value of {@code $meta}, {@code $state} or {@code $floors}: Xodus's string binding. */
  static ArrayByteIterable text(String s) {
    return StringBinding.stringToEntry(s);
  }

  /** A value of {@code $meta}: the database's {@link DatabaseInfo} as JSON. */
  static ArrayByteIterable infoValue(DatabaseInfo info) {
    return new ArrayByteIterable(Json.bytes(info));
  }

  static DatabaseInfo infoOf(ByteIterable meta) {
    try {
      return Json.MAPPER.readValue(meta.getBytesUnsafe(), 0, meta.getLength(), DatabaseInfo.class);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("corrupt database metadata", e);
    }
  }

  static byte[] copy(ByteIterable b) {
    return Arrays.copyOf(b.getBytesUnsafe(), b.getLength());
  }
}

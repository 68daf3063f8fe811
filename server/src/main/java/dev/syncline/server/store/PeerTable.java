package dev.syncline.server.store;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.Store;
import jetbrains.exodus.env.Transaction;

/**
 * The {@code $peers} table: this server's cursor into each peer's feed of each database
 * ({@code in\0PEER\0DB}: seq, epoch), written in the same transaction as the data it covers, and
 * each peer's last ack of this server's feed ({@code out\0PEER\0DB}: seq, the peer's head,
 * epoch, the peer's epoch), and the databases waiting for a peer's policies
 * ({@code wait\0DB\0PEER}: the peer's {@code $system} seq and epoch), the peers forgotten for good
 * ({@code gone\0PEER}: when, epoch ms), and the server each dialed URL answered as last
 * ({@code dial\0URL}: its id). Keys are plain UTF-8, since their parts are separated by NUL.
 */
final class PeerTable {
  private static final String IN = "in\0";
  private static final String OUT = "out\0";
  private static final String WAIT = "wait\0";
  private static final String GONE = "gone\0";
  private static final String DIAL = "dial\0";

  private final Environment env;
  private final Store table;

  PeerTable(Environment env, Store table) {
    this.env = env;
    this.table = table;
  }

  /** Stores a feed cursor in the writer's transaction, beside the data it covers. */
  void storeCursor(Transaction txn, PeerCursor c) {
    byte[] epoch = c.epoch().getBytes(StandardCharsets.UTF_8);
    ByteBuffer v = ByteBuffer.allocate(8 + epoch.length).putLong(c.seq()).put(epoch);
    table.put(txn, raw(IN + c.peer() + '\0' + c.db()), new ArrayByteIterable(v.array()));
  }

  /**
   * Stores a feed frame's cursor beside its data, if the cursor stored for its epoch has reached
   * {@code after}, the frame before it. If not, that frame's commit failed: the link is failing,
   * and the next one must resume before it, so this later cursor is not stored (its data is, and
   * comes again, harmlessly). Nor is one behind the stored cursor, which moves only forward.
   */
  void storeFeedCursor(Transaction txn, PeerCursor c, long after) {
    long stored = storedSeq(txn, c);
    // a frame a newer link was sent again (the peer resends from the cursor that link read while
    // the writer was behind), committed after the older link's later frames: all up to the stored
    // cursor is here, and moving it back would have the next link fetch it again, and would stop
    // the newer link's next frames at the check below
    if (stored >= c.seq()) return;
    if (after > 0 && stored < after) return;
    storeCursor(txn, c);
  }

  /** The seq stored for {@code c}'s peer, database and epoch; -1 if none (or another epoch's). */
  private long storedSeq(Transaction txn, PeerCursor c) {
    ByteIterable old = table.get(txn, raw(IN + c.peer() + '\0' + c.db()));
    if (old == null) return -1;
    byte[] v = Layout.copy(old);
    String epoch = new String(v, 8, v.length - 8, StandardCharsets.UTF_8);
    return epoch.equals(c.epoch()) ? ByteBuffer.wrap(v).getLong() : -1;
  }

  /**
   * Drops, in {@code txn} (the one that removes the database), this server's cursors into every
   * peer's feed of {@code db} and every peer's acks of it: the life they were of is gone here, and
   * a new one starts from 0 under a new epoch. Only a peer's last ack stays: after a restart, it is
   * what says that a peer which dialed in exists, so that purging waits for it while it is down.
   */
  void dropDatabase(Transaction txn, String db) {
    for (String peer : peersWith(txn, IN)) table.delete(txn, raw(IN + peer + '\0' + db));
    for (String peer : peersWith(txn, OUT)) {
      if (hasOtherThan(txn, OUT + peer + '\0', db)) table.delete(txn, raw(OUT + peer + '\0' + db));
    }
  }

  /** The peers with a key under {@code side}: one seek each, not a scan of their databases. */
  private List<String> peersWith(Transaction txn, String side) {
    List<String> out = new ArrayList<>();
    byte[] p = side.getBytes(StandardCharsets.UTF_8);
    try (Cursor c = table.openCursor(txn)) {
      byte[] at = p;
      while (c.getSearchKeyRange(new ArrayByteIterable(at)) != null && Layout.startsWith(c.getKey(), p)) {
        String key = new String(Layout.copy(c.getKey()), StandardCharsets.UTF_8);
        String peer = key.substring(side.length(), key.indexOf('\0', side.length()));
        out.add(peer);
        at = (side + peer + '\1').getBytes(StandardCharsets.UTF_8); // past that peer's keys: ids hold no control characters
      }
    }
    return out;
  }

  /** Whether a key under {@code prefix} names a database other than {@code db}. */
  private boolean hasOtherThan(Transaction txn, String prefix, String db) {
    byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
    byte[] mine = (prefix + db).getBytes(StandardCharsets.UTF_8);
    try (Cursor c = table.openCursor(txn)) {
      if (c.getSearchKeyRange(new ArrayByteIterable(p)) == null) return false;
      do {
        if (!Layout.startsWith(c.getKey(), p)) return false;
        if (!java.util.Arrays.equals(Layout.copy(c.getKey()), mine)) return true;
      } while (c.getNext());
    }
    return false;
  }

  void savePeerAcks(Collection<PeerAck> acks) {
    if (acks.isEmpty()) return;
    env.executeInExclusiveTransaction(txn -> {
      for (PeerAck a : acks) {
        byte[] epoch = (a.epoch() + '\0' + a.peerEpoch()).getBytes(StandardCharsets.UTF_8);
        ByteBuffer v = ByteBuffer.allocate(16 + epoch.length).putLong(a.seq()).putLong(a.peerHead()).put(epoch);
        table.put(txn, raw(OUT + a.peer() + '\0' + a.db()), new ArrayByteIterable(v.array()));
      }
    });
  }

  void saveCursors(Collection<PeerCursor> cursors) {
    if (cursors.isEmpty()) return;
    env.executeInExclusiveTransaction(txn -> {
      for (PeerCursor c : cursors) {
        // a data write already stored as much of this epoch: a cursor taken before it (a link's first
        // synced at 0, saved up to a second later) must not move it back, or block the frames after it
        if (storedSeq(txn, c) >= c.seq()) continue;
        storeCursor(txn, c);
      }
    });
  }

  void forgetPeer(String peer) {
    env.executeInExclusiveTransaction(txn -> {
      List<ByteIterable> keys = new ArrayList<>();
      for (String side : List.of(IN, OUT)) {
        scanPeers(txn, side + peer + '\0', (k, v) -> keys.add(raw(k)));
      }
      scanPeers(txn, WAIT, (k, v) -> { // a database waits no more for its policies there
        if (k.endsWith('\0' + peer)) keys.add(raw(k));
      });
      keys.forEach(k -> table.delete(txn, k));
      table.put(txn, raw(GONE + peer), new ArrayByteIterable(ByteBuffer.allocate(8).putLong(System.currentTimeMillis()).array()));
    });
  }

  Set<String> forgottenPeers() {
    return env.computeInReadonlyTransaction(txn -> {
      Set<String> out = new HashSet<>();
      scanPeers(txn, GONE, (k, v) -> out.add(k.substring(GONE.length())));
      return out;
    });
  }

  void saveDialedPeer(String url, String peer) {
    env.executeInExclusiveTransaction(txn -> table.put(txn, raw(DIAL + url), raw(peer)));
  }

  Map<String, String> dialedPeers() {
    return env.computeInReadonlyTransaction(txn -> {
      Map<String, String> out = new HashMap<>();
      scanPeers(txn, DIAL, (k, v) -> out.put(k.substring(DIAL.length()), new String(v, StandardCharsets.UTF_8)));
      return out;
    });
  }

  void savePolicyWait(String db, String peer, String systemEpoch, long systemSeq) {
    byte[] epoch = systemEpoch.getBytes(StandardCharsets.UTF_8);
    byte[] v = ByteBuffer.allocate(8 + epoch.length).putLong(systemSeq).put(epoch).array();
    env.executeInExclusiveTransaction(txn -> table.put(txn, raw(WAIT + db + '\0' + peer), new ArrayByteIterable(v)));
  }

  void dropPolicyWaits(String db) {
    env.executeInExclusiveTransaction(txn -> {
      List<ByteIterable> keys = new ArrayList<>();
      scanPeers(txn, WAIT + db + '\0', (k, v) -> keys.add(raw(k)));
      keys.forEach(k -> table.delete(txn, k));
    });
  }

  List<dev.syncline.server.store.Store.PolicyWaitRecord> policyWaits() {
    return env.computeInReadonlyTransaction(txn -> {
      List<dev.syncline.server.store.Store.PolicyWaitRecord> out = new ArrayList<>();
      scanPeers(txn, WAIT, (k, v) -> {
        String[] parts = k.split("\0", 3);
        // stored without the epoch by an older version: "", of no life
        String epoch = new String(v, 8, v.length - 8, StandardCharsets.UTF_8);
        out.add(new dev.syncline.server.store.Store.PolicyWaitRecord(parts[1], parts[2], epoch, ByteBuffer.wrap(v).getLong()));
      });
      return out;
    });
  }

  Map<String, PeerCursor> peerCursors(String peer) {
    return env.computeInReadonlyTransaction(txn -> {
      Map<String, PeerCursor> out = new HashMap<>();
      String prefix = IN + peer + '\0';
      scanPeers(txn, prefix, (k, v) -> {
        String db = k.substring(prefix.length());
        ByteBuffer b = ByteBuffer.wrap(v);
        long seq = b.getLong();
        out.put(db, new PeerCursor(peer, db, new String(v, 8, v.length - 8, StandardCharsets.UTF_8), seq));
      });
      return out;
    });
  }

  List<PeerAck> peerAcks() {
    return env.computeInReadonlyTransaction(txn -> {
      List<PeerAck> out = new ArrayList<>();
      scanPeers(txn, OUT, (k, v) -> {
        String[] parts = k.split("\0", 3);
        ByteBuffer b = ByteBuffer.wrap(v);
        long seq = b.getLong();
        long head = b.getLong();
        String[] epochs = new String(v, 16, v.length - 16, StandardCharsets.UTF_8).split("\0", 2);
        out.add(new PeerAck(parts[1], parts[2], epochs[0], seq, head, epochs.length > 1 ? epochs[1] : ""));
      });
      return out;
    });
  }

  private void scanPeers(Transaction txn, String prefix, java.util.function.BiConsumer<String, byte[]> each) {
    byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
    try (Cursor c = table.openCursor(txn)) {
      if (c.getSearchKeyRange(new ArrayByteIterable(p)) == null) return;
      do {
        if (!Layout.startsWith(c.getKey(), p)) break;
        each.accept(new String(Layout.copy(c.getKey()), StandardCharsets.UTF_8), Layout.copy(c.getValue()));
      } while (c.getNext());
    }
  }

  private static ArrayByteIterable raw(String s) {
    return new ArrayByteIterable(s.getBytes(StandardCharsets.UTF_8));
  }
}

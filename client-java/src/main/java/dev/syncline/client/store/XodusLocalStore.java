package dev.syncline.client.store;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.EnvironmentConfig;
import jetbrains.exodus.env.Environments;
import jetbrains.exodus.env.Store;
import jetbrains.exodus.env.StoreConfig;
import jetbrains.exodus.env.Transaction;

/**
 * A client's store in a Xodus environment, written durably (fsync before a write completes), so a
 * killed app loses no edit it was told was stored.
 *
 * <h2>Layout</h2>
 * Keys are UTF-8 {@code db\0col\0id\0attr} (names hold no NUL); values the timestamp, NUL, and
 * the value's JSON. {@code registers}: confirmed state; {@code pending}: the newest unacknowledged
 * write per attribute; {@code cursors}: db → seq (8 bytes) and epoch; {@code meta}: clientId,
 * clock, auth, owner.
 *
 * <h2>One writer, group commits</h2>
 * Writes queue up; one thread takes everything waiting and applies it in one transaction, so a
 * burst of edits costs one fsync, not one each. A group that fails is reported failed, and its
 * wipes, drops, registers and sign-in go first in the next group ({@link StoreWrite#carry}):
 * the writes after it were already applied in memory, and a cursor they store must not pass
 * registers that were never stored.
 */
final class XodusLocalStore implements LocalStore {
  private static final Task STOP = new Task(null, null);

  private record Task(StoreWrite write, CompletableFuture<Void> done) {}

  private final Environment env;
  private final Store registers;
  private final Store pending;
  private final Store cursors;
  private final Store meta;
  private final LinkedBlockingQueue<Task> queue = new LinkedBlockingQueue<>();
  private final Thread writer;
  /** Held to queue a write or STOP, so nothing is ever queued after STOP, where no one would take it. */
  private final Object queueing = new Object();
  /** Guarded by queueing: writes are taken until close, or until the writer is gone. */
  private boolean accepting = true;
  private boolean closing; // guarded by queueing
  /** What failed groups left to store before anything else; writer thread only. */
  private StoreWrite carried;

  XodusLocalStore(Path dir) {
    env = Environments.newInstance(dir.toFile(), new EnvironmentConfig().setLogDurableWrite(true).setEnvCloseForcedly(true)
        .setMemoryUsagePercentage(10));
    Store[] s = env.computeInExclusiveTransaction(txn -> new Store[] {
        env.openStore("registers", StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn),
        env.openStore("pending", StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn),
        env.openStore("cursors", StoreConfig.WITHOUT_DUPLICATES, txn),
        env.openStore("meta", StoreConfig.WITHOUT_DUPLICATES, txn)});
    registers = s[0];
    pending = s[1];
    cursors = s[2];
    meta = s[3];
    writer = new Thread(this::run, "syncline-client-store");
    writer.setDaemon(true);
    writer.start();
  }

  @Override
  public LocalState load() {
    return env.computeInReadonlyTransaction(txn -> {
      Map<String, Cursor> cs = new LinkedHashMap<>();
      try (jetbrains.exodus.env.Cursor c = cursors.openCursor(txn)) {
        while (c.getNext()) {
          byte[] v = copy(c.getValue());
          cs.put(text(c.getKey()), new dev.syncline.client.store.Cursor(ByteBuffer.wrap(v).getLong(),
              v.length > 8 ? new String(v, 8, v.length - 8, StandardCharsets.UTF_8) : null));
        }
      }
      return new LocalState(metaOf(txn, "clientId"), metaOf(txn, "clock"), all(txn, registers), all(txn, pending), cs,
          metaOf(txn, "auth"), metaOf(txn, "owner"));
    });
  }

  @Override
  public String claimClientId(String wanted, String fresh) {
    return env.computeInExclusiveTransaction(txn -> {
      String stored = metaOf(txn, "clientId");
      String id = wanted != null ? wanted : stored != null ? stored : fresh;
      if (!id.equals(stored)) meta.put(txn, key("clientId"), key(id));
      return id;
    });
  }

  @Override
  public CompletableFuture<Void> write(StoreWrite w) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (queueing) {
      if (accepting) {
        queue.add(new Task(w, done));
        return done;
      }
    }
    done.completeExceptionally(closedError());
    return done;
  }

  private static IllegalStateException closedError() {
    return new IllegalStateException("the store is closed");
  }

  private void run() {
    List<Task> group = new ArrayList<>();
    boolean stop = false;
    try {
      while (!stop) {
        try {
          group.add(queue.take());
        } catch (InterruptedException e) {
          break;
        }
        queue.drainTo(group);
        stop = group.remove(STOP);
        if (!group.isEmpty()) commit(group);
        group.clear();
      }
    } finally {
      refuseTheRest(); // interrupted, or an error past commit's: nothing queued waits for good
    }
  }

  /** The writer is ending: writes queued now fail, and so do later ones. */
  private void refuseTheRest() {
    synchronized (queueing) {
      accepting = false;
    }
    for (Task t; (t = queue.poll()) != null; ) {
      if (t != STOP) t.done().completeExceptionally(closedError());
    }
  }

  private void commit(List<Task> group) {
    StoreWrite carry = carried;
    try {
      env.executeInExclusiveTransaction(txn -> {
        if (carry != null) apply(txn, carry);
        for (Task t : group) apply(txn, t.write());
      });
      carried = null;
      group.forEach(t -> t.done().complete(null));
    } catch (RuntimeException | Error e) { // an Error too: the writer goes on, and every write is answered
      for (Task t : group) carried = StoreWrite.carry(carried, t.write());
      group.forEach(t -> t.done().completeExceptionally(e));
    }
  }

  private void apply(Transaction txn, StoreWrite w) {
    if (w.wipe) {
      for (Store s : List.of(registers, pending, cursors)) deleteWhere(txn, s, null);
    }
    for (String db : w.drop) {
      deleteWhere(txn, registers, db + '\0');
      cursors.delete(txn, key(db));
    }
    for (StoredRegister r : w.registers) registers.put(txn, regKey(r), regValue(r));
    for (StoredRegister r : w.forget) {
      ByteIterable k = regKey(r);
      ByteIterable v = registers.get(txn, k);
      if (v != null && tsOf(copy(v)).equals(r.ts())) registers.delete(txn, k);
    }
    for (StoredRegister r : w.pendingDelete) {
      ByteIterable k = regKey(r);
      ByteIterable v = pending.get(txn, k);
      if (v != null && tsOf(copy(v)).equals(r.ts())) pending.delete(txn, k);
    }
    for (StoredRegister r : w.pendingPut) {
      ByteIterable k = regKey(r);
      ByteIterable v = pending.get(txn, k);
      // a newer write of the same attribute stays
      if (v == null || tsOf(copy(v)).compareTo(r.ts()) < 0) pending.put(txn, k, regValue(r));
    }
    w.cursors.forEach((db, c) -> {
      byte[] epoch = c.epoch() == null ? new byte[0] : c.epoch().getBytes(StandardCharsets.UTF_8);
      cursors.put(txn, key(db), new ArrayByteIterable(ByteBuffer.allocate(8 + epoch.length).putLong(c.seq()).put(epoch).array()));
    });
    if (w.clock != null) meta.put(txn, key("clock"), key(w.clock));
    if (w.setAuth) putOrDelete(txn, "auth", w.auth);
    if (w.setOwner) putOrDelete(txn, "owner", w.owner);
  }

  private void putOrDelete(Transaction txn, String k, String v) {
    if (v == null) meta.delete(txn, key(k));
    else meta.put(txn, key(k), key(v));
  }

  private static void deleteWhere(Transaction txn, Store s, String prefix) {
    List<byte[]> keys = new ArrayList<>();
    byte[] p = prefix == null ? new byte[0] : prefix.getBytes(StandardCharsets.UTF_8);
    try (jetbrains.exodus.env.Cursor c = s.openCursor(txn)) {
      boolean has = p.length == 0 ? c.getNext() : c.getSearchKeyRange(new ArrayByteIterable(p)) != null;
      for (; has; has = c.getNext()) {
        byte[] k = copy(c.getKey());
        if (!startsWith(k, p)) break;
        keys.add(k);
      }
    }
    for (byte[] k : keys) s.delete(txn, new ArrayByteIterable(k));
  }

  private static List<StoredRegister> all(Transaction txn, Store s) {
    List<StoredRegister> out = new ArrayList<>();
    try (jetbrains.exodus.env.Cursor c = s.openCursor(txn)) {
      while (c.getNext()) {
        String[] k = text(c.getKey()).split("\0", 4);
        byte[] v = copy(c.getValue());
        int nul = indexOf(v, (byte) 0);
        JsonNode value;
        try {
          value = Json.MAPPER.readTree(v, nul + 1, v.length - nul - 1);
        } catch (IOException e) {
          throw new IllegalStateException("corrupt value in the client store", e);
        }
        out.add(new StoredRegister(k[0], k[1], k[2], k[3], value, new String(v, 0, nul, StandardCharsets.US_ASCII)));
      }
    }
    return out;
  }

  private String metaOf(Transaction txn, String k) {
    ByteIterable v = meta.get(txn, key(k));
    return v == null ? null : text(v);
  }

  private static ByteIterable regKey(StoredRegister r) {
    return key(r.db() + '\0' + r.col() + '\0' + r.id() + '\0' + r.attr());
  }

  private static ByteIterable regValue(StoredRegister r) {
    byte[] ts = r.ts().getBytes(StandardCharsets.US_ASCII);
    byte[] value = Json.valueBytes(r.value());
    return new ArrayByteIterable(ByteBuffer.allocate(ts.length + 1 + value.length).put(ts).put((byte) 0).put(value).array());
  }

  private static String tsOf(byte[] v) {
    return new String(v, 0, indexOf(v, (byte) 0), StandardCharsets.US_ASCII);
  }

  private static ArrayByteIterable key(String s) {
    return new ArrayByteIterable(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String text(ByteIterable b) {
    return new String(b.getBytesUnsafe(), 0, b.getLength(), StandardCharsets.UTF_8);
  }

  private static byte[] copy(ByteIterable b) {
    return java.util.Arrays.copyOf(b.getBytesUnsafe(), b.getLength());
  }

  private static int indexOf(byte[] b, byte x) {
    for (int i = 0; i < b.length; i++) if (b[i] == x) return i;
    throw new IllegalStateException("corrupt value in the client store");
  }

  private static boolean startsWith(byte[] b, byte[] p) {
    return b.length >= p.length && java.util.Arrays.equals(b, 0, p.length, p, 0, p.length);
  }

  @Override
  public void close() {
    synchronized (queueing) {
      if (closing) return;
      closing = true;
      accepting = false;
      queue.add(STOP); // after every write queued before; none can follow it
    }
    try {
      writer.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    env.close();
  }
}

package dev.syncline.server.store;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import jetbrains.exodus.bindings.LongBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.StoreConfig;
import jetbrains.exodus.env.Transaction;

/**
 * A database's log entries that a newer write to their register superseded, still in the log.
 *
 * <p>Why they stay: deleting the old entry in the commit that supersedes it rewrote a B-tree
 * page at a random place in the log for every update (a fifth of the writer's time under spread
 * updates). Instead, the commit appends {@code new seq → old seq} to the table {@code stale:D} (at
 * its end, beside the log's own append), and the writer later deletes many at once ({@link
 * #sweep}): the lowest old seqs first, so that the entries deleted together lie close and share
 * the pages rewritten.
 *
 * <p>Old entries that already lie close together, as a bulk rewrite leaves them ({@link #RUN} or
 * more, each within {@link #GAP} seqs of the next), share their pages anyway: those the commit
 * deletes itself ({@link #flush}), which costs less than listing them and sweeping them later.
 *
 * <p>Readers of the log skip them: an entry whose seq is {@linkplain #mayBeStale listed} is
 * emitted only if its register still points at it. The list is in memory, for readers on any
 * thread, and is kept so that a reader never misses a superseded entry of its snapshot:
 * <ul>
 *   <li>a seq is listed before the commit that supersedes it is visible;
 *   <li>a sweep's seqs are unlisted only after its commit, and after {@link #sweeps} has counted
 *       it. A reader whose snapshot began before a sweep committed may still hold entries that
 *       the sweep unlisted, so it reads {@link #sweeps} before and after, and reads again,
 *       checking every entry, when the two differ.
 * </ul>
 *
 * <p>Everything but {@link #mayBeStale}, {@link #sweeps} and {@link #size} is for the writer thread.
 */
final class StaleEntries {
  private final jetbrains.exodus.env.Store table;
  /** Old seqs, for readers. */
  private final Set<Long> listed = ConcurrentHashMap.newKeySet();
  /** Committed supersessions, old seq → new seq (the key of {@link #table}), lowest old seq first. */
  private final TreeMap<Long, Long> committed = new TreeMap<>();
  /** Supersessions of the transaction being written, {old seq, new seq}, until {@link #flush}. */
  private final List<long[]> pending = new ArrayList<>();
  /** Those of them {@link #flush} listed, until the transaction ends. */
  private final List<long[]> uncommitted = new ArrayList<>();
  /** Seqs within this of each other are taken to share a log page (a page holds up to 128 entries). */
  static final long GAP = 64;
  /**
   * This many old entries close together are deleted by the commit itself: about what a sweep's
   * batch puts in one page (1,024 of the lowest of a 16,384 backlog). Fewer, as the old entries of
   * a few spread updates written together once, cost the commit a page rewrite a sweep would share.
   */
  static final int RUN = 32;
  private volatile long sweeps;

  private StaleEntries(jetbrains.exodus.env.Store table) {
    this.table = table;
  }

  /** Opens (creating) the table of database {@code db} and lists what it holds. */
  static StaleEntries open(Environment env, String db, Transaction txn) {
    StaleEntries s = new StaleEntries(env.openStore(tableName(db), StoreConfig.WITHOUT_DUPLICATES, txn));
    try (Cursor c = s.table.openCursor(txn)) {
      while (c.getNext()) {
        long oldSeq = LongBinding.entryToLong(c.getValue());
        s.listed.add(oldSeq);
        s.committed.put(oldSeq, LongBinding.entryToLong(c.getKey()));
      }
    }
    return s;
  }

  static String tableName(String db) {
    return "stale:" + db;
  }

  /** The register whose entry was {@code oldSeq} now has {@code newSeq}, in the transaction being written. */
  void superseded(long newSeq, long oldSeq) {
    pending.add(new long[] {oldSeq, newSeq});
  }

  /**
   * In {@code txn}, once every write is merged and before it commits: deletes from {@code log}
   * the old entries of this transaction's supersessions that lie in runs, and lists the rest.
   */
  void flush(Transaction txn, jetbrains.exodus.env.Store log) {
    if (pending.isEmpty()) return;
    pending.sort((a, b) -> Long.compare(a[0], b[0]));
    List<long[]> deferred = new ArrayList<>();
    for (int from = 0, to; from < pending.size(); from = to) {
      to = from + 1;
      while (to < pending.size() && pending.get(to)[0] - pending.get(to - 1)[0] <= GAP) to++;
      List<long[]> run = pending.subList(from, to);
      if (run.size() >= RUN) {
        for (long[] s : run) log.delete(txn, LongBinding.longToEntry(s[0]));
      } else {
        deferred.addAll(run);
      }
    }
    deferred.sort((a, b) -> Long.compare(a[1], b[1]));
    for (long[] s : deferred) {
      uncommitted.add(s); // first: should a write below fail, the abort un-lists what was listed
      listed.add(s[0]); // before the commit is visible: see the class comment
      // new seqs only grow: an append, like the log's own
      table.putRight(txn, LongBinding.longToEntry(s[1]), LongBinding.longToEntry(s[0]));
    }
    pending.clear();
  }

  /** The transaction being written ended: committed, or not (what it listed is forgotten). */
  void transactionEnded(boolean wasCommitted) {
    for (long[] s : uncommitted) {
      if (wasCommitted) committed.put(s[0], s[1]);
      else listed.remove(s[0]);
    }
    uncommitted.clear();
    pending.clear();
  }

  /**
   * Deletes, in {@code txn}, the log entries of up to {@code max} committed supersessions, the
   * lowest old seqs first, and their rows; returns their old seqs, for {@link #swept} once
   * {@code txn} commits.
   */
  long[] sweep(Transaction txn, jetbrains.exodus.env.Store log, int max) {
    int n = Math.min(max, committed.size());
    long[] oldSeqs = new long[n];
    long[] newSeqs = new long[n];
    Iterator<Map.Entry<Long, Long>> it = committed.entrySet().iterator();
    for (int i = 0; i < n; i++) {
      Map.Entry<Long, Long> e = it.next();
      oldSeqs[i] = e.getKey();
      newSeqs[i] = e.getValue();
    }
    Arrays.sort(newSeqs);
    // in key order, so each page of either tree is rewritten once
    for (long seq : oldSeqs) log.delete(txn, LongBinding.longToEntry(seq));
    for (long seq : newSeqs) table.delete(txn, LongBinding.longToEntry(seq));
    return oldSeqs;
  }

  /** After the sweep's commit. */
  void swept(long[] oldSeqs) {
    sweeps++; // before unlisting: see the class comment
    for (long seq : oldSeqs) {
      committed.remove(seq);
      listed.remove(seq);
    }
  }

  /** Whether the log entry {@code seq} may be superseded, so a reader must check its register. Any thread. */
  boolean mayBeStale(long seq) {
    return !listed.isEmpty() && listed.contains(seq); // the first spares a catch-up of a database with none the boxing
  }

  /** How many sweeps have committed. Any thread. */
  long sweeps() {
    return sweeps;
  }

  /** Superseded entries waiting for a sweep, with those of a commit being written. Any thread. */
  int size() {
    return listed.size();
  }
}

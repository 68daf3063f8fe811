package dev.syncline.server.store;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import jetbrains.exodus.bindings.LongBinding;
import jetbrains.exodus.bindings.StringBinding;
import jetbrains.exodus.core.dataStructures.hash.PackedLongHashSet;
import jetbrains.exodus.core.execution.Job;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.EnvironmentImpl;
import jetbrains.exodus.env.ReadWriteTransaction;
import jetbrains.exodus.env.StoreConfig;
import jetbrains.exodus.env.StoreImpl;
import jetbrains.exodus.gc.GarbageCollector;
import jetbrains.exodus.log.Log;
import jetbrains.exodus.log.LogConfig;
import jetbrains.exodus.log.Loggable;
import jetbrains.exodus.log.LoggableIterator;
import jetbrains.exodus.log.RandomAccessLoggable;
import jetbrains.exodus.tree.LongIterator;
import jetbrains.exodus.util.DeferredIO;

/**
 * Cleans the store's log (copies what is still live out of mostly-garbage {@code .xd} files, which
 * are then deleted) on the writer thread, a step of at most a few ms per call, instead of in
 * Xodus's background cleaner.
 *
 * <p>Why on the writer: the background cleaner wakes every few seconds and cleans file after file,
 * each in an exclusive transaction, and the writer waiting for its own exclusive transaction does
 * not get in between them: at 500 small commits/s no commit happened for 60–70 ms at a time, and
 * every delivery in that window was late. Called by the writer between groups, a step can only
 * delay the pushes that arrive during it, and the writer chooses when: while nothing waits.
 *
 * <p>Why in steps: Xodus cleans a file in one transaction that checks every entry of it against
 * the live trees, 11–24 ms for a 512 KB file of small commits, and every push arriving meanwhile
 * waited that long (most of {@code fanout-100}'s tail above 6 ms). A step checks the file's
 * entries in order until its time is up, at the end of a tree's version (a commit's worth of one
 * store), and commits the live ones it copied; the next step goes on from there. That is Xodus's
 * own per-file loop ({@code GarbageCollector.cleanSingleFile}) cut where it may be: once a step has
 * committed, nothing live refers to the part of the file it checked, and commits made between
 * steps only add entries at the log's end. A part commits as an ordinary transaction (one that
 * copied nothing commits nothing). After the file's last part, if the file still holds entries
 * of the meta tree (the list of stores and their roots, which no step checks), one cleaning
 * transaction moves them out: it writes the whole meta tree anew, hundreds of KB with thousands of
 * stores, so at most once per file and not per step.
 * Once the whole file is checked, it is handed to Xodus as one it cleaned itself: deleted
 * after its delay (5 s), once no reader can still be on it. The deletion runs on Xodus's thread;
 * a step that reads a tree version begun in a file deleted at that moment fails, and the writer
 * tries again later ({@code Committer}).
 *
 * <p>The background cleaner is kept suspended; its thread still deletes cleaned files after
 * Xodus's delay. A backup suspends and then resumes it ({@code BackupStrategy}); while one runs no
 * step is taken here, and when it ends the background cleaner is suspended again.
 *
 * <p>Uses Kotlin-internal members of Xodus 2.0.1 ({@code isTooMuchFreeSpace},
 * {@code getFilesSortedByUtilization}, {@code estimateTotalBytes}, {@code resetFile},
 * {@code isFileCleaned}), public in its bytecode, so that files are chosen exactly as the
 * background cleaner chooses them: only while less of the log is live than its minimum
 * utilization ({@code storeMinUtilization}, half by default), most garbage first, never the
 * newest files. Handing a checked file over takes two private members, and seeing whether the
 * meta tree is in it two package-private ones, reached by reflection when the store opens, so a
 * Xodus without them fails at startup rather than mid-cleaning.
 *
 * <p>Each file cleaned changes Xodus's utilization profile (free bytes per file). Marked dirty,
 * the whole profile, an entry per file, is rewritten by the next commit: with thousands of files
 * that made every commit after a cleaning several times dearer (22% of the writer after 14 M new
 * documents). Xodus's own cleaner marks it once per cleaning cycle; here it is marked at most every
 * {@link #PROFILE_SAVE_INTERVAL_NANOS}. The profile only guides which file is cleaned next, so one
 * saved a little late costs nothing but a less exact choice after a crash.
 */
final class LogCleaner {
  static final long PROFILE_SAVE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(30);
  private static final long NO_FILE = -1;
  /** Most store names kept by structure id ({@link #openStore}): far more than a store has, bounded for one that makes and removes databases without end. */
  private static final int MAX_STORE_NAMES = 100_000;
  /** Holds the address of the last file cleaned, written by the commit that moves the meta tree out of it. */
  private static final String CLEANED = "$logCleaner";

  private final EnvironmentImpl env;
  private final GarbageCollector gc;
  private final LongSupplier nanoTime;
  /** Xodus's set of cleaned files waiting for deletion (private in {@code GarbageCollector}). */
  private final PackedLongHashSet filesToDelete;
  /** Xodus's {@code GarbageCollector.queueDeletionOfFiles}, through its public accessor. */
  private final Method queueDeletion;
  /** Xodus's current meta tree ({@code EnvironmentImpl.getMetaTreeInternal}) and its entries' addresses ({@code MetaTreeImpl.addressIterator}), both package-private. */
  private final Method currentMetaTree;
  private final Method metaTreeAddresses;
  /** Store names by structure id, as {@link #openStore} found them; guarded by this. */
  private final Map<Integer, String> storeNames = new HashMap<>();
  /** Backups running; guarded by this. */
  private int backups;
  /** The file being cleaned, or {@link #NO_FILE}, and the address its next step starts at; guarded by this. */
  private long file = NO_FILE;
  private long resumeAt;
  /** Files cleaned since the profile was last marked for saving; guarded by this. */
  private boolean cleanedSinceMarked;
  private long markedAt;

  LogCleaner(Environment env) {
    this(env, System::nanoTime);
  }

  LogCleaner(Environment env, LongSupplier nanoTime) {
    this.env = (EnvironmentImpl) env;
    this.gc = this.env.getGC();
    this.nanoTime = nanoTime;
    this.markedAt = nanoTime.getAsLong() - PROFILE_SAVE_INTERVAL_NANOS;
    try {
      Field pending = GarbageCollector.class.getDeclaredField("pendingFilesToDelete");
      pending.setAccessible(true);
      filesToDelete = (PackedLongHashSet) pending.get(gc);
      queueDeletion = GarbageCollector.class.getMethod(
          "access$queueDeletionOfFiles", GarbageCollector.class, PackedLongHashSet.class);
      currentMetaTree = EnvironmentImpl.class.getDeclaredMethod("getMetaTreeInternal");
      currentMetaTree.setAccessible(true);
      metaTreeAddresses = currentMetaTree.getReturnType().getDeclaredMethod("addressIterator");
      metaTreeAddresses.setAccessible(true);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("this Xodus lacks members the log cleaner needs", e);
    }
    env.suspendGC();
  }

  /**
   * Takes one step of cleaning (checks entries of a file for up to about {@code budgetNanos}, and
   * commits what it copied), if less of the log is live than it should be or a file is under way.
   */
  synchronized Store.Cleaning step(long budgetNanos) {
    if (backups > 0) return Store.Cleaning.NOTHING;
    if (file != NO_FILE && (gc.isFileCleaned$xodus_environment(file) || !fileExists(file))) {
      file = NO_FILE; // cleaned by Xodus's own cleaner in the moment a backup resumed it
    }
    if (file == NO_FILE && !chooseFile()) {
      markProfileIfDue();
      return Store.Cleaning.NOTHING;
    }
    boolean checkedWhole = checkPart(budgetNanos);
    if (checkedWhole) {
      handOver(file);
      file = NO_FILE;
      cleanedSinceMarked = true;
    }
    markProfileIfDue();
    return checkedWhole ? Store.Cleaning.FILE_CLEANED : Store.Cleaning.PART_OF_A_FILE;
  }

  /** The file with most garbage, when too little of the log is live. */
  private boolean chooseFile() {
    if (!gc.isTooMuchFreeSpace$xodus_environment()) return false;
    Iterator<Long> files = gc.getUtilizationProfile().getFilesSortedByUtilization$xodus_environment(env.getLog().getHighFileAddress());
    if (!files.hasNext()) return false;
    file = files.next();
    resumeAt = file;
    return true;
  }

  /**
   * Checks the file's entries from {@link #resumeAt} until the budget is spent, copying the live
   * ones, and commits the copies (a part with none is not committed); true if it reached the
   * file's end, out of which any meta-tree entries still in use are then moved too. Always checks
   * at least one tree version, so every step moves on.
   */
  private boolean checkPart(long budgetNanos) {
    Log log = env.getLog();
    long end = file + log.getFileLengthBound();
    long deadline = nanoTime.getAsLong() + budgetNanos;
    boolean reachedEnd = true;
    // an ordinary transaction: a cleaning one would write the whole meta tree at every step
    ReadWriteTransaction txn = (ReadWriteTransaction) env.beginExclusiveTransaction();
    try {
      Map<Integer, StoreImpl> stores = new HashMap<>();
      LoggableIterator loggables = log.getLoggableIterator(resumeAt);
      boolean checkedOne = false;
      while (loggables.hasNext()) {
        RandomAccessLoggable loggable = loggables.next();
        if (loggable == null || loggable.getAddress() >= end) break;
        if (checkedOne && nanoTime.getAsLong() - deadline >= 0) {
          resumeAt = loggable.getAddress(); // the first entry of a tree's version: the reclaim below reads each version whole
          reachedEnd = false;
          break;
        }
        int structure = loggable.getStructureId();
        if (structure != Loggable.NO_STRUCTURE_ID && structure != EnvironmentImpl.META_TREE_ID) {
          stores.computeIfAbsent(structure, id -> openStore(txn, id)).reclaim(txn, loggable, loggables);
          checkedOne = true;
        }
      }
      // Nothing copied: nothing to commit. (Xodus would commit it anyway, but a commit that
      // changes no tree appends its root to the JVM-wide ExpiredLoggableCollection.EMPTY in Xodus
      // 2.0.1, which every later commit of every store then counts as garbage: utilization
      // estimates go wrong and each commit reads a growing list.)
      if (!txn.isIdempotent() && !flushWithoutSync(txn)) {
        throw new IllegalStateException("the cleaning transaction was not committed");
      }
    } finally {
      txn.abort(); // ends it; after a flush there is nothing left to undo
    }
    if (reachedEnd && metaTreeIn(file, end)) moveMetaTree();
    return reachedEnd;
  }

  /**
   * The store a structure id belongs to, in this transaction. Xodus's own lookup
   * ({@code openStoreByStructureId}) scans the whole meta tree, reading every store's entry until
   * it finds the id: with thousands of stores that was most of a step, for each store a step met.
   * So the names found are kept, and a kept name is used only while its store still has that id (a
   * database destroyed and made again has stores of the same names under new ids).
   */
  private StoreImpl openStore(ReadWriteTransaction txn, int structureId) {
    String name = storeNames.get(structureId);
    if (name != null) {
      StoreImpl store = env.openStore(name, StoreConfig.USE_EXISTING, txn, false);
      if (store != null && txn.getTree(store).getStructureId() == structureId) return store;
      storeNames.remove(structureId);
    }
    StoreImpl store = txn.openStoreByStructureId(structureId);
    // a removed store's entries get a stand-in, an empty store: not one to remember
    if (store.getConfig() != StoreConfig.TEMPORARY_EMPTY) {
      // names of stores since removed stay until their id is met again: start over now and then
      if (storeNames.size() >= MAX_STORE_NAMES) storeNames.clear();
      storeNames.put(structureId, store.getName());
    }
    return store;
  }

  /**
   * Whether any entry of the current meta tree lies in {@code [file, end)}. Each commit writes the
   * meta tree's path to the stores it changed; what stays behind in older files are the entries
   * of stores written to rarely, so most files being cleaned hold none still in use. Reading the
   * tree's addresses costs far less than writing it anew: with 2,000 databases the meta tree is
   * ~220 KB, written in 10–34 ms.
   */
  private boolean metaTreeIn(long file, long end) {
    LongIterator addresses;
    try {
      addresses = (LongIterator) metaTreeAddresses.invoke(currentMetaTree.invoke(env));
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("reading the meta tree's addresses failed", e);
    }
    while (addresses.hasNext()) {
      long address = addresses.next();
      if (address >= file && address < end) return true;
    }
    return false;
  }

  /**
   * Writes the meta tree (every store's root) anew, moving its entries, which no step checks, out
   * of the file: a cleaning transaction starts from a copy of the whole meta tree, so its commit
   * writes all of it. At most once per file, as Xodus's own cleaner does; with thousands of stores
   * the meta tree is hundreds of KB, too much to write at every step. The commit records the file
   * just cleaned, so that it changes a tree (see EMPTY above).
   */
  private void moveMetaTree() {
    ReadWriteTransaction txn = env.beginGCTransaction();
    try {
      env.openStore(CLEANED, StoreConfig.WITHOUT_DUPLICATES, txn).put(txn, StringBinding.stringToEntry("file"), LongBinding.longToEntry(file));
      if (!flushWithoutSync(txn)) throw new IllegalStateException("the cleaning transaction was not committed");
    } finally {
      txn.abort();
    }
  }

  /**
   * Commits a step without its own fsync, which took most of a step's time (~1 ms). The copies it
   * wrote need not be on disk yet: until the file they came from is deleted, that file still
   * holds them, and Xodus syncs the log before it deletes a cleaned file. The next durable commit's
   * fsync covers them anyway, as the log is written in order.
   */
  private boolean flushWithoutSync(ReadWriteTransaction txn) {
    LogConfig config = env.getLog().getConfig();
    boolean durable = config.isDurableWrite();
    config.setDurableWrite(false); // read by the committing thread only: this one
    try {
      return txn.forceFlush();
    } finally {
      config.setDurableWrite(durable);
    }
  }

  /** As Xodus does after cleaning a file itself: it waits for its deletion, counted as live till then. */
  private void handOver(long cleaned) {
    env.getLog().clearFileFromLogCache(cleaned, 0);
    filesToDelete.add(cleaned);
    gc.getUtilizationProfile().resetFile$xodus_environment(cleaned);
    gc.getUtilizationProfile().estimateTotalBytes$xodus_environment();
    PackedLongHashSet files = new PackedLongHashSet();
    files.add(cleaned);
    env.executeTransactionSafeTask(() -> DeferredIO.getJobProcessor().queueIn(new Job() {
      @Override
      protected void execute() {
        try {
          queueDeletion.invoke(null, gc, files);
        } catch (IllegalAccessException | InvocationTargetException e) {
          throw new IllegalStateException("queueing a cleaned log file for deletion failed", e);
        }
      }
    }, env.getEnvironmentConfig().getGcFilesDeletionDelay()));
  }

  private boolean fileExists(long address) {
    for (long f : env.getLog().getAllFileAddresses()) {
      if (f == address) return true;
    }
    return false;
  }

  /**
   * After a transaction that made much garbage at once (a sweep of the change log): Xodus counts
   * the free bytes per file at once, but updates the share of the whole log that is live only
   * when it starts a log file, so without this the garbage would go unseen until then.
   */
  void garbageMade() {
    gc.getUtilizationProfile().estimateTotalBytes$xodus_environment();
  }

  /** The share of the log that is live by Xodus's estimate, in percent: what {@link #step} compares with the minimum. */
  int livePercent() {
    return gc.getUtilizationProfile().totalUtilizationPercent();
  }

  /** Marks the utilization profile for saving with the next commit, at most once an interval. */
  private void markProfileIfDue() {
    long now = nanoTime.getAsLong();
    if (!cleanedSinceMarked || now - markedAt < PROFILE_SAVE_INTERVAL_NANOS) return;
    gc.getUtilizationProfile().setDirty(true);
    cleanedSinceMarked = false;
    markedAt = now;
  }

  /** A backup begins: waits for a step under way, then takes none until it ends. */
  synchronized void backupStarted() {
    backups++;
  }

  /** A backup ended: its strategy resumed the background cleaner, which is suspended again. */
  synchronized void backupEnded() {
    backups--;
    env.suspendGC();
  }
}

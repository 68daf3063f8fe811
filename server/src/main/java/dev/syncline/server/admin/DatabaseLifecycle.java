package dev.syncline.server.admin;

import dev.syncline.protocol.Delta;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.CommittedDelta;
import dev.syncline.server.store.DestroyOutcome;
import dev.syncline.server.store.Store;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Destroying databases, the same way on every server of a cluster. {@code db.destroy} writes
 * {@code $system/databases/DB.destroyed}, stamped T, which replicates like any change; wherever
 * it is committed — here or on a peer — the database is destroyed through T
 * ({@link Store#destroyThrough}): what was written up to T goes, and anything stamped up to T
 * that arrives later (from a peer, or a client that was offline) is superseded, also in a
 * database created again under that name. Registers written after T elsewhere survive, so every
 * server ends with the same data whatever order it saw things in.
 */
public final class DatabaseLifecycle {
  private static final Logger log = LoggerFactory.getLogger(DatabaseLifecycle.class);

  private final Store store;
  private final Hub hub;
  /** Databases whose destroy failed (a full disk, say): {@link #retry} carries them out, until then the data is served. */
  private final Set<String> failed = ConcurrentHashMap.newKeySet();

  public DatabaseLifecycle(Store store, Hub hub) {
    this.store = store;
    this.hub = hub;
  }

  /** Applies every destroy committed to {@code $system} in this group. On the writer thread. */
  public void committed(List<BatchOutcome> group) {
    for (BatchOutcome o : group) {
      if (!o.db().equals(SystemDb.NAME)) continue;
      for (CommittedDelta d : o.committed()) {
        if (!isDestroy(d.delta())) continue;
        try {
          destroy(d.delta().id(), d.delta().ts());
        } catch (RuntimeException e) { // retry() carries it out; the others of the group go ahead now
          failed.add(d.delta().id());
          log.error("destroying database {} failed; it is tried again in a few seconds", d.delta().id(), e);
        }
      }
    }
  }

  /**
   * At start-up, before the writer runs: a destroy committed to {@code $system} whose database
   * was not destroyed yet (the server stopped in between) is carried out now.
   */
  public void catchUp() {
    for (Delta d : store.registers(SystemDb.NAME, SystemDb.DATABASES)) {
      if (isDestroy(d) && due(d)) destroy(d.id(), d.ts());
    }
  }

  /** Whether a destroy failed and waits for {@link #retry}. */
  public boolean hasFailed() {
    return !failed.isEmpty();
  }

  /** Whether the destroy of {@code db} failed and waits for {@link #retry}: it is not to be created meanwhile. */
  public boolean destroying(String db) {
    return failed.contains(db);
  }

  /**
   * On the writer thread: carries out the destroys that failed, as {@link #catchUp} does at
   * start-up; one that fails again is tried at the next call.
   */
  public Void retry() {
    Set<String> still = new HashSet<>();
    for (Delta d : store.registers(SystemDb.NAME, SystemDb.DATABASES)) {
      if (!isDestroy(d) || !due(d)) continue;
      try {
        destroy(d.id(), d.ts());
      } catch (RuntimeException e) {
        still.add(d.id());
        log.error("destroying database {} failed again; it is tried again in a few seconds", d.id(), e);
      }
    }
    failed.retainAll(still); // both on the writer thread: nothing failed in between
    failed.addAll(still);
    return null;
  }

  /** Whether the destroy {@code d} is not carried out yet: the database's floor is below it. */
  private boolean due(Delta d) {
    String floor = store.floor(d.id());
    return floor == null || floor.compareTo(d.ts()) < 0;
  }

  private static boolean isDestroy(Delta d) {
    return d.col().equals(SystemDb.DATABASES) && d.attr().equals(SystemDb.DESTROYED) && d.value().asBoolean(false);
  }

  private void destroy(String db, String ts) {
    if (db.startsWith("$")) return;
    DestroyOutcome outcome = store.destroyThrough(db, ts);
    switch (outcome) {
      case REMOVED -> {
        log.info("destroyed database {} (through {})", db, ts);
        hub.databaseDestroyed(db);
      }
      case TRIMMED -> {
        log.info("destroyed database {} through {}; what was written after it stays", db, ts);
        hub.databaseTrimmed(db);
      }
      case ABSENT -> { }
    }
  }
}

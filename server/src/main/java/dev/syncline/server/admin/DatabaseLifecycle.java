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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
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
  /** Destroys under way in steps, or failed (a full disk, say), by database: their timestamp. */
  private final Map<String, String> pending = new ConcurrentHashMap<>();
  /** Databases whose last step failed: {@link #retry} goes on with them; until then what is left is served. */
  private final Set<String> failed = ConcurrentHashMap.newKeySet();
  /** Databases whose next step is queued for the writer already. Writer only. */
  private final Set<String> queued = new HashSet<>();
  /** Null until {@link #continueWith}: the caller of a step goes on itself (catchUp, before the writer runs). */
  private Consumer<Runnable> laterOnWriter;

  private final int stepRegisters;

  public DatabaseLifecycle(Store store, Hub hub) {
    this(store, hub, Store.DESTROY_STEP_REGISTERS);
  }

  /** {@code stepRegisters}: registers a step of a destroy removes at most. */
  DatabaseLifecycle(Store store, Hub hub, int stepRegisters) {
    this.store = store;
    this.hub = hub;
    this.stepRegisters = stepRegisters;
  }

  /**
   * How a destroy's next step is run: queued for the writer behind the commits waiting, so a big
   * database's destroy does not hold them up.
   */
  public void continueWith(Consumer<Runnable> laterOnWriter) {
    this.laterOnWriter = laterOnWriter;
  }

  /** Applies every destroy committed to {@code $system} in this group. On the writer thread. */
  public void committed(List<BatchOutcome> group) {
    for (BatchOutcome o : group) {
      if (!o.db().equals(SystemDb.NAME)) continue;
      for (CommittedDelta d : o.committed()) {
        if (!isDestroy(d.delta()) || d.delta().id().startsWith("$")) continue;
        pending.merge(d.delta().id(), d.delta().ts(), (a, b) -> a.compareTo(b) >= 0 ? a : b);
        step(d.delta().id());
      }
    }
  }

  /**
   * At start-up, before the writer runs: a destroy committed to {@code $system} whose database
   * was not destroyed yet (the server stopped in between, perhaps half way) is carried out now.
   */
  public void catchUp() {
    for (Delta d : store.registers(SystemDb.NAME, SystemDb.DATABASES)) {
      if (isDestroy(d) && due(d) && !d.id().startsWith("$")) {
        pending.merge(d.id(), d.ts(), (a, b) -> a.compareTo(b) >= 0 ? a : b);
        while (step(d.id()) == DestroyOutcome.MORE) { } // nothing is served yet: no one waits
      }
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

  /** On the writer thread: goes on with the destroys whose last step failed; one that fails again is tried at the next call. */
  public Void retry() {
    for (String db : List.copyOf(failed)) {
      failed.remove(db);
      step(db);
    }
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

  /** One step of the destroy of {@code db}; the next is queued behind the writer's waiting commits. On the writer. */
  private DestroyOutcome step(String db) {
    String ts = pending.get(db);
    if (ts == null) return DestroyOutcome.ABSENT;
    DestroyOutcome outcome;
    try {
      outcome = store.destroyStep(db, ts, stepRegisters);
    } catch (RuntimeException e) { // retry() goes on with it; the rest of the group goes ahead now
      failed.add(db);
      log.error("destroying database {} failed; it is tried again in a few seconds", db, e);
      return null;
    }
    failed.remove(db); // a step went through (perhaps a later destroy's): it goes on from here, or is done
    switch (outcome) {
      case MORE -> {
        if (laterOnWriter != null && queued.add(db)) {
          laterOnWriter.accept(() -> {
            queued.remove(db);
            step(db);
          });
        }
        return outcome;
      }
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
    pending.remove(db, ts); // unless a later destroy came meanwhile: its steps go on
    return outcome;
  }
}

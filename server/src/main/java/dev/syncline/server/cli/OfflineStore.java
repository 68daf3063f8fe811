package dev.syncline.server.cli;

import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.StoreFormatException;
import dev.syncline.server.store.StoreLockedException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The store of a stopped server's data folder, for commands that work on files rather than over the wire. */
final class OfflineStore {
  private OfflineStore() {}

  /** The store folder inside a data folder. */
  static Path storeDir(Path data) {
    return data.resolve("store");
  }

  /**
   * Opens the store of {@code data}; refuses in one line while a running server holds it, and
   * when it is of an older format: upgraded, the server that wrote it could not open it again.
   */
  static Store open(Path data, boolean mustExist) {
    Path dir = storeDir(data);
    if (mustExist && !Files.isDirectory(dir)) throw new CliException("no store in " + data.toAbsolutePath() + " (see --data)");
    try {
      return Store.openXodus(dir, true, 0, Store.DEFAULT_MIN_UTILIZATION, SystemDb.LOCAL_COLLECTIONS, false);
    } catch (StoreLockedException e) {
      throw new CliException("data folder " + data.toAbsolutePath().normalize()
          + " is in use by a running server: stop it first, or work on the live server with --url", e);
    } catch (StoreFormatException e) {
      throw new CliException(e.getMessage(), e);
    }
  }

  /** Refuses in one line while a running server holds the store of {@code data}; changes nothing in it. */
  static void refuseIfInUse(Path data) {
    try {
      open(data, true).close();
    } catch (CliException e) {
      if (!(e.getCause() instanceof StoreFormatException)) throw e; // an older store: opened, so not in use
    }
  }

  /** Opens the store folder {@code dir} itself, upgrading it if it is of an older format (a copy being restored). */
  static Store openDir(Path dir) {
    return Store.openXodus(dir, true, 0, Store.DEFAULT_MIN_UTILIZATION, SystemDb.LOCAL_COLLECTIONS);
  }
}

package dev.syncline.client.store;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Where a client keeps its replica, its pending writes, cursors, clientId, clock and sign-in. The
 * client's only view of storage: {@link #xodus} (durable, the default) or {@link #memory} (for
 * tests and throwaway clients).
 *
 * <p>{@link #load} and {@link #claimClientId} block; call them off the event loop. Writes are
 * queued and applied in order; the future completes once the write is durable.
 */
public interface LocalStore extends AutoCloseable {

  /** A durable store in {@code dir} (created when absent). One client at a time may open it. */
  static LocalStore xodus(Path dir) {
    return new XodusLocalStore(dir);
  }

  /** A store in memory: everything is gone when the client closes. */
  static LocalStore memory() {
    return new MemoryLocalStore();
  }

  LocalState load();

  /**
   * The clientId this store writes with: {@code wanted} if given (it then replaces the stored
   * one), else the stored one, else {@code fresh}, stored from now on.
   */
  String claimClientId(String wanted, String fresh);

  /** Applies a write after every earlier one; completes (on the store's thread) once durable. */
  CompletableFuture<Void> write(StoreWrite w);

  /** Finishes the queued writes and closes. */
  @Override
  void close();
}

package dev.syncline.server.store;

import java.nio.file.Path;

/** The store's folder is held open by another process, most likely a running server. */
public final class StoreLockedException extends RuntimeException {
  private final Path dir;

  StoreLockedException(Path dir, Throwable cause) {
    super(dir + " is locked by another process", cause);
    this.dir = dir;
  }

  public Path dir() {
    return dir;
  }
}

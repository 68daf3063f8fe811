package dev.syncline.server.store;

import java.nio.file.Path;

/** A store written in an older format, opened by one that may not upgrade it (see {@link Store#openXodus}). */
public final class StoreFormatException extends RuntimeException {
  StoreFormatException(Path dir, int format, int current) {
    super("the store in " + dir + " has format " + format + ", older than this server's " + current
        + ": use the server version that wrote it, or start this server on it once to upgrade it (take a backup first)");
  }
}

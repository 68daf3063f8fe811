package dev.syncline.server.cli;

/** A command could not do what was asked, for a reason told in one line to the operator. */
final class CliException extends RuntimeException {
  /** When trying again may succeed, after how long; -1 when it would fail the same way. */
  private final long retryAfterMs;
  /** The server is busy with the same work for someone else (a backup being sent): worth waiting for longer. */
  private final boolean busy;

  CliException(String message) {
    this(message, null, -1, false);
  }

  CliException(String message, Throwable cause) {
    this(message, cause, -1, false);
  }

  private CliException(String message, Throwable cause, long retryAfterMs, boolean busy) {
    super(message, cause);
    this.retryAfterMs = retryAfterMs;
    this.busy = busy;
  }

  /** A failure that may pass (a connection cut, a server starting): the same request may be made again after {@code retryAfterMs}. */
  static CliException passing(String message, long retryAfterMs) {
    return new CliException(message, null, retryAfterMs, false);
  }

  /** The server does the same for someone else now (429): asking again after {@code retryAfterMs} may succeed. */
  static CliException busy(String message, long retryAfterMs) {
    return new CliException(message, null, retryAfterMs, true);
  }

  boolean busy() {
    return busy;
  }

  /** After how long asking again may succeed; -1 when it would fail the same way. */
  long retryAfterMs() {
    return retryAfterMs;
  }
}

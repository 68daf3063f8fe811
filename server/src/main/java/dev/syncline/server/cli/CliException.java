package dev.syncline.server.cli;

/** A command could not do what was asked, for a reason told in one line to the operator. */
final class CliException extends RuntimeException {
  /** When trying again may succeed, after how long; -1 when it would fail the same way. */
  private final long retryAfterMs;

  CliException(String message) {
    this(message, null, -1);
  }

  CliException(String message, Throwable cause) {
    this(message, cause, -1);
  }

  private CliException(String message, Throwable cause, long retryAfterMs) {
    super(message, cause);
    this.retryAfterMs = retryAfterMs;
  }

  /** A failure that may pass (a connection cut, a server busy): the same request may be made again after {@code retryAfterMs}. */
  static CliException passing(String message, long retryAfterMs) {
    return new CliException(message, null, retryAfterMs);
  }

  /** After how long asking again may succeed; -1 when it would fail the same way. */
  long retryAfterMs() {
    return retryAfterMs;
  }
}

package dev.syncline.server.cli;

/** A command could not do what was asked, for a reason told in one line to the operator. */
final class CliException extends RuntimeException {
  CliException(String message) {
    super(message);
  }

  CliException(String message, Throwable cause) {
    super(message, cause);
  }
}

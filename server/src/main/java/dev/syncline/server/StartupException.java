package dev.syncline.server;

/**
 * A server could not start for a reason its operator can fix: the port is taken, the data folder
 * is in use, a setting is wrong. The message is one line that names the fix; the command line
 * prints it without a stack trace.
 */
public final class StartupException extends RuntimeException {
  public StartupException(String message) {
    super(message);
  }

  public StartupException(String message, Throwable cause) {
    super(message, cause);
  }
}

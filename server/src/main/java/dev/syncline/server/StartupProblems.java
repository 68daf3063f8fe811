package dev.syncline.server;

import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.store.StoreLockedException;
import java.net.BindException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;

/** Turns the failures of a start that an operator can fix into one line naming the fix. */
final class StartupProblems {
  /**
   * NIO reports a failed bind as a {@link BindException}; Netty's epoll transport as its own
   * IOException, "bind(..) failed with error(-98): Address already in use".
   */
  private static boolean isBindFailure(Throwable t) {
    return t instanceof BindException
        || (t instanceof java.io.IOException && String.valueOf(t.getMessage()).startsWith("bind("));
  }

  private StartupProblems() {}

  /** A {@link StartupException} for a known mistake; anything else as it is. */
  static Throwable explain(Throwable failure, ServerConfig config) {
    Path data = Path.of(config.data).toAbsolutePath().normalize();
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof StartupException) return t;
      if (isBindFailure(t)) {
        return String.valueOf(t.getMessage()).contains("in use")
            ? new StartupException("port " + config.port + " is in use: pick another with --port", t)
            : new StartupException("cannot listen on " + config.host + ":" + config.port + ": " + t.getMessage()
                + " (check --host)", t);
      }
      if (t instanceof StoreLockedException) {
        return new StartupException("data folder " + data + " is in use by another running server: stop it, or pick"
            + " another folder with --data", t);
      }
      if (t instanceof AccessDeniedException a) {
        return new StartupException("data folder " + data + " cannot be used: permission denied on " + a.getFile()
            + " (pick another folder with --data)", t);
      }
      if (t instanceof FileSystemException f && f.getFile() != null && Path.of(f.getFile()).toAbsolutePath().startsWith(data)) {
        return new StartupException("data folder " + data + " cannot be used: " + f.getMessage(), t);
      }
      if (t instanceof IllegalArgumentException) {
        return new StartupException(t.getMessage(), t); // a setting, named by its message
      }
    }
    if (config.tls.enabled() && mentionsTls(failure)) {
      return new StartupException("tls: cannot use certFile " + config.tls.certFile + " with keyFile " + config.tls.keyFile
          + ": " + rootMessage(failure), failure);
    }
    return failure;
  }

  private static boolean mentionsTls(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String name = t.getClass().getName();
      if (name.contains("ssl") || name.contains("Ssl") || name.contains("security") || name.contains("Key")
          || name.contains("Certificate") || String.valueOf(t.getMessage()).toLowerCase().contains("pem")) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) t = t.getCause();
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }
}

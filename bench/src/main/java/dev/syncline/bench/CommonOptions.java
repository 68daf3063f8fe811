package dev.syncline.bench;

import picocli.CommandLine.Option;

/** Options every scenario takes. */
final class CommonOptions {
  @Option(names = "--port", defaultValue = "18090", description = "server port on 127.0.0.1 (default ${DEFAULT-VALUE})")
  int port;

  @Option(names = "--db", defaultValue = "bench", description = "database to use; must exist (default ${DEFAULT-VALUE})")
  String db;

  @Option(names = "--admin-password", defaultValue = "${env:SYNCLINE_ADMIN_PASSWORD}",
      description = "password of the server's admin user, for server.stats (default: $SYNCLINE_ADMIN_PASSWORD)")
  String adminPassword;

  @Option(names = "--event-loops", description = "generator event loops (default: number of cores)")
  Integer eventLoops;

  @Option(names = "--timeout", defaultValue = "300",
      description = "seconds after which the scenario gives up and exits non-zero (default ${DEFAULT-VALUE})")
  long timeoutSeconds;

  @Option(names = "--server-pid", defaultValue = "0",
      description = "pid of the server on this machine: reports its CPU (and RSS for idle); 0 = unknown")
  long serverPid;

  @Option(names = "--json", description = "also write the result as one JSON line: a file to append to, or - for stdout")
  String json;

  int eventLoops() {
    return eventLoops != null ? eventLoops : Runtime.getRuntime().availableProcessors();
  }

  /** A run tag unique enough that names written by this run do not collide with earlier runs. */
  static String runTag() {
    return Long.toString(System.currentTimeMillis(), 36);
  }
}

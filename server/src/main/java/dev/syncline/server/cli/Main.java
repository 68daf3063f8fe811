package dev.syncline.server.cli;

import dev.syncline.server.SynclineServer;
import dev.syncline.server.config.ConfigLoader;
import dev.syncline.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar syncline-server.jar}: starts a server until SIGTERM or Ctrl-C. */
@Command(name = "syncline-server", mixinStandardHelpOptions = true, version = "Syncline 0.1",
    description = "Reactive WebSocket sync server for offline-first apps.")
public final class Main implements Callable<Integer> {
  @Option(names = "--port", description = "port to listen on; 0 = any free port (default 8080)")
  Integer port;

  @Option(names = "--host", description = "address to listen on (default 127.0.0.1)")
  String host;

  @Option(names = "--data", description = "data folder (default ./data)")
  String data;

  @Option(names = "--config", description = "JSON config file: any setting, plus databases to ensure")
  Path config;

  @Option(names = "--durability", description = "sync (fsync before ack, default) or async")
  String durability;

  @Option(names = "--static", description = "folder of static files served at /")
  String staticDir;

  @Option(names = "--peer", description = "URL of a server to replicate with, ws://host:port/sync (repeatable)")
  java.util.List<String> peers;

  public static void main(String[] args) {
    int code = new CommandLine(new Main()).execute(args);
    if (code != 0) System.exit(code);
  }

  @Override
  public Integer call() throws Exception {
    ServerConfig cfg = ConfigLoader.load(config, System.getenv());
    if (port != null) cfg.port = port;
    if (host != null) cfg.host = host;
    if (data != null) cfg.data = data;
    if (durability != null) cfg.durability = durability;
    if (staticDir != null) cfg.staticDir = staticDir;
    if (peers != null) cfg.peers = new java.util.ArrayList<>(peers);
    SynclineServer server = SynclineServer.start(cfg).toCompletionStage().toCompletableFuture().get();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("shutdown did not finish cleanly: " + e);
      }
    }, "syncline-shutdown"));
    return 0; // the server's non-daemon threads keep the JVM up until shutdown
  }
}

package dev.syncline.server.cli;

import dev.syncline.server.SynclineServer;
import dev.syncline.server.config.ConfigLoader;
import dev.syncline.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/** The options of {@code serve}, also taken by the bare command: {@code java -jar syncline-server.jar --port 9000}. */
final class ServeOptions {
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

  @Option(names = "--static", description = "folder of static files served at / (the SDK stays at /sdk/)")
  String staticDir;

  @Option(names = "--peer", description = "URL of a server to replicate with, ws://host:port/sync (repeatable)")
  List<String> peers;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "certificate chain to serve https and wss (with --tls-key)")
  String tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "private key of --tls-cert")
  String tlsKey;

  /** Starts a server and returns once it listens; its threads keep the JVM up until SIGTERM or Ctrl-C. */
  int serve() throws InterruptedException {
    ServerConfig cfg = ConfigLoader.load(config, System.getenv());
    if (port != null) cfg.port = port;
    if (host != null) cfg.host = host;
    if (data != null) cfg.data = data;
    if (durability != null) cfg.durability = durability;
    if (staticDir != null) cfg.staticDir = staticDir;
    if (peers != null) cfg.peers = new ArrayList<>(peers);
    if (tlsCert != null) cfg.tls.certFile = tlsCert;
    if (tlsKey != null) cfg.tls.keyFile = tlsKey;
    if (config != null) cfg.refuseServing(config, "the config file"); // it may hold adminPassword, jwtSecret, clusterSecret
    SynclineServer server;
    try {
      server = SynclineServer.start(cfg).toCompletionStage().toCompletableFuture().get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("shutdown did not finish cleanly: " + e);
      }
    }, "syncline-shutdown"));
    return 0;
  }
}

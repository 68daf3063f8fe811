package dev.syncline.bench;

import dev.syncline.protocol.Json;
import dev.syncline.server.SynclineServer;
import dev.syncline.server.config.ServerConfig;
import java.nio.file.Path;

/** A real server for a scenario's test, on port 0 with its data in {@code dir}, set up as bench/run.sh sets up its servers. */
final class EmbeddedServer {
  static final String ADMIN_PASSWORD = "bench-test-admin-password";

  private EmbeddedServer() {}

  static SynclineServer start(Path dir) throws Exception {
    ServerConfig c = new ServerConfig();
    c.port = 0;
    c.data = dir.resolve("data").toString();
    c.eventLoops = 2;
    c.adminPassword = ADMIN_PASSWORD;
    c.todoExample = false;
    // anyone may read and write "bench": the generator does not sign in to push
    c.messagesPerSecond = 0; // no rate limit: the generator funnels many clients through few connections
    c.newDatabasePolicy = Json.MAPPER.readTree(
        "{\"read\":[\"$all\"],\"create\":[\"$all\"],\"update\":[\"$all\"],\"destroy\":[\"$all\"]}");
    c.databases.add(ServerConfig.DatabaseSpec.named("bench"));
    return SynclineServer.start(c).await();
  }
}

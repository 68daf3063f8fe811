package dev.syncline.client;

import java.nio.file.Path;
import java.util.Map;

/**
 * A client app in a JVM of its own, for {@link KillTest}: writes {@code count} documents one
 * after another, printing {@code stored N} once the local store has document N, until killed.
 * Usage: URL STORE_DIR COUNT
 */
public final class ClientWriterMain {
  public static void main(String[] args) throws Exception {
    SynclineClient client = SynclineClient.create(new ClientOptions().setUrl(args[0]).setStoreDirectory(Path.of(args[1])));
    BlockingClient c = client.blocking().ready();
    System.out.println("clientId " + client.clientId());
    c.awaitSynced("app", java.time.Duration.ofSeconds(30));
    System.out.println("synced");
    Collection col = c.db("app").col("edits");
    for (int i = 0; i < Integer.parseInt(args[2]); i++) {
      c.set(col.doc("e" + i), Map.of("v", i));
      System.out.println("stored " + i);
    }
    System.out.println("done");
    Thread.sleep(60_000); // waits to be killed
  }
}

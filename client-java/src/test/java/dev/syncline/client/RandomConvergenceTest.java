package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.server.config.ServerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Four clients, each on its own Xodus store, make seeded random edits to a few documents (set an
 * attribute, sometimes to null; destroy; restore), go offline and back, and are restarted (closed,
 * and a new client opened on the same store folder: its unsent edits must survive and be pushed).
 * Then all go online and settle: every replica, every store reopened, and a fresh client show the
 * same documents, and those are what the edits made give by the protocol's merge and visibility
 * (PROTOCOL.md §6): so no edit was lost on the way. {@code -Dsyncline.seed=N} replays a run; the seed
 * is in the display name and in every failure message.
 */
@DisplayName("Random edits from clients going offline and restarting on their stores converge")
class RandomConvergenceTest {
  static final long SEED = Long.getLong("syncline.seed", new Random().nextLong() & Long.MAX_VALUE);
  private static final int CLIENTS = 4;
  private static final int STEPS = 400;
  private static final String DB = "rand";
  private static final String COL = "items";
  private static final List<String> DOCS = List.of("a", "b", "c", "d", "e");
  private static final List<String> ATTRS = List.of("title", "done", "n");

  /** One write made, with the timestamp it was stamped with. */
  private record Written(String doc, String attr, JsonNode value, String ts, int step, int client) {}

  private Vertx vertx;
  private EmbeddedServer server;
  private final List<SynclineClient> open = new ArrayList<>();

  @TestFactory
  Stream<DynamicTest> randomRun() {
    return Stream.of(DynamicTest.dynamicTest("every replica, every store reopened and a fresh client show the documents the "
        + "edits make (seed " + SEED + ")", this::run));
  }

  private String seed() {
    return " (seed " + SEED + ", replay with -Dsyncline.seed=" + SEED + ")";
  }

  private SynclineClient client(Path store, boolean offline) {
    ClientOptions o = new ClientOptions().setUrl(server.url()).setBackoffInitialMs(20).setBackoffMaxMs(200).setOffline(offline);
    if (store != null) o.setStoreDirectory(store);
    SynclineClient c = SynclineClient.create(vertx, o);
    open.add(c);
    Await.result(c.ready());
    c.db(DB).col(COL).all(); // subscribes
    return c;
  }

  private void close(SynclineClient c) {
    Await.result(c.close());
    open.remove(c);
  }

  private static Map<String, Doc> view(SynclineClient c) {
    Map<String, Doc> out = new TreeMap<>();
    for (Doc d : c.db(DB).col(COL).all()) out.put(d.id(), d);
    return out;
  }

  private void until(BooleanSupplier condition, Supplier<String> what) {
    Await.until(condition, () -> what.get() + seed());
  }

  /**
   * Writes on the client's event loop, where the write is applied at once, so the timestamp it was
   * given can be read from the replica before anything else happens there.
   */
  private Written write(SynclineClient c, int index, String doc, String attr, JsonNode value, int step, List<Future<Void>> stored) {
    CompletableFuture<Written> out = new CompletableFuture<>();
    c.core().context.runOnContext(v -> {
      try {
        Document d = c.db(DB).col(COL).doc(doc);
        Future<Void> f;
        if (attr.equals("$deleted")) {
          f = value.asBoolean() ? d.destroy() : d.restore();
        } else {
          Map<String, Object> attrs = new HashMap<>();
          attrs.put(attr, value.isNull() ? null : value);
          f = d.set(attrs);
        }
        stored.add(f);
        Replica.Pending p = c.core().replica.pendingEntry(DB, COL, doc, attr);
        if (p == null) throw new AssertionError("a write not pending at once: " + doc + "." + attr);
        out.complete(new Written(doc, attr, value, p.ts(), step, index));
      } catch (Throwable t) {
        out.completeExceptionally(t);
      }
    });
    try {
      return out.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("write at step " + step + seed(), e);
    }
  }

  /** The documents the writes make (PROTOCOL.md §6), as {id: {attr: value}}, without {@code $owner}. */
  private Map<String, Map<String, JsonNode>> expected(List<Written> writes) {
    Map<String, Map<String, Written>> registers = new TreeMap<>();
    for (Written w : writes) {
      Map<String, Written> doc = registers.computeIfAbsent(w.doc(), k -> new TreeMap<>());
      Written held = doc.get(w.attr());
      if (held != null && held.ts().equals(w.ts())) {
        throw new AssertionError("two writes stamped " + w.ts() + ": " + held + " and " + w + seed());
      }
      if (held == null || w.ts().compareTo(held.ts()) > 0) doc.put(w.attr(), w);
    }
    Map<String, Map<String, JsonNode>> out = new TreeMap<>();
    registers.forEach((id, regs) -> {
      Written deleted = regs.get("$deleted");
      String deletedTs = deleted != null && deleted.value().asBoolean() ? deleted.ts() : null;
      Map<String, JsonNode> attrs = new TreeMap<>();
      regs.forEach((attr, w) -> {
        if (attr.equals("$deleted") || w.value().isNull()) return;
        if (deletedTs == null || w.ts().compareTo(deletedTs) > 0) attrs.put(attr, w.value());
      });
      if (deletedTs == null || !attrs.isEmpty()) out.put(id, attrs);
    });
    return out;
  }

  private static Map<String, Map<String, JsonNode>> shown(Map<String, Doc> view) {
    Map<String, Map<String, JsonNode>> out = new TreeMap<>();
    view.forEach((id, d) -> {
      Map<String, JsonNode> attrs = new TreeMap<>();
      d.toJson().fields().forEachRemaining(e -> {
        if (!e.getKey().equals("id") && !e.getKey().equals("$owner")) attrs.put(e.getKey(), e.getValue());
      });
      out.put(id, attrs);
    });
    return out;
  }

  private void run() throws Exception {
    System.out.println("RandomConvergenceTest seed " + SEED);
    Random rng = new Random(SEED);
    vertx = Vertx.vertx();
    server = EmbeddedServer.start(cfg -> cfg.databases.add(ServerConfig.DatabaseSpec.named(DB)));
    Path stores = Files.createTempDirectory("syncline-random-stores");
    try {
      Path[] dirs = new Path[CLIENTS];
      SynclineClient[] clients = new SynclineClient[CLIENTS];
      boolean[] offline = new boolean[CLIENTS];
      for (int i = 0; i < CLIENTS; i++) {
        dirs[i] = Files.createDirectories(stores.resolve("c" + i));
        offline[i] = rng.nextBoolean(); // some start offline: their first edits are made before any cursor
        clients[i] = client(dirs[i], offline[i]);
      }

      List<Written> writes = new ArrayList<>();
      List<Future<Void>> stored = java.util.Collections.synchronizedList(new ArrayList<>());
      int restarts = 0;
      int restartsWithPending = 0;
      for (int step = 0; step < STEPS; step++) {
        int i = rng.nextInt(CLIENTS);
        SynclineClient c = clients[i];
        String doc = DOCS.get(rng.nextInt(DOCS.size()));
        double r = rng.nextDouble();
        if (r < 0.07) {
          offline[i] = !offline[i];
          c.offline(offline[i]);
        } else if (r < 0.11) {
          // a restart: the store keeps the replica and the unsent edits for the next client on it
          if (offline[i]) until(() -> !c.status().online(), () -> "client " + i + " offline before its restart");
          Map<String, Doc> before = view(c);
          if (c.status().pending() > 0) restartsWithPending++;
          close(c);
          clients[i] = client(dirs[i], offline[i]);
          restarts++;
          Map<String, Doc> after = view(clients[i]);
          // what a client shows comes back with its store (online, changes may have come since; offline, none)
          if (offline[i]) assertEquals(before, after, "client " + i + " restarted offline at step " + step + seed());
        } else if (r < 0.16) {
          writes.add(write(c, i, doc, "$deleted", BooleanNode.TRUE, step, stored));
        } else if (r < 0.20) {
          writes.add(write(c, i, doc, "$deleted", BooleanNode.FALSE, step, stored));
        } else {
          String attr = ATTRS.get(rng.nextInt(ATTRS.size()));
          JsonNode value = rng.nextDouble() < 0.15 ? NullNode.getInstance()
              : attr.equals("done") ? BooleanNode.valueOf(rng.nextBoolean())
              : attr.equals("n") ? IntNode.valueOf(rng.nextInt(100)) : TextNode.valueOf("t" + step);
          writes.add(write(c, i, doc, attr, value, step, stored));
        }
        if (step % 25 == 0) Thread.sleep(rng.nextInt(20));
        else if (rng.nextDouble() < 0.1) Thread.sleep(rng.nextInt(4)); // acks and changes land between steps, or not
      }
      List<Future<Void>> all;
      synchronized (stored) {
        all = List.copyOf(stored);
      }
      for (int k = 0; k < all.size(); k++) {
        try {
          Await.result(all.get(k));
        } catch (RuntimeException | AssertionError e) {
          throw new AssertionError("write " + k + " was not stored: " + e + seed(), e);
        }
      }
      for (SynclineClient c : clients) c.offline(false);
      until(() -> java.util.Arrays.stream(clients).allMatch(c -> c.status().online() && c.status().pending() == 0
          && c.status().synced().containsKey(DB)),
          () -> "every edit recorded by the server: " + java.util.Arrays.stream(clients).map(c -> c.status().toString()).toList());

      SynclineClient fresh = client(null, false);
      until(() -> fresh.status().online() && fresh.status().synced().containsKey(DB), () -> "a fresh client synced");
      Map<String, Doc> truth = view(fresh);
      Map<String, Map<String, JsonNode>> model = expected(writes);
      assertEquals(model, shown(truth), "the server's documents are what the " + writes.size() + " writes make ("
          + restarts + " restarts)" + seed());
      until(() -> java.util.Arrays.stream(clients).allMatch(c -> view(c).equals(truth)),
          () -> "every replica to show the server's documents: " + truth + " / "
              + java.util.Arrays.stream(clients).map(c -> view(c).toString()).toList());

      System.out.println("RandomConvergenceTest seed " + SEED + ": " + writes.size() + " writes, " + restarts + " restarts ("
          + restartsWithPending + " with edits pending), " + truth.size() + " documents shown");
      // each store reopened: what it resumes from, and what it still holds, give the server's documents
      for (int i = 0; i < CLIENTS; i++) {
        close(clients[i]);
        SynclineClient again = client(dirs[i], false);
        clients[i] = again;
        int which = i;
        until(() -> again.status().online() && again.status().pending() == 0 && again.status().synced().containsKey(DB)
            && view(again).equals(truth),
            () -> "store " + which + " reopened to show the server's documents: " + truth + " / " + view(again) + " " + again.status());
      }
    } finally {
      for (SynclineClient c : List.copyOf(open)) {
        try {
          Await.result(c.close());
        } catch (RuntimeException | AssertionError ignored) {
          // closing what is left
        }
      }
      open.clear();
      server.close();
      Await.result(vertx.close());
      try (Stream<Path> files = Files.walk(stores)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a temp folder left behind is harmless
      }
    }
  }
}

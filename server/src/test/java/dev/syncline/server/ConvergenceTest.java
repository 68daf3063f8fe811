package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Merge;
import dev.syncline.protocol.Register;
import dev.syncline.protocol.Visibility;
import dev.syncline.server.testing.Deltas;
import dev.syncline.server.testing.Pipeline;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Property test: several clients push random deltas — random timestamps, shuffled, duplicated,
 * in random batches, concurrently, each client on two connections at once — while subscribers
 * watch. A client writes only with its own clientId as ORIGIN. Every subscriber's replica, and the
 * server's state as a fresh subscriber reads it, must equal the model: per register, the delta
 * with the greatest timestamp.
 */
@DisplayName("Convergence under concurrent, shuffled, duplicated writes")
class ConvergenceTest {
  static final int ROUNDS = 4;
  static final int WRITERS = 4;
  /**
   * Connections per writer, all saying hello with the writer's clientId: a client may be on two at
   * once, as when it resends after a reconnect before its old connection is gone.
   */
  static final int LINKS = 2;
  static final String WRITER_PREFIX = "writer";
  static final int DELTAS = 1500;
  static final List<String> COLS = List.of("todos", "notes");
  static final List<String> ATTRS = List.of("title", "done", "rank", "$deleted");

  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> c.catchUpPageDeltas = 50);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  @DisplayName("every replica and the server equal the max-timestamp-per-register model, for random seeds")
  void convergesForRandomSeeds() throws Exception {
    long base = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    for (int round = 0; round < ROUNDS; round++) {
      long seed = base + round;
      try {
        runRound("conv" + round, seed);
      } catch (AssertionError e) {
        throw new AssertionError("round " + round + " failed with seed " + seed + ": " + e.getMessage(), e);
      }
    }
  }

  private void runRound(String db, long seed) throws Exception {
    Random rnd = new Random(seed);
    server.admin(Deltas.admin("db.create", Deltas.args().put("db", db)));
    List<ObjectNode> deltas = randomDeltas(rnd);
    Map<String, Replica.Reg> model = model(deltas);

    // two subscribers before any write, one that joins while writes flow
    List<WsClient> readers = new ArrayList<>();
    List<Replica> replicas = new ArrayList<>();
    for (int r = 0; r < 2; r++) subscribe(db, "early" + r, readers, replicas);

    List<List<ObjectNode>> perLink = assign(deltas, rnd);
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    for (int link = 0; link < WRITERS * LINKS; link++) {
      List<ObjectNode> mine = perLink.get(link);
      long writerSeed = rnd.nextLong();
      String clientId = writerId(link / LINKS);
      Thread t = new Thread(() -> {
        try (WsClient client = server.connect(clientId)) {
          Random wr = new Random(writerSeed);
          Pipeline p = new Pipeline(client, 8);
          List<CompletableFuture<JsonNode>> acks = new ArrayList<>();
          for (int i = 0; i < mine.size(); ) {
            int n = Math.min(mine.size() - i, 1 + wr.nextInt(20));
            acks.add(p.send(push(db, mine.subList(i, i + n).toArray(new JsonNode[0]))));
            i += n;
          }
          for (CompletableFuture<JsonNode> f : acks) {
            JsonNode ack = f.join();
            assertEquals("ack", ack.get("type").asText(), ack.toString());
            for (JsonNode r : ack.get("results")) {
              assertTrue(Set.of("applied", "superseded", "duplicate").contains(r.asText()), ack.toString());
            }
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      });
      threads.add(t);
      t.start();
    }
    subscribe(db, "joiner", readers, replicas);
    for (Thread t : threads) t.join();
    if (!failures.isEmpty()) throw new AssertionError("a writer failed", failures.get(0));

    subscribe(db, "after", readers, replicas); // reads the server's state from the store
    for (int r = 0; r < readers.size(); r++) {
      Replica replica = replicas.get(r);
      readers.get(r).until(() -> replica.holds(model), "replica " + r + " to converge");
      assertNull(replica.violation(), "replica " + r);
      assertEquals(model, replica.registers(), "replica " + r + " registers");
      assertEquals(visible(model), visible(replica.registers()), "replica " + r + " visible documents");
      readers.get(r).close();
    }
  }

  private static void subscribe(String db, String id, List<WsClient> readers, List<Replica> replicas) {
    WsClient c = server.connect(id);
    Replica replica = new Replica();
    c.listen(replica::apply);
    c.request(sub(db, 0));
    readers.add(c);
    replicas.add(replica);
  }

  /** Random deltas over a few registers; timestamps unique per register, never in the future. */
  private static List<ObjectNode> randomDeltas(Random rnd) {
    long baseMs = System.currentTimeMillis() - 60_000;
    Map<String, Set<String>> usedTs = new HashMap<>();
    List<ObjectNode> out = new ArrayList<>();
    while (out.size() < DELTAS) {
      String col = COLS.get(rnd.nextInt(COLS.size()));
      String id = "doc" + rnd.nextInt(6);
      String attr = ATTRS.get(rnd.nextInt(ATTRS.size()));
      String ts = new Hlc(baseMs + rnd.nextInt(5000), rnd.nextInt(3), writerId(rnd.nextInt(WRITERS))).format();
      if (!usedTs.computeIfAbsent(Replica.key(col, id, attr), k -> new HashSet<>()).add(ts)) continue;
      Object value;
      if (attr.equals("$deleted")) value = rnd.nextBoolean();
      else if (rnd.nextInt(7) == 0) value = null;
      else value = rnd.nextBoolean() ? rnd.nextInt(1000) : "v" + rnd.nextInt(1000);
      out.add(delta(col, id, attr, value, ts));
    }
    return out;
  }

  /** The clientId of writer {@code w}: the ORIGIN of the deltas it pushes. */
  private static String writerId(int w) {
    return WRITER_PREFIX + w;
  }

  /**
   * Each delta goes to one connection (link {@code w * LINKS + j}) of the writer whose ORIGIN it
   * carries; a fifth also to another connection of that writer, a tenth twice to the same; then
   * shuffled.
   */
  private static List<List<ObjectNode>> assign(List<ObjectNode> deltas, Random rnd) {
    List<List<ObjectNode>> perLink = new ArrayList<>();
    for (int l = 0; l < WRITERS * LINKS; l++) perLink.add(new ArrayList<>());
    for (ObjectNode d : deltas) {
      String origin = Hlc.parse(d.get("ts").asText()).origin();
      int w = Integer.parseInt(origin.substring(WRITER_PREFIX.length()));
      int j = rnd.nextInt(LINKS);
      perLink.get(w * LINKS + j).add(d);
      if (rnd.nextInt(5) == 0) perLink.get(w * LINKS + (j + 1 + rnd.nextInt(LINKS - 1)) % LINKS).add(d);
      if (rnd.nextInt(10) == 0) perLink.get(w * LINKS + j).add(d);
    }
    perLink.forEach(list -> Collections.shuffle(list, rnd));
    return perLink;
  }

  private static Map<String, Replica.Reg> model(List<ObjectNode> deltas) {
    Map<String, Replica.Reg> model = new HashMap<>();
    for (ObjectNode d : deltas) {
      String key = Replica.key(d.get("col").asText(), d.get("id").asText(), d.get("attr").asText());
      String ts = d.get("ts").asText();
      Replica.Reg old = model.get(key);
      if (old == null || Merge.decide(old.ts(), old.value(), ts, d.get("value")) == Merge.Outcome.APPLIED) {
        model.put(key, new Replica.Reg(d.get("value"), ts));
      }
    }
    return model;
  }

  /** Documents as a reader sees them: col/id → visible attributes. */
  private static Map<String, Map<String, JsonNode>> visible(Map<String, Replica.Reg> registers) {
    Map<String, Map<String, Register>> docs = new HashMap<>();
    registers.forEach((key, reg) -> {
      int cut = key.lastIndexOf('/');
      docs.computeIfAbsent(key.substring(0, cut), k -> new HashMap<>())
          .put(key.substring(cut + 1), new Register(reg.value(), reg.ts()));
    });
    Map<String, Map<String, JsonNode>> out = new HashMap<>();
    docs.forEach((doc, regs) -> {
      Map<String, JsonNode> v = Visibility.visible(regs);
      if (v != null) out.put(doc, v);
    });
    return out;
  }
}

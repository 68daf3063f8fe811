package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link Merge} against a reference model. The model is the definition of last-writer-wins: a
 * register holds the write with the greatest timestamp among all writes it has seen, comparing
 * timestamps as (ms, counter, origin) tuples — not as strings, which is what {@link Merge} does.
 * Random writes over a few registers are applied in random orders, with duplicates, and every
 * order must end in the model's state and give each delta the outcome the model predicts.
 *
 * <p>Set {@code -Dmerge.seed=N} to replay a failure; every assertion message names its seed.
 */
class MergePropertyTest {
  private static final long T = 1_732_212_345_678L;
  private static final String[] DOCS = {"t1", "t2", "t3"};
  private static final String[] ATTRS = {"title", "done", Delta.DELETED};
  private static final String[] ORIGINS = {"a", "b", "a0", "B", "node-1"};

  /** A register's address. */
  record Key(String col, String id, String attr) {
    static Key of(Delta d) {
      return new Key(d.col(), d.id(), d.attr());
    }
  }

  @Test
  @DisplayName("every order of the same deltas, with duplicates, converges to the max-timestamp-per-register model")
  void convergesToModel() {
    long base = Long.getLong("merge.seed", new Random().nextLong());
    for (int round = 0; round < 1500; round++) {
      long seed = base + round;
      Random random = new Random(seed);
      List<Delta> writes = randomWrites(random, 5 + random.nextInt(40));
      Map<Key, Delta> model = model(writes);

      // the stream a replica receives: every write at least once, some several times
      List<Delta> stream = new ArrayList<>(writes);
      int dups = random.nextInt(writes.size() + 1);
      for (int i = 0; i < dups; i++) stream.add(writes.get(random.nextInt(writes.size())));

      Map<Key, Register> first = null;
      for (int order = 0; order < 6; order++) {
        Collections.shuffle(stream, random);
        String why = "seed " + seed + ", order " + order;
        Map<Key, Register> replica = new HashMap<>();
        Map<Key, Hlc> greatest = new HashMap<>();
        for (Delta d : stream) {
          Merge.Outcome expected = expectedOutcome(greatest, Key.of(d), Hlc.parse(d.ts()));
          assertEquals(expected, apply(replica, d), why + ": " + d);
        }
        assertState(model, replica, why);
        // idempotent: the whole stream again changes nothing, and every delta is a duplicate or superseded
        for (Delta d : stream) {
          Merge.Outcome again = apply(replica, d);
          assertNotEquals(Merge.Outcome.APPLIED, again, why + ": replayed " + d + " was " + again);
        }
        assertState(model, replica, why + ", replayed");
        if (first == null) first = replica;
        assertEquals(first, replica, why + ": differs from the first order");
      }
    }
  }

  @Test
  @DisplayName("replicas that saw different halves converge when they exchange their registers")
  void replicasConvergeByExchangingState() {
    long base = Long.getLong("merge.seed", new Random().nextLong());
    for (int round = 0; round < 1500; round++) {
      long seed = base + round;
      Random random = new Random(seed);
      List<Delta> writes = randomWrites(random, 2 + random.nextInt(30));
      Map<Key, Register> left = new HashMap<>();
      Map<Key, Register> right = new HashMap<>();
      for (Delta d : writes) {
        int where = random.nextInt(3); // left, right, or both
        if (where != 1) apply(left, d);
        if (where != 0) apply(right, d);
      }
      // exchange: each sends its registers to the other as deltas, as replication does
      Map<Key, Register> leftBefore = new HashMap<>(left);
      right.forEach((k, r) -> apply(left, new Delta(k.col(), k.id(), k.attr(), r.value(), r.ts())));
      leftBefore.forEach((k, r) -> apply(right, new Delta(k.col(), k.id(), k.attr(), r.value(), r.ts())));
      String why = "seed " + seed;
      assertState(model(writes), left, why + ", left");
      assertEquals(left, right, why);
      // and both show every reader the same documents
      for (String id : DOCS) assertEquals(visible(left, id), visible(right, id), why + ", document " + id);
    }
  }

  /** Writes over a few registers; timestamps collide often in ms and counter, never as a whole on one register. */
  private static List<Delta> randomWrites(Random random, int n) {
    List<Delta> out = new ArrayList<>();
    Set<List<String>> used = new HashSet<>();
    while (out.size() < n) {
      String id = DOCS[random.nextInt(DOCS.length)];
      String attr = ATTRS[random.nextInt(ATTRS.length)];
      Hlc ts = new Hlc(T + random.nextInt(4), random.nextInt(3) == 0 ? 0xfff0 + random.nextInt(16) : random.nextInt(3),
          ORIGINS[random.nextInt(ORIGINS.length)]);
      // the same timestamp on the same register is the same write (PROTOCOL.md): never two values for one
      if (!used.add(List.of(id, attr, ts.format()))) continue;
      JsonNode value;
      if (attr.equals(Delta.DELETED)) value = BooleanNode.valueOf(random.nextBoolean());
      else value = random.nextInt(5) == 0 ? NullNode.getInstance() : IntNode.valueOf(random.nextInt(1000));
      out.add(new Delta("todos", id, attr, value, ts.format()));
    }
    return out;
  }

  /** The reference: per register, the write with the greatest (ms, counter, origin). */
  private static Map<Key, Delta> model(List<Delta> writes) {
    Map<Key, Delta> model = new HashMap<>();
    for (Delta d : writes) {
      model.merge(Key.of(d), d, (a, b) -> Hlc.parse(a.ts()).compareTo(Hlc.parse(b.ts())) >= 0 ? a : b);
    }
    return model;
  }

  /**
   * The outcome the model predicts from the greatest timestamp a register has seen: a greater one
   * applies, an equal one is a duplicate, a smaller one is superseded — even if it was itself seen
   * before (a newer value is what is stored then).
   */
  private static Merge.Outcome expectedOutcome(Map<Key, Hlc> greatest, Key key, Hlc incoming) {
    Hlc max = greatest.get(key);
    int c = max == null ? 1 : incoming.compareTo(max);
    if (c > 0) greatest.put(key, incoming);
    return c > 0 ? Merge.Outcome.APPLIED : c == 0 ? Merge.Outcome.DUPLICATE : Merge.Outcome.SUPERSEDED;
  }

  /** What every replica does with a delta. */
  private static Merge.Outcome apply(Map<Key, Register> replica, Delta d) {
    Register stored = replica.get(Key.of(d));
    Merge.Outcome o = Merge.decide(stored == null ? null : stored.ts(), d.ts());
    if (o == Merge.Outcome.APPLIED) replica.put(Key.of(d), new Register(d.value(), d.ts()));
    return o;
  }

  private static void assertState(Map<Key, Delta> model, Map<Key, Register> replica, String why) {
    assertEquals(model.keySet(), replica.keySet(), why + ": registers");
    model.forEach((k, d) -> {
      Register r = replica.get(k);
      assertNotNull(r, why + ": " + k);
      assertEquals(d.ts(), r.ts(), why + ": ts of " + k);
      assertEquals(d.value(), r.value(), why + ": value of " + k);
    });
  }

  private static Map<String, JsonNode> visible(Map<Key, Register> replica, String id) {
    Map<String, Register> doc = new HashMap<>();
    replica.forEach((k, r) -> {
      if (k.id().equals(id)) doc.put(k.attr(), r);
    });
    return Visibility.visible(doc);
  }
}

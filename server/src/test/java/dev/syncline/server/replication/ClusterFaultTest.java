package dev.syncline.server.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.RandomWriter;
import dev.syncline.server.testing.RegisterModel;
import dev.syncline.server.testing.Replica;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Rings and stars of real servers with a random writer on every server, through faults: a server
 * killed with SIGKILL and restarted, links cut (reset) and healed, links stalled and released.
 * After every fault, once the writers pause, every server's digest and full state must equal the
 * model (per register, the acknowledged write that wins), and replication must go quiet.
 *
 * <p>Seeded: {@code -Dsyncline.seed=N} replays a run; the seed is in every failure message.
 * {@code -Dsyncline.faultRounds=N} runs more rounds (default 1 of each fault).
 */
@DisplayName("Rings and stars of real servers converge after every fault, and lose no acknowledged write")
class ClusterFaultTest {
  static final long SEED = Long.getLong("syncline.seed", System.nanoTime());
  static final int ROUNDS = Integer.getInteger("syncline.faultRounds", 1);
  static final Duration CONVERGE = Duration.ofSeconds(40);

  @Test
  @DisplayName("a ring of 3 server processes: kill -9 and restart, cut and heal, stall and release")
  void ringOfThreeProcesses() {
    Random rnd = new Random(SEED);
    try (Cluster ring = Cluster.ring(3, true, cfg -> { })) {
      ring.awaitLinksLive(CONVERGE);
      RegisterModel model = new RegisterModel();
      for (int round = 0; round < ROUNDS; round++) {
        runWhileWriting(ring, model, rnd, "kill -9 n1 and restart", () -> {
          awaitSomethingToResumeFrom(ring.node(1));
          ring.node(1).kill();
          pause(1500);
          ring.start(1);
        });
        assertResumedFromCursor(ring.node(1));
        runWhileWriting(ring, model, rnd, "cut n0>n1, then heal", () -> {
          ring.proxy(0, 1).cut();
          pause(1500);
          ring.proxy(0, 1).heal();
        });
        runWhileWriting(ring, model, rnd, "stall n1>n2, then release", () -> {
          ring.proxy(1, 2).stall();
          pause(2500); // longer than the links' silence limit: they are dropped and dialed again
          ring.proxy(1, 2).heal();
        });
      }
    }
  }

  @Test
  @DisplayName("a ring of 4 split in two halves, each taking writes, then healed")
  void ringOfFourPartitioned() {
    Random rnd = new Random(SEED + 2);
    try (Cluster ring = Cluster.ring(4, false, cfg -> { })) {
      ring.awaitLinksLive(CONVERGE);
      RegisterModel model = new RegisterModel();
      for (int round = 0; round < ROUNDS; round++) {
        // n0>n1>n2>n3>n0 without n1>n2 and n3>n0: {n0, n1} and {n2, n3}, writers on all four
        runWhileWriting(ring, model, rnd, "split {n0,n1} from {n2,n3}, then heal", () -> {
          ring.proxy(1, 2).cut();
          ring.proxy(3, 0).cut();
          pause(2000);
          ring.proxy(1, 2).heal();
          ring.proxy(3, 0).heal();
        });
      }
    }
  }

  @Test
  @DisplayName("a star of 1+3 server processes: a spoke cut off, the hub killed -9 and restarted, a spoke reset repeatedly")
  void starOfFour() {
    Random rnd = new Random(SEED + 1);
    try (Cluster star = Cluster.star(3, true, cfg -> { })) {
      star.awaitLinksLive(CONVERGE);
      RegisterModel model = new RegisterModel();
      for (int round = 0; round < ROUNDS; round++) {
        runWhileWriting(star, model, rnd, "cut spoke1 off, then heal", () -> {
          star.proxy(1, 0).cut();
          pause(1500);
          star.proxy(1, 0).heal();
        });
        runWhileWriting(star, model, rnd, "kill -9 the hub and restart", () -> {
          awaitSomethingToResumeFrom(star.node(0));
          star.node(0).kill();
          pause(1000);
          star.start(0);
        });
        assertResumedFromCursor(star.node(0));
        runWhileWriting(star, model, rnd, "reset spoke3's link five times", () -> {
          for (int i = 0; i < 5; i++) {
            star.proxy(3, 0).reset();
            pause(200);
          }
        });
      }
    }
  }

  @Test
  @DisplayName("3 server processes each listing the other two keep one link per pair: after start, a cut of a winning link "
      + "and its heal, and kill -9 of the server whose links win")
  void meshKeepsOneLinkPerPair() {
    Random rnd = new Random(SEED + 3);
    try (Cluster mesh = Cluster.mesh(3, true, cfg -> { })) {
      mesh.awaitLinksLive(CONVERGE);
      awaitOneLinkPerPair(mesh, "seed " + SEED + ", after start");
      RegisterModel model = new RegisterModel();
      for (int round = 0; round < ROUNDS; round++) {
        // of n0 and n1, the link dialed by the smaller serverId wins (PROTOCOL §17.1)
        int winner = mesh.node(0).serverId().compareTo(mesh.node(1).serverId()) < 0 ? 0 : 1;
        runWhileWriting(mesh, model, rnd, "cut the winning link n" + winner + ">n" + (1 - winner) + ", then heal", () -> {
          mesh.proxy(winner, 1 - winner).cut();
          pause(1500);
          mesh.proxy(winner, 1 - winner).heal();
        });
        awaitOneLinkPerPair(mesh, "seed " + SEED + ", after the cut healed");
        int smallest = smallestId(mesh);
        runWhileWriting(mesh, model, rnd, "kill -9 n" + smallest + ", whose links win, and restart", () -> {
          mesh.node(smallest).kill();
          pause(1500);
          mesh.start(smallest);
        });
        awaitOneLinkPerPair(mesh, "seed " + SEED + ", after the kill");
      }
    }
  }

  private static int smallestId(Cluster c) {
    int best = 0;
    for (int i = 1; i < c.nodes().size(); i++) if (c.node(i).serverId().compareTo(c.node(best).serverId()) < 0) best = i;
    return best;
  }

  /**
   * Every pair of running servers has exactly one live link: on each side, one live entry for the
   * other, dialed by the smaller serverId; every other entry of that pair stands down.
   */
  private static void awaitOneLinkPerPair(Cluster c, String context) {
    Map<String, String> ids = new HashMap<>();
    for (ClusterNode n : c.nodes()) ids.put(n.name(), n.serverId());
    String[] last = {""};
    Cluster.await(() -> {
      StringBuilder wrong = new StringBuilder();
      for (ClusterNode n : c.nodes()) {
        String me = ids.get(n.name());
        JsonNode peers = n.stats().path("peers");
        for (ClusterNode other : c.nodes()) {
          if (other == n) continue;
          String them = ids.get(other.name());
          int live = 0;
          String expected = me.compareTo(them) < 0 ? "dial" : "accept";
          for (JsonNode p : peers) {
            if (!them.equals(p.path("peer").asText())) continue;
            String state = p.path("state").asText();
            if (state.equals("live") && p.path("direction").asText().equals(expected)) live++;
            else if (state.equals("live")) live += 100; // the losing link is up
          }
          if (live != 1) wrong.append(n.name()).append(" has ").append(live >= 100 ? "the losing link up" : live + " live links")
              .append(" with ").append(other.name()).append("; ");
        }
      }
      last[0] = wrong.toString();
      return wrong.length() == 0;
    }, CONVERGE, () -> context + ": one live link per pair: " + last[0] + statsOf(c));
  }

  private static String statsOf(Cluster c) {
    StringBuilder sb = new StringBuilder();
    for (ClusterNode n : c.nodes()) sb.append(n.name()).append('=').append(n.stats().path("peers")).append(' ');
    return sb.toString();
  }

  @Test
  @DisplayName("a new server killed half-way through getting everything goes on from where it was, not from the beginning")
  void bootstrapResumesAfterKill() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> { })) {
      c.startAll();
      ClusterNode source = c.node(0);
      RegisterModel model = new RegisterModel();
      try (dev.syncline.server.testing.WsClient w = source.connect("loader")) {
        for (int p = 0; p < 100; p++) {
          var push = dev.syncline.server.testing.Deltas.push("app");
          for (int i = 0; i < 100; i++) {
            var d = dev.syncline.server.testing.Deltas.delta("c", "d" + (p * 100 + i), "v", "x".repeat(100), dev.syncline.server.testing.Deltas.now(p * 100 + i, "loader"));
            push.withArray("deltas").add(d);
            model.acked(d);
          }
          assertEquals("ack", w.request(push).path("type").asText());
        }
      }
      ClusterNode fresh = c.add("fresh", true, cfg -> { });
      int i = c.nodes().indexOf(fresh);
      var link = c.link(i, 0);
      link.throttle(300_000); // about five seconds for the 1.5 MB: time to kill it half-way
      c.start(i);
      Cluster.await(() -> fresh.stats().path("peers").path(0).path("databases").path("app").path("applied").asLong() > 0,
          CONVERGE, () -> "the new server to have applied part of it");
      fresh.kill();
      link.throttle(0);
      c.start(i);
      assertResumedFromCursor(fresh);
      c.awaitSameDigest("app", CONVERGE);
      assertEquals(model.registers(), fresh.registers("app"));
    }
  }

  /**
   * Writers on every server for a while, the fault in the middle, then: writers stop (each
   * after its last push is acknowledged), and every server converges to the model.
   */
  private static void runWhileWriting(Cluster cluster, RegisterModel model, Random rnd, String fault, Runnable doFault) {
    String context = "seed " + SEED + ", fault: " + fault;
    List<RandomWriter> writers = new ArrayList<>();
    for (ClusterNode n : cluster.nodes()) {
      writers.add(new RandomWriter(n, "w-" + n.name() + "-" + rnd.nextInt(1_000_000), rnd.nextLong(), model, "app", 40));
    }
    pause(700);
    doFault.run();
    pause(700);
    long acked = 0;
    for (RandomWriter w : writers) {
      w.close();
      acked += w.acked();
    }
    assertTrue(acked > 0, context + ": the writers wrote");
    assertConverged(cluster, model, context);
  }

  private static void assertConverged(Cluster cluster, RegisterModel model, String context) {
    try {
      cluster.awaitSameDigest("app", CONVERGE);
    } catch (AssertionError e) {
      throw new AssertionError(context + ": " + e.getMessage(), e);
    }
    Map<String, Replica.Reg> expected = model.registers();
    for (ClusterNode n : cluster.nodes()) {
      Map<String, Replica.Reg> actual = n.registers("app");
      assertEquals(expected.size(), actual.size(), context + ": " + n.name() + " differs from the model: " + model.differences(actual));
      assertTrue(expected.equals(actual), context + ": " + n.name() + " differs from the model: " + model.differences(actual));
    }
    assertQuiet(cluster, context);
  }

  /**
   * Replication stops while nobody writes: within {@link #CONVERGE}, 1.5 s pass in which no
   * server commits anything. Not at once: a link the fault dropped may dial again after the
   * digests agreed (the data went round by another path) and resend what its peer already holds,
   * which is committed as duplicates; a loop never goes quiet.
   */
  private static void assertQuiet(Cluster cluster, String context) {
    long deadline = System.nanoTime() + CONVERGE.toNanos();
    Map<String, Long> before = heads(cluster);
    while (true) {
      pause(1500);
      Map<String, Long> now = heads(cluster);
      if (now.equals(before)) return;
      assertTrue(System.nanoTime() < deadline, context + ": servers kept committing after the writers stopped (a loop?): " + before + " then " + now);
      before = now;
    }
  }

  private static Map<String, Long> heads(Cluster cluster) {
    Map<String, Long> out = new HashMap<>();
    for (ClusterNode n : cluster.nodes()) {
      JsonNode stats = n.stats();
      out.put(n.name(), stats.path("writes").path("deltas").asLong());
    }
    return out;
  }

  /**
   * Each feed of {@code n} applied something, and a second passed: its cursor is stored (an empty
   * frame's within a second), so a restart has something to resume from. On a loaded machine the
   * writers may not have reached every feed by the time the fault comes.
   */
  private static void awaitSomethingToResumeFrom(ClusterNode n) {
    Cluster.await(() -> {
      for (JsonNode p : n.stats().path("peers")) {
        if (p.path("databases").path("app").path("applied").asLong() <= 0) return false;
      }
      return n.stats().path("peers").size() > 0;
    }, CONVERGE, () -> n.name() + " to apply something of every feed: " + n.stats().path("peers"));
    pause(1200);
  }

  /** After its restart the server went on from its stored cursors, not from the beginning. */
  private static void assertResumedFromCursor(ClusterNode n) {
    Cluster.await(() -> {
      for (JsonNode p : n.stats().path("peers")) {
        if (p.path("databases").path("app").path("resumedFrom").asLong() <= 0) return false;
      }
      return true;
    }, CONVERGE, () -> n.name() + " to resume its feeds from stored cursors: " + n.stats().path("peers"));
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

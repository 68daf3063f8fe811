package dev.syncline.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Replication lag: three servers in a ring (A dials B, B dials C, C dials A), one writer pushing
 * into A at a fixed rate, a subscriber on B and one on C. A delta's lag is the time from A's ack
 * reaching the writer to the delta reaching a subscriber on another server; reported for the
 * later of B and C (the farthest). One process, one clock.
 */
@Command(name = "replication-lag", mixinStandardHelpOptions = true,
    description = "3 servers in a ring, a paced writer into A: lag from A's ack to receipt on B and C.")
final class ReplicationLagBench implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Mixin ClusterOptions cluster;

  @Option(names = "--rate", defaultValue = "5000", description = "deltas per second into A (default ${DEFAULT-VALUE})")
  int rate;

  @Option(names = "--deltas-per-push", defaultValue = "10", description = "deltas in each push (default ${DEFAULT-VALUE})")
  int perPush;

  @Option(names = "--seconds", defaultValue = "10", description = "measured seconds of writing (default ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--warmup-seconds", defaultValue = "20",
      description = "seconds of writing before, while three cold JVMs compile the hot paths (default ${DEFAULT-VALUE})")
  int warmupSeconds;

  @Option(names = "--target-p99-ms", defaultValue = "100", description = "p99 lag to stay under (default ${DEFAULT-VALUE})")
  double targetP99Ms;

  /** Arrival times of one subscriber, by delta index; written on its event loop, read after. */
  private static final class Arrivals {
    final long[] at;
    final AtomicLong count = new AtomicLong();

    Arrivals(int n) {
      at = new long[n];
    }
  }

  @Override
  public Integer call() throws Exception {
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    int a = cluster.basePort;
    int b = a + 1;
    int c = a + 2;
    try (LocalCluster servers = new LocalCluster(cluster, common.adminPassword);
        BenchClient client = new BenchClient(a, common.eventLoops())) {
      servers.start("a", a, List.of(b), 1, deadline);
      servers.start("b", b, List.of(c), 1, deadline);
      servers.start("c", c, List.of(a), 1, deadline);
      for (int port : List.of(a, b, c)) LocalCluster.awaitCaughtUp(client.openAdmin(900 + port % 100, common.adminPassword, deadline, port), deadline);

      String tag = CommonOptions.runTag();
      int pushesWarm = warmupSeconds * rate / perPush;
      int pushes = seconds * rate / perPush;
      int total = pushes * perPush;
      Arrivals onB = new Arrivals(total);
      Arrivals onC = new Arrivals(total);
      String col = "lag-" + tag;
      subscriber(client, 1, b, col, onB, deadline);
      subscriber(client, 2, c, col, onC, deadline);
      BenchConnection writer = client.openHello(0, "rw-" + tag, deadline, a);
      PushEncoder encoder = new PushEncoder(common.db, "rw-" + tag);

      System.err.printf("warming up: %d s at %d deltas/s%n", warmupSeconds, rate);
      long[] warmAcks = new long[pushesWarm];
      deadline.await(paced(writer, encoder, "warm-" + tag, pushesWarm, warmAcks), "warm-up acks");
      long[] acks = new long[pushes];
      CpuMeter cpu = new CpuMeter(servers.pids());
      long start = System.nanoTime();
      deadline.await(paced(writer, encoder, col, pushes, acks), "acks");
      deadline.until(() -> onB.count.get() >= total && onC.count.get() >= total, "every delta on B and C");
      double wall = (System.nanoTime() - start) / 1e9;
      ObjectNode cpuUse = cpu.stop();

      Latencies farthest = new Latencies();
      Latencies nearB = new Latencies();
      Latencies nearC = new Latencies();
      long early = 0;
      for (int i = 0; i < total; i++) {
        long ack = acks[i / perPush];
        long worst = Math.max(onB.at[i], onC.at[i]);
        if (worst < ack) early++;
        farthest.record(Math.max(0, worst - ack));
        nearB.record(Math.max(0, onB.at[i] - ack));
        nearC.record(Math.max(0, onC.at[i] - ack));
      }
      Latencies.Summary lag = farthest.summarize();
      Latencies.Summary lagB = nearB.summarize();
      Latencies.Summary lagC = nearC.summarize();
      Report r = new Report("replication-lag");
      r.json.put("rate", rate).put("deltasPerPush", perPush).put("seconds", seconds).put("deltas", total)
          .put("p50Ms", lag.ms(0.50)).put("p99Ms", lag.ms(0.99)).put("maxMs", lag.maxMs())
          .put("p99MsB", lagB.ms(0.99)).put("p99MsC", lagC.ms(0.99)).put("beforeAck", early).put("wallSeconds", wall)
          .put("ok", true);
      r.json.set("cpu", cpuUse);
      r.emit(String.format("replication-lag ring of 3, %d deltas/s into A (%d per push) x %d s: lag from A's ack to the farther of B "
              + "and C p50 %.2f ms p99 %.2f ms max %.2f ms (B p99 %.2f, C p99 %.2f; %d arrived before the ack) | %s | target p99 <= %.0f ms: %s",
          rate, perPush, seconds, lag.ms(0.5), lag.ms(0.99), lag.maxMs(), lagB.ms(0.99), lagC.ms(0.99), early,
          CpuMeter.describe(cpuUse), targetP99Ms, Report.atMost(lag.ms(0.99), targetP99Ms)), common.json);
      return 0;
    }
  }

  /** A subscriber on {@code port} that notes when each delta of {@code col} arrives. */
  private void subscriber(BenchClient client, int index, int port, String col, Arrivals into, Deadline deadline) throws Exception {
    BenchConnection s = deadline.await(client.open(index, port), "connect");
    s.listen((m, at) -> {
      if (!m.is("changes")) return;
      for (int i = 0; i < m.deltaCount; i++) {
        if (!col.equals(m.cols[i])) continue;
        int k = Integer.parseInt(m.ids[i], 1, m.ids[i].length(), 10);
        if (into.at[k] == 0) {
          into.at[k] = at;
          into.count.incrementAndGet();
        }
      }
    }, true);
    deadline.await(s.hello("rs-" + index), "hello");
    deadline.await(s.subscribe(common.db, 0), "synced");
  }

  /**
   * Sends {@code pushes} pushes of {@link #perPush} deltas at {@link #rate} deltas/s (a 1 ms timer
   * sends what is due), noting when each push's ack arrives in {@code ackAt}.
   */
  private Future<Void> paced(BenchConnection writer, PushEncoder encoder, String col, int pushes, long[] ackAt) {
    Promise<Void> done = Promise.promise();
    int[] acked = {0};
    writer.listen((m, at) -> {
      if (!m.is("ack") || m.rid < 0 || m.rid >= pushes) return;
      ackAt[(int) m.rid] = at;
      if (++acked[0] == pushes) done.tryComplete();
    }, false);
    writer.context().runOnContext(v -> {
      long start = System.nanoTime();
      int[] sent = {0};
      writer.context().owner().setPeriodic(1, id -> {
        long due = Math.min(pushes, (System.nanoTime() - start) * rate / perPush / 1_000_000_000L + 1);
        while (sent[0] < due) {
          int k = sent[0]++;
          encoder.begin(k);
          for (int j = 0; j < perPush; j++) encoder.delta(col, "l" + (k * perPush + j), "v", k);
          writer.send(encoder.end());
        }
        if (sent[0] == pushes) writer.context().owner().cancelTimer(id);
      });
    });
    return done.future();
  }
}

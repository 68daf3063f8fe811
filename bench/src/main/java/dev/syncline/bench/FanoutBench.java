package dev.syncline.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Promise;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Fan-out latency: {@code --subscribers} connections subscribed to the database, one writer
 * pushing single deltas at {@code --rate} per second. Each delta's value is the writer's
 * {@link System#nanoTime()} when it was sent; generator and subscribers are one process, so a
 * subscriber's receive time minus that value is the end-to-end latency through the server
 * (commit with fsync, hub, socket). Every subscriber must get every delta exactly once.
 */
@Command(name = "fanout", mixinStandardHelpOptions = true,
    description = "S subscribers, one writer at a fixed rate: delivery latency p50/p99/max.")
final class FanoutBench implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--subscribers", defaultValue = "100", description = "subscriber connections (default ${DEFAULT-VALUE})")
  int subscribers;

  @Option(names = "--rate", defaultValue = "500", description = "deltas per second the writer sends (default ${DEFAULT-VALUE})")
  int rate;

  @Option(names = "--total", defaultValue = "2000", description = "deltas measured (default ${DEFAULT-VALUE})")
  int total;

  @Option(names = "--warmup",
      description = "deltas sent (at the same rate) and delivered before measuring; default: enough for about "
          + "500,000 deliveries, 500 to 10,000 deltas, so the server's JIT has compiled the delivery path")
  Integer warmup;

  @Option(names = "--connect-parallel", defaultValue = "100",
      description = "connections set up at a time (default ${DEFAULT-VALUE})")
  int connectParallel;

  @Option(names = "--drain-seconds", defaultValue = "60",
      description = "how long after the last send deliveries may still arrive (default ${DEFAULT-VALUE})")
  int drainSeconds;

  @Option(names = "--target-p99-ms", description = "p99 to stay under (default: 6 up to 100 subscribers, else 250)")
  Double targetP99Ms;

  @Option(names = "--timeline",
      description = "CSV file: for each measured delta, when it was sent (ms since the epoch), its slowest delivery "
          + "and how many subscribers got it later than the target, to line the tail up with server logs")
  Path timeline;

  /**
   * Per measured delta, only with {@code --timeline} (so a plain run's delivery path is as before): its
   * send time (nanoTime), its slowest delivery (ns), how many subscribers got it later than the goal.
   */
  private AtomicLongArray sentNanos;
  private AtomicLongArray slowest;
  private AtomicLongArray late;
  private long lateNanos;

  /** One subscriber's tally; touched only on its connection's event loop. */
  private static final class Tally {
    final BitSet seen = new BitSet();
    final Latencies latencies = new Latencies();
    int duplicates;
    /** changes frames that carried measured deltas: deltas per frame shows whether the server coalesces */
    int frames;
  }

  private final LongAdder writerAcks = new LongAdder();
  private volatile String writerError;
  private final LongAdder warmDelivered = new LongAdder();
  private final LongAdder delivered = new LongAdder();

  @Override
  public Integer call() throws Exception {
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    String tag = CommonOptions.runTag();
    String warmCol = "warm-" + tag;
    String col = "fan-" + tag;
    int warmup = this.warmup != null ? this.warmup : Math.max(500, Math.min(10_000, 500_000 / subscribers));
    double goal = targetP99Ms != null ? targetP99Ms : subscribers <= 100 ? 6 : 250;
    if (timeline != null) {
      sentNanos = new AtomicLongArray(total);
      slowest = new AtomicLongArray(total);
      late = new AtomicLongArray(total);
      lateNanos = (long) (goal * 1_000_000);
    }
    try (BenchClient client = new BenchClient(common.port, common.eventLoops())) {
      List<Tally> tallies = new ArrayList<>(subscribers);
      for (int i = 0; i < subscribers; i++) tallies.add(new Tally());
      long connectStart = System.nanoTime();
      List<BenchConnection> subs = client.openMany(subscribers, connectParallel, "fs-" + tag + "-", common.db,
          i -> (m, at) -> onMessage(tallies.get(i), m, at, warmCol, col), true, deadline);
      double connectSeconds = (System.nanoTime() - connectStart) / 1e9;

      BenchConnection writerConn = client.openHello(subscribers, "fw-" + tag, deadline);

      BenchConnection stats = client.openAdmin(subscribers + 1, common.adminPassword, deadline);
      PushEncoder encoder = new PushEncoder(common.db, "fw-" + tag);
      writerConn.listen((m, at) -> {
        if (m.is("ack") && m.refused == 0) writerAcks.increment();
        else if ((m.is("ack") || m.is("error")) && writerError == null) {
          writerError = m.is("ack") ? m.firstRefusal : m.describeError();
        }
      }, false);
      if (warmup > 0) {
        deadline.await(paced(writerConn, encoder, warmCol, warmup, null), "warm-up sends");
        long want = (long) warmup * subscribers;
        deadline.until(() -> warmDelivered.sum() >= want || anyFailed(subs), "warm-up deliveries");
      }

      ServerStats before = ServerStats.fetch(stats, deadline);
      CpuMeter cpu = new CpuMeter(common.serverPid);
      long start = System.nanoTime();
      long startEpochMillis = System.currentTimeMillis();
      deadline.await(paced(writerConn, encoder, col, total, sentNanos), "sends");
      double sendSeconds = (System.nanoTime() - start) / 1e9;
      long want = (long) total * subscribers;
      long drainEnd = System.nanoTime() + drainSeconds * 1_000_000_000L;
      while (delivered.sum() < want && System.nanoTime() < drainEnd && deadline.remainingMillis() > 0
          && !anyFailed(subs)) {
        Thread.sleep(2);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      ServerStats after = ServerStats.fetch(stats, deadline);
      ObjectNode cpuUse = cpu.stop();

      // tallies are read on this thread after the loops have gone quiet; hop through each loop to be sure
      for (BenchConnection s : subs) {
        Promise<Void> p = Promise.promise();
        s.context().runOnContext(v -> p.complete());
        deadline.await(p.future(), "quiesce");
      }
      long got = 0;
      long frames = 0;
      long dups = 0;
      int incomplete = 0;
      List<Latencies> parts = new ArrayList<>();
      for (Tally t : tallies) {
        got += t.seen.cardinality();
        dups += t.duplicates;
        frames += t.frames;
        if (t.seen.cardinality() < total) incomplete++;
        parts.add(t.latencies);
      }
      int failed = 0;
      String firstFailure = null;
      for (BenchConnection s : subs) {
        if (s.failure() != null) {
          failed++;
          if (firstFailure == null) firstFailure = s.failure();
        }
      }
      Latencies.Summary lat = Latencies.merge(parts).summarize();
      BenchClient.closeAll(subs);
      writerConn.close();

      if (timeline != null) writeTimeline(start, startEpochMillis);
      if (writerError != null && firstFailure == null) firstFailure = "writer: " + writerError;
      boolean ok = got == want && dups == 0 && failed == 0 && writerError == null;
      ObjectNode server = ServerStats.between(before, after, seconds);
      Report r = new Report("fanout");
      r.json.put("subscribers", subscribers).put("rate", rate).put("total", total).put("warmup", warmup)
          .put("connectSeconds", connectSeconds).put("sendSeconds", sendSeconds)
          .put("expected", want).put("delivered", got).put("duplicates", dups)
          .put("frames", frames).put("deltasPerFrame", frames == 0 ? 0 : ServerStats.round1((double) got / frames))
          .put("incompleteSubscribers", incomplete).put("failedConnections", failed)
          .put("writerAcks", writerAcks.sum())
          .put("p50Ms", lat.ms(0.50)).put("p90Ms", lat.ms(0.90)).put("p99Ms", lat.ms(0.99))
          .put("p999Ms", lat.ms(0.999)).put("maxMs", lat.maxMs()).put("meanMs", lat.meanMs())
          .put("deliveriesPerSecond", Math.round(got / seconds)).put("ok", ok);
      r.json.set("server", server);
      r.json.set("cpu", cpuUse);
      r.emit(String.format("fanout %d subscribers, %d deltas/s x %d: delivered %d/%d (dup %d, failed conns %d) "
              + "in %d frames, latency p50 %.2f ms p90 %.2f ms p99 %.2f ms max %.2f ms%s | %s | %s | target p99 <= %.0f ms%s: %s",
          subscribers, rate, total, got, want, dups, failed, frames, lat.ms(0.50), lat.ms(0.90), lat.ms(0.99), lat.maxMs(),
          firstFailure == null ? "" : " (" + firstFailure + ")", ServerStats.describe(server),
          CpuMeter.describe(cpuUse), goal,
          subscribers > 100 ? " and all delivered" : "",
          got == want ? Report.atMost(lat.ms(0.99), goal) : "MISSED (not all delivered)"), common.json);
      return ok ? 0 : 1;
    }
  }

  private void onMessage(Tally t, Incoming m, long receivedNanos, String warmCol, String col) {
    if (!m.is("changes")) return;
    boolean measured = false;
    for (int i = 0; i < m.deltaCount; i++) {
      if (col.equals(m.cols[i])) {
        measured = true;
        int index = Integer.parseInt(m.ids[i], 1, m.ids[i].length(), 10);
        if (t.seen.get(index)) {
          t.duplicates++;
          continue;
        }
        t.seen.set(index);
        long latency = receivedNanos - m.values[i];
        t.latencies.record(latency);
        if (slowest != null) {
          slowest.accumulateAndGet(index, latency, Math::max);
          if (latency > lateNanos) late.incrementAndGet(index);
        }
        delivered.increment();
      } else if (warmCol.equals(m.cols[i])) {
        warmDelivered.increment();
      }
    }
    if (measured) t.frames++;
  }

  /**
   * Sends {@code count} single-delta pushes at {@link #rate} per second from the writer's event
   * loop: a 1 ms timer sends however many are due by the schedule, so a late tick catches up
   * instead of lowering the rate. Latency is measured from each actual send, not the schedule.
   */
  private io.vertx.core.Future<Void> paced(BenchConnection writer, PushEncoder encoder, String col, int count,
      AtomicLongArray sentAt) {
    Promise<Void> done = Promise.promise();
    writer.context().runOnContext(v -> {
      long start = System.nanoTime();
      int[] sent = {0};
      writer.context().owner().setPeriodic(1, id -> {
        long due = Math.min(count, (System.nanoTime() - start) * rate / 1_000_000_000L + 1);
        while (sent[0] < due) {
          int i = sent[0]++;
          long now = System.nanoTime();
          if (sentAt != null) sentAt.set(i, now);
          writer.send(encoder.begin(i).delta(col, "f" + i, "t", now).end());
        }
        if (sent[0] == count) {
          writer.context().owner().cancelTimer(id);
          done.complete();
        }
      });
    });
    return done.future();
  }

  /** Each delta's value is its send time in nanoTime; the epoch column puts it on the servers' log clock. */
  private void writeTimeline(long startNanos, long startEpochMillis) throws IOException {
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(timeline))) {
      out.println("delta,sentEpochMs,slowestMs,lateSubscribers");
      for (int i = 0; i < total; i++) {
        long sent = sentNanos.get(i);
        out.printf("%d,%.3f,%.3f,%d%n", i, startEpochMillis + (sent - startNanos) / 1e6, slowest.get(i) / 1e6, late.get(i));
      }
    }
  }

  private static boolean anyFailed(List<BenchConnection> subs) {
    for (BenchConnection s : subs) if (s.failure() != null) return true;
    return false;
  }
}

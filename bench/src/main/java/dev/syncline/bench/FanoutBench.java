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
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
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
   * A part of the writer's stream: the warm-up, the measured deltas, or the cool-down. Each part's
   * deltas go to their own collection, and all are sent and recorded by the same code: a branch
   * the warm-up never took would make the generator's JIT recompile its receive path at the
   * measured window's start.
   */
  private static final class Phase {
    /** 0 warm-up, 1 measured, 2 cool-down: the subscriber's tally to record in */
    final int index;
    final String col;
    final int count;
    final LongAdder delivered = new LongAdder();
    /**
     * Per delta, only with {@code --timeline}: its send time (nanoTime), its slowest delivery (ns),
     * how many subscribers got it later than {@link #lateNanos}.
     */
    final AtomicLongArray sentNanos;
    final AtomicLongArray slowest;
    final AtomicLongArray late;
    final long lateNanos;

    Phase(int index, String col, int count, boolean timeline, double goalMs) {
      this.index = index;
      this.col = col;
      this.count = count;
      sentNanos = timeline ? new AtomicLongArray(count) : null;
      slowest = timeline ? new AtomicLongArray(count) : null;
      late = timeline ? new AtomicLongArray(count) : null;
      lateNanos = (long) (goalMs * 1_000_000);
    }
  }

  /** One subscriber's record of one phase; touched only on its connection's event loop. */
  private static final class Tally {
    final BitSet seen = new BitSet();
    final Latencies latencies = new Latencies();
    int duplicates;
    /** changes frames that carried this phase's deltas: deltas per frame shows whether the server coalesces */
    int frames;
    long lastFrame = -1;

    void record(Phase phase, String id, long latency, long frame) {
      if (lastFrame != frame) {
        lastFrame = frame;
        frames++;
      }
      int index = Integer.parseInt(id, 1, id.length(), 10);
      if (seen.get(index)) {
        duplicates++;
        return;
      }
      seen.set(index);
      latencies.record(latency);
      if (phase.slowest != null) {
        phase.slowest.accumulateAndGet(index, latency, Math::max);
        if (latency > phase.lateNanos) phase.late.incrementAndGet(index);
      }
      phase.delivered.increment();
    }
  }

  /** One subscriber's tallies, by {@link Phase#index}. */
  private static final class Subscriber {
    final Tally[] tallies = {new Tally(), new Tally(), new Tally()};
    long frames;
  }

  private final LongAdder writerAcks = new LongAdder();
  private volatile String writerError;

  @Override
  public Integer call() throws Exception {
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    String tag = CommonOptions.runTag();
    int warmup = this.warmup != null ? this.warmup : Math.max(500, Math.min(10_000, 500_000 / subscribers));
    double goal = targetP99Ms != null ? targetP99Ms : subscribers <= 100 ? 6 : 250;
    Phase warm = new Phase(0, "warm-" + tag, warmup, timeline != null, goal);
    Phase measured = new Phase(1, "fan-" + tag, total, timeline != null, goal);
    // sent after the measured deltas until they are all delivered, so that their last ones meet no
    // change in the writer's stream either
    Phase cool = new Phase(2, "cool-" + tag, rate * (drainSeconds + 1), timeline != null, goal);
    Map<String, Phase> phases = Map.of(warm.col, warm, measured.col, measured, cool.col, cool);
    try (BenchClient client = new BenchClient(common.port, common.eventLoops())) {
      List<Subscriber> tallies = new ArrayList<>(subscribers);
      for (int i = 0; i < subscribers; i++) tallies.add(new Subscriber());
      long connectStart = System.nanoTime();
      List<BenchConnection> subs = client.openMany(subscribers, connectParallel, "fs-" + tag + "-", common.db,
          i -> (m, at) -> onMessage(tallies.get(i), m, at, phases), true, deadline);
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
      Pacer pacer = new Pacer(writerConn, encoder);
      StatsPoller poller = new StatsPoller(stats, deadline);
      Pacer.Run warming = pacer.send(warm);
      poller.until(() -> warming.sent >= warmup || anyFailed(subs), "warm-up sends");
      long warmWant = (long) warmup * subscribers;
      poller.until(() -> warm.delivered.sum() >= warmWant || anyFailed(subs), "warm-up deliveries");

      long start = System.nanoTime();
      long startEpochMillis = System.currentTimeMillis();
      ServerStats before = ServerStats.fetch(stats, deadline);
      CpuMeter cpu = new CpuMeter(common.serverPid);
      Pacer.Run sending = pacer.send(measured);
      poller.until(() -> sending.sent >= total || anyFailed(subs), "sends");
      double sendSeconds = (System.nanoTime() - start) / 1e9;
      pacer.send(cool);
      long want = (long) total * subscribers;
      long drainEnd = System.nanoTime() + drainSeconds * 1_000_000_000L;
      // past the drain time or the deadline, what was delivered is reported, not an exception
      poller.until(() -> measured.delivered.sum() >= want || System.nanoTime() >= drainEnd
          || deadline.remainingMillis() == 0 || anyFailed(subs), "deliveries");
      double seconds = (System.nanoTime() - start) / 1e9;
      ServerStats after = ServerStats.fetch(stats, deadline);
      ObjectNode cpuUse = cpu.stop();
      pacer.stop();

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
      for (Subscriber sub : tallies) {
        Tally t = sub.tallies[measured.index];
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

      if (timeline != null) writeTimeline(measured, start, startEpochMillis);
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

  private static void onMessage(Subscriber s, Incoming m, long receivedNanos, Map<String, Phase> phases) {
    if (!m.is("changes")) return;
    long frame = s.frames++;
    for (int i = 0; i < m.deltaCount; i++) {
      Phase phase = phases.get(m.cols[i]);
      if (phase != null) s.tallies[phase.index].record(phase, m.ids[i], receivedNanos - m.values[i], frame);
    }
  }

  /**
   * The writer's single-delta pushes at {@link #rate} per second: a 1 ms timer on the writer's
   * event loop sends however many of the current phase's deltas are due, so a late tick catches up
   * instead of lowering the rate; latency is measured from each actual send. One timer for the
   * whole run, idle between phases, and a phase's end noticed by polling rather than by a callback:
   * with a timer per phase, the warm-up's end (its timer cancelled, a promise completed) ran code the
   * generator's JIT had not seen while compiling its event loops, so it discarded them, and
   * compiling them again took one of the two cores for the measured window's first half second.
   */
  private final class Pacer {
    /** One phase's sending, from when it became current. */
    final class Run {
      final Phase phase;
      final long startNanos = System.nanoTime();
      /** deltas of the phase sent so far; written by the writer's event loop */
      volatile int sent;

      Run(Phase phase) {
        this.phase = phase;
      }
    }

    private final BenchConnection writer;
    private final PushEncoder encoder;
    private volatile Run current;
    private long timer = -1;

    Pacer(BenchConnection writer, PushEncoder encoder) {
      this.writer = writer;
      this.encoder = encoder;
    }

    /** Sends the phase's deltas from now on, after the previous phase's (all sent or not). */
    Run send(Phase phase) {
      Run run = new Run(phase);
      current = run;
      writer.context().runOnContext(v -> {
        if (timer < 0) timer = writer.context().owner().setPeriodic(1, id -> tick());
      });
      return run;
    }

    private void tick() {
      Run run = current;
      Phase p = run.phase;
      long due = Math.min(p.count, (System.nanoTime() - run.startNanos) * rate / 1_000_000_000L + 1);
      int i = run.sent;
      while (i < due) {
        long now = System.nanoTime();
        if (p.sentNanos != null) p.sentNanos.set(i, now);
        writer.send(encoder.begin(i).delta(p.col, "f" + i, "t", now).end());
        i++;
      }
      run.sent = i;
    }

    void stop() {
      writer.context().runOnContext(v -> writer.context().owner().cancelTimer(timer));
    }
  }

  /** Each delta's value is its send time in nanoTime; the epoch column puts it on the servers' log clock. */
  private void writeTimeline(Phase phase, long startNanos, long startEpochMillis) throws IOException {
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(timeline))) {
      out.println("delta,sentEpochMs,slowestMs,lateSubscribers");
      for (int i = 0; i < total; i++) {
        long sent = phase.sentNanos.get(i);
        out.printf("%d,%.3f,%.3f,%d%n", i, startEpochMillis + (sent - startNanos) / 1e6, phase.slowest.get(i) / 1e6,
            phase.late.get(i));
      }
    }
  }

  /**
   * Waits as {@link Deadline#until} does, asking {@code server.stats} once a second meanwhile, as an
   * open admin page does. Asked only at the measured window's edges, its reply was code the
   * generator's JIT had not compiled into its event loops, which it discarded there.
   */
  private static final class StatsPoller {
    private final BenchConnection stats;
    private final Deadline deadline;
    private long next = System.nanoTime();
    /** false once the server has not answered (no admin password given): asking again only repeats the warning */
    private boolean answers = true;

    StatsPoller(BenchConnection stats, Deadline deadline) {
      this.stats = stats;
      this.deadline = deadline;
    }

    void until(BooleanSupplier done, String what) throws TimeoutException {
      deadline.until(() -> {
        if (answers && System.nanoTime() - next >= 0) {
          next += 1_000_000_000L;
          answers = ServerStats.fetch(stats, deadline) != null;
        }
        return done.getAsBoolean();
      }, what);
    }
  }

  private static boolean anyFailed(List<BenchConnection> subs) {
    for (BenchConnection s : subs) if (s.failure() != null) return true;
    return false;
  }
}

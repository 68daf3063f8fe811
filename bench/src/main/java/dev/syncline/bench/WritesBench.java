package dev.syncline.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Write throughput of one connection: pushes pipelined with at most {@code --in-flight} unacked,
 * every delta a new register. Reports acked deltas per second, from the first send to the last
 * ack, and the latency from sending a push to receiving its ack.
 */
@Command(name = "writes", mixinStandardHelpOptions = true,
    description = "One connection pushing pipelined: acked deltas/s and ack latency.")
final class WritesBench implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--deltas-per-push", defaultValue = "1", description = "deltas in each push (default ${DEFAULT-VALUE})")
  int deltasPerPush;

  @Option(names = "--total", defaultValue = "20000", description = "deltas in the measured run (default ${DEFAULT-VALUE})")
  int total;

  @Option(names = "--in-flight", defaultValue = "1000", description = "most pushes sent but not yet acked (default ${DEFAULT-VALUE})")
  int inFlight;

  @Option(names = "--warmup", defaultValue = "200000",
      description = "deltas pushed and acked before measuring, so both JITs are warm (default ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--target", description = "deltas/s to reach (default: 60000 at 1 per push, 200000 at 100 or more)")
  Double target;

  @Override
  public Integer call() throws Exception {
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    String tag = CommonOptions.runTag();
    String clientId = "bw-" + tag;
    try (BenchClient client = new BenchClient(common.port, common.eventLoops())) {
      BenchConnection c = client.openHello(0, clientId, deadline);
      BenchConnection stats = client.openAdmin(1, common.adminPassword, deadline);
      PushEncoder encoder = new PushEncoder(common.db, clientId);

      if (warmup > 0) {
        PushPipeline w = pipeline(c, encoder, warmup, "warm-" + tag + "-");
        deadline.await(w.run(), "warm-up acks");
        if (w.errors() > 0 || w.refused() > 0) System.err.println("warm-up: errors, first: " + w.firstError());
      }

      ServerStats before = ServerStats.fetch(stats, deadline);
      CpuMeter cpu = new CpuMeter(common.serverPid);
      PushPipeline run = pipeline(c, encoder, total, "d-" + tag + "-");
      deadline.await(run.run(), "acks");
      ServerStats after = ServerStats.fetch(stats, deadline);
      ObjectNode cpuUse = cpu.stop();
      c.close();

      double seconds = run.seconds();
      double rate = total / seconds;
      Latencies.Summary lat = run.latencies().summarize();
      ObjectNode server = ServerStats.between(before, after, seconds);
      double goal = target != null ? target : deltasPerPush >= 100 ? 200_000 : deltasPerPush == 1 ? 60_000 : 0;
      boolean ok = run.errors() == 0 && run.refused() == 0 && run.applied() == total;

      Report r = new Report("writes");
      r.json.put("deltasPerPush", deltasPerPush).put("total", total).put("inFlight", inFlight).put("warmup", warmup)
          .put("seconds", seconds).put("deltasPerSecond", Math.round(rate))
          .put("pushesPerSecond", Math.round(pushes(total) / seconds))
          .put("ackP50Ms", lat.ms(0.50)).put("ackP99Ms", lat.ms(0.99)).put("ackMaxMs", lat.maxMs())
          .put("applied", run.applied()).put("unchanged", run.unchanged()).put("refused", run.refused())
          .put("errors", run.errors()).put("ok", ok);
      r.json.set("server", server);
      r.json.set("cpu", cpuUse);
      String verdict = goal > 0 ? String.format(" | target >= %.0f deltas/s: %s", goal, Report.atLeast(rate, goal)) : "";
      r.emit(String.format("writes %d/push x %d deltas, %d in flight: %.0f deltas/s (%.0f pushes/s), "
              + "ack p50 %.2f ms p99 %.2f ms max %.2f ms, applied %d, errors %d%s | %s | %s%s",
          deltasPerPush, total, inFlight, rate, pushes(total) / seconds, lat.ms(0.50), lat.ms(0.99), lat.maxMs(),
          run.applied(), run.errors() + run.refused(), run.firstError() == null ? "" : " (" + run.firstError() + ")",
          ServerStats.describe(server), CpuMeter.describe(cpuUse), verdict), common.json);
      return ok ? 0 : 1;
    }
  }

  private int pushes(int deltas) {
    return (deltas + deltasPerPush - 1) / deltasPerPush;
  }

  /** Pushes {@code deltas} new registers {@code prefix<i>}.a, {@code deltasPerPush} to a push. */
  private PushPipeline pipeline(BenchConnection c, PushEncoder encoder, int deltas, String prefix) {
    return new PushPipeline(c, encoder, pushes(deltas), inFlight, (enc, k) -> {
      int from = k * deltasPerPush;
      int to = Math.min(deltas, from + deltasPerPush);
      for (int i = from; i < to; i++) enc.delta("c", prefix + i, "a", i);
    });
  }
}

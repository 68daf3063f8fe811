package dev.syncline.bench;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What a write quorum costs: a star of a hub and one spoke, one connection pushing into the hub,
 * first asking for w=1 (acked once the hub has it), then w=2 (acked once the spoke has it too).
 * Reports both throughputs and their ratio, measured in the same run.
 */
@Command(name = "quorum", mixinStandardHelpOptions = true,
    description = "Hub and spoke; push throughput into the hub with w=1 and with w=2, and the ratio.")
final class QuorumBench implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Mixin ClusterOptions cluster;

  @Option(names = "--deltas-per-push", defaultValue = "100", description = "deltas per push (default ${DEFAULT-VALUE})")
  int perPush;

  @Option(names = "--total", defaultValue = "200000", description = "deltas measured per quorum (default ${DEFAULT-VALUE})")
  int total;

  @Option(names = "--in-flight", defaultValue = "64", description = "unacked pushes (default ${DEFAULT-VALUE})")
  int inFlight;

  @Override
  public Integer call() throws Exception {
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    int hub = cluster.basePort;
    int spoke = hub + 1;
    try (LocalCluster servers = new LocalCluster(cluster, common.adminPassword);
        BenchClient client = new BenchClient(hub, common.eventLoops())) {
      servers.start("hub", hub, List.of(), 1, deadline);
      servers.start("spoke", spoke, List.of(hub), 1, deadline);
      LocalCluster.awaitCaughtUp(client.openAdmin(9, common.adminPassword, deadline, spoke), deadline);
      String tag = CommonOptions.runTag();
      double[] rates = new double[3];
      String[] cpu = new String[3];
      int[] quorums = {1, 2, 1}; // w=1 again at the end: the ratio must not come from warming up
      int pushes = total / perPush;
      for (int round = -1; round < quorums.length; round++) {
        int w = round < 0 ? 2 : quorums[round];
        String id = "qw-" + tag + "-" + (round + 1);
        BenchConnection writer = client.openHello(round + 2, id, deadline, hub);
        PushEncoder encoder = new PushEncoder(common.db, id).quorum(w);
        String doc = "q" + (round + 1) + "-";
        CpuMeter meter = new CpuMeter(servers.pids());
        PushPipeline p = new PushPipeline(writer, encoder, pushes, inFlight, (enc, k) -> {
          for (int j = 0; j < perPush; j++) enc.delta("c", doc + k, "a" + j, j);
        });
        deadline.await(p.run(), "acks at w=" + w);
        writer.close();
        if (p.errors() > 0 || p.refused() > 0) throw new IllegalStateException("w=" + w + ": " + p.firstError());
        if (round < 0) continue; // warm-up of both servers, not measured
        rates[round] = p.applied() / p.seconds();
        cpu[round] = CpuMeter.describe(meter.stop());
        System.err.printf("w=%d: %.0f deltas/s, ack p99 %.1f ms; %s%n", w, rates[round], p.latencies().summarize().ms(0.99), cpu[round]);
      }
      double w1 = (rates[0] + rates[2]) / 2;
      double ratio = rates[1] / w1;
      Report r = new Report("quorum");
      r.json.put("deltasPerPush", perPush).put("total", total).put("inFlight", inFlight)
          .put("w1DeltasPerSecond", Math.round(w1)).put("w2DeltasPerSecond", Math.round(rates[1])).put("ratio", ratio).put("ok", true);
      r.emit(String.format("quorum hub+spoke, %d deltas per push, %d in flight: w=1 %.0f deltas/s (mean of before and after), "
              + "w=2 %.0f deltas/s, ratio w2/w1 %.2f | w=2 round %s", perPush, inFlight, w1, rates[1], ratio, cpu[1]), common.json);
      return 0;
    }
  }
}

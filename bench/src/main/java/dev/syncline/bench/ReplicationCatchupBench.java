package dev.syncline.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * How fast a new, empty server gets everything: load {@code --registers} into server A, then
 * start server B naming A as its peer, and time B from answering {@code /health} to having
 * caught up (every register of A applied). Registers/s over that time.
 */
@Command(name = "replication-catchup", mixinStandardHelpOptions = true,
    description = "Load N registers into A, start an empty B naming A: registers/s until B has caught up.")
final class ReplicationCatchupBench implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Mixin ClusterOptions cluster;

  @Option(names = "--registers", defaultValue = "1000000", description = "registers to load into A (default ${DEFAULT-VALUE})")
  int registers;

  @Option(names = "--attrs-per-doc", defaultValue = "10", description = "attributes per document (default ${DEFAULT-VALUE})")
  int attrsPerDoc;

  @Option(names = "--target", defaultValue = "200000", description = "registers/s to reach (default ${DEFAULT-VALUE})")
  double target;

  @Override
  public Integer call() throws Exception {
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    int a = cluster.basePort;
    int b = a + 1;
    try (LocalCluster servers = new LocalCluster(cluster, common.adminPassword);
        BenchClient client = new BenchClient(a, common.eventLoops())) {
      servers.start("a", a, List.of(), 1, deadline);
      String tag = CommonOptions.runTag();
      BenchConnection loader = client.openHello(0, "rl-" + tag, deadline, a);
      PushEncoder encoder = new PushEncoder(common.db, "rl-" + tag);
      int batch = 1000;
      PushPipeline load = new PushPipeline(loader, encoder, (registers + batch - 1) / batch, 32, (enc, k) -> {
        for (int i = k * batch; i < Math.min(registers, (k + 1) * batch); i++) enc.delta("c", "d" + (i / attrsPerDoc), "a" + (i % attrsPerDoc), i);
      });
      deadline.await(load.run(), "load acks");
      System.err.printf("loaded %d registers into A in %.1f s%n", registers, load.seconds());
      loader.close();

      servers.start("b", b, List.of(a), 1, deadline);
      long healthy = System.nanoTime();
      CpuMeter cpu = new CpuMeter(servers.pids());
      BenchConnection adminB = client.openAdmin(1, common.adminPassword, deadline, b);
      long halfAt = 0;
      while (true) {
        JsonNode data = deadline.await(adminB.adminStats(), "server.stats of B").data;
        JsonNode feed = data.path("peers").path(0).path("databases").path(common.db);
        // the first half also warms B's JIT up; the second shows the rate of a warm server
        if (halfAt == 0 && feed.path("applied").asLong() >= feed.path("peerHead").asLong() / 2 && feed.path("peerHead").asLong() > 0) {
          halfAt = System.nanoTime();
        }
        if (data.path("replication").path("caughtUp").asBoolean() && feed.path("synced").asBoolean()) break;
        if (deadline.remainingMillis() == 0) throw new java.util.concurrent.TimeoutException("B did not catch up");
        Thread.sleep(20);
      }
      long end = System.nanoTime();
      double seconds = (end - healthy) / 1e9;
      double secondHalf = (end - halfAt) / 1e9;
      ObjectNode cpuUse = cpu.stop();
      JsonNode db = deadline.await(adminB.request("admin", "\"op\":\"db.stats\",\"args\":{\"db\":\"" + common.db + "\"}"), "db.stats").data;
      long got = db.path("attributes").asLong();
      double rate = got / seconds;
      double warmRate = got / 2.0 / secondHalf;
      boolean ok = got >= registers;
      Report r = new Report("replication-catchup");
      r.json.put("registers", registers).put("received", got).put("seconds", seconds).put("registersPerSecond", Math.round(rate))
          .put("secondHalfRegistersPerSecond", Math.round(warmRate))
          .put("loadDeltasPerSecond", Math.round(registers / load.seconds())).put("ok", ok);
      r.json.set("cpu", cpuUse);
      r.emit(String.format("replication-catchup %d registers from A to a fresh B: %d in %.2f s = %.0f registers/s (from B's /health to caught up; "
              + "second half %.0f/s) | %s | target >= %.0f registers/s: %s",
          registers, got, seconds, rate, warmRate, CpuMeter.describe(cpuUse), target, ok ? Report.atLeast(rate, target) : "MISSED (incomplete)"),
          common.json);
      return ok ? 0 : 1;
    }
  }
}

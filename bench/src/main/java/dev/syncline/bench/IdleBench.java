package dev.syncline.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Memory of idle connections: the server's resident set before and after {@code --connections}
 * connections each said hello and subscribed (and got {@code synced}), after a settle period.
 * No GC is forced: the figure includes whatever garbage the server has not collected yet and the
 * one-time cost of first use (JIT code, classes), which is why the server's heap settings belong
 * in the report.
 *
 * <p>{@code bench/run.sh} starts this server with {@code -XX:+AlwaysPreTouch} and {@code -Xms}
 * equal to {@code -Xmx}, so its heap is resident whole from the start. Otherwise the ~40 KB of
 * garbage each connection leaves while it is set up lands on heap pages G1 never touched before
 * as it widens its eden, and the RSS grows by however much eden grew in the window (12 to 59 KB
 * per connection from run to run), not by what the connections hold; and with the heap
 * pre-touched but not fixed, the RSS jumps by whatever G1 grows the heap by. With the heap fixed
 * and pre-touched, the figure judged is the RSS growth (native memory, JIT code included) plus
 * the live heap per connection measured at the end.
 *
 * <p>A second batch of as many connections is then opened beside the first: its growth is the
 * marginal cost of a connection on a server that has already served that many, without the
 * one-time costs.
 *
 * <p>Then, with every figure above taken ({@code --live-heap}), what the connections keep alive:
 * the server's heap after a full GC with all of them open, against after a full GC once they are
 * closed. Forced GCs change what the RSS shows, so they come last.
 */
@Command(name = "idle", mixinStandardHelpOptions = true,
    description = "N idle subscribed connections: server RSS growth per connection (needs --server-pid).")
final class IdleBench implements Callable<Integer> {
  @Mixin CommonOptions common;

  private static final BenchConnection.Listener IGNORE = (m, at) -> { };

  @Option(names = "--connections", defaultValue = "1000", description = "idle connections (default ${DEFAULT-VALUE})")
  int connections;

  @Option(names = "--settle-seconds", defaultValue = "10",
      description = "wait before the baseline and after each batch is synced (default ${DEFAULT-VALUE})")
  int settleSeconds;

  @Option(names = "--second-batch", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "also open a second batch to measure the marginal cost (default ${DEFAULT-VALUE})")
  boolean secondBatch;

  @Option(names = "--connect-parallel", defaultValue = "100", description = "connections set up at a time (default ${DEFAULT-VALUE})")
  int connectParallel;

  @Option(names = "--target-kb", defaultValue = "20", description = "KB per connection to stay under (default ${DEFAULT-VALUE})")
  double targetKb;

  @Option(names = "--live-heap", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "at the end, the live heap per connection, from full GCs forced with jcmd (default ${DEFAULT-VALUE})")
  boolean liveHeap;

  @Override
  public Integer call() throws Exception {
    if (common.serverPid <= 0) {
      throw new CommandLine.ParameterException(new CommandLine(this), "idle needs --server-pid: it measures that process");
    }
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    String tag = CommonOptions.runTag();
    ServerProcess server = new ServerProcess(common.serverPid);
    try (BenchClient client = new BenchClient(common.port, common.eventLoops())) {
      BenchConnection control = client.openHello(0, "bi-" + tag, deadline);
      BenchConnection stats = client.openAdmin(1, common.adminPassword, deadline);
      Thread.sleep(settleSeconds * 1000L);
      ServerStats s0 = ServerStats.fetch(stats, deadline);
      long rss0 = server.rssKb();
      CpuMeter cpu = new CpuMeter(common.serverPid);

      List<BenchConnection> idle = new ArrayList<>(client.openMany(connections, connectParallel, "bi-" + tag + "-a",
          common.db, i -> IGNORE, false, deadline));
      long rss1 = server.rssKb();
      Thread.sleep(settleSeconds * 1000L);
      long rss2 = server.rssKb();
      ServerStats s2 = ServerStats.fetch(stats, deadline);
      ObjectNode cpuUse = cpu.stop();

      long rss3 = rss2;
      ServerStats s3 = s2;
      if (secondBatch) {
        idle.addAll(client.openMany(connections, connectParallel, "bi-" + tag + "-b", common.db,
            i -> IGNORE, false, deadline));
        Thread.sleep(settleSeconds * 1000L);
        rss3 = server.rssKb();
        s3 = ServerStats.fetch(stats, deadline);
      }
      int failed = 0;
      for (BenchConnection c : idle) if (c.failure() != null) failed++;
      double liveKb = Double.NaN;
      if (liveHeap) {
        server.fullGc();
        ServerStats open = ServerStats.fetch(stats, deadline);
        BenchClient.closeAll(idle);
        awaitClosed(stats, s0, deadline);
        server.fullGc();
        liveKb = heapKbPerConnection(ServerStats.fetch(stats, deadline), open, idle.size());
      } else {
        BenchClient.closeAll(idle);
      }
      control.close();

      boolean fixedHeap = hasFixedPreTouchedHeap(server.commandLine());
      double kbPerConn = (double) (rss2 - rss0) / connections;
      // with the heap resident whole, the heap's pages no longer show in the RSS: a connection costs
      // the native memory that grew (the RSS) plus the heap it keeps alive
      boolean summed = fixedHeap && liveHeap && !Double.isNaN(liveKb);
      double judgedKb = summed ? kbPerConn + liveKb : kbPerConn;
      double marginalKb = (double) (rss3 - rss2) / connections;
      double heapKb = heapKbPerConnection(s0, s2, connections);
      double marginalHeapKb = heapKbPerConnection(s2, s3, connections);
      int open = secondBatch ? 2 * connections : connections;
      boolean ok = failed == 0 && (s3 == null || s3.subscriptions() >= open);
      Report r = new Report("idle");
      r.json.put("connections", connections).put("settleSeconds", settleSeconds)
          .put("rssBeforeKb", rss0).put("rssSyncedKb", rss1).put("rssSettledKb", rss2)
          .put("memoryKbPerConnection", ServerStats.round1(judgedKb))
          .put("kbPerConnection", ServerStats.round1(kbPerConn))
          .put("heapUsedKbPerConnection", ServerStats.round1(heapKb))
          .put("serverConnections", s2 == null ? -1 : s2.connections())
          .put("serverSubscriptions", s2 == null ? -1 : s2.subscriptions())
          .put("failedConnections", failed).put("heapFixedAndPreTouched", fixedHeap)
          .put("serverCommand", server.commandLine()).put("ok", ok);
      if (secondBatch) {
        r.json.put("rssSecondBatchKb", rss3).put("marginalKbPerConnection", ServerStats.round1(marginalKb))
            .put("marginalHeapUsedKbPerConnection", ServerStats.round1(marginalHeapKb));
      }
      if (liveHeap) r.json.put("liveHeapKbPerConnection", ServerStats.round1(liveKb));
      r.json.set("cpu", cpuUse);
      if (summed) {
        String next = secondBatch ? String.format("; next %d: native %.1f KB/connection", connections, marginalKb) : "";
        r.emit(String.format("idle %d connections (hello + sub, synced): %.1f KB/connection = native %.1f (server RSS, heap "
                + "pre-touched, %d -> %d KB) + live heap %.1f (after full GCs)%s; heap used %+.1f KB/connection before "
                + "any GC; failed %d | target <= %.0f KB: %s",
            connections, judgedKb, kbPerConn, rss0, rss2, liveKb, next, heapKb, failed, targetKb,
            Report.atMost(judgedKb, targetKb)), common.json);
      } else {
        String marginal = secondBatch
            ? String.format("; next %d: %.1f KB/connection (heap used %+.1f KB)", connections, marginalKb, marginalHeapKb)
            : "";
        String live = liveHeap ? String.format("; live heap after a full GC %.1f KB/connection", liveKb) : "";
        r.emit(String.format("idle %d connections (hello + sub, synced): server RSS %d -> %d KB (%d KB right after), "
                + "%.1f KB/connection (heap used %+.1f KB)%s%s; failed %d | target <= %.0f KB (RSS): %s",
            connections, rss0, rss2, rss1, kbPerConn, heapKb, marginal, live, failed, targetKb,
            Report.atMost(kbPerConn, targetKb)), common.json);
      }
      return ok ? 0 : 1;
    }
  }

  /** Whether the JVM's heap was committed whole ({@code -Xms} = {@code -Xmx}) and touched at its start. */
  static boolean hasFixedPreTouchedHeap(String commandLine) {
    String xms = null;
    String xmx = null;
    for (String word : commandLine.split(" ")) {
      if (word.startsWith("-Xms")) xms = word.substring(4);
      if (word.startsWith("-Xmx")) xmx = word.substring(4);
    }
    return commandLine.contains("-XX:+AlwaysPreTouch") && xms != null && xms.equalsIgnoreCase(xmx);
  }

  private static double heapKbPerConnection(ServerStats before, ServerStats after, int connections) {
    if (before == null || after == null) return Double.NaN;
    return (after.heapUsedBytes() - before.heapUsedBytes()) / 1024.0 / connections;
  }

  /** Waits until the server counts no more connections than at the baseline: the closed ones are gone from its heap too. */
  private static void awaitClosed(BenchConnection stats, ServerStats baseline, Deadline deadline) throws InterruptedException {
    for (int i = 0; i < 100; i++) {
      ServerStats now = ServerStats.fetch(stats, deadline);
      if (now == null || baseline == null || now.connections() <= baseline.connections()) return;
      Thread.sleep(100);
    }
  }
}

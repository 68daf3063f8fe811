package dev.syncline.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Catch-up speed: load {@code --attributes} distinct registers, then time a fresh subscriber from
 * sending {@code sub} (since 0) to receiving {@code synced}. Repeated {@code --rounds} times with
 * a new connection each time; the first round also pays for JIT compilation of the read path.
 */
@Command(name = "catchup", mixinStandardHelpOptions = true,
    description = "Load N attributes, then time a fresh subscriber from sub to synced: attributes/s.")
final class CatchupBench implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--attributes", defaultValue = "1000000", description = "registers to load (default ${DEFAULT-VALUE})")
  int attributes;

  @Option(names = "--batch", defaultValue = "1000", description = "deltas per push while loading (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--in-flight", defaultValue = "32", description = "unacked pushes while loading (default ${DEFAULT-VALUE})")
  int inFlight;

  @Option(names = "--attrs-per-doc", defaultValue = "10", description = "attributes per document (default ${DEFAULT-VALUE})")
  int attrsPerDoc;

  @Option(names = "--rounds", defaultValue = "3", description = "fresh subscribers timed one after another (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--target", defaultValue = "1400000", description = "attributes/s to reach, judged on the median round (default ${DEFAULT-VALUE}: issue 11's no-regression bar)")
  double target;

  /** What one catch-up subscriber received; touched only on its event loop until synced. */
  private static final class Reception {
    long deltas;
    long frames;
  }

  @Override
  public Integer call() throws Exception {
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    String tag = CommonOptions.runTag();
    String clientId = "bl-" + tag;
    try (BenchClient client = new BenchClient(common.port, common.eventLoops())) {
      BenchConnection loader = client.openHello(0, clientId, deadline);
      BenchConnection stats = client.openAdmin(1000, common.adminPassword, deadline);
      ServerStats before = ServerStats.fetch(stats, deadline);
      CpuMeter loadCpu = new CpuMeter(common.serverPid);
      PushEncoder encoder = new PushEncoder(common.db, clientId);
      int pushes = (attributes + batch - 1) / batch;
      String docPrefix = "doc-" + tag + "-";
      PushPipeline load = new PushPipeline(loader, encoder, pushes, inFlight, (enc, k) -> {
        int from = k * batch;
        int to = Math.min(attributes, from + batch);
        for (int i = from; i < to; i++) enc.delta("c", docPrefix + (i / attrsPerDoc), "a" + (i % attrsPerDoc), i);
      });
      deadline.await(load.run(), "load acks");
      ServerStats after = ServerStats.fetch(stats, deadline);
      ObjectNode loadCpuUse = loadCpu.stop();
      double loadRate = attributes / load.seconds();
      ObjectNode loadServer = ServerStats.between(before, after, load.seconds());
      System.err.printf("loaded %d attributes in %.1f s (%.0f deltas/s at %d per push); %s; %s%n",
          attributes, load.seconds(), loadRate, batch, ServerStats.describe(loadServer), CpuMeter.describe(loadCpuUse));
      boolean ok = load.errors() == 0 && load.refused() == 0 && load.applied() == attributes;

      double[] rates = new double[rounds];
      ObjectNode[] cpus = new ObjectNode[rounds];
      ArrayNode roundsJson = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
      long expectedHead = 0;
      for (int round = 0; round < rounds; round++) {
        BenchConnection sub = client.openHello(1 + round, "bc-" + tag + "-" + round, deadline);
        Reception got = new Reception();
        long[] syncedAt = {0};
        sub.listen((m, at) -> {
          if (m.is("changes")) {
            got.deltas += m.deltaCount;
            got.frames++;
          } else if (m.is("synced")) {
            syncedAt[0] = at;
          }
        }, false);
        // hop onto the loop so the listener is in place before the clock starts
        deadline.await(sub.request("ping", ""), "pong");
        CpuMeter cpu = new CpuMeter(common.serverPid);
        long start = System.nanoTime();
        Incoming synced = deadline.await(sub.subscribe(common.db, 0), "synced");
        double seconds = (syncedAt[0] - start) / 1e9;
        ObjectNode cpuUse = cpu.stop();
        cpus[round] = cpuUse;
        long head = sub.subscribed().head;
        expectedHead = head;
        sub.close();
        rates[round] = got.deltas / seconds;
        boolean complete = got.deltas >= attributes && synced.seq == head;
        ok &= complete;
        roundsJson.addObject().put("seconds", seconds).put("deltas", got.deltas).put("frames", got.frames)
            .put("attributesPerSecond", Math.round(rates[round])).put("syncedSeq", synced.seq).put("head", head)
            .put("complete", complete).set("cpu", cpuUse);
        System.err.printf("round %d: %d deltas in %d frames, %.2f s, %.0f attributes/s; %s%n",
            round + 1, got.deltas, got.frames, seconds, rates[round], CpuMeter.describe(cpuUse));
      }
      loader.close();

      double[] sorted = rates.clone();
      Arrays.sort(sorted);
      double median = sorted[sorted.length / 2];
      int medianRound = 0;
      for (int i = 0; i < rounds; i++) if (rates[i] == median) medianRound = i;
      Report r = new Report("catchup");
      r.json.put("attributes", attributes).put("attrsPerDoc", attrsPerDoc).put("batch", batch).put("inFlight", inFlight)
          .put("loadSeconds", load.seconds()).put("loadDeltasPerSecond", Math.round(loadRate))
          .put("head", expectedHead).put("medianAttributesPerSecond", Math.round(median))
          .put("firstRoundAttributesPerSecond", Math.round(rates[0])).put("ok", ok);
      r.json.set("rounds", roundsJson);
      r.json.set("loadServer", loadServer);
      r.json.set("loadCpu", loadCpuUse);
      r.json.set("cpu", cpus[medianRound]); // the median round's, as in the summary line (and its window, for profile-summary)
      StringBuilder each = new StringBuilder();
      for (double rate : rates) each.append(each.length() == 0 ? "" : ", ").append(Math.round(rate));
      r.emit(String.format("catchup %d attributes: median %.0f attributes/s (rounds: %s), load %.0f deltas/s "
              + "at %d/push | median round %s | target >= %.0f attributes/s: %s",
          attributes, median, each, loadRate, batch, CpuMeter.describe(cpus[medianRound]), target,
          Report.atLeast(median, target)), common.json);
      return ok ? 0 : 1;
    }
  }
}

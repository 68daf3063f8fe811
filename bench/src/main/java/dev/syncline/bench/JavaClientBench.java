package dev.syncline.bench;

import dev.syncline.client.ClientEvent;
import dev.syncline.client.ClientOptions;
import dev.syncline.client.Collection;
import dev.syncline.client.SynclineClient;
import io.vertx.core.Future;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The Java SDK against a running server: how many edits a client sustains (each applied, stored
 * durably in the client's Xodus store, pushed and recorded by a durable server), and how long a
 * fresh client takes to load a database of {@code --registers} registers.
 */
@Command(name = "java-client", mixinStandardHelpOptions = true,
    description = "Java SDK: edits/s from one client to a durable server; time for a fresh client to load N registers.")
final class JavaClientBench implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--edits", defaultValue = "100000", description = "edits to make, one attribute each (default ${DEFAULT-VALUE})")
  int edits;

  @Option(names = "--registers", defaultValue = "1000000", description = "registers a fresh client loads (default ${DEFAULT-VALUE})")
  int registers;

  @Override
  public Integer call() throws Exception {
    Deadline deadline = Deadline.inSeconds(common.timeoutSeconds);
    String url = "ws://" + BenchClient.HOST + ":" + common.port + "/sync";
    String tag = CommonOptions.runTag();
    Path dir = Files.createTempDirectory("syncline-bench-client");
    try {
      // 1. edits: each set() applies and is stored locally; the client pushes as acks come back
      SynclineClient writer = SynclineClient.create(new ClientOptions().setUrl(url).setStoreDirectory(dir.resolve("writer")));
      AtomicLong recorded = new AtomicLong();
      writer.on(ClientEvent.DOC_RECORD, r -> recorded.incrementAndGet());
      writer.blocking().ready().awaitSynced(common.db, java.time.Duration.ofSeconds(60));
      Collection col = writer.db(common.db).col("jc-" + tag);
      long start = System.nanoTime();
      List<Future<Void>> stored = new ArrayList<>(edits);
      for (int i = 0; i < edits; i++) stored.add(col.doc("e" + i).set(Map.of("v", i)));
      for (Future<Void> f : stored) deadline.await(f, "local store");
      double storedSeconds = (System.nanoTime() - start) / 1e9;
      deadline.until(() -> recorded.get() >= edits, "every edit recorded by the server");
      double seconds = (System.nanoTime() - start) / 1e9;
      deadline.await(writer.close(), "close");

      // 2. a fresh client loads a database of N registers (loaded through the protocol, 1000 per push)
      try (BenchClient client = new BenchClient(common.port, common.eventLoops())) {
        BenchConnection loader = client.openHello(0, "jl-" + tag, deadline);
        PushEncoder encoder = new PushEncoder(common.db, "jl-" + tag);
        String doc = "load-" + tag + "-";
        PushPipeline load = new PushPipeline(loader, encoder, (registers + 999) / 1000, 32, (enc, k) -> {
          for (int i = k * 1000; i < Math.min(registers, (k + 1) * 1000); i++) enc.delta("load", doc + (i / 10), "a" + (i % 10), i);
        });
        deadline.await(load.run(), "load acks");
        loader.close();
      }
      long loadStart = System.nanoTime();
      SynclineClient fresh = SynclineClient.create(new ClientOptions().setUrl(url).setStoreDirectory(dir.resolve("fresh")));
      fresh.blocking().ready().awaitSynced(common.db, java.time.Duration.ofSeconds(common.timeoutSeconds));
      double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
      int loaded = fresh.db(common.db).col("load").all().size();
      deadline.await(fresh.close(), "close");

      Report r = new Report("java-client");
      r.json.put("edits", edits).put("editsPerSecond", Math.round(edits / seconds)).put("storedPerSecond", Math.round(edits / storedSeconds))
          .put("registers", registers).put("loadSeconds", loadSeconds).put("loadedDocuments", loaded)
          .put("registersPerSecond", Math.round(registers / loadSeconds)).put("ok", loaded == registers / 10);
      r.emit(String.format("java-client: %d edits at %.0f edits/s recorded by the server (%.0f/s stored locally); a fresh client "
              + "loaded %d registers (%d documents) in %.1f s = %.0f registers/s",
          edits, edits / seconds, edits / storedSeconds, registers, loaded, loadSeconds, registers / loadSeconds), common.json);
      return loaded == registers / 10 ? 0 : 1;
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}

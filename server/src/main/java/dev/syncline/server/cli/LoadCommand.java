package dev.syncline.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.MessageCodec;
import dev.syncline.protocol.Register;
import dev.syncline.protocol.Visibility;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code load}: merges a {@code dump} into a stopped server's store through the same last-writer-wins
 * merge as every write, so loading twice, or loading into a store that has newer values, changes
 * nothing that it should not. Timestamps and origins are kept.
 */
@Command(name = "load", mixinStandardHelpOptions = true,
    description = "Merge a dump (JSON lines) into a stopped server's store, last writer wins; loading again changes nothing.")
final class LoadCommand implements Callable<Integer> {
  private static final int BATCH = 5_000;

  // the serve command's default too: SYNCLINE_DATA (set in the Docker image), else ./data
  @Option(names = "--data", paramLabel = "DIR", defaultValue = "${env:SYNCLINE_DATA:-./data}",
      description = "the server's data folder (default $SYNCLINE_DATA, else ./data; created if absent)")
  Path data;

  @Parameters(paramLabel = "FILE", arity = "0..1", description = "the dump (default: standard input)")
  Path file;

  private final Map<String, List<Delta>> pending = new LinkedHashMap<>();
  private final List<String> created = new ArrayList<>();
  private long read;
  private long applied;
  private int queued;

  @Override
  public Integer call() throws IOException {
    BackupArchive.ownerOnlyDirectories(data); // it will hold password hashes and the signing key
    try (Store store = OfflineStore.open(data, false);
        BufferedReader in = file == null ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
            : Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      long lineNo = 0;
      for (String line; (line = in.readLine()) != null; ) {
        lineNo++;
        if (line.isBlank()) continue;
        JsonNode node;
        String db;
        Delta delta;
        try {
          node = Json.MAPPER.readTree(line);
          JsonNode dbField = node.get("db");
          if (dbField == null || !MessageCodec.isDatabaseName(dbField.asText())) {
            throw new IllegalArgumentException("db: not a database name");
          }
          db = dbField.asText();
          delta = MessageCodec.decodeStoredDelta(node);
        } catch (IOException | IllegalArgumentException e) {
          throw new CliException((file == null ? "stdin" : file.toString()) + " line " + lineNo + ": " + firstLine(e));
        }
        pending.computeIfAbsent(db, k -> new ArrayList<>()).add(delta);
        read++;
        if (++queued >= BATCH) flush(store);
      }
      flush(store);
      warnUnguarded(store);
    }
    System.err.println(read + " registers read, " + applied + " applied (the rest were already there or older) into "
        + data.toAbsolutePath().normalize());
    return 0;
  }

  /**
   * A database this made whose policy is not in the store (a dump without {@code --system}) is under
   * the server's newDatabasePolicy, by default every action for every signed-in user: said, since
   * the data may have been kept from them where it came from.
   */
  private void warnUnguarded(Store store) {
    if (created.isEmpty()) return;
    // a policy document as the server reads it: removed (policy.set null, db.destroy) unless written again since
    Map<String, Map<String, Register>> policies = new HashMap<>();
    if (store.database(SystemDb.NAME).isPresent()) {
      for (Delta d : store.registers(SystemDb.NAME, SystemDb.POLICIES)) {
        policies.computeIfAbsent(d.id(), k -> new HashMap<>()).put(d.attr(), new Register(d.value(), d.ts()));
      }
    }
    // a destroyed name without a policy is for admins only, not under newDatabasePolicy
    Set<String> destroyed = new HashSet<>();
    if (store.database(SystemDb.NAME).isPresent()) {
      for (Delta d : store.registers(SystemDb.NAME, SystemDb.DATABASES)) {
        if (d.attr().equals(SystemDb.DESTROYED) && d.value().asBoolean(false)) destroyed.add(d.id());
      }
    }
    List<String> open = created.stream()
        .filter(db -> !destroyed.contains(db) && (!policies.containsKey(db) || Visibility.visible(policies.get(db)) == null))
        .sorted().toList();
    if (!open.isEmpty()) {
      System.err.println("warning: " + String.join(", ", open) + " made without a policy of their own: until one is set, "
          + "newDatabasePolicy applies (by default, every signed-in user may do everything). A dump made with --system "
          + "brings users and policies along");
    }
  }

  /** One transaction per batch; databases are created when the dump names one this store lacks. */
  private void flush(Store store) {
    List<WriteBatch> batches = new ArrayList<>();
    pending.forEach((db, deltas) -> {
      if (store.database(db).isEmpty()) {
        store.createDatabase(db, System.currentTimeMillis());
        if (!db.startsWith("$")) created.add(db);
      }
      batches.add(WriteBatch.replicated(db, deltas, null, null));
    });
    for (BatchOutcome o : store.commit(batches)) applied += o.committed().size();
    pending.clear();
    queued = 0;
  }

  private static String firstLine(Exception e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}

package dev.syncline.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.Digests;
import dev.syncline.server.store.RegisterPage;
import dev.syncline.server.store.Store;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code dump}: every register of a stopped server's store as JSON lines
 * {@code {"db","col","id","attr","value","ts"}}, tombstones included — the input of {@code load}.
 */
@Command(name = "dump", mixinStandardHelpOptions = true,
    description = "Write every register (tombstones included, with its timestamp) of a stopped server's store as JSON lines.")
final class DumpCommand implements Callable<Integer> {
  private static final int PAGE_DELTAS = 10_000;
  private static final int PAGE_BYTES = 8 << 20;

  // the serve command's default too: SYNCLINE_DATA (set in the Docker image), else ./data
  @Option(names = "--data", paramLabel = "DIR", defaultValue = "${env:SYNCLINE_DATA:-./data}",
      description = "the server's data folder (default $SYNCLINE_DATA, else ./data)")
  Path data;

  @Option(names = "--db", paramLabel = "DB", description = "only this database (repeatable; default: all)")
  List<String> only;

  @Option(names = "--system", description = "include $system (users with password hashes, roles, policies)")
  boolean system;

  @Option(names = "--out", paramLabel = "FILE", description = "write here instead of standard output")
  Path out;

  @Override
  public Integer call() throws IOException {
    try (Store store = OfflineStore.open(data, true)) {
      // a misspelt name would dump nothing and look like an empty database
      for (String db : only == null ? List.<String>of() : only) {
        if (store.database(db).isEmpty()) throw new CliException("no database " + db + " in " + data);
      }
      try (Writer w = new BufferedWriter(out == null ? new OutputStreamWriter(System.out, StandardCharsets.UTF_8)
          : new OutputStreamWriter(BackupArchive.ownerOnlyFile(out), StandardCharsets.UTF_8))) {
        long registers = 0;
        for (DatabaseInfo info : store.databases()) {
          String db = info.name();
          if (only != null ? !only.contains(db) : db.equals(SystemDb.NAME) && !system) continue;
          registers += dump(store, db, w);
        }
        w.flush();
        if (out != null) System.err.println(registers + " registers written to " + out);
      }
    }
    return 0;
  }

  private static long dump(Store store, String db, Writer w) throws IOException {
    BitSet all = new BitSet(Digests.BUCKETS);
    all.set(0, Digests.BUCKETS);
    long count = 0;
    byte[] after = null;
    RegisterPage page;
    do {
      page = store.registersInBuckets(db, all, after, PAGE_DELTAS, PAGE_BYTES, 0);
      if (page == null) return count;
      for (byte[] encoded : page.deltas()) {
        JsonNode d = Json.MAPPER.readTree(encoded);
        ObjectNode line = Json.MAPPER.createObjectNode().put("db", db);
        for (String f : List.of("col", "id", "attr", "value", "ts")) line.set(f, d.get(f));
        w.write(line.toString());
        w.write('\n');
        count++;
      }
      after = page.resumeKey();
    } while (page.more());
    return count;
  }
}

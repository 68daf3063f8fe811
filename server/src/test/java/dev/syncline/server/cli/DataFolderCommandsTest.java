package dev.syncline.server.cli;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.Cli;
import dev.syncline.server.testing.Cli.Result;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The command line on data folders: dump, load, backup of a live server, restore")
class DataFolderCommandsTest {

  @Test
  @DisplayName("dump writes every register with its ts, tombstones included; load merges it idempotently, last writer wins")
  void dumpAndLoad() throws Exception {
    Path dump = Files.createTempFile("syncline-dump", ".jsonl");
    String digest;
    try (TestServer source = TestServer.start()) {
      try (WsClient w = source.connect("dumper")) {
        for (int i = 0; i < 30; i++) w.request(push("app", delta("c", "d" + i, "v", i, now(i, "dumper"))));
        w.request(push("app", delta("c", "d0", "$deleted", true, now(100, "dumper"))));
      }
      digest = digestOf(source, "app");

      Result locked = Cli.run(Map.of(), "dump", "--data", source.dataDir().toString());
      assertEquals(1, locked.exit(), locked.toString());
      assertTrue(locked.err().startsWith("syncline: data folder ") && locked.err().contains("in use by a running server"),
          locked.err());
      assertEquals(1, locked.err().lines().count(), locked.err());

      source.stop();
      Result dumped = Cli.run(Map.of(), "dump", "--data", source.dataDir().toString(), "--out", dump.toString());
      assertEquals(0, dumped.exit(), dumped.toString());
      // a misspelt database is named, not dumped as nothing
      Result misspelt = Cli.run(Map.of(), "dump", "--data", source.dataDir().toString(), "--db", "ap");
      assertEquals(1, misspelt.exit(), misspelt.toString());
      assertTrue(misspelt.err().contains("no database ap") && misspelt.out().isEmpty(), misspelt.toString());
      Path withSystem = Files.createTempDirectory("syncline-dump-system").resolve("system.jsonl");
      assertEquals(0, Cli.run(Map.of(), "dump", "--system", "--data", source.dataDir().toString(), "--out", withSystem.toString()).exit());
      Path newData = Files.createTempDirectory("syncline-load-system").resolve("data");
      Result guarded = Cli.run(Map.of(), "load", "--data", newData.toString(), withSystem.toString());
      assertEquals(0, guarded.exit(), guarded.toString());
      assertFalse(guarded.err().contains("warning"), "app's policy came along: " + guarded.err());
      assertTrue(guarded.err().contains(newData.toString()), "it says where it loaded: " + guarded.err());
      // both hold password hashes: their owner's only
      assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(withSystem)));
      assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(newData)));
    }
    List<JsonNode> lines = new ArrayList<>();
    for (String l : Files.readAllLines(dump)) lines.add(Json.MAPPER.readTree(l));
    assertEquals(31, lines.size(), "30 values and one tombstone: " + lines);
    assertTrue(lines.stream().allMatch(l -> l.path("db").asText().equals("app") && l.hasNonNull("ts")));
    assertTrue(lines.stream().anyMatch(l -> l.path("id").asText().equals("d0") && l.path("attr").asText().equals("$deleted")));
    assertTrue(lines.stream().noneMatch(l -> l.path("db").asText().startsWith("$")), "no $system without --system");

    Path target = Files.createTempDirectory("syncline-load");
    Result loaded = Cli.run(Map.of(), "load", "--data", target.toString(), dump.toString());
    assertEquals(0, loaded.exit(), loaded.toString());
    assertTrue(loaded.err().contains("31 registers read, 31 applied"), loaded.err());
    assertTrue(loaded.err().contains("warning: app made without a policy of their own"), "no $system in the dump: " + loaded.err());
    Result again = Cli.run(Map.of(), "load", "--data", target.toString(), dump.toString());
    assertTrue(again.err().contains("31 registers read, 0 applied"), again.toString());
    assertFalse(again.err().contains("warning"), "it made no database: " + again.err());

    // an older value loses to the newer one stored; a newer one wins
    List<JsonNode> values = lines.stream().filter(l -> l.path("attr").asText().equals("v")).toList();
    JsonNode kept = values.get(5);
    JsonNode replaced = values.get(6);
    ObjectNode older = (ObjectNode) kept.deepCopy();
    older.put("value", "older").put("ts", dev.syncline.server.testing.Deltas.ts(1, 0, "old"));
    ObjectNode newer = (ObjectNode) replaced.deepCopy();
    newer.put("value", "newer").put("ts", dev.syncline.server.testing.Deltas.ts(System.currentTimeMillis() + 1000, 0, "new"));
    Path edits = Files.createTempFile("syncline-edits", ".jsonl");
    Files.writeString(edits, older + "\n" + newer + "\n");
    Result merged = Cli.run(Map.of(), "load", "--data", target.toString(), edits.toString());
    assertTrue(merged.err().contains("2 registers read, 1 applied"), merged.toString());

    // without --data, SYNCLINE_DATA names the folder, as for the server itself (the Docker image sets it)
    Result viaEnv = Cli.run(Map.of("SYNCLINE_DATA", target.toString()), "dump", "--out", dump.toString());
    assertEquals(0, viaEnv.exit(), viaEnv.toString());
    assertTrue(Files.readAllLines(dump).stream().anyMatch(l -> l.contains("\"newer\"")), "the dump of SYNCLINE_DATA's store");

    try (TestServer reopened = TestServer.reopen(target)) {
      Map<String, JsonNode> state = state(reopened);
      assertEquals(kept.path("value"), state.get(kept.path("id").asText()), "the older load lost");
      assertEquals("newer", state.get(replaced.path("id").asText()).asText(), "the newer load won");
      assertNotEquals(digest, digestOf(reopened, "app"));
    }

    Path broken = Files.createTempFile("syncline-broken", ".jsonl");
    Files.writeString(broken, lines.get(1) + "\n{\"db\":\"app\",\"col\":\"c\"}\n");
    Result refused = Cli.run(Map.of(), "load", "--data", Files.createTempDirectory("syncline-load2").toString(), broken.toString());
    assertEquals(1, refused.exit(), refused.toString());
    assertTrue(refused.err().contains("line 2: id"), refused.err());
  }

  @Test
  @DisplayName("dump, load and restore leave a store of an older format as it is: upgraded, the server that wrote it could not open it")
  void olderFormatLeftAsItIs() throws Exception {
    try (TestServer source = TestServer.start(c -> c.databases.add(dev.syncline.server.config.ServerConfig.DatabaseSpec.named("db")))) {
      try (WsClient w = source.connect("writer")) {
        JsonNode ack = w.request(push("db", delta("c", "d", "v", 1, now(1, "writer"))));
        assertEquals("applied", ack.path("results").path(0).asText(), ack.toString());
      }
      Path data = source.dataDir();
      source.stop();
      dev.syncline.server.store.OldFormats.toFormat2(data.resolve("store"));
      for (int i = 0; i < 2; i++) { // the second time too: the first changed nothing
        Result dumped = Cli.run(Map.of(), "dump", "--data", data.toString());
        assertEquals(1, dumped.exit(), dumped.toString());
        assertTrue(dumped.err().contains("has format 2, older than this server's"), dumped.err());
        assertEquals(1, dumped.err().lines().count(), dumped.err());
      }
      Path backup = Files.createTempDirectory("syncline-backup-of-nothing");
      Files.createDirectories(backup.resolve("store"));
      Files.write(backup.resolve("store").resolve("00000000000.xd"), new byte[8]); // refused before it is read
      Result restore = Cli.run(Map.of(), "restore", "--data", data.toString(), backup.toString());
      assertTrue(restore.err().contains("pass --force"), restore.toString());
      TestServer.reopen(data).stop(); // the server upgrades it
      Result after = Cli.run(Map.of(), "dump", "--data", data.toString());
      assertEquals(0, after.exit(), after.toString());
    }
  }

  @Test
  @DisplayName("restoring a backup older than the retention warns: in a cluster what was removed since comes back from it")
  void oldBackupWarns() throws Exception {
    Path backup = Files.createTempDirectory("syncline-old-backup");
    try (dev.syncline.server.store.Store old = dev.syncline.server.store.Store.openXodus(backup.resolve("store"), true, 8 << 20)) {
      old.createDatabase("app", 1);
      long fortyDaysAgo = System.currentTimeMillis() - 40L * 24 * 3600 * 1000;
      old.commit(List.of(dev.syncline.server.store.WriteBatch.of("app", List.of(new dev.syncline.protocol.Delta("c", "d", "v",
          com.fasterxml.jackson.databind.node.IntNode.valueOf(1), new dev.syncline.protocol.Hlc(fortyDaysAgo, 0, "w").format())))));
    }
    Result restored = Cli.run(Map.of(), "restore", backup.toString(), "--data", Files.createTempDirectory("syncline-into").toString());
    assertEquals(0, restored.exit(), restored.toString());
    assertTrue(restored.err().contains("(40 days ago)") && restored.err().contains("warning: older than tombstoneRetentionMs (30 days)"),
        restored.err());
    // the cluster's own retention, from its config file or environment
    Path into = Files.createTempDirectory("syncline-into");
    Path config = Files.writeString(Files.createTempFile("syncline-config", ".json"),
        "{\"tombstoneRetentionMs\": 5184000000, \"data\": \"" + into + "\"}");
    Result longer = Cli.run(Map.of(), "restore", backup.toString(), "--config", config.toString());
    assertEquals(0, longer.exit(), longer.toString());
    assertTrue(longer.err().contains("(40 days ago)") && !longer.err().contains("warning"), "60 days kept: " + longer.err());
    assertTrue(Files.isDirectory(into.resolve("store")), "into the config's data folder: " + longer.err());
    Result shorter = Cli.run(Map.of("SYNCLINE_TOMBSTONE_RETENTION_MS", "864000000"), "restore", backup.toString(),
        "--data", Files.createTempDirectory("syncline-into").toString());
    assertTrue(shorter.err().contains("warning: older than tombstoneRetentionMs (10 days)"), shorter.err());
  }

  @Test
  @DisplayName("a dump loaded into an empty folder holds the same registers: equal digests")
  void dumpLoadKeepsDigest() throws Exception {
    Path dump = Files.createTempFile("syncline-dump", ".jsonl");
    String digest;
    try (TestServer source = TestServer.start()) {
      try (WsClient w = source.connect("copier")) {
        for (int i = 0; i < 50; i++) w.request(push("app", delta("c", "d" + (i % 7), "a" + (i % 3), i, now(i, "copier"))));
      }
      digest = digestOf(source, "app");
      source.stop();
      assertEquals(0, Cli.run(Map.of(), "dump", "--data", source.dataDir().toString(), "--out", dump.toString()).exit());
    }
    Path target = Files.createTempDirectory("syncline-copy");
    assertEquals(0, Cli.run(Map.of(), "load", "--data", target.toString(), dump.toString()).exit());
    try (TestServer copy = TestServer.reopen(target)) {
      assertEquals(digest, digestOf(copy, "app"));
    }
  }

  @Test
  @DisplayName("load warns about a database whose policy was removed where the dump came from, as about one without")
  void loadWarnsAboutARemovedPolicy() throws Exception {
    Path dump = Files.createTempFile("syncline-dump-removed", ".jsonl");
    try (TestServer source = TestServer.start()) {
      try (WsClient w = source.connect("w")) {
        w.request(push("app", delta("c", "d", "v", 1, now(0, "w"))));
      }
      JsonNode removed = source.admin(admin("policy.set", args().put("db", "app").putNull("policy")));
      assertEquals("result", removed.path("type").asText(), removed.toString());
      source.stop();
      assertEquals(0, Cli.run(Map.of(), "dump", "--system", "--data", source.dataDir().toString(), "--out", dump.toString()).exit());
    }
    Result loaded = Cli.run(Map.of(), "load", "--data", Files.createTempDirectory("syncline-load-removed").toString(), dump.toString());
    assertEquals(0, loaded.exit(), loaded.toString());
    assertTrue(loaded.err().contains("warning: app made without a policy"), loaded.err());
  }

  @Test
  @DisplayName("a restore that fails leaves the store that was there, and nothing half-made; a restored store is its owner's only")
  void failedRestoreChangesNothing() throws Exception {
    String digest;
    Path data;
    try (TestServer server = TestServer.start()) {
      try (WsClient w = server.connect("w")) {
        w.request(push("app", delta("c", "d", "v", 1, now(0, "w"))));
      }
      digest = digestOf(server, "app");
      data = server.dataDir();
      server.stop();
      // a backup whose store is not a store: its copy is made, then cannot be opened
      Path broken = Files.createTempDirectory("syncline-broken-backup");
      Files.createDirectories(broken.resolve("store"));
      Files.write(broken.resolve("store").resolve("00000000000.xd"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
      Result failed = Cli.run(Map.of(), "restore", broken.toString(), "--data", data.toString(), "--force");
      assertEquals(1, failed.exit(), failed.toString());
      try (java.util.stream.Stream<Path> left = Files.list(data)) {
        List<String> names = left.map(p -> p.getFileName().toString()).sorted().toList();
        assertFalse(names.stream().anyMatch(n -> n.startsWith("store.") || n.startsWith(".restoring")), "nothing set aside or half-made: " + names);
      }
      server.restart();
      assertEquals(digest, digestOf(server, "app"), "the store that was there, as it was");

      // what backup and restore write holds the signing key and password hashes: its owner's only
      Path folder = Files.createTempDirectory("syncline-backups").resolve("b");
      Result backedUp = Cli.run(Map.of("SYNCLINE_URL", "http://127.0.0.1:" + server.port(),
          "SYNCLINE_PASSWORD", TestServer.ADMIN_PASSWORD), "backup", folder.toString());
      assertEquals(0, backedUp.exit(), backedUp.toString());
      Path target = Files.createTempDirectory("syncline-restored-private").resolve("data");
      Result restored = Cli.run(Map.of(), "restore", folder.toString(), "--data", target.toString());
      assertEquals(0, restored.exit(), restored.toString());
      // into an empty store folder, as a file system mounted there is (with its lost+found): filled in place
      Path mounted = Files.createTempDirectory("syncline-restored-mounted");
      Files.createDirectories(mounted.resolve("store").resolve("lost+found"));
      // and what a restore into it that was killed left there: not a store, gone after this one
      Path interrupted = Files.createDirectories(mounted.resolve("store").resolve(".restoring-1700000000000"));
      Files.write(interrupted.resolve("00000000000.xd"), new byte[] {1, 2, 3});
      Result intoMount = Cli.run(Map.of(), "restore", folder.toString(), "--data", mounted.toString());
      assertEquals(0, intoMount.exit(), intoMount.toString());
      assertFalse(Files.exists(interrupted), intoMount.toString());
      try (TestServer back = TestServer.reopen(mounted)) {
        assertEquals(digest, digestOf(back, "app"), "the restored store, in the folder that was there");
      }
      if (target.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        for (Path p : List.of(folder, folder.resolve("store"), target.resolve("store"))) {
          assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
        }
        try (java.util.stream.Stream<Path> files = Files.list(folder.resolve("store"))) {
          for (Path f : files.toList()) {
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
          }
        }
      }
    }
  }

  @Test
  @DisplayName("restore refuses a zip cut short, one with a corrupt entry and a store/ with no log file, even with --force: the store that was there stays")
  void incompleteBackupsRefused() throws Exception {
    try (TestServer server = TestServer.start()) {
      try (WsClient w = server.connect("w")) {
        // 1.6 MB: several log files, each an entry of the zip
        for (int p = 0; p < 20; p++) {
          ObjectNode batch = push("app");
          for (int i = 0; i < 40; i++) batch.withArray("deltas").add(delta("c", "d" + (p * 40 + i), "v", "x".repeat(2000), now(p * 40 + i, "w")));
          assertEquals("ack", w.request(batch).path("type").asText());
        }
      }
      Path zip = Files.createTempDirectory("syncline-cut").resolve("b.zip");
      Result backedUp = Cli.run(Map.of("SYNCLINE_URL", "http://127.0.0.1:" + server.port(),
          "SYNCLINE_PASSWORD", TestServer.ADMIN_PASSWORD), "backup", zip.toString());
      assertEquals(0, backedUp.exit(), backedUp.toString());
      String digest = digestOf(server, "app");
      Path data = server.dataDir();
      server.stop();

      // a copy that stopped short between two entries: read one by one, they look like a smaller backup
      byte[] whole = Files.readAllBytes(zip);
      int lastEntry = whole.length - 4;
      while (lastEntry > 0 && !(whole[lastEntry] == 'P' && whole[lastEntry + 1] == 'K' && whole[lastEntry + 2] == 3 && whole[lastEntry + 3] == 4)) lastEntry--;
      assertTrue(lastEntry > 0, "a backup of more than one entry");
      Path cut = zip.resolveSibling("cut.zip");
      Files.write(cut, java.util.Arrays.copyOf(whole, lastEntry));
      // a flipped bit in an entry's data: the zip is whole, the entry's checksum is wrong
      byte[] flipped = whole.clone();
      flipped[logFileData(whole) + 100] ^= 0x01;
      Path rotten = zip.resolveSibling("rotten.zip");
      Files.write(rotten, flipped);
      Path empty = Files.createTempDirectory("syncline-empty-backup");
      Files.createDirectories(empty.resolve("store"));
      for (Path bad : List.of(cut, rotten, empty)) {
        Result fresh = Cli.run(Map.of(), "restore", bad.toString(), "--data", Files.createTempDirectory("syncline-fresh").toString());
        assertEquals(1, fresh.exit(), fresh.toString());
        Result over = Cli.run(Map.of(), "restore", bad.toString(), "--data", data.toString(), "--force");
        assertEquals(1, over.exit(), over.toString());
        assertTrue(over.err().contains(bad == cut ? "cut short" : bad == rotten ? "is corrupt" : "no .xd log file"), over.err());
      }
      try (java.util.stream.Stream<Path> left = Files.list(data)) {
        List<String> names = left.map(p -> p.getFileName().toString()).toList();
        assertFalse(names.stream().anyMatch(n -> n.startsWith(".")), "nothing unpacked or half-made left: " + names);
      }
      server.restart();
      assertEquals(digest, digestOf(server, "app"), "the store that was there, as it was");
    }
  }

  /** Where the data of the zip's first store/*.xd entry starts: after its local header, name and extra field. */
  private static int logFileData(byte[] zip) {
    for (int at = 0; at + 30 < zip.length; at++) {
      if (zip[at] != 'P' || zip[at + 1] != 'K' || zip[at + 2] != 3 || zip[at + 3] != 4) continue;
      int nameLength = (zip[at + 26] & 0xff) | (zip[at + 27] & 0xff) << 8;
      int extraLength = (zip[at + 28] & 0xff) | (zip[at + 29] & 0xff) << 8;
      String name = new String(zip, at + 30, nameLength, java.nio.charset.StandardCharsets.UTF_8);
      if (name.startsWith("store/") && name.endsWith(".xd")) return at + 30 + nameLength + extraLength;
    }
    throw new AssertionError("no log file in the zip");
  }

  @Test
  @DisplayName("backup copies a live server while it takes writes; restore brings it back under a new epoch")
  void backupAndRestore() throws Exception {
    Path folder = Files.createTempDirectory("syncline-backups").resolve("b1");
    Path zip = folder.resolveSibling("b2.zip");
    String epochBefore;
    long acked;
    long headAfter; // the live server's head after the backups: what a client may hold that a restore takes back
    // the writes during the backups acked before each began: a backup holds them, and perhaps more
    Map<Path, Integer> ackedBefore = new java.util.HashMap<>();
    try (TestServer live = TestServer.start(); WsClient w = live.connect("backup-writer")) {
      for (int i = 0; i < 200; i++) w.request(push("app", delta("c", "d" + i, "v", i, now(i, "backup-writer"))));
      epochBefore = w.request(sub("app", 0)).path("epoch").asText();
      AtomicBoolean stop = new AtomicBoolean();
      java.util.concurrent.atomic.AtomicInteger moreAcked = new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.atomic.AtomicReference<Throwable> moreFailed = new java.util.concurrent.atomic.AtomicReference<>();
      Thread more = new Thread(() -> {
        try (WsClient m = live.connect("more-writer")) {
          for (int i = 0; !stop.get(); i++) {
            JsonNode ack = m.request(push("app", delta("more", "m" + i, "v", i, now(i, "more-writer"))));
            if (!"ack".equals(ack.path("type").asText())) throw new AssertionError("m" + i + ": " + ack);
            moreAcked.incrementAndGet();
          }
        } catch (Throwable e) {
          moreFailed.set(e);
        }
      });
      more.start();
      Cluster.await(() -> moreAcked.get() >= 20, java.time.Duration.ofSeconds(20), () -> "writes going on");
      Map<String, String> env = Map.of("SYNCLINE_URL", "http://127.0.0.1:" + live.port(),
          "SYNCLINE_PASSWORD", TestServer.ADMIN_PASSWORD);
      ackedBefore.put(folder, moreAcked.get());
      Result toFolder = Cli.run(env, "backup", folder.toString());
      ackedBefore.put(zip, moreAcked.get());
      Result toZip = Cli.run(env, "backup", zip.toString());
      stop.set(true);
      more.join();
      if (moreFailed.get() != null) throw new AssertionError("the writer during the backups failed", moreFailed.get());
      assertEquals(0, toFolder.exit(), toFolder.toString());
      assertEquals(0, toZip.exit(), toZip.toString());
      if (zip.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(zip)),
            "a backup holds the signing key: its owner's only");
      }
      assertTrue(Files.isDirectory(folder.resolve("store")) && Files.isRegularFile(folder.resolve("server-id")));
      assertEquals(1, Cli.run(env, "backup", folder.toString()).exit(), "an existing target is refused");
      acked = 200;

      headAfter = headOf(live);
      Result onLive = Cli.run(Map.of(), "restore", zip.toString(), "--data", live.dataDir().toString(), "--force");
      assertEquals(1, onLive.exit(), onLive.toString());
      assertTrue(onLive.err().contains("in use by a running server"), onLive.err());
    }
    for (Path backup : List.of(folder, zip)) {
      Path data = Files.createTempDirectory("syncline-restored");
      Result restored = Cli.run(Map.of(), "restore", backup.toString(), "--data", data.toString());
      assertEquals(0, restored.exit(), restored.toString());
      assertTrue(restored.err().contains("--new-id"), "says the folder is that server now: " + restored.err());
      assertTrue(restored.err().contains("the newest write in this backup is from "), "says how old it is: " + restored.err());
      assertFalse(restored.err().contains("warning: older than"), "a fresh backup: " + restored.err());
      Path another = Files.createTempDirectory("syncline-restored-new-id");
      assertEquals(0, Cli.run(Map.of(), "restore", backup.toString(), "--data", another.toString(), "--new-id").exit());
      assertFalse(Files.exists(another.resolve("server-id")), "a new id is made at its first start");
      assertEquals(1, Cli.run(Map.of(), "restore", backup.toString(), "--data", data.toString()).exit(),
          "a folder with a store is not overwritten without --force");
      try (TestServer back = TestServer.reopen(data); WsClient r = back.connect("reader")) {
        JsonNode subscribed = r.request(sub("app", 0));
        assertNotEquals(epochBefore, subscribed.path("epoch").asText(), "a restored database starts a new epoch");
        // a client naming no epoch, at a cursor of the lost history, starts over too, whatever is written anew
        try (WsClient writer = back.connect("after-restore")) { // until the seqs written anew reach that cursor
          for (int i = 0; i == 0 || headOf(back) <= headAfter; i++) {
            writer.request(push("app", delta("c", "new" + i, "v", i, now(i, "after-restore"))));
          }
        }
        JsonNode resumed = r.request(WsClient.obj("sub").put("db", "app").put("since", headAfter));
        assertEquals("subscribed", resumed.path("type").asText(), resumed.toString());
        r.await(m -> "reset".equals(m.path("type").asText()) && resumed.path("sid").asText().equals(m.path("sid").asText()));
        Map<String, JsonNode> state = state(back);
        for (int i = 0; i < acked; i++) assertEquals(i, state.get("d" + i).asInt(), "d" + i + " from " + backup);
        // of the writes made meanwhile: an unbroken run from m0, at least those acked before the backup began
        Map<String, JsonNode> more = state(back, "more");
        for (int i = 0; i < more.size(); i++) assertEquals(i, more.get("m" + i).asInt(), "m" + i + " of " + more.size() + " from " + backup);
        assertTrue(more.size() >= ackedBefore.get(backup), more.size() + " of the " + ackedBefore.get(backup) + " acked before " + backup);
      }
    }
  }

  private static long headOf(TestServer s) {
    return s.admin(admin("db.stats", args().put("db", "app"))).path("data").path("head").asLong();
  }

  private static String digestOf(TestServer s, String db) {
    return s.admin(admin("db.digest", args().put("db", db))).path("data").path("digest").asText();
  }

  /** Document id → value of attribute v, for collection c of app, read through a subscription. */
  private static Map<String, JsonNode> state(TestServer s) {
    return state(s, "c");
  }

  /** Attribute v of every document of collection {@code col} of database app, by id. */
  private static Map<String, JsonNode> state(TestServer s, String col) {
    Map<String, JsonNode> out = new java.util.HashMap<>();
    try (WsClient r = s.connect("state-reader")) {
      String sid = r.request(sub("app", 0)).path("sid").asText();
      r.next(m -> m.path("type").asText().equals("synced") && m.path("sid").asText().equals(sid));
      for (JsonNode m : r.receivedOfType("changes")) {
        for (JsonNode d : m.path("deltas")) {
          if (d.path("col").asText().equals(col) && d.path("attr").asText().equals("v")) out.put(d.path("id").asText(), d.path("value"));
        }
      }
    }
    return out;
  }
}

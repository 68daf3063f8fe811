package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.server.testing.Cluster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import jetbrains.exodus.bindings.IntegerBinding;
import jetbrains.exodus.bindings.StringBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.EnvironmentConfig;
import jetbrains.exodus.env.EnvironmentImpl;
import jetbrains.exodus.env.Environments;
import jetbrains.exodus.env.StoreConfig;
import jetbrains.exodus.gc.UtilizationProfile;
import jetbrains.exodus.tree.ExpiredLoggableCollection;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Cleaning the store's log, in steps, on the writer's thread")
class LogCleanerTest extends StoreTestBase {
  private static final int REGISTERS = 10;
  private static final String VALUE = "x".repeat(1000);

  @Test
  @DisplayName("nothing is cleaned while few files are garbage; after many overwrites files are cleaned until less than half is, and every register reads back after a reopen")
  void cleansUntilMostlyLive() {
    writeDistinct(100);
    assertEquals(Store.Cleaning.NOTHING, store.cleanLog(0), "a log of live data has nothing to clean");

    overwrite(2000, 0);
    int cleaned = 0;
    while (cleanFile(store::cleanLog)) cleaned++;
    // ~9 files of nearly all garbage; a cleaned file counts as live until Xodus deletes it,
    // seconds later, so about half of them are cleaned now
    assertTrue(cleaned >= 3, "~4.5 MB of log, nearly all garbage: " + cleaned + " files cleaned");
    assertFalse(cleanFile(store::cleanLog), "no more once less than half is garbage");

    reopen();
    assertLastValues(store, 2000);
    assertEquals(100, store.registers("db", "live").size());
  }

  @Test
  @DisplayName("storeMinUtilization sets when the log is cleaned: of three stores given the same writes, one requiring 80% live cleans a log ~60% live, which the default leaves; the default cleans one ~25% live, which one requiring 10% leaves")
  void minUtilizationSetsWhenToClean() throws IOException {
    Path strictDir = Files.createTempDirectory("syncline-store");
    Path lenientDir = Files.createTempDirectory("syncline-store");
    try (Store strict = Store.openXodus(strictDir, true, 8 << 20, 80, Map.of());
        Store lenient = Store.openXodus(lenientDir, true, 8 << 20, 10, Map.of())) {
      List<Store> all = List.of(store, strict, lenient);
      for (Store s : all) {
        if (s != store) s.createDatabase("db", 1);
        writeLive(s, 3000); // ~3 MB in three commits: hardly any garbage
        overwrite(s, 1500, 0); // ~1.5 MB of overwritten values, and the tree paths each commit replaced
      }
      assertTrue(cleanFile(strict::cleanLog), "with 80% to be live, this log has too much garbage");
      assertFalse(cleanFile(store::cleanLog), "the default waits until less than half is live");

      // ~25% live by Xodus's estimate; 4,500 left ~20%, too near 10, since each commit also writes a stale:D row
      for (Store s : all) overwrite(s, 3000, 1500);
      int defaultLive = ((XodusStore) store).logLivePercent();
      assertTrue(cleanFile(store::cleanLog), "the default cleans a log a quarter live: " + defaultLive + "% live");
      int lenientLive = ((XodusStore) lenient).logLivePercent(); // read before: cleaning changes it
      assertFalse(cleanFile(lenient::cleanLog), "with 10% to be live, a quarter live is not yet too little: " + lenientLive + "% live");
      for (Store s : all) {
        assertLastValues(s, 4500);
        assertEquals(3000, s.registers("db", "live").size());
      }
    } finally {
      deleteTree(strictDir);
      deleteTree(lenientDir);
    }
  }

  @Test
  @DisplayName("the utilization profile, rewritten whole by the commit after it is marked, is marked at most once in 30 s however many files are cleaned")
  void profileMarkedForSavingAtMostEveryInterval() throws Exception {
    inFreshEnv((env, envDir) -> {
      jetbrains.exodus.env.Store kv = overwriteKv(env, (t, k) -> { });
      long[] now = {0};
      LogCleaner cleaner = new LogCleaner(env, () -> now[0]);
      UtilizationProfile profile = ((EnvironmentImpl) env).getGC().getUtilizationProfile();
      Runnable commit = () -> env.executeInTransaction(t -> kv.put(t, IntegerBinding.intToEntry(0), StringBinding.stringToEntry("x")));
      commit.run();
      assertFalse(profile.isDirty(), "a commit saves a marked profile");

      assertTrue(cleanFile(cleaner::step));
      assertTrue(profile.isDirty(), "the first file cleaned marks it");
      commit.run();
      now[0] = TimeUnit.SECONDS.toNanos(29);
      assertTrue(cleanFile(cleaner::step));
      assertFalse(profile.isDirty(), "another file within 30 s does not");
      now[0] = TimeUnit.SECONDS.toNanos(31);
      cleanFile(cleaner::step);
      assertTrue(profile.isDirty(), "30 s on, the files cleaned meanwhile mark it");
    });
  }

  @Test
  @DisplayName("with 2,000 stores (400 databases), cleaning files a tree version per step writes less than it frees: the meta tree (every store's root, ~150 KB) is written once per file, not at every step")
  void stepsDoNotRewriteTheMetaTree() throws Exception {
    inFreshEnv((env, envDir) -> {
      env.executeInTransaction(t -> {
        for (int i = 0; i < 2000; i++) {
          env.openStore("db" + i / 5 + ":" + i % 5, StoreConfig.WITHOUT_DUPLICATES, t).put(t, IntegerBinding.intToEntry(0), IntegerBinding.intToEntry(i));
        }
      });
      jetbrains.exodus.env.Store live = env.computeInTransaction(t -> env.openStore("live", StoreConfig.WITHOUT_DUPLICATES, t));
      overwriteKv(env, (t, k) -> live.put(t, IntegerBinding.intToEntry(k), IntegerBinding.intToEntry(k))); // a small key per commit that stays live
      LogCleaner cleaner = new LogCleaner(env);
      long before = ((EnvironmentImpl) env).getLog().getHighAddress();
      int steps = 0;
      int files = 0;
      for (Store.Cleaning done; (done = cleaner.step(0)) != Store.Cleaning.NOTHING && files < 3; steps++) {
        if (done == Store.Cleaning.FILE_CLEANED) files++;
      }
      long written = ((EnvironmentImpl) env).getLog().getHighAddress() - before;
      assertEquals(3, files);
      assertTrue(steps > 300, "a tree version per step: " + steps + " steps");
      long freed = files * LogFiles.NEW_FILE_KB * 1024;
      // ~1.1 MB: the live keys copied, each step's commit, three meta trees (a meta tree per step: ~18 MB)
      assertTrue(written < freed, "cleaning " + files + " files (" + freed + " bytes) in " + steps + " steps wrote " + written + " bytes");
    });
  }

  @Test
  @DisplayName("a store removed and made again under the same name while its files are being cleaned holds exactly what was written to it anew, before and after a reopen: the cleaner's names of stores follow the store, not the name")
  void storeRemadeUnderItsNameWhileCleaning() throws Exception {
    inFreshEnv((env, envDir) -> {
      overwriteKv(env, (t, k) -> // a key of "remade" per commit, live until the store is removed
          env.openStore("remade", StoreConfig.WITHOUT_DUPLICATES, t).put(t, IntegerBinding.intToEntry(k), StringBinding.stringToEntry("old" + k)));
      Set<String> filesSeen = new HashSet<>(logFiles(envDir));
      LogCleaner cleaner = new LogCleaner(env);
      for (int i = 0; i < 50; i++) cleaner.step(0); // "remade"'s entries met and copied, part of a file

      env.executeInTransaction(t -> env.removeStore("remade", t));
      Map<Integer, String> model = new HashMap<>();
      for (int k = 0; k < 3000; k += 7) model.put(k, "new" + k); // some keys the old store had, under new values
      env.executeInTransaction(t -> {
        jetbrains.exodus.env.Store remade = env.openStore("remade", StoreConfig.WITHOUT_DUPLICATES, t);
        model.forEach((k, v) -> remade.put(t, IntegerBinding.intToEntry(k), StringBinding.stringToEntry(v)));
      });
      int files = 0;
      for (Store.Cleaning done; (done = cleaner.step(0)) != Store.Cleaning.NOTHING && files < 3; ) {
        if (done == Store.Cleaning.FILE_CLEANED) files++;
      }
      assertTrue(files >= 2, files + " files cleaned");
      assertRemadeHolds(env, model, "cleaned");
      int cleaned = files;
      Cluster.await(() -> gone(filesSeen, envDir) >= cleaned, Duration.ofSeconds(20), () -> "the files cleaned to be deleted");
      assertRemadeHolds(env, model, "its files deleted");
      env.close();
      Environment reopened = openEnv(envDir);
      try {
        assertRemadeHolds(reopened, model, "reopened");
      } finally {
        reopened.close();
      }
    });
  }

  /** A test given a fresh environment in a temporary folder; both are closed and deleted after it. */
  private interface EnvTest {
    void run(Environment env, Path dir) throws Exception;
  }

  private static void inFreshEnv(EnvTest test) throws Exception {
    Path envDir = Files.createTempDirectory("syncline-env");
    Environment env = openEnv(envDir);
    try {
      test.run(env, envDir);
    } finally {
      if (env.isOpen()) env.close();
      deleteTree(envDir);
    }
  }

  /** A Xodus environment in {@code dir}, configured as the store configures its own. */
  private static Environment openEnv(Path dir) {
    return Environments.newInstance(dir.toFile(), LogFiles.configure(new EnvironmentConfig(), dir));
  }

  /**
   * ~3 MB of commits each overwriting one of 10 keys of store "kv" with ~1 KB (nearly all garbage),
   * {@code also} adding to each commit (given its number); returns "kv".
   */
  private static jetbrains.exodus.env.Store overwriteKv(Environment env, java.util.function.ObjIntConsumer<jetbrains.exodus.env.Transaction> also) {
    jetbrains.exodus.env.Store kv = env.computeInTransaction(t -> env.openStore("kv", StoreConfig.WITHOUT_DUPLICATES, t));
    for (int i = 0; i < 3000; i++) {
      int k = i;
      env.executeInTransaction(t -> {
        kv.put(t, IntegerBinding.intToEntry(k % 10), StringBinding.stringToEntry(VALUE + k));
        also.accept(t, k);
      });
    }
    return kv;
  }

  private static void assertRemadeHolds(Environment env, Map<Integer, String> model, String when) {
    env.executeInReadonlyTransaction(t -> {
      jetbrains.exodus.env.Store remade = env.openStore("remade", StoreConfig.USE_EXISTING, t);
      Map<Integer, String> read = new HashMap<>();
      try (Cursor c = remade.openCursor(t)) {
        while (c.getNext()) read.put(IntegerBinding.entryToInt(c.getKey()), StringBinding.entryToString(c.getValue()));
      }
      assertEquals(model, read, when);
    });
  }

  @Test
  @DisplayName("cleaned a tree version per step, with commits of overwrites and new keys between the steps, in a Patricia and a B-tree store and beside 1,000 stores written once: files are finished and deleted, and every key of every store reads its last value, before and after a reopen (seeded)")
  void stepsBetweenCommitsLoseNothing() throws Exception {
    long seed = Long.getLong("syncline.seed", System.nanoTime());
    try {
      stepsBetweenCommits(seed);
    } catch (RuntimeException | AssertionError e) { // a lost entry shows as an exception of Xodus's as often as a wrong value
      throw new AssertionError("seed " + seed + " (again with -Dsyncline.seed=" + seed + ")", e);
    }
  }

  private static void stepsBetweenCommits(long seed) throws IOException {
    Random rnd = new Random(seed);
    Path envDir = Files.createTempDirectory("syncline-env");
    // Xodus's delay before deleting a cleaned file (5 s): with none, a file is deleted on Xodus's
    // thread while a step reads the tree versions that began in it, and that step fails
    EnvironmentConfig config = LogFiles.configure(new EnvironmentConfig(), envDir);
    Environment env = Environments.newInstance(envDir.toFile(), config);
    try {
      List<jetbrains.exodus.env.Store> stores = env.computeInTransaction(t -> List.of(
          env.openStore("patricia", StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, t),
          env.openStore("btree", StoreConfig.WITHOUT_DUPLICATES, t)));
      List<Map<Integer, String>> models = List.of(new HashMap<>(), new HashMap<>());
      // ~3 MB of overwrites of 200 keys per store: mostly garbage, with live entries spread through it;
      // and 1,000 stores written once each in between, whose entries in the meta tree (their roots)
      // stay in those files, which only moving the meta tree out of a file empties
      for (int i = 0; i < 3000; i++) {
        putRandom(env, stores, models, rnd, 200);
        if (i % (3000 / QUIET_STORES) == 0) writeQuietStore(env, i / (3000 / QUIET_STORES));
      }
      LogCleaner cleaner = new LogCleaner(env);
      int sharedExpired = ExpiredLoggableCollection.getEMPTY().getSize();

      Set<String> filesSeen = new HashSet<>(logFiles(envDir)); // the commits between steps add files, which may be cleaned too
      int parts = 0;
      int files = 0;
      for (Store.Cleaning step = cleaner.step(0); step != Store.Cleaning.NOTHING && files < 4; step = cleaner.step(0)) {
        if (step == Store.Cleaning.FILE_CLEANED) files++;
        else parts++;
        for (int c = rnd.nextInt(3); c > 0; c--) putRandom(env, stores, models, rnd, 400); // some keys new
        filesSeen.addAll(logFiles(envDir));
      }
      String why = "seed " + seed + ": " + files + " files in " + parts + " partial steps";
      // most steps copy nothing (one tree version of mostly garbage); had they committed, Xodus's
      // shared empty collection would hold their roots, counted as garbage by every later commit
      assertEquals(sharedExpired, ExpiredLoggableCollection.getEMPTY().getSize(), "Xodus's shared empty collection of expired entries grew: " + why);
      assertTrue(files >= 3, why);
      assertTrue(parts > 100 * files, "each step checked one tree version, not a file: " + why);
      assertStoresHold(env, stores, models, why);

      int cleaned = files;
      Cluster.await(() -> gone(filesSeen, envDir) >= cleaned, Duration.ofSeconds(20), () -> "the files cleaned to be deleted, " + why);
      assertEquals(files, gone(filesSeen, envDir), "only the files cleaned are deleted: " + why);
      assertStoresHold(env, stores, models, why);
      assertQuietStoresHold(env, why);

      env.close();
      Environment reopened = openEnv(envDir);
      try {
        List<jetbrains.exodus.env.Store> again = reopened.computeInTransaction(t -> List.of(
            reopened.openStore("patricia", StoreConfig.USE_EXISTING, t),
            reopened.openStore("btree", StoreConfig.USE_EXISTING, t)));
        assertStoresHold(reopened, again, models, "after a reopen, " + why);
        assertQuietStoresHold(reopened, "after a reopen, " + why);
      } finally {
        reopened.close();
      }
    } catch (RuntimeException | AssertionError e) {
      // a transaction left open by the failure makes closing fail too: report the failure
      if (env.isOpen()) {
        try {
          env.close();
        } catch (RuntimeException closing) {
          e.addSuppressed(closing);
        }
      }
      throw e;
    } finally {
      if (env.isOpen()) env.close();
      deleteTree(envDir);
    }
  }

  private static final int QUIET_STORES = 1000;

  /** Creates store {@code quiet<q>} with one key, in a commit of its own; nothing writes to it again. */
  private static void writeQuietStore(Environment env, int q) {
    env.executeInTransaction(t -> env.openStore("quiet" + q, StoreConfig.WITHOUT_DUPLICATES, t)
        .put(t, IntegerBinding.intToEntry(q), IntegerBinding.intToEntry(q)));
  }

  private static void assertQuietStoresHold(Environment env, String why) {
    env.executeInReadonlyTransaction(t -> {
      for (int q = 0; q < QUIET_STORES; q++) {
        jetbrains.exodus.env.Store quiet = env.openStore("quiet" + q, StoreConfig.USE_EXISTING, t);
        assertEquals(q, IntegerBinding.entryToInt(quiet.get(t, IntegerBinding.intToEntry(q))), "quiet" + q + ", " + why);
      }
    });
  }

  /** One commit putting a random key of {@code [0, keys)} with a fresh value into each store. */
  private static void putRandom(Environment env, List<jetbrains.exodus.env.Store> stores,
      List<Map<Integer, String>> models, Random rnd, int keys) {
    env.executeInTransaction(t -> {
      for (int s = 0; s < stores.size(); s++) {
        int key = rnd.nextInt(keys);
        String value = Long.toString(rnd.nextLong(), 36).repeat(1 + rnd.nextInt(40));
        stores.get(s).put(t, IntegerBinding.intToEntry(key), StringBinding.stringToEntry(value));
        models.get(s).put(key, value);
      }
    });
  }

  /** Each store holds exactly its model: every key read by lookup, and every entry by a cursor over the whole tree. */
  private static void assertStoresHold(Environment env, List<jetbrains.exodus.env.Store> stores,
      List<Map<Integer, String>> models, String why) {
    env.executeInReadonlyTransaction(t -> {
      for (int s = 0; s < stores.size(); s++) {
        jetbrains.exodus.env.Store store = stores.get(s);
        Map<Integer, String> model = models.get(s);
        model.forEach((k, v) -> assertEquals(v, StringBinding.entryToString(store.get(t, IntegerBinding.intToEntry(k))), store.getName() + " " + k + ", " + why));
        Map<Integer, String> read = new HashMap<>();
        try (Cursor c = store.openCursor(t)) {
          while (c.getNext()) read.put(IntegerBinding.entryToInt(c.getKey()), StringBinding.entryToString(c.getValue()));
        }
        assertEquals(model, read, store.getName() + ", " + why);
      }
    });
  }

  private static Set<String> logFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".xd")).collect(Collectors.toSet());
    }
  }

  /** How many of {@code seen} are no longer in {@code dir}. */
  private static long gone(Set<String> seen, Path dir) {
    try {
      Set<String> left = logFiles(dir);
      return seen.stream().filter(f -> !left.contains(f)).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  @DisplayName("no file is cleaned while a backup is being written; the backup opens with every register, and cleaning goes on after it")
  void noCleaningDuringBackup() throws Exception {
    overwrite(1000, 0);
    assertTrue(cleanFile(store::cleanLog), "cleaned before the backup");

    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    // the backup's first write blocks until released: the test holds the backup open meanwhile
    OutputStream held = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        writing.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
        zipped.write(b, off, len);
      }
    };
    CompletableFuture<Void> backup = CompletableFuture.runAsync(() -> {
      try (ZipOutputStream zip = new ZipOutputStream(held)) {
        store.backup(zip, "store/");
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    assertTrue(writing.await(20, TimeUnit.SECONDS), "the backup started writing");
    overwrite(1000, 1000);
    assertFalse(cleanFile(store::cleanLog), "a file cleaned now could be deleted while the backup copies it");
    release.countDown();
    backup.get(20, TimeUnit.SECONDS);

    assertTrue(cleanFile(store::cleanLog), "cleaning goes on once the backup is done");
    Path restored = Files.createTempDirectory("syncline-cleaner-restored");
    unzip(zipped.toByteArray(), restored);
    Store copy = Store.openXodus(restored, false, 8 << 20);
    try {
      // every commit made before the backup began, and perhaps some made during it (Xodus copies
      // the last log file as long as it is when it gets there): a prefix of the commits either way
      long head = copy.database("db").orElseThrow().head();
      assertTrue(head >= 1000, "the copy holds the 1000 commits made before the backup: " + head);
      assertLastValues(copy, (int) head);
    } finally {
      copy.close();
      deleteTree(restored);
    }
  }

  /** Steps (with no time limit) until a file is cleaned; false if there was nothing to clean. */
  private static boolean cleanFile(LongFunction<Store.Cleaning> step) {
    Store.Cleaning done;
    do done = step.apply(Long.MAX_VALUE); while (done == Store.Cleaning.PART_OF_A_FILE);
    return done == Store.Cleaning.FILE_CLEANED;
  }

  /** {@code n} single-delta commits, each overwriting one of {@link #REGISTERS} registers. */
  private void overwrite(int n, int from) {
    overwrite(store, n, from);
  }

  /** {@code n} overwrites, each in a commit of its own, and the sweep of what they superseded, as the writer does. */
  private static void overwrite(Store s, int n, int from) {
    for (int i = from; i < from + n; i++) {
      s.commit(List.of(WriteBatch.of("db", List.of(delta("c", "d" + (i % REGISTERS), i)))));
    }
    s.sweepLog(Integer.MAX_VALUE);
  }

  /** {@code n} new registers in commits of 1000. */
  private static void writeLive(Store s, int n) {
    for (int from = 0; from < n; from += 1000) {
      List<Delta> batch = new java.util.ArrayList<>();
      for (int i = from; i < Math.min(n, from + 1000); i++) batch.add(delta("live", "l" + i, i));
      s.commit(List.of(WriteBatch.of("db", batch)));
    }
  }

  private void writeDistinct(int n) {
    for (int i = 0; i < n; i++) store.commit(List.of(WriteBatch.of("db", List.of(delta("live", "l" + i, i)))));
  }

  private static Delta delta(String col, String id, int i) {
    return new Delta(col, id, "v", TextNode.valueOf(VALUE + i), String.format("%013d-%04x-t", 1_700_000_000_000L + i, 0));
  }

  /** Every register holds the value of the last of the first {@code written} overwrites that reached it. */
  private static void assertLastValues(Store s, int written) {
    List<Delta> regs = s.registers("db", "c");
    assertEquals(REGISTERS, regs.size());
    for (Delta d : regs) {
      int k = Integer.parseInt(d.id().substring(1));
      int last = written - 1 - Math.floorMod(written - 1 - k, REGISTERS);
      assertEquals(VALUE + last, d.value().asText(), d.id());
    }
  }

  private static void deleteTree(Path d) throws IOException {
    try (Stream<Path> files = Files.walk(d)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static void unzip(byte[] zip, Path into) throws IOException {
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
      for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
        Path file = into.resolve(e.getName().substring("store/".length()));
        Files.createDirectories(file.getParent());
        try (OutputStream out = Files.newOutputStream(file)) {
          in.transferTo(out); // to the end of this entry
        }
      }
    }
  }
}

package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.bindings.IntegerBinding;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.EnvironmentConfig;
import jetbrains.exodus.env.Environments;
import jetbrains.exodus.env.StoreConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LogFilesTest {
  private static final String KB_VALUE = "x".repeat(1000);
  private Path dir;

  @BeforeEach
  void makeDir() throws IOException {
    dir = Files.createTempDirectory("syncline-logfiles");
  }

  @AfterEach
  void removeDir() throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @DisplayName("a new store writes 512 KB log files, and reads back all it wrote after reopening")
  void newStoreUsesSmallFiles() {
    Store store = Store.openXodus(dir, true, 8 << 20);
    store.createDatabase("db", 1);
    writeKbDeltas(store, "new", 4000);
    store.close();

    long[] sizes = fileSizes();
    assertTrue(sizes.length >= 4, "4 MB written, files: " + Arrays.toString(sizes));
    assertEquals(512 * 1024, sizes[sizes.length - 1], "largest file");

    store = Store.openXodus(dir, true, 8 << 20);
    try {
      assertEquals(4000, store.registers("db", "new").size());
    } finally {
      store.close();
    }
  }

  @Test
  @DisplayName("a store whose log has 8 MB files (made before) opens, keeps them, and loses nothing of what it held")
  void oldStoreKeepsItsFiles() {
    // a log of Xodus's default 8 MB files, two of them, with data the store must keep
    Environment old = Environments.newInstance(dir.toFile(), new EnvironmentConfig());
    old.executeInTransaction(txn -> {
      jetbrains.exodus.env.Store junk = old.openStore("junk", StoreConfig.WITHOUT_DUPLICATES, txn);
      for (int i = 0; i < 160; i++) junk.put(txn, IntegerBinding.intToEntry(i), new ArrayByteIterable(new byte[64 * 1024]));
    });
    old.close();
    assertEquals(8192, LogFiles.fileKb(dir));

    Store store = Store.openXodus(dir, true, 8 << 20);
    store.createDatabase("db", 1);
    writeKbDeltas(store, "after", 2000);
    store.close();
    store = Store.openXodus(dir, true, 8 << 20);
    try {
      assertEquals(2000, store.registers("db", "after").size());
    } finally {
      store.close();
    }
    long[] sizes = fileSizes();
    assertEquals(8L << 20, sizes[sizes.length - 1], "largest file: " + Arrays.toString(sizes));

    Environment reopened = Environments.newInstance(dir.toFile(), new EnvironmentConfig().setLogFileSize(8192));
    try {
      long count = reopened.computeInReadonlyTransaction(txn ->
          reopened.openStore("junk", StoreConfig.WITHOUT_DUPLICATES, txn).count(txn));
      assertEquals(160, count);
    } finally {
      reopened.close();
    }
  }

  @Test
  @DisplayName("the file size is read from the files there: none or one small file means new, one larger file the smallest earlier size that holds it, several their largest")
  void fileSizeFromFiles() throws IOException {
    assertEquals(512, LogFiles.fileKb(dir.resolve("missing")));
    assertEquals(512, LogFiles.fileKb(dir));
    file("00000000000.xd", 300 * 1024);
    assertEquals(512, LogFiles.fileKb(dir));
    file("00000000000.xd", 700 * 1024);
    assertEquals(1024, LogFiles.fileKb(dir));
    file("00000000000.xd", 3 << 20);
    assertEquals(8192, LogFiles.fileKb(dir));
    file("00000000000.xd", 2 << 20);
    file("00000000100.xd", 100 * 1024);
    assertEquals(2048, LogFiles.fileKb(dir));
  }

  private static void writeKbDeltas(Store store, String col, int n) {
    long ms = 1_700_000_000_000L;
    for (int from = 0; from < n; from += 100) {
      List<Delta> deltas = new ArrayList<>();
      for (int i = from; i < Math.min(n, from + 100); i++) {
        deltas.add(new Delta(col, "d" + i, "a", TextNode.valueOf(KB_VALUE), String.format("%013d-0000-t", ms + i)));
      }
      store.commit(List.of(WriteBatch.of("db", deltas)));
    }
  }

  private long[] fileSizes() {
    File[] files = dir.toFile().listFiles((d, name) -> name.endsWith(".xd"));
    return Arrays.stream(files).mapToLong(File::length).sorted().toArray();
  }

  private void file(String name, long length) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(dir.resolve(name).toFile(), "rw")) {
      f.setLength(length);
    }
  }
}

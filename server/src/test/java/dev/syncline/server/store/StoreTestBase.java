package dev.syncline.server.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A real Xodus store in a fresh temp folder per test, with database {@code db}; reopenable. */
abstract class StoreTestBase {
  Path dir;
  Store store;

  @BeforeEach
  void open() throws IOException {
    dir = Files.createTempDirectory("syncline-store");
    store = Store.openXodus(dir, true, 8 << 20);
    store.createDatabase("db", 1);
  }

  @AfterEach
  void close() throws IOException {
    store.close();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** Closes the store and opens it again from disk. */
  void reopen() {
    store.close();
    store = Store.openXodus(dir, true, 8 << 20);
  }
}

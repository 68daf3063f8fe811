package dev.syncline.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class VertxInternalsTest {
  /** A Vert.x package that is not public API: {@code io.vertx.….impl…} or {@code io.vertx.….internal…}. */
  private static final Pattern INTERNAL = Pattern.compile("io\\.vertx(\\.\\w+)*\\.(impl|internal)\\b");

  @Test
  @DisplayName("only VertxInternals uses Vert.x's internal API; everything else uses the public one")
  void confinedToOneClass() throws IOException {
    Path sources = Path.of("src/main/java");
    assertTrue(Files.isDirectory(sources), "run from the server module: " + sources.toAbsolutePath());
    List<String> users;
    try (Stream<Path> files = Files.walk(sources)) {
      users = files.filter(f -> f.toString().endsWith(".java")).filter(VertxInternalsTest::usesInternals)
          .map(f -> sources.relativize(f).toString().replace('\\', '/')).sorted().toList();
    }
    assertEquals(List.of("dev/syncline/server/http/VertxInternals.java"), users);
  }

  private static boolean usesInternals(Path file) {
    try {
      return INTERNAL.matcher(Files.readString(file)).find();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}

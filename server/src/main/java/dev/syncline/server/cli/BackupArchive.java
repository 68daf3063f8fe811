package dev.syncline.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/** Unpacks the zip {@code GET /backup} sends: {@code server-id} and {@code store/…}. */
final class BackupArchive {
  private BackupArchive() {}

  /** Extracts {@code zip} into the new folder {@code dir}; an entry that would land outside it is refused. */
  static void extract(Path zip, Path dir) throws IOException {
    Path root = dir.toAbsolutePath().normalize();
    Files.createDirectories(root);
    try (InputStream in = Files.newInputStream(zip); ZipInputStream entries = new ZipInputStream(in)) {
      for (ZipEntry e; (e = entries.getNextEntry()) != null; ) {
        Path to = root.resolve(e.getName()).normalize();
        if (!to.startsWith(root)) throw new CliException(zip + ": entry " + e.getName() + " points outside the backup");
        if (e.isDirectory()) {
          Files.createDirectories(to);
        } else {
          Files.createDirectories(to.getParent());
          Files.copy(entries, to);
        }
      }
    }
  }
}

package dev.syncline.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Unpacks the zip {@code GET /backup} sends: {@code server-id} and {@code store/…}. A backup holds
 * the token signing key and password hashes, so what this writes is for its owner only.
 */
final class BackupArchive {
  private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

  private BackupArchive() {}

  /**
   * Extracts {@code zip} into the new folder {@code dir}, whole or not at all: into a folder beside
   * it first, renamed once complete, so a cut-off extraction leaves nothing that passes for a backup.
   */
  static void extractWhole(Path zip, Path dir) throws IOException {
    Path partial = dir.resolveSibling("." + dir.getFileName() + ".partial-" + System.currentTimeMillis());
    try {
      extract(zip, partial);
      Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      deleteTree(partial);
    }
  }

  /**
   * Extracts {@code zip} into {@code dir}; an entry that would land outside it is refused. Read
   * through the zip's central directory, which is written last: a zip cut short (a copy that
   * stopped, a full disk) has none and is refused, where reading entry by entry would stop early
   * and pass for a smaller backup.
   */
  static void extract(Path zip, Path dir) throws IOException {
    Path root = dir.toAbsolutePath().normalize();
    ownerOnlyDirectories(root);
    ZipFile archive;
    try {
      archive = new ZipFile(zip.toFile());
    } catch (ZipException e) {
      throw new CliException(zip + " is not a whole zip (" + e.getMessage() + "): was it cut short?");
    }
    try (archive) {
      for (ZipEntry e : java.util.Collections.list(archive.entries())) {
        Path to = root.resolve(e.getName()).normalize();
        if (!to.startsWith(root)) throw new CliException(zip + ": entry " + e.getName() + " points outside the backup");
        if (e.isDirectory()) {
          ownerOnlyDirectories(to);
        } else {
          ownerOnlyDirectories(to.getParent());
          // ZipFile checks no entry's CRC (reading entry by entry did): a flipped bit would restore as a corrupt log
          java.util.zip.CRC32 crc = new java.util.zip.CRC32();
          long size;
          try (InputStream in = new java.util.zip.CheckedInputStream(archive.getInputStream(e), crc)) {
            size = Files.copy(in, to);
          } catch (ZipException | java.io.EOFException broken) { // data that does not inflate
            throw new CliException(zip + ": entry " + e.getName() + " is corrupt (" + broken.getMessage() + ")");
          }
          if ((e.getCrc() != -1 && crc.getValue() != e.getCrc()) || (e.getSize() != -1 && size != e.getSize())) {
            throw new CliException(zip + ": entry " + e.getName() + " is corrupt (its checksum or size does not match)");
          }
          if (POSIX) Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rw-------"));
        }
      }
    }
  }

  /** Creates {@code dir} and the parents it lacks, readable by their owner only where the file system says who may. */
  static void ownerOnlyDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) return;
    if (dir.getParent() != null) ownerOnlyDirectories(dir.getParent());
    if (POSIX) Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    else Files.createDirectory(dir);
  }

  /**
   * Opens {@code file} for writing from its start; one it creates is readable by its owner only
   * (a dump may hold password hashes). An existing file keeps its permissions.
   */
  static java.io.OutputStream ownerOnlyFile(Path file) throws IOException {
    var options = java.util.Set.of(java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    return java.nio.channels.Channels.newOutputStream(POSIX
        ? Files.newByteChannel(file, options, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
        : Files.newByteChannel(file, options));
  }

  /**
   * Forces {@code dir}, its files and folders to disk (a folder holds its entries' names, so its
   * renames too), where the file system lets folders be opened for it.
   */
  static void syncTree(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all::iterator) sync(p);
    }
  }

  /** Forces one file, or one folder's entries, to disk. */
  static void sync(Path p) throws IOException {
    boolean folder = Files.isDirectory(p);
    try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ)) {
      c.force(true);
    } catch (IOException e) {
      if (!folder) throw e; // some systems open no folder this way: their renames are as durable as they make them
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(p);
    }
  }
}

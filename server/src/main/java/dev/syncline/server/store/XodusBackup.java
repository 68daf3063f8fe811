package dev.syncline.server.store;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import jetbrains.exodus.backup.BackupStrategy;
import jetbrains.exodus.backup.VirtualFileDescriptor;
import jetbrains.exodus.env.Environment;

/**
 * A consistent copy of a live Xodus environment, through its backup strategy: the log files are
 * copied up to the point the strategy fixes when it begins, so writes may go on meanwhile.
 */
final class XodusBackup {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(XodusBackup.class);

  private XodusBackup() {}

  /** Writes the environment's files into {@code zip}, each under {@code prefix}. */
  static void write(Environment env, ZipOutputStream zip, String prefix) throws IOException {
    BackupStrategy strategy = env.getBackupStrategy();
    try {
      strategy.beforeBackup();
      for (VirtualFileDescriptor fd : strategy.getContents()) {
        if (strategy.isInterrupted()) throw new IOException("the store's backup was interrupted");
        if (!fd.hasContent()) continue;
        long size = Math.min(fd.getFileSize(), strategy.acceptFile(fd));
        if (size <= 0) continue;
        InputStream opened;
        try {
          opened = fd.getInputStream();
        } catch (FileNotFoundException | NoSuchFileException e) {
          // a file the log cleaner had emptied, deleted by Xodus just now: it held nothing live. Anything
          // else that keeps it from being opened (no file handles left, permissions) fails the backup
          if (Files.exists(Path.of(env.getLocation(), fd.getPath(), fd.getName()))) throw e;
          log.info("backup: {} was deleted after the log cleaner emptied it; left out", fd.getName());
          continue;
        }
        try (InputStream in = opened) {
          zip.putNextEntry(new ZipEntry(prefix + fd.getPath() + fd.getName()));
          copy(in, zip, size);
        }
        zip.closeEntry();
      }
    } catch (IOException | RuntimeException e) {
      strategy.onError(e);
      throw e;
    } catch (Exception e) {
      strategy.onError(e);
      throw new IOException("backup of the store failed", e);
    } finally {
      try {
        strategy.afterBackup();
      } catch (Exception e) {
        throw new IOException("backup of the store failed to finish", e);
      }
    }
  }

  private static void copy(InputStream in, OutputStream out, long size) throws IOException {
    byte[] buf = new byte[64 * 1024];
    long left = size;
    while (left > 0) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) throw new IOException("a store file ended early");
      out.write(buf, 0, n);
      left -= n;
    }
  }
}

package dev.syncline.server.admin;

import dev.syncline.server.store.Store;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Backups of a live server: a zip holding the store ({@code store/…}) and the server's id
 * ({@code server-id}), made while writes go on. {@code restore} on the command line puts one
 * back into a stopped server's data folder.
 */
public final class Backups {
  /** The entry holding the server id. */
  public static final String SERVER_ID_ENTRY = "server-id";
  /** The folder of the store's files inside the zip. */
  public static final String STORE_PREFIX = "store/";
  private static final String TEMP_PREFIX = ".backup-";

  private final Store store;
  private final Path dataDir;
  private final String serverId;
  private final WorkerExecutor worker;

  public Backups(Vertx vertx, Store store, Path dataDir, String serverId) {
    this.store = store;
    this.dataDir = dataDir;
    this.serverId = serverId;
    // one at a time, and allowed to take long: a big store takes minutes to copy
    this.worker = vertx.createSharedWorkerExecutor("syncline-backup", 1, 6, TimeUnit.HOURS);
    deleteLeftovers();
  }

  /** A backup is being made or sent: each is a whole copy of the store on the data volume. */
  private final java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * Makes a backup in a temporary file of the data folder, or returns null when one is being made
   * or sent already (one at a time: requests that queued up could fill the disk). Whoever gets
   * the file hands it to {@link #done} when it has been sent, or failed.
   */
  public Future<Path> make() {
    if (!running.compareAndSet(false, true)) return null;
    return worker.executeBlocking(() -> {
      Path tmp = Files.createTempFile(dataDir, TEMP_PREFIX, ".zip");
      try (OutputStream out = Files.newOutputStream(tmp); ZipOutputStream zip = new ZipOutputStream(out)) {
        zip.putNextEntry(new ZipEntry(SERVER_ID_ENTRY));
        zip.write((serverId + "\n").getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
        store.backup(zip, STORE_PREFIX);
      } catch (IOException | RuntimeException e) {
        Files.deleteIfExists(tmp);
        throw e;
      }
      return tmp;
    }, false).onFailure(e -> running.set(false));
  }

  /** The backup {@code file} made by {@link #make} was sent (or could not be): it is deleted, and the next may be made. */
  public void done(Path file) {
    // on the backup's worker, not the caller's event loop: deleting a file of gigabytes takes a while
    worker.executeBlocking(() -> {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // a leftover, deleted at the next start
      } finally {
        running.set(false);
      }
      return null;
    }, false);
  }

  /** Temporary files of backups that a crash interrupted. */
  private void deleteLeftovers() {
    try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(dataDir, TEMP_PREFIX + "*.zip")) {
      for (Path p : leftovers) Files.deleteIfExists(p);
    } catch (IOException e) {
      // nothing to clean, or the folder cannot be listed: neither stops the server
    }
  }
}

package dev.syncline.server.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code backup TARGET}: a consistent copy of a live server's store, taken while it keeps serving
 * (GET /backup, which uses Xodus's backup support). TARGET is a folder to create, or a {@code .zip}.
 */
@Command(name = "backup", mixinStandardHelpOptions = true,
    description = "Copy a running server's store, consistently and while it serves, into a new folder or a .zip file.")
final class BackupCommand implements Callable<Integer> {
  @Mixin Remote remote;

  @Parameters(paramLabel = "TARGET", description = "a folder that does not exist yet, or a file ending in .zip")
  Path target;

  /** Tries in all after downloads cut off: a backup run by cron should not fail for a blip. */
  static final int TRIES = 4;
  /** How long in all to wait for other backups being made or sent (429): a big store takes minutes. */
  static final long BUSY_WAIT_MS = 15 * 60_000;

  @Override
  public Integer call() throws IOException, InterruptedException {
    if (Files.exists(target)) throw new CliException(target + " exists already: name a new folder or .zip file");
    int tried = 0;
    long waitedBusyMs = 0;
    while (true) {
      try {
        fetch();
        break;
      } catch (CliException e) {
        boolean again = e.busy() ? waitedBusyMs + e.retryAfterMs() <= BUSY_WAIT_MS : e.retryAfterMs() >= 0 && ++tried < TRIES;
        if (!again) throw e;
        if (e.busy()) waitedBusyMs += e.retryAfterMs();
        System.err.println("backup: " + e.getMessage() + "; trying again in " + (e.retryAfterMs() + 999) / 1000 + " s"
            + (e.busy() ? "" : " (" + (tried + 1) + " of " + TRIES + ")"));
        Thread.sleep(e.retryAfterMs());
      }
    }
    System.err.println("backup of " + remote.httpUrl() + " written to " + target);
    return 0;
  }

  /** Signs in, downloads the backup and writes it to the target; nothing is left of a download that failed. */
  private void fetch() throws IOException {
    boolean zip = target.getFileName().toString().endsWith(".zip");
    Path file = zip ? target : Files.createTempFile(target.toAbsolutePath().getParent(), ".syncline-backup-", ".zip");
    java.util.concurrent.atomic.AtomicBoolean created = new java.util.concurrent.atomic.AtomicBoolean(!zip);
    boolean done = false;
    try (ServerConnection server = ServerConnection.open(remote)) {
      if (!zip) Files.delete(file); // downloaded as a new file
      server.download("/backup", file, created);
      if (!zip) BackupArchive.extractWhole(file, target);
      done = true;
    } finally {
      // a download cut off leaves no partial zip that could pass for a backup; a file this run
      // did not make (another run's, with the same name) is not its to delete
      if (created.get() && (!zip || !done)) Files.deleteIfExists(file);
    }
  }
}

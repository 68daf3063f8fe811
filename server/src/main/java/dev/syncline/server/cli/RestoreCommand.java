package dev.syncline.server.cli;

import dev.syncline.server.admin.Backups;
import dev.syncline.server.config.ConfigLoader;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.store.Store;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code restore BACKUP}: puts a backup into a stopped server's data folder. Every database gets a
 * new epoch, so clients and peers that saw writes made after the backup start over from the
 * restored state rather than trusting cursors into a history that no longer exists.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
    description = "Put a backup (folder or .zip) into a stopped server's data folder; clients and peers then resync.")
final class RestoreCommand implements Callable<Integer> {
  @Parameters(paramLabel = "BACKUP", description = "what `backup` wrote: a folder or a .zip")
  Path backup;

  // where the serve command puts it: SYNCLINE_DATA (set in the Docker image), else the config file's data, else ./data
  @Option(names = "--data", paramLabel = "DIR",
      description = "the server's data folder (default: $SYNCLINE_DATA, else --config's data, else ./data)")
  Path data;

  @Option(names = "--force", description = "replace a store that is there (it is kept aside as store.replaced-TIME)")
  boolean force;

  @Option(names = "--config", paramLabel = "FILE", description = "the server's config file: its data folder, and its "
      + "tombstoneRetentionMs (which SYNCLINE_TOMBSTONE_RETENTION_MS sets too), the age past which the backup is warned about")
  Path config;

  @Option(names = "--new-id", description = "give a fresh folder a server id of its own, to start another server of a "
      + "cluster from this backup (without it, a fresh folder takes the backed-up server's id, to stand in for that server)")
  boolean newId;

  /** The name a store copy is staged under, with the time after it. */
  private static final String RESTORING = ".restoring-";

  @Override
  public Integer call() throws IOException {
    if (!Files.exists(backup)) throw new CliException("no backup at " + backup);
    ServerConfig serverConfig = ConfigLoader.load(config, System.getenv());
    long retentionMs = serverConfig.tombstoneRetentionMs;
    if (data == null) data = Path.of(serverConfig.data);
    Path store = OfflineStore.storeDir(data);
    Path restoring = null;
    Path unpacked = null;
    // before anything is unpacked: a backup of gigabytes must not fill a live server's disk to be refused
    boolean replacing = Files.isDirectory(store) && !isEmpty(store);
    if (replacing) {
      if (!force) throw new CliException(store + " holds a store: stop its server and pass --force to replace it");
      OfflineStore.refuseIfInUse(data);
    }
    try {
      Path from = backup;
      if (Files.isRegularFile(backup)) {
        // beside the data, not in the system's temp folder: a backup of gigabytes may not fit a tmpfs /tmp;
        // its owner's only, as the backup holds the signing key
        BackupArchive.ownerOnlyDirectories(data);
        unpacked = Files.createTempDirectory(data, ".unpacking-");
        from = unpacked.resolve("backup");
        BackupArchive.extract(backup, from);
      }
      Path fromStore = from.resolve(Backups.STORE_PREFIX);
      if (!Files.isDirectory(fromStore)) throw new CliException(backup + " is not a Syncline backup (no store/ in it)");
      // an empty store opens as a new one: restored with --force, it would replace the data with nothing
      if (!holdsLogFiles(fromStore)) throw new CliException(backup + " is not a Syncline backup (its store/ holds no .xd log file)");
      // whole or not at all: copied and given new epochs beside the store, then put in its place by
      // renames, so a restore that fails (a full disk, Ctrl-C) leaves the store that was there. Into an
      // empty store folder (perhaps a mount point, another device) the copy is staged inside it
      // again, after the unpacking: a server may have made a store meanwhile
      if (!replacing && Files.isDirectory(store) && !isEmpty(store)) {
        throw new CliException(store + " holds a store now: stop its server and pass --force to replace it");
      }
      boolean emptyFolder = !replacing && Files.isDirectory(store);
      if (emptyFolder) removeInterruptedRestores(store);
      restoring = (emptyFolder ? store : data).resolve(RESTORING + System.currentTimeMillis());
      // an unpacked zip is a copy already: moved, where it can be, rather than copied again
      if (unpacked == null || !movedWithin(fromStore, restoring)) {
        BackupArchive.ownerOnlyDirectories(restoring);
        copyTree(fromStore, restoring);
      }
      try (Store restored = OfflineStore.openDir(restoring)) {
        restored.renewEpochs();
        tellAge(restored.maxTimestamp(), retentionMs);
      }
      // on disk before it is renamed into place: after a power cut the store there is whole
      BackupArchive.syncTree(restoring);
      if (replacing) {
        OfflineStore.refuseIfInUse(data); // again: a server may have started on it while the copy was made
        Path aside = data.resolve("store.replaced-" + System.currentTimeMillis());
        Files.move(store, aside, StandardCopyOption.ATOMIC_MOVE);
        try {
          Files.move(restoring, store, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
          Files.move(aside, store, StandardCopyOption.ATOMIC_MOVE); // the old one back in its place
          throw e;
        }
        System.err.println("the store that was there is kept in " + aside);
      } else if (emptyFolder) {
        List<Path> moved = new ArrayList<>();
        try {
          moveContents(restoring, store, moved); // renames within one folder: filled, not replaced
        } catch (IOException e) {
          for (Path p : moved) { // empty again, as it was: only what this put there, each tried
            try {
              BackupArchive.deleteTree(p);
            } catch (IOException left) {
              e.addSuppressed(left);
            }
          }
          if (e instanceof java.nio.file.FileAlreadyExistsException && e.getSuppressed().length == 0) {
            // a server started on the folder while the copy was made, after the check above
            throw new CliException(store + " holds a store now: stop its server and pass --force to replace it");
          }
          throw e;
        }
      } else {
        Files.move(restoring, store, StandardCopyOption.ATOMIC_MOVE);
      }
      Path id = from.resolve(Backups.SERVER_ID_ENTRY);
      // a data folder keeps its own identity; a fresh one takes the backed-up server's, unless it is to be another server:
      // two running servers with one id would overwrite each other's confirmations and never send each other changes
      if (Files.exists(id) && !Files.exists(data.resolve("server-id")) && !newId) {
        Files.copy(id, data.resolve("server-id"));
        BackupArchive.sync(data.resolve("server-id"));
        System.err.println("this folder is now server " + Files.readString(id).trim() + ": start it only in place of that "
            + "server; to start another server from this backup, restore with --new-id");
      }
    } finally {
      if (unpacked != null) BackupArchive.deleteTree(unpacked);
      if (restoring != null) BackupArchive.deleteTree(restoring); // what a failed restore left
    }
    BackupArchive.sync(store); // the renames
    BackupArchive.sync(data);
    System.err.println("restored " + backup + " into " + data.toAbsolutePath().normalize());
    return 0;
  }

  /**
   * Says how old the backup's newest write is, and warns when it is older than the cluster's
   * tombstone retention (0: tombstones kept for good, no warning): in a cluster, what was removed
   * since and purged on the other servers comes back from it (it is to them like a device offline
   * that long, but its writes come as a peer's).
   */
  private static void tellAge(String newestTs, long retentionMs) {
    if (newestTs == null) return;
    long newest = dev.syncline.protocol.Hlc.msOf(newestTs);
    long days = Math.max(0, (System.currentTimeMillis() - newest) / (24 * 3600 * 1000));
    System.err.println("the newest write in this backup is from " + java.time.Instant.ofEpochMilli(newest) + " (" + days
        + (days == 1 ? " day" : " days") + " ago)");
    if (retentionMs > 0 && System.currentTimeMillis() - newest > retentionMs) {
      long retentionDays = retentionMs / (24 * 3600 * 1000);
      String retention = retentionMs % (24 * 3600 * 1000) == 0 ? retentionDays + (retentionDays == 1 ? " day" : " days")
          : retentionMs + " ms";
      System.err.println("warning: older than tombstoneRetentionMs (" + retention + "): in a cluster, attributes removed and documents destroyed since then, and purged "
          + "on the other servers, come back from this backup; start it from an empty data folder instead, to get "
          + "everything from its peers");
    }
  }

  /**
   * Empty, but for the lost+found of a file system mounted there, and what a restore into it that
   * was killed left (its copy, staged inside it).
   */
  private static boolean isEmpty(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.allMatch(p -> isLostAndFound(p) || isInterruptedRestore(p));
    }
  }

  private static boolean isInterruptedRestore(Path p) {
    return p.getFileName().toString().startsWith(RESTORING) && Files.isDirectory(p);
  }

  private static void removeInterruptedRestores(Path store) throws IOException {
    try (Stream<Path> s = Files.list(store)) {
      for (Path p : s.filter(RestoreCommand::isInterruptedRestore).toList()) {
        BackupArchive.deleteTree(p);
        System.err.println("removed " + p + ", left by a restore that was stopped");
      }
    }
  }

  /** Renames {@code from} to {@code to}; false when they are on different file systems (or it fails otherwise). */
  private static boolean movedWithin(Path from, Path to) {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean holdsLogFiles(Path store) throws IOException {
    try (Stream<Path> s = Files.list(store)) {
      return s.anyMatch(p -> p.getFileName().toString().endsWith(".xd") && Files.isRegularFile(p));
    }
  }

  private static boolean isLostAndFound(Path p) {
    return p.getFileName().toString().equals("lost+found") && Files.isDirectory(p);
  }

  /** Moves what {@code from} holds into {@code to}, adding each name it moved to {@code moved}; refuses to overwrite. */
  private static void moveContents(Path from, Path to, List<Path> moved) throws IOException {
    try (Stream<Path> files = Files.list(from)) {
      for (Path p : files.toList()) {
        Path dest = to.resolve(p.getFileName().toString());
        Files.move(p, dest);
        moved.add(dest);
      }
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path dest = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(dest);
        else Files.copy(p, dest, StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
  }
}

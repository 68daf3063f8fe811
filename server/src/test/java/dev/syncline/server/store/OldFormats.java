package dev.syncline.server.store;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.bindings.StringBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.Environments;
import jetbrains.exodus.env.StoreConfig;
import jetbrains.exodus.env.Transaction;

/** Turns a closed store's database {@code db} back into an older format, to test the upgrade at open. */
public final class OldFormats {
  private OldFormats() {}

  /** Format 2: document entries in {@code doc:db} instead of beside the registers in {@code reg:db}. */
  public static void toFormat2(Path dir) {
    Environment env = Environments.newInstance(dir.toFile());
    try {
      env.executeInExclusiveTransaction(txn -> {
        moveDocumentEntriesOut(env, txn);
        env.openStore("$state", StoreConfig.WITHOUT_DUPLICATES, txn)
            .put(txn, StringBinding.stringToEntry("format"), StringBinding.stringToEntry("2"));
      });
    } finally {
      env.close();
    }
  }

  static void moveDocumentEntriesOut(Environment env, Transaction txn) {
    jetbrains.exodus.env.Store regs = env.openStore("reg:db", StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn);
    jetbrains.exodus.env.Store docs = env.openStore("doc:db", StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn);
    List<byte[][]> entries = new ArrayList<>();
    try (Cursor c = regs.openCursor(txn)) {
      while (c.getNext()) if (Layout.isDocumentKey(c.getKey())) entries.add(new byte[][] {Layout.copy(c.getKey()), Layout.copy(c.getValue())});
    }
    for (byte[][] kv : entries) {
      regs.delete(txn, new ArrayByteIterable(kv[0]));
      docs.put(txn, new ArrayByteIterable(kv[0]), new ArrayByteIterable(kv[1]));
    }
    if (entries.isEmpty()) throw new AssertionError("no document entries to move: the test wrote none");
  }

  /** Whether the closed store still has a table named {@code name}. */
  static boolean hasTable(Path dir, String name) {
    Environment env = Environments.newInstance(dir.toFile());
    try {
      return env.computeInReadonlyTransaction(txn -> env.storeExists(name, txn));
    } finally {
      env.close();
    }
  }
}

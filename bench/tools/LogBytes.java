// What a Syncline data folder's store log is made of: loggables and bytes per Xodus store and
// loggable type, over the whole log (garbage included, so run the server with
// -Dexodus.gc.enabled=false to see everything a load wrote). Stop the server first.
//
//   java -cp server/target/syncline-server.jar bench/tools/LogBytes.java DATA/store [FILE_KB]
//
// FILE_KB is the store's log file size (1024 for stores made since db00c30). Divide by the number
// of group commits (/metrics: syncline_commit_group_deltas_count) for bytes per commit.
import java.lang.reflect.Method;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import jetbrains.exodus.env.EnvironmentConfig;
import jetbrains.exodus.env.EnvironmentImpl;
import jetbrains.exodus.env.Environments;
import jetbrains.exodus.env.StoreConfig;
import jetbrains.exodus.log.RandomAccessLoggable;

public class LogBytes {
  public static void main(String[] args) throws Exception {
    long fileKb = args.length > 1 ? Long.parseLong(args[1]) : 1024;
    EnvironmentImpl env = (EnvironmentImpl) Environments.newInstance(args[0],
        new EnvironmentConfig().setGcEnabled(false).setLogFileSize(fileKb).setEnvIsReadonly(true));
    Map<Integer, String> names = new TreeMap<>();
    names.put(0, "(database root)");
    names.put(1, "(tree of stores)");
    env.computeInReadonlyTransaction(txn -> {
      for (String name : env.getAllStoreNames(txn)) {
        names.put(structureId(env.openStore(name, StoreConfig.USE_EXISTING, txn)), name);
      }
      return null;
    });
    Map<String, long[]> totals = new TreeMap<>();
    long bytes = 0;
    for (Iterator<RandomAccessLoggable> it = env.getLog().getLoggableIterator(0); it.hasNext(); ) {
      RandomAccessLoggable l = it.next();
      if (l.getType() == 0) continue; // padding at the end of a file
      String key = String.format("%-16s type %3d", names.getOrDefault(l.getStructureId(), "#" + l.getStructureId()), l.getType());
      long[] t = totals.computeIfAbsent(key, k -> new long[2]);
      t[0]++;
      t[1] += l.length();
      bytes += l.length();
    }
    System.out.printf("%-26s %12s %14s%n", "store, loggable type", "loggables", "bytes");
    totals.forEach((k, t) -> System.out.printf("%-26s %12d %14d%n", k, t[0], t[1]));
    System.out.printf("%-26s %12s %14d%n", "total", "", bytes);
    env.close();
  }

  /** Xodus keeps a store's structure id package-private. */
  private static int structureId(Object store) {
    try {
      Method m = store.getClass().getDeclaredMethod("getStructureId");
      m.setAccessible(true);
      return (int) m.invoke(store);
    } catch (ReflectiveOperationException e) {
      return -1;
    }
  }
}

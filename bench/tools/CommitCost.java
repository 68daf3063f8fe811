// What one group commit costs the store, without the server around it: commits of GROUP single-delta
// batches, each delta a new document, into a fresh store in a temporary folder, timed on this thread.
// "spread" gives each delta a random id (as apps' document ids are), "consecutive" the next number;
// "sync" fsyncs each commit as the server's default durability does, "async" leaves it to the OS.
// Prints the time per commit and per delta for three rounds (the first compiles the code).
//
//   java -cp server/target/syncline-server.jar bench/tools/CommitCost.java GROUP spread|consecutive [sync|async]
//
// Used in the ninth pass of issue 11 (bench/README.md) to tell a commit's fixed cost from its cost per delta.

import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.HlcClock;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

public class CommitCost {
  public static void main(String[] args) throws Exception {
    int group = Integer.parseInt(args[0]);
    boolean spread = args[1].equals("spread");
    boolean durable = args.length > 2 && args[2].equals("sync");
    Path dir = Files.createTempDirectory("commit-cost");
    try (Store store = Store.openXodus(dir, durable, 64L << 20)) {
      store.createDatabase("b", System.currentTimeMillis());
      HlcClock clock = new HlcClock("w");
      Random random = new Random(1);
      int n = 0;
      for (int round = 0; round < 3; round++) {
        int commits = 20_000 / group * (round == 2 ? 2 : 1);
        long started = System.nanoTime();
        for (int c = 0; c < commits; c++) {
          List<WriteBatch> batches = new ArrayList<>();
          for (int k = 0; k < group; k++, n++) {
            String id = spread ? Long.toString(random.nextLong() & Long.MAX_VALUE, 36) : Integer.toString(n);
            batches.add(WriteBatch.of("b", List.of(new Delta("c", id, "a", IntNode.valueOf(n), clock.tick().format()))));
          }
          store.commit(batches);
        }
        double micros = (System.nanoTime() - started) / 1e3 / commits;
        System.out.printf("round %d: %d commits of %d %s deltas, %s: %.1f us per commit, %.1f us per delta%n",
            round, commits, group, args[1], durable ? "sync" : "async", micros, micros / group);
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}

package dev.syncline.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The directory the writer publishes, read the way event loops read it: without locks. */
@DisplayName("Directory snapshots")
class DirectorySnapshotTest {
  private long clock = 1_700_000_000_000L;

  private String ts() {
    return new Hlc(++clock, 0, "test").format();
  }

  private Delta userAttr(String name, String attr, com.fasterxml.jackson.databind.JsonNode value) {
    return new Delta(SystemDb.USERS, name, attr, value, ts());
  }

  private void create(Directory.Model model, String name) {
    model.apply(userAttr(name, SystemDb.PASSWORD_HASH, TextNode.valueOf("hash-of-" + name)));
  }

  @Test
  @DisplayName("a snapshot does not change when users are added, disabled or deleted after it")
  void snapshotStaysAsItWas() {
    Directory.Model model = new Directory.Model(Policy.OPEN);
    create(model, "alice");
    Directory before = model.snapshot();

    create(model, "bob");
    model.apply(userAttr("alice", "disabled", BooleanNode.TRUE));
    Directory after = model.snapshot();
    assertNull(before.user("bob"), "bob came after this snapshot");
    assertFalse(before.user("alice").disabled(), "alice was enabled then");
    assertEquals(1, before.users().size());
    assertNotNull(after.user("bob"));
    assertTrue(after.user("alice").disabled());

    model.apply(userAttr("bob", SystemDb.PASSWORD_HASH, NullNode.getInstance()));
    Directory deleted = model.snapshot();
    assertNotNull(after.user("bob"), "deleted after this snapshot");
    assertFalse(after.retired("bob"));
    assertNull(deleted.user("bob"));
    assertTrue(deleted.retired("bob"));
    assertEquals(List.of("alice"), List.copyOf(deleted.users().keySet()));
  }

  @Test
  @DisplayName("readers on other threads see each published snapshot whole and unchanging while the writer goes on")
  void concurrentReaders() throws Exception {
    Directory.Model model = new Directory.Model(Policy.OPEN);
    AtomicReference<Directory> published = new AtomicReference<>(model.snapshot());
    AtomicBoolean done = new AtomicBoolean();
    ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    List<Thread> readers = new ArrayList<>();
    for (int r = 0; r < 4; r++) {
      Thread t = new Thread(() -> {
        while (!done.get() && problems.isEmpty()) {
          Directory d = published.get();
          // the writer publishes after creating user-N and disabling user-(N-1): a snapshot holds users 0..N
          int n = d.users().size();
          for (int pass = 0; pass < 3; pass++) {
            if (d.users().size() != n) problems.add("the size of one snapshot changed: " + n + " then " + d.users().size());
            for (int i = 0; i < n; i++) {
              Directory.User u = d.user("user-" + i);
              if (u == null) problems.add("user-" + i + " missing from a snapshot of " + n);
              else if (u.disabled() != (i < n - 1)) problems.add("user-" + i + " of " + n + " disabled: " + u.disabled());
            }
            if (d.user("user-" + n) != null) problems.add("user-" + n + " appeared in a snapshot of " + n);
          }
        }
      });
      t.start();
      readers.add(t);
    }
    for (int i = 0; i < 2000 && problems.isEmpty(); i++) {
      create(model, "user-" + i);
      if (i > 0) model.apply(userAttr("user-" + (i - 1), "disabled", BooleanNode.TRUE));
      published.set(model.snapshot());
    }
    done.set(true);
    for (Thread t : readers) t.join();
    assertEquals(List.of(), List.copyOf(problems).subList(0, Math.min(5, problems.size())));
    assertEquals(2000, published.get().users().size());
  }

  @Test
  @DisplayName("the count of enabled admins follows random creates, role changes, disables, enables and deletes, snapshot by snapshot")
  void enabledAdminsCounted() {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    java.util.Random rnd = new java.util.Random(seed);
    Directory.Model model = new Directory.Model(Policy.OPEN);
    List<Directory> snapshots = new ArrayList<>();
    List<Integer> counted = new ArrayList<>();
    for (int step = 0; step < 600; step++) {
      String name = "u" + rnd.nextInt(40);
      switch (rnd.nextInt(4)) {
        case 0 -> create(model, name);
        case 1 -> model.apply(userAttr(name, "roles", rnd.nextBoolean()
            ? com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode().add("admin").add("editor")
            : com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode().add("editor")));
        case 2 -> model.apply(userAttr(name, "disabled", BooleanNode.valueOf(rnd.nextBoolean())));
        default -> model.apply(userAttr(name, SystemDb.PASSWORD_HASH, NullNode.getInstance())); // deleted
      }
      Directory d = model.snapshot();
      int[] admins = {0};
      d.forEachUser(u -> admins[0] += !u.disabled() && u.roles().contains(Caller.ADMIN_ROLE) ? 1 : 0);
      assertEquals(admins[0], d.enabledAdmins(), "step " + step + ", seed " + seed);
      snapshots.add(d);
      counted.add(admins[0]);
    }
    for (int i = 0; i < snapshots.size(); i++) {
      assertEquals(counted.get(i), snapshots.get(i).enabledAdmins(), "an older snapshot's count changed, step " + i + ", seed " + seed);
    }
    assertTrue(counted.stream().anyMatch(n -> n > 1), "some steps had several admins, seed " + seed);
  }
}

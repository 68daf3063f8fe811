package dev.syncline.server.auth;

import dev.syncline.protocol.Delta;
import dev.syncline.protocol.HlcClock;
import dev.syncline.server.store.CommittedDelta;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import io.vertx.core.Vertx;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings {@code $system} to what the server needs at start-up, before the writer thread runs:
 * the database itself, a token signing key, the first admin on an empty store, and the users,
 * databases and policies the config declares.
 */
public final class AuthSetup {
  private static final Logger log = LoggerFactory.getLogger(AuthSetup.class);

  /**
   * What the config asks for. {@code signingKey} null: use the stored one, or make one.
   * {@code usersFromPeers}: this server dials peers, which hold the cluster's users; on an empty
   * store it makes no {@code admin} of its own unless a password is given. {@code clusterSecret}
   * (null without a cluster) salts the hashes of declared users, see {@link Passwords#hashDeclared}.
   */
  public record Seed(String adminPassword, String signingKey, List<SeedUser> users, List<SeedDatabase> databases,
      boolean usersFromPeers, String clusterSecret) {
    public Seed(String adminPassword, String signingKey, List<SeedUser> users, List<SeedDatabase> databases) {
      this(adminPassword, signingKey, users, databases, false, null);
    }

    String hash(String username, String password) {
      return clusterSecret == null ? Passwords.hash(password) : Passwords.hashDeclared(password, username, clusterSecret);
    }
  }

  /** {@code roles} null: not declared (none for a new user; an existing one keeps its own). */
  public record SeedUser(String username, String password, List<String> roles) {}

  /**
   * A database to ensure. {@code policy} and {@code collections} are enforced at every start;
   * {@code initialPolicy} is written only when the database has no policy stored yet.
   */
  public record SeedDatabase(String name, Policy policy, Map<String, Policy> collections, Policy initialPolicy) {}

  private AuthSetup() {}

  /**
   * The directory, ready; and what the operator must be told once the server is up (the one-time
   * password of a generated {@code admin}), or null. It is told only after the server listens, so
   * a start that fails never shows a password that then goes unused.
   */
  public record Opened(Auth auth, String notice) {}

  /** Blocking: call at start-up on a thread that may wait for the disk. */
  public static Opened open(Vertx vertx, Store store, Auth.Options options, HlcClock clock, Seed seed) {
    String notice = null;
    SystemDb system = new SystemDb(clock);
    if (store.createDatabase(SystemDb.NAME, System.currentTimeMillis()).isPresent()) log.info("created database {}", SystemDb.NAME);
    Directory.Model model = new Directory.Model(options.newDatabasePolicy());
    boolean anyUserEver = false;
    for (String col : List.of(SystemDb.USERS, SystemDb.POLICIES, SystemDb.SECRETS, SystemDb.DATABASES)) {
      for (Delta d : store.registers(SystemDb.NAME, col)) {
        model.apply(d);
        anyUserEver |= col.equals(SystemDb.USERS);
      }
    }
    Directory dir = model.snapshot();
    List<Delta> writes = new ArrayList<>();

    String key = seed.signingKey() != null ? seed.signingKey() : dir.signingKey();
    if (key == null) {
      key = randomSecret(32);
      writes.addAll(system.signingKey(key));
      log.info("made a token signing key and stored it in {}", SystemDb.NAME);
    }
    if (!anyUserEver && seed.usersFromPeers() && seed.adminPassword() == null) {
      // a generated admin would replace the cluster's own once replicated: take the cluster's
      notice = "Syncline: no user 'admin' created here: this server gets its users from its peers"
          + " (set SYNCLINE_ADMIN_PASSWORD to create one)";
    } else if (!anyUserEver) {
      String password = seed.adminPassword();
      if (password == null) {
        password = randomSecret(18);
        notice = "Syncline: created user 'admin' with password " + password
            + " (shown only now; set SYNCLINE_ADMIN_PASSWORD to choose it)";
      }
      Auth.checkPassword(password);
      writes.addAll(system.createUser("admin", seed.hash("admin", password), List.of(Caller.ADMIN_ROLE), null));
    }
    for (SeedUser u : seed.users()) {
      if (!Policy.NAME.matcher(u.username()).matches() || (u.roles() != null && !u.roles().stream().allMatch(r -> Policy.NAME.matcher(r).matches()))) {
        throw new IllegalArgumentException("users: " + u.username() + ": user and role names are 1 to 64 of [A-Za-z0-9_.@-]");
      }
      Directory.User existing = dir.user(u.username());
      if (existing == null && dir.retired(u.username())) {
        // deleted by an admin: a name is never given out again (its documents and grants still name the old user)
        log.warn("users: {} was deleted; it is not created again (remove it from the configuration)", u.username());
      } else if (existing == null) {
        Auth.checkPassword(u.password());
        writes.addAll(system.createUser(u.username(), seed.hash(u.username(), u.password()), u.roles() == null ? List.of() : u.roles(), null));
      } else if (u.roles() != null && !existing.roles().equals(new java.util.HashSet<>(u.roles()))) {
        // only to the account the configuration declares, the one with its password: a name someone
        // signed up for (or an admin made) before it was declared must not get its roles, admin included
        if (Passwords.verify(u.password(), existing.passwordHash())) {
          writes.addAll(system.updateUser(u.username(), null, u.roles(), null, null));
        } else {
          log.error("users: {} exists with another password than the one declared (signed up, made by an admin, or its"
              + " password changed since): its declared roles {} are not given to it; delete that account, or give it"
              + " the declared password", u.username(), u.roles());
        }
      }
    }
    for (SeedDatabase db : seed.databases()) {
      if (store.createDatabase(db.name(), System.currentTimeMillis()).isPresent()) log.info("created database {}", db.name());
      Policy stored = dir.storedPolicy(db.name(), null);
      Policy wanted = db.policy() != null ? db.policy() : stored == null ? db.initialPolicy() : null;
      if (wanted != null && !wanted.equals(stored)) writes.addAll(system.setPolicy(db.name(), null, wanted, null));
      db.collections().forEach((col, p) -> {
        if (!p.equals(dir.storedPolicy(db.name(), col))) writes.addAll(system.setPolicy(db.name(), col, p, null));
      });
    }
    if (!writes.isEmpty()) {
      List<CommittedDelta> committed = store.commit(List.of(WriteBatch.of(SystemDb.NAME, writes))).get(0).committed();
      committed.stream().map(CommittedDelta::delta).forEach(model::apply);
    }
    return new Opened(new Auth(vertx, options, system, model, Objects.requireNonNull(key)), notice);
  }

  private static String randomSecret(int bytes) {
    byte[] b = new byte[bytes];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}

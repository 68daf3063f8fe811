package dev.syncline.server.auth;

import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Hlc;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.CommittedDelta;
import dev.syncline.server.store.WriteGuard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sign-in, tokens and access decisions.
 *
 * <h2>Threads</h2>
 * Event loops read the current {@link Directory} (users, policies) without locks. The writer
 * thread applies every committed {@code $system} delta to the model and publishes a new snapshot
 * before anyone is acked or sent the change (see {@link #committed}), then tells the
 * {@linkplain #onChange listeners} — the sessions — so they re-check their users and
 * subscriptions. Password hashing runs on its own small worker pool, with a bounded queue.
 */
public final class Auth {
  /** Hash checks that may wait for a worker before sign-ins get {@code rate_limited}. */
  private static final int MAX_QUEUED_HASHES = 64;
  /** Changes to users and databases that may wait in line ({@link #serially}) before more get {@code overloaded}. */
  static final int MAX_WAITING_CHANGES = 1000;
  public static final int MIN_PASSWORD_CHARS = 8;

  /** {@code newDatabasePolicy}: the policy of a database created without one. */
  public record Options(String issuer, long tokenExpirySeconds, boolean signup, int failuresPerUser,
      int failuresPerAddress, long lockoutBaseMs, long lockoutMaxMs, int signupsPerAddressPerHour, Policy newDatabasePolicy) {}

  /** A signed-in caller with the token that proves it. */
  public record SignedIn(Caller caller, String token, long expiresAt) {}

  private final Options options;
  private final SystemDb system;
  private final Directory.Model model;
  private final Tokens tokens;
  private final Lockout lockout;
  private final SignupBudget signups;
  private final WorkerExecutor hashing;
  private final AtomicInteger queuedHashes = new AtomicInteger();
  private final java.util.concurrent.atomic.LongAdder failedSignIns = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder lockedOutSignIns = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder refusedTokens = new java.util.concurrent.atomic.LongAdder();
  private final List<java.util.function.Consumer<AuthChange>> listeners = new CopyOnWriteArrayList<>();
  private volatile Directory directory;
  private Committer committer;
  /** The last change to users in line ({@link #serially}); guarded by this. */
  private Future<Void> userChanges = Future.succeededFuture();
  private final AtomicInteger waitingChanges = new AtomicInteger();

  Auth(Vertx vertx, Options options, SystemDb system, Directory.Model model, String signingKey) {
    this.options = options;
    this.system = system;
    this.model = model;
    this.directory = model.snapshot();
    this.tokens = new Tokens(vertx, signingKey, options.issuer(), options.tokenExpirySeconds());
    this.lockout = new Lockout(options.failuresPerUser(), options.failuresPerAddress(), options.lockoutBaseMs(),
        options.lockoutMaxMs());
    this.signups = new SignupBudget(options.signupsPerAddressPerHour());
    this.hashing = vertx.createSharedWorkerExecutor("syncline-auth", 2);
  }

  /** Connects the writer, once it exists (it needs this object as a listener first). */
  public void useCommitter(Committer committer) {
    this.committer = committer;
  }

  public Directory directory() {
    return directory;
  }

  public SystemDb system() {
    return system;
  }

  /** The policy of a database created without one. */
  public Policy newDatabasePolicy() {
    return options.newDatabasePolicy();
  }

  /** Runs {@code listener} on the writer thread after users or policies changed. */
  public void onChange(java.util.function.Consumer<AuthChange> listener) {
    listeners.add(listener);
  }

  // ---- access ----

  /** What {@code caller} may read of {@code db}, within the collections {@code cols} (null: all). */
  public ReadAccess readAccess(Caller caller, String db, java.util.Collection<String> cols) {
    return ReadAccess.of(directory, caller, db, cols);
  }

  /**
   * The guard for a push. It decides on the writer thread, with the users and policies as they
   * are when the push commits — not as they were when it was queued.
   */
  public WriteGuard writeGuard(Caller caller, String db) {
    return new WriteAccess(this, caller, db);
  }

  /** Whether the caller may do {@code action} on a collection of {@code $system} (admins always may). */
  public boolean mayManage(Caller caller, String col, Policy.Action action) {
    return directory.policy(SystemDb.NAME, col).level(action, caller) == Policy.Level.ALL;
  }

  /** The caller as the directory has it now: new roles apply at once; null when deleted or disabled. */
  public Caller refresh(Caller caller) {
    if (!caller.signedIn()) return caller;
    Directory.User u = directory.user(caller.user());
    if (u == null || u.disabled() || !u.stamp().equals(caller.stamp())) return null;
    return u.roles().equals(caller.roles()) ? caller : Caller.of(u);
  }

  // ---- tokens and sign-in ----

  /** How long a client waits before showing again a token whose user has not reached this server yet. */
  public static final long USER_NOT_HERE_YET_RETRY_MS = 1000;

  /** The caller a token names; throws {@link AuthException} ({@code unauthenticated}) for any bad token. */
  public SignedIn authenticate(String token) {
    return authenticate(token, issuedAtMs -> false);
  }

  /**
   * As {@link #authenticate(String)}, except that a validly signed token of a user not known here,
   * and never deleted here, is {@code overloaded} when {@code userMayArrive} (given the token's
   * issue time, epoch ms) says so: in a cluster, the user was made on another server whose users
   * have not reached this one yet.
   */
  public SignedIn authenticate(String token, java.util.function.LongPredicate userMayArrive) {
    try {
      Tokens.Verified v = tokens.verify(token);
      Directory.User u = directory.user(v.user());
      if (u == null && !directory.retired(v.user()) && userMayArrive.test(v.issuedAt())) {
        throw new AuthException(ErrorCode.OVERLOADED, "token: its user has not reached this server from its peers yet",
            USER_NOT_HERE_YET_RETRY_MS);
      }
      if (u == null || u.disabled() || !u.stamp().equals(v.stamp())) {
        // issued for a password or an enabled account newer than this server's: a peer has it, on its way
        if (u != null && Hlc.compare(v.stampTs(), u.credentialsTs()) > 0 && userMayArrive.test(v.issuedAt())) {
          throw new AuthException(ErrorCode.OVERLOADED, "token: its user's latest password or state has not reached this server from its peers yet",
              USER_NOT_HERE_YET_RETRY_MS);
        }
        throw new AuthException(ErrorCode.UNAUTHENTICATED, "token: the user cannot sign in with it");
      }
      return new SignedIn(Caller.of(u), token, v.expiresAt());
    } catch (AuthException e) {
      if (e.code() == ErrorCode.UNAUTHENTICATED) refusedTokens.increment();
      throw e;
    }
  }

  /** Sign-ins refused for a wrong username or password. */
  public long failedSignIns() {
    return failedSignIns.sum();
  }

  /** Sign-ins refused because the username or the address was locked out. */
  public long lockedOutSignIns() {
    return lockedOutSignIns.sum();
  }

  /** Tokens refused: bad signature, expired, or the user can no longer sign in. */
  public long refusedTokens() {
    return refusedTokens.sum();
  }

  /**
   * Checks a password on a worker and issues a token. Locked-out usernames and addresses are
   * refused first ({@code rate_limited}); an unknown user gets the same answer as a wrong password.
   */
  public Future<SignedIn> login(String username, String password, String from) {
    String address = AddressKey.of(from);
    long wait = lockout.begin(username, address, System.currentTimeMillis());
    if (wait > 0) {
      if (lockout.locked(username, address, System.currentTimeMillis())) lockedOutSignIns.increment(); // not for checks under way
      return Future.failedFuture(rateLimited("too many sign-ins failed, or under way, for this username or address; try again later", wait));
    }
    Directory.User known = directory.user(username);
    String hash = known == null ? null : known.passwordHash();
    return checkPassword(password, hash).transform(checked -> {
      Directory.User u = directory.user(username);
      // the same user, not one deleted and made again while the password was being checked
      boolean ok = checked.succeeded() && checked.result() && u != null && !u.disabled() && u.passwordHash().equals(hash);
      // a check that never ran (the hashing queue was full) is no failed guess
      lockout.end(username, address, ok, checked.succeeded(), System.currentTimeMillis());
      if (checked.failed()) return Future.failedFuture(checked.cause());
      if (!ok) {
        failedSignIns.increment();
        return Future.failedFuture(new AuthException(ErrorCode.UNAUTHENTICATED, "wrong username or password"));
      }
      return Future.succeededFuture(issue(Caller.of(u)));
    });
  }

  /**
   * Self sign-up, when enabled: a new user without roles, signed in at once. Each one that gets as
   * far as hashing its password takes one from its address's budget.
   */
  public Future<SignedIn> signup(String username, String password, String from) {
    String address = AddressKey.of(from);
    if (!options.signup()) return Future.failedFuture(new AuthException(ErrorCode.FORBIDDEN, "sign-up is not enabled on this server"));
    try {
      checkNewUser(username, password);
      notNamedInAPolicy(username);
    } catch (AuthException e) {
      return Future.failedFuture(e);
    }
    long wait = signups.take(address, System.currentTimeMillis());
    if (wait > 0) return Future.failedFuture(rateLimited("too many accounts made from this address; try again later", wait));
    Future<String> hashed = hash(password);
    if (hashed.failed()) signups.giveBack(address); // the hashing queue was full: no sign-up was tried
    return hashed.compose(hash -> serially(() -> {
      checkNewUser(username, password); // again: someone may have taken the name while we hashed
      notNamedInAPolicy(username);
      return committer.push(SystemDb.NAME, system.createUser(username, hash, List.of(), username))
          .map(outcome -> issue(new Caller(username, java.util.Set.of(), Directory.stampOf(hash, 0))));
    }));
  }

  /**
   * Runs changes to users one after another, server-wide: each starts once the one before is
   * committed and published, so a check it makes (a name is free, an admin remains) still holds
   * when it writes. Hashing happens before, outside the line. The future completes on the
   * caller's context. Each waits for its own commit, so the line is bounded: past
   * {@link #MAX_WAITING_CHANGES} a change gets {@code overloaded}.
   */
  public <T> Future<T> serially(java.util.function.Supplier<Future<T>> change) {
    io.vertx.core.Context callerContext = Vertx.currentContext();
    io.vertx.core.Promise<T> done = io.vertx.core.Promise.promise();
    if (waitingChanges.incrementAndGet() > MAX_WAITING_CHANGES) {
      waitingChanges.decrementAndGet();
      return Future.failedFuture(new AuthException(ErrorCode.OVERLOADED, "too many user and database changes waiting; try again shortly", 1000L));
    }
    done.future().onComplete(ar -> waitingChanges.decrementAndGet());
    synchronized (this) {
      userChanges = userChanges.transform(previous -> {
        Future<T> f;
        try {
          f = change.get();
        } catch (RuntimeException e) {
          f = Future.failedFuture(e);
        }
        f.onComplete(ar -> {
          if (callerContext == null || Vertx.currentContext() == callerContext) done.handle(ar);
          else callerContext.runOnContext(v -> done.handle(ar));
        });
        return f.transform(ar -> Future.succeededFuture());
      });
    }
    return done.future();
  }

  /** A fresh token for a signed-in caller. */
  public SignedIn renew(Caller caller) {
    Caller current = caller.signedIn() ? refresh(caller) : null;
    if (current == null) throw new AuthException(ErrorCode.UNAUTHENTICATED, "sign in first");
    return issue(current);
  }

  /** Refuses a bad username or password for a new account, or a taken name. */
  public void checkNewUser(String username, String password) {
    if (!Policy.NAME.matcher(username).matches()) {
      throw new AuthException(ErrorCode.BAD_REQUEST, "username: 1 to 64 of [A-Za-z0-9_.@-]");
    }
    checkPassword(password);
    if (directory.user(username) != null) throw new AuthException(ErrorCode.BAD_REQUEST, "username: already taken");
    if (directory.retired(username)) {
      throw new AuthException(ErrorCode.BAD_REQUEST, "username: belonged to a deleted user, whose documents still name it");
    }
  }

  /**
   * A name a policy grants by name ({@code user:NAME}) is not given to whoever signs up first: the
   * grant was meant for the user an admin will make.
   */
  private void notNamedInAPolicy(String username) {
    if (directory.namedInAPolicy(username)) {
      throw new AuthException(ErrorCode.BAD_REQUEST, "username: a policy names it (user:" + username + "); only an admin may create it");
    }
  }

  public static void checkPassword(String password) {
    if (password.codePointCount(0, password.length()) < MIN_PASSWORD_CHARS) {
      throw new AuthException(ErrorCode.BAD_REQUEST, "password: at least " + MIN_PASSWORD_CHARS + " characters");
    }
  }

  /** Hashes a password on the hashing workers. */
  public Future<String> hash(String password) {
    return onHashingWorker(() -> Passwords.hash(password));
  }

  private Future<Boolean> checkPassword(String password, String hash) {
    return onHashingWorker(() -> Passwords.verify(password, hash));
  }

  private <T> Future<T> onHashingWorker(java.util.concurrent.Callable<T> work) {
    if (queuedHashes.incrementAndGet() > MAX_QUEUED_HASHES) {
      queuedHashes.decrementAndGet();
      return Future.failedFuture(rateLimited("sign-in is busy; try again shortly", 1000));
    }
    return hashing.executeBlocking(work, false).andThen(ar -> queuedHashes.decrementAndGet());
  }

  private SignedIn issue(Caller caller) {
    Directory.User u = directory.user(caller.user());
    String stampTs = u != null && u.stamp().equals(caller.stamp()) ? u.credentialsTs() : null;
    Tokens.Issued t = tokens.issue(caller.user(), caller.stamp(), stampTs);
    return new SignedIn(caller, t.token(), t.expiresAt());
  }

  private static AuthException rateLimited(String message, long retryAfterMs) {
    return new AuthException(ErrorCode.RATE_LIMITED, message, retryAfterMs);
  }

  // ---- the writer thread ----

  /** Applies the committed deltas of {@code $system}; publishes a new directory when users or policies changed. */
  public void committed(List<BatchOutcome> group) {
    boolean changed = false;
    java.util.Set<String> users = new java.util.HashSet<>();
    java.util.Set<String> databases = new java.util.HashSet<>();
    for (BatchOutcome o : group) {
      if (!o.db().equals(SystemDb.NAME)) continue;
      for (CommittedDelta d : o.committed()) {
        changed |= model.apply(d.delta());
        if (d.delta().col().equals(SystemDb.USERS)) users.add(d.delta().id());
        if (d.delta().col().equals(SystemDb.POLICIES)) databases.add(d.delta().id().split("/", 2)[0]);
        if (d.delta().col().equals(SystemDb.DATABASES)) databases.add(d.delta().id());
      }
    }
    if (!changed) return;
    directory = model.snapshot();
    AuthChange change = new AuthChange(java.util.Set.copyOf(users), java.util.Set.copyOf(databases));
    listeners.forEach(l -> l.accept(change));
  }

}

package dev.syncline.client;

import dev.syncline.protocol.UserInfo;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link SynclineClient} for plain Java code that would rather wait than compose futures: every
 * method blocks until done. On a Vert.x event loop it throws {@link IllegalStateException} at once. Reads need no blocking view:
 * {@link Document#get()} and {@link Collection#all()} answer at once on any thread.
 */
public final class BlockingClient {
  /** How long any call may wait before it throws; a sign-in waits for a connection first (connectTimeoutMs) on top. */
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private final SynclineClient client;

  BlockingClient(SynclineClient client) {
    this.client = client;
  }

  /** The non-blocking client behind this view. */
  public SynclineClient client() {
    return client;
  }

  /** Waits until the store is loaded. */
  public BlockingClient ready() {
    await(client.ready());
    return this;
  }

  public Database db(String name) {
    return client.db(name);
  }

  /** {@link Document#set}, waiting until the local store has it. */
  public void set(Document doc, Map<String, ?> attrs) {
    await(doc.set(attrs));
  }

  public void destroy(Document doc) {
    await(doc.destroy());
  }

  public void restore(Document doc) {
    await(doc.restore());
  }

  public UserInfo login(String username, String password) {
    return await(client.login(username, password), signInTimeout());
  }

  public UserInfo signup(String username, String password) {
    return await(client.signup(username, password), signInTimeout());
  }

  /** Longer than the sign-in's own wait for a connection: told it failed, it must not succeed after. */
  private Duration signInTimeout() {
    return TIMEOUT.plusMillis(client.connectTimeoutMs());
  }

  public void logout() {
    await(client.logout());
  }

  /**
   * Waits until the client is online, the server has every local edit (nothing pending), and
   * {@code db} is caught up; or throws after {@code within}.
   */
  public void awaitSynced(String db, Duration within) {
    refuseOnEventLoop();
    long deadline = System.nanoTime() + within.toNanos();
    client.db(db);
    while (true) {
      ClientEvent.Status s = client.status();
      if (s.online() && s.pending() == 0 && s.synced().containsKey(db)) return;
      if (System.nanoTime() > deadline) throw new SynclineException("offline", "not synced within " + within + ": " + s);
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SynclineException("offline", "interrupted");
      }
    }
  }

  public void close() {
    await(client.close());
  }

  /**
   * On an event loop, waiting stalls the loop: when it is the client's own, what is waited for
   * can never happen, and the call would hang for its whole timeout. Refused at once instead.
   */
  private static void refuseOnEventLoop() {
    if (io.vertx.core.Context.isOnEventLoopThread()) {
      throw new IllegalStateException("BlockingClient waits: call it from another thread (a worker, your own), "
          + "not on a Vert.x event loop; there, use the SynclineClient's futures");
    }
  }

  private static <T> T await(Future<T> f) {
    return await(f, TIMEOUT);
  }

  private static <T> T await(Future<T> f, Duration timeout) {
    refuseOnEventLoop();
    try {
      return f.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) throw r;
      throw new SynclineException("internal", e.getCause().toString());
    } catch (TimeoutException e) {
      throw new SynclineException("offline", "no answer within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynclineException("offline", "interrupted");
    }
  }
}

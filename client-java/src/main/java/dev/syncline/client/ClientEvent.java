package dev.syncline.client;

import dev.syncline.protocol.UserInfo;
import java.util.Map;

/**
 * What a client tells its listeners ({@link SynclineClient#on}). Handlers run on the client's
 * event loop, in order; one that throws (an {@code Error} too) is logged and reported as {@link
 * #ERROR} {@code listener}, and does not stop the others or the client.
 *
 * @param <T> the payload
 */
public final class ClientEvent<T> {
  /** A document became visible. */
  public static final ClientEvent<DocChange> DOC_CREATE = new ClientEvent<>("doc:create");
  /** A visible document changed. */
  public static final ClientEvent<DocChange> DOC_UPDATE = new ClientEvent<>("doc:update");
  /** A document is no longer visible. */
  public static final ClientEvent<DocChange> DOC_DESTROY = new ClientEvent<>("doc:destroy");
  /** The server durably stored one of this client's writes. */
  public static final ClientEvent<Recorded> DOC_RECORD = new ClientEvent<>("doc:record");
  /** Connected and welcomed. */
  public static final ClientEvent<Connected> CONNECT = new ClientEvent<>("connect");
  /** A welcomed connection is gone (the client reconnects by itself). */
  public static final ClientEvent<Disconnected> DISCONNECT = new ClientEvent<>("disconnect");
  /** {@link SynclineClient#status()} changed. */
  public static final ClientEvent<Status> STATUS = new ClientEvent<>("status");
  /** The signed-in user changed. */
  public static final ClientEvent<AuthChange> AUTH = new ClientEvent<>("auth");
  /** Something failed; see {@link ClientError}. */
  public static final ClientEvent<ClientError> ERROR = new ClientEvent<>("error");

  private final String name;

  private ClientEvent(String name) {
    this.name = name;
  }

  public String name() {
    return name;
  }

  @Override
  public String toString() {
    return name;
  }

  /**
   * A document looks different. {@code doc} is it now (null after a destroy), {@code previous}
   * before (null before a create); {@code local} when this client's own edit caused it.
   */
  public record DocChange(String db, String col, String id, Doc doc, Doc previous, boolean local) {}

  /** {@code result}: {@code applied}, {@code superseded} (something newer was there) or {@code duplicate}. */
  public record Recorded(String db, String col, String id, String attr, String ts, String result) {}

  /** {@code user}: who the connection is signed in as, or null. {@code time}: the server's clock. */
  public record Connected(String serverId, long time, UserInfo user) {}

  /** 1001: the server is shutting down; 4000: no answer to a ping. Only a connection that was welcomed reports its end. */
  public record Disconnected(int code, String reason) {}

  /**
   * {@code online}: connected and welcomed. {@code pending}: local writes (per attribute) the server
   * has not acknowledged. {@code synced}: per database, the cursor up to which the client is
   * caught up (while its subscription is live, and not while a {@code reset} is caught up).
   */
  public record Status(boolean online, int pending, Map<String, Long> synced) {}

  /** The signed-in user, or null. */
  public record AuthChange(UserInfo user) {}

  /**
   * {@code code}: the server's ({@code forbidden}, {@code bad_request}, {@code quorum_timeout} with
   * {@code servers}, {@code unauthenticated}, …) or the client's ({@code storage}, {@code network},
   * {@code protocol}, {@code listener}: an event listener or a live query threw). {@code db}, {@code col}, {@code id}, {@code attr} name what it is about, where
   * that is one write or one database.
   */
  public record ClientError(String code, String message, String db, String col, String id, String attr, Integer servers) {
    static ClientError of(String code, String message) {
      return new ClientError(code, message, null, null, null, null, null);
    }
  }
}

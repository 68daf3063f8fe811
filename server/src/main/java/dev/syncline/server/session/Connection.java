package dev.syncline.server.session;

import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.hub.Outlet;

/** One client's socket, as the protocol layer sees it. All calls on the socket's event loop. */
public interface Connection extends Outlet {
  void close(short code, String reason);

  /**
   * Takes messages of up to {@code bytes} from now on, more than a client may send: for a peer
   * server, once it proved it is one. Its frames stay within the client limit.
   */
  void allowMessagesUpTo(int bytes);

  /** When bytes last arrived on this connection (epoch ms); 0 if unknown. */
  default long lastReadMillis() {
    return 0;
  }

  /**
   * Sends {@code message}, letting its flush wait for the end of the current event-loop task:
   * for answers made many at a time, such as the acks of one group commit.
   */
  void sendSoon(ServerMessage message);

  String remoteAddress();

  /**
   * Stops reading from the socket for the server's sake (what it read waits for the writer): the
   * client is not idle meanwhile, however long that takes.
   */
  void pause();

  /**
   * Stops reading from the socket until the client reads what it was sent: that is the client's
   * doing, so the idle timeout runs on (from now).
   */
  default void pauseUntilRead() {
    pause();
  }

  /** Reads again; the idle timeout counts from now. */
  void resume();
}

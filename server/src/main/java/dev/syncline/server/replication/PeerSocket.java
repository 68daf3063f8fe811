package dev.syncline.server.replication;

import dev.syncline.server.hub.Outlet;

/**
 * The socket of one link, whichever end dialed. All calls on the link's event loop; none throws
 * on a socket that is closing or gone.
 */
public interface PeerSocket extends Outlet {
  void sendText(String text);

  /** Stops reading (this end is applying as fast as it can), or reads again. */
  void pause();

  void resume();

  void close(short code, String reason);

  String remoteAddress();

  /** When bytes last arrived from the peer (epoch ms), also of a message not whole yet; 0 if unknown. */
  default long lastReadMillis() {
    return 0;
  }
}

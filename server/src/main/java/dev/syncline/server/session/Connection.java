package dev.syncline.server.session;

import dev.syncline.server.hub.Outlet;

/** One client's socket, as the protocol layer sees it. All calls on the socket's event loop. */
public interface Connection extends Outlet {
  void close(short code, String reason);

  String remoteAddress();

  /** Stops reading from the socket, or reads again. */
  void pause();

  void resume();
}

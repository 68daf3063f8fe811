package dev.syncline.server.hub;

import dev.syncline.protocol.ServerMessage;
import io.netty.buffer.ByteBuf;

/**
 * Where a subscription's frames go: one client connection. All calls happen on the connection's
 * event loop.
 */
public interface Outlet {
  /** Writes a text frame whose UTF-8 bytes are {@code frame}. */
  void writeText(ByteBuf frame);

  void send(ServerMessage message);

  /** True while the socket holds more unsent bytes than its write budget. */
  boolean writeQueueFull();

  /** Runs {@code r} once the socket's write queue has drained below its budget. */
  void whenDrained(Runnable r);

  boolean isOpen();
}

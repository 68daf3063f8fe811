package dev.syncline.server.session;

import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.replication.PeerSocket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;

/** A client connection that turned out to be a peer server dialing in: its socket, for the link. */
final class PeerConnection implements PeerSocket {
  private final Connection connection;

  PeerConnection(Connection connection) {
    this.connection = connection;
  }

  @Override
  public void sendText(String text) {
    connection.writeText(Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.UTF_8)));
  }

  @Override
  public void writeText(ByteBuf frame) {
    connection.writeText(frame);
  }

  @Override
  public void send(ServerMessage message) {
    connection.send(message);
  }

  @Override
  public boolean writeQueueFull() {
    return connection.writeQueueFull();
  }

  @Override
  public void whenDrained(Runnable r) {
    connection.whenDrained(r);
  }

  @Override
  public boolean isOpen() {
    return connection.isOpen();
  }

  @Override
  public void pause() {
    connection.pause();
  }

  @Override
  public void resume() {
    connection.resume();
  }

  @Override
  public void close(short code, String reason) {
    connection.close(code, reason);
  }

  @Override
  public long lastReadMillis() {
    return connection.lastReadMillis();
  }

  @Override
  public String remoteAddress() {
    return connection.remoteAddress();
  }
}

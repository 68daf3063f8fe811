package dev.syncline.server.http;

import dev.syncline.protocol.MessageCodec;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.session.Connection;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.vertx.core.Context;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import io.vertx.core.internal.http.WebSocketInternal;
import java.util.ArrayList;
import java.util.List;

/**
 * A client connection over a Vert.x WebSocket. Frames are written from bytes that are already
 * UTF-8 JSON; Vert.x's public API only builds text frames from a String, which would decode and
 * re-encode every fan-out frame, so this one class uses Vert.x's frame implementation directly.
 */
final class WebSocketConnection implements Connection {
  private final ServerWebSocket ws;
  private final Context context;
  private final List<Runnable> drainWaiters = new ArrayList<>();
  private final String clientAddress;
  private boolean open = true;

  WebSocketConnection(ServerWebSocket ws, Context context, int writeQueueBytes, boolean trustProxy) {
    this.ws = ws;
    this.context = context;
    this.clientAddress = ClientAddress.of(ws.remoteAddress(), ws.headers(), trustProxy);
    ws.setWriteQueueMaxSize(writeQueueBytes);
    ws.drainHandler(v -> runDrainWaiters());
  }

  void markClosed() {
    open = false;
    drainWaiters.clear();
  }

  @Override
  public void writeText(ByteBuf frame) {
    if (open) ws.writeFrame(new WebSocketFrameImpl(WebSocketFrameType.TEXT, frame, true));
  }

  @Override
  public void send(ServerMessage message) {
    writeText(Unpooled.wrappedBuffer(MessageCodec.encode(message)));
  }

  @Override
  public boolean writeQueueFull() {
    return ws.writeQueueFull();
  }

  @Override
  public void whenDrained(Runnable r) {
    if (!open) return;
    drainWaiters.add(r);
    // the queue may have drained already; the drain handler only fires on a full-to-free edge
    if (!ws.writeQueueFull()) context.runOnContext(v -> runDrainWaiters());
  }

  private void runDrainWaiters() {
    if (drainWaiters.isEmpty()) return;
    List<Runnable> ready = new ArrayList<>(drainWaiters);
    drainWaiters.clear();
    ready.forEach(Runnable::run);
  }

  @Override
  public boolean isOpen() {
    return open;
  }

  @Override
  public void close(short code, String reason) {
    if (!open) return;
    open = false;
    ws.close(code, reason);
  }

  /**
   * Answers a framing violation (reserved bits, an oversized frame, a bad opcode) with the close
   * status RFC 6455 names for it. Vert.x reports the violation and then closes the channel at
   * once, before a close frame written the usual way would be flushed; so this one is written and
   * flushed on the channel directly.
   */
  void closeAfterViolation(CorruptedWebSocketFrameException violation) {
    if (!open) return;
    open = false;
    ((WebSocketInternal) ws).channelHandlerContext()
        .writeAndFlush(new CloseWebSocketFrame(violation.closeStatus()));
  }

  @Override
  public String remoteAddress() {
    return clientAddress;
  }
}

package dev.syncline.server.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import io.vertx.core.internal.http.WebSocketInternal;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The one class that uses Vert.x's internal API ({@code io.vertx.core.internal}, {@code .impl}),
 * each time because the public API has no equivalent. Internal classes may change in any Vert.x
 * release, so nothing else may import them: a Vert.x upgrade that breaks one breaks this file only.
 */
public final class VertxInternals {
  private VertxInternals() {}

  /**
   * A text frame from bytes that are already UTF-8 JSON. The public API builds text frames from a
   * String only, which would decode and re-encode every fan-out frame.
   */
  public static WebSocketFrame textFrame(ByteBuf utf8) {
    return new WebSocketFrameImpl(WebSocketFrameType.TEXT, utf8, true);
  }

  /**
   * One frame of a text message sent in fragments: the first is a text frame, the rest
   * continuation frames, the last one final.
   */
  public static WebSocketFrame textFragment(ByteBuf utf8, boolean first, boolean last) {
    return new WebSocketFrameImpl(first ? WebSocketFrameType.TEXT : WebSocketFrameType.CONTINUATION, utf8, last);
  }

  /**
   * The Netty channel under a WebSocket, for what the public API cannot do (see {@link
   * WebSocketConnection}): write a close frame straight after a framing violation, check close
   * codes before Vert.x echoes them, and drop a TCP connection whose close handshake timed out.
   */
  static ChannelHandlerContext channel(WebSocketBase ws) {
    return ((WebSocketInternal) ws).channelHandlerContext();
  }

  /**
   * When bytes last arrived on {@code ws}'s connection (epoch ms), also of a message not whole
   * yet: a keep-alive must not take a long message still arriving for silence. Read first in the
   * pipeline, before frames are put together.
   */
  public static LongSupplier lastRead(WebSocketBase ws) {
    AtomicLong at = new AtomicLong(System.currentTimeMillis());
    channel(ws).pipeline().addFirst("syncline-last-read", new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        at.set(System.currentTimeMillis());
        ctx.fireChannelRead(msg);
      }
    });
    return at::get;
  }

  /**
   * The Netty pipeline of a new HTTP connection, before anything is read from it: to replace the
   * WebSocket compression handshaker with one that bounds inflation (see {@link HttpVerticle}).
   */
  static io.netty.channel.ChannelPipeline pipeline(io.vertx.core.http.HttpConnection connection) {
    return ((io.vertx.core.net.impl.ConnectionBase) connection).channelHandlerContext().pipeline();
  }

  /** Ends the read-idle timeout of one connection (Vert.x's handler named {@code idle}); the public API sets it per server only. */
  static void stopReadIdleTimeout(io.vertx.core.http.HttpConnection connection) {
    io.netty.channel.ChannelPipeline p = pipeline(connection);
    if (p.get("idle") != null) p.remove("idle");
  }

  /** Puts back the read-idle timeout that {@link #stopReadIdleTimeout} ended, as Vert.x sets it (ahead of its handler). */
  static void restoreReadIdleTimeout(io.vertx.core.http.HttpConnection connection, int seconds) {
    io.netty.channel.ChannelPipeline p = pipeline(connection);
    if (p.get("idle") == null) readIdleTimeout(p, seconds);
  }

  /**
   * Replaces the read-idle timeout of {@code ws}'s connection (Vert.x's handler {@code idle}, which
   * it closes the connection on) with one of {@code seconds}, counting from now; 0 ends it. The
   * public API sets it per server only.
   */
  static void readIdleTimeout(WebSocketBase ws, int seconds) {
    readIdleTimeout(channel(ws).pipeline(), seconds);
  }

  private static void readIdleTimeout(io.netty.channel.ChannelPipeline p, int seconds) {
    if (p.get("handler") == null) return; // the connection is gone
    if (p.get("idle") != null) p.remove("idle");
    if (seconds > 0) {
      p.addBefore("handler", "idle", new io.netty.handler.timeout.IdleStateHandler(seconds, 0, 0, java.util.concurrent.TimeUnit.SECONDS));
    }
  }

  /**
   * Closes one connection once what it is sent stops moving for {@code seconds}: the peer takes
   * nothing (Netty's write-idle that watches the outbound buffer, which Vert.x closes on, as on its
   * own idle events). The public API has no write-idle timeout.
   */
  static void closeWhenSendingStalls(io.vertx.core.http.HttpConnection connection, int seconds) {
    if (seconds <= 0) return;
    io.netty.channel.ChannelPipeline p = pipeline(connection);
    if (p.get(SEND_STALL) != null) p.remove(SEND_STALL); // a keep-alive connection's earlier download
    p.addFirst(SEND_STALL, new io.netty.handler.timeout.IdleStateHandler(true, 0, seconds, 0, java.util.concurrent.TimeUnit.SECONDS));
  }

  /** Ends {@link #closeWhenSendingStalls} once the download is sent: a later request may take long to answer. */
  static void stopSendStallTimeout(io.vertx.core.http.HttpConnection connection) {
    io.netty.channel.ChannelPipeline p = pipeline(connection);
    if (p.get(SEND_STALL) != null) p.remove(SEND_STALL);
  }

  private static final String SEND_STALL = "send-stall";
}

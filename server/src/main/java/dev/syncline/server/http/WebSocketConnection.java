package dev.syncline.server.http;

import dev.syncline.protocol.MessageCodec;
import dev.syncline.protocol.ServerMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.vertx.core.Context;
import io.vertx.core.http.ServerWebSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client connection over a Vert.x WebSocket.
 *
 * <h2>Ending</h2>
 * The session ends ({@link #onEnd}) the moment either side decides to close — the server
 * closes, a framing violation, or the client's close frame — not when the TCP connection finally
 * closes: a client that never answers the close handshake must not stay subscribed. If the TCP
 * connection is still open {@link #CLOSE_HANDSHAKE_TIMEOUT_MS} later, it is dropped.
 *
 * <h2>Never throws</h2>
 * Every method is safe to call on a socket that is closing or gone, so a failure on one socket
 * never reaches the code delivering to the next.
 *
 * <h2>Vert.x internals</h2>
 * Through {@link VertxInternals}, it reaches the Netty channel where the public API has no
 * equivalent: a close frame is
 * written straight to the channel after a framing violation (Vert.x closes the channel before a
 * close written the usual way is flushed); a handler in the channel pipeline checks close codes
 * before Vert.x echoes them; and the TCP connection is dropped after the close timeout.
 */
final class WebSocketConnection implements dev.syncline.server.session.Connection {
  private static final Logger log = LoggerFactory.getLogger(WebSocketConnection.class);

  /** How long the close handshake may go unanswered before the TCP connection is dropped. */
  static final long CLOSE_HANDSHAKE_TIMEOUT_MS = 3000;

  /** RFC 6455 §7.4.1: the endpoint received a frame it must refuse, here a close frame with a code no endpoint may send. */
  static final short PROTOCOL_ERROR = 1002;

  private final ServerWebSocket ws;
  private final Context context;
  private final DrainWaiters drainWaiters;
  private final String clientAddress;
  private final FlushDeferral flushDeferral = new FlushDeferral();
  private Runnable onEnd = () -> { };
  /** False once either side decided to close: nothing more is written. */
  private boolean open = true;
  private boolean ended;
  private boolean socketClosed;
  private long dropTimer = -1;
  /** The largest message taken; a client's limit until it proves it is a peer server. */
  private int messageLimit;
  /** When bytes last arrived: only counted once the connection is a peer link (null before). */
  private java.util.function.LongSupplier lastRead;
  /** The server's {@code readIdleTimeoutSeconds} (0: off), which Vert.x applies to the connection. */
  private final int readIdleSeconds;

  WebSocketConnection(ServerWebSocket ws, Context context, int writeQueueBytes, int messageLimit, boolean trustProxy,
      int readIdleSeconds) {
    this.ws = ws;
    this.readIdleSeconds = readIdleSeconds;
    this.messageLimit = messageLimit;
    this.context = context;
    this.drainWaiters = new DrainWaiters(context);
    this.clientAddress = ClientAddress.of(ws.remoteAddress(), ws.headers(), trustProxy);
    ws.setWriteQueueMaxSize(writeQueueBytes);
    ws.drainHandler(v -> drainWaiters.runAll());
    ChannelPipeline pipeline = VertxInternals.channel(ws).pipeline();
    // ahead of Vert.x's handler, which echoes whatever close code it receives
    pipeline.addBefore("handler", "syncline-close-codes", new CloseCodeCheck());
    pipeline.addFirst("syncline-flush-deferral", flushDeferral);
  }

  int messageLimit() {
    return messageLimit;
  }

  @Override
  public long lastReadMillis() {
    return lastRead == null ? 0 : lastRead.getAsLong();
  }

  @Override
  public void allowMessagesUpTo(int bytes) {
    // a peer link: its keep-alive counts bytes, so a long message still arriving is not silence
    if (bytes > messageLimit && lastRead == null) lastRead = VertxInternals.lastRead(ws);
    messageLimit = bytes;
  }

  /** Runs once, on this connection's event loop, when the connection ends (see the class comment). */
  void onEnd(Runnable r) {
    this.onEnd = r;
  }

  /** The client sent its close frame; Vert.x answers it. */
  void peerClosing() {
    if (!open) return;
    open = false;
    end();
    dropUnlessClosedIn(CLOSE_HANDSHAKE_TIMEOUT_MS);
  }

  /** The TCP connection closed. */
  void socketClosed() {
    open = false;
    socketClosed = true;
    if (dropTimer >= 0) context.owner().cancelTimer(dropTimer);
    end();
  }

  private void end() {
    drainWaiters.clear();
    letHeldFramesThrough();
    if (ended) return;
    ended = true;
    try {
      onEnd.run();
    } catch (RuntimeException e) {
      log.error("ending a session failed", e);
    }
  }

  /**
   * A socket paused for flow control is never paused again once the session ends, and what it
   * held back is let through (and ignored): Vert.x neither delivers nor frees the frames waiting
   * in a paused connection when it closes (pooled buffers, lost for good), and the client's close
   * frame may be among them, unanswered.
   */
  private void letHeldFramesThrough() {
    try {
      ws.resume();
    } catch (RuntimeException e) {
      log.debug("resuming {} to close it failed: {}", clientAddress, e.toString());
    }
  }

  private void dropUnlessClosedIn(long ms) {
    if (socketClosed || dropTimer >= 0) return;
    dropTimer = context.owner().setTimer(ms, id -> {
      dropTimer = -1;
      if (!socketClosed) VertxInternals.channel(ws).close();
    });
  }

  @Override
  public void writeText(ByteBuf frame) {
    if (!open) return;
    try {
      ws.writeFrame(VertxInternals.textFrame(frame));
    } catch (RuntimeException e) {
      gone(e);
    }
  }

  @Override
  public void send(ServerMessage message) {
    writeText(Unpooled.wrappedBuffer(MessageCodec.encode(message)));
  }

  /**
   * Outside a read Vert.x flushes every frame, so the acks of one group commit, answered in one
   * event-loop task, would cost a write(2) each; these wait for one flush at the end of the task
   * (as does anything else written to this socket in that task). Fan-out tasks write with {@link
   * #writeText}, so each subscriber's frame leaves as soon as it is written.
   */
  @Override
  public void sendSoon(ServerMessage message) {
    if (!open) return;
    if (!flushDeferral.deferring) {
      flushDeferral.deferring = true;
      context.runOnContext(v -> flushDeferral.end());
    }
    send(message);
  }

  @Override
  public boolean writeQueueFull() {
    if (!open) return false;
    try {
      return ws.writeQueueFull();
    } catch (RuntimeException e) {
      gone(e);
      return false;
    }
  }

  /** Vert.x closed the socket before it told us (its close handler runs later): end now. */
  private void gone(RuntimeException e) {
    log.debug("socket of {} is closed: {}", clientAddress, e.toString());
    open = false;
    end();
  }

  @Override
  public void whenDrained(Runnable r) {
    if (!open) return;
    drainWaiters.add(r, writeQueueFull());
  }


  @Override
  public boolean isOpen() {
    return open;
  }

  /**
   * A socket not read is read-idle whatever its client sends (Vert.x stops reading the channel
   * once a few messages wait): held back for the writer, it is not idle at all.
   */
  @Override
  public void pause() {
    if (!open) return;
    ws.pause();
    VertxInternals.readIdleTimeout(ws, 0);
  }

  @Override
  public void pauseUntilRead() {
    if (!open) return;
    ws.pause();
    // the client's doing: idle as before if it reads nothing for the timeout
    VertxInternals.readIdleTimeout(ws, readIdleSeconds);
  }

  @Override
  public void resume() {
    if (!open) return;
    ws.resume();
    VertxInternals.readIdleTimeout(ws, readIdleSeconds);
  }

  @Override
  public void close(short code, String reason) {
    if (!open) return;
    open = false;
    end();
    try {
      ws.close(code, reason);
    } catch (RuntimeException e) {
      log.debug("closing {} failed: {}", clientAddress, e.toString());
    }
    dropUnlessClosedIn(CLOSE_HANDSHAKE_TIMEOUT_MS);
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
    end();
    ChannelHandlerContext channel = VertxInternals.channel(ws);
    channel.writeAndFlush(new CloseWebSocketFrame(violation.closeStatus()));
    dropUnlessClosedIn(CLOSE_HANDSHAKE_TIMEOUT_MS);
  }

  @Override
  public String remoteAddress() {
    return clientAddress;
  }

  /** Holds back flushes while {@link #deferring}; a close flushes what it held first. */
  static final class FlushDeferral extends ChannelOutboundHandlerAdapter {
    boolean deferring;
    private boolean held;
    private ChannelHandlerContext ctx;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
      if (deferring) held = true;
      else ctx.flush();
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
      end();
      ctx.close(promise);
    }

    void end() {
      deferring = false;
      if (held) {
        held = false;
        ctx.flush();
      }
    }
  }

  /**
   * Turns a client close frame whose status code RFC 6455 §7.4 does not let an endpoint send
   * (below 1000, 1004 to 1006, 1015 to 2999, 5000 and above) into one with 1002, so that the close
   * Vert.x sends back is 1002, not an echo of the bad code.
   */
  static final class CloseCodeCheck extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof CloseWebSocketFrame close && close.content().readableBytes() >= 2
          && !mayBeSent(close.content().getUnsignedShort(close.content().readerIndex()))) {
        int code = close.content().getUnsignedShort(close.content().readerIndex());
        close.release();
        msg = new CloseWebSocketFrame(PROTOCOL_ERROR, "close code " + code + " is not allowed");
      }
      ctx.fireChannelRead(msg);
    }

    /** RFC 6455 §7.4.1 and the IANA registry: the codes an endpoint may put in a close frame. */
    static boolean mayBeSent(int code) {
      return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
    }
  }
}

package dev.syncline.server.replication;

import dev.syncline.protocol.MessageCodec;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.http.DrainWaiters;
import dev.syncline.server.http.VertxInternals;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.Context;
import io.vertx.core.http.WebSocket;
import java.util.function.LongSupplier;

/** The dialing end of a link: a Vert.x client WebSocket as a {@link PeerSocket}. */
final class ClientSocket implements PeerSocket {
  private final WebSocket ws;
  private final Context context;
  private final DrainWaiters drainWaiters;
  private boolean open = true;
  /** The largest frame the peer reads; a longer message goes in fragments of this size. */
  private int frameBytes = Integer.MAX_VALUE;
  /** When bytes last arrived, also of a message not whole yet. */
  private final LongSupplier lastRead;

  ClientSocket(WebSocket ws, Context context, int writeQueueBytes) {
    this.ws = ws;
    this.context = context;
    this.drainWaiters = new DrainWaiters(context);
    ws.setWriteQueueMaxSize(writeQueueBytes);
    ws.drainHandler(v -> drainWaiters.runAll());
    this.lastRead = VertxInternals.lastRead(ws);
  }

  @Override
  public long lastReadMillis() {
    return lastRead.getAsLong();
  }

  /** The largest frame the peer reads, from its welcome. */
  void frameBytes(int bytes) {
    frameBytes = Math.max(bytes, Dialer.MIN_FRAME_BYTES);
  }

  /** The socket closed (its close handler ran): nothing more is written. */
  void closed() {
    open = false;
    drainWaiters.clear();
    letHeldFramesThrough();
  }

  /**
   * Once the link ends, what a pause held back is let through (and ignored): Vert.x neither
   * delivers nor frees the frames waiting in a paused connection when it closes, and the peer's
   * close frame may be among them. On the next turn of the loop: by then whoever closed has
   * marked the link closed, so it takes none of them.
   */
  private void letHeldFramesThrough() {
    context.runOnContext(v -> {
      try {
        ws.resume();
      } catch (RuntimeException e) {
        // closed already
      }
    });
  }

  @Override
  public void writeText(ByteBuf frame) {
    if (!open) {
      frame.release();
      return;
    }
    try {
      if (frame.readableBytes() <= frameBytes) {
        ws.writeFrame(VertxInternals.textFrame(frame));
        return;
      }
      // one message in several frames, all written in this task, so nothing comes between them
      boolean first = true;
      while (frame.readableBytes() > 0) {
        int size = Math.min(frameBytes, frame.readableBytes());
        ws.writeFrame(VertxInternals.textFragment(frame.readRetainedSlice(size), first, frame.readableBytes() == 0));
        first = false;
      }
      frame.release();
    } catch (RuntimeException e) {
      open = false; // closed under us; the close handler ends the link
    }
  }

  @Override
  public void send(ServerMessage message) {
    writeText(Unpooled.wrappedBuffer(MessageCodec.encode(message)));
  }

  @Override
  public void sendText(String text) {
    writeText(Unpooled.wrappedBuffer(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Override
  public boolean writeQueueFull() {
    if (!open) return false;
    try {
      return ws.writeQueueFull();
    } catch (RuntimeException e) {
      open = false;
      return false;
    }
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

  @Override
  public void pause() {
    if (open) ws.pause();
  }

  @Override
  public void resume() {
    if (open) ws.resume();
  }

  @Override
  public void close(short code, String reason) {
    if (!open) return;
    open = false;
    try {
      ws.close(code, reason);
    } catch (RuntimeException e) {
      // already closing
    }
    letHeldFramesThrough();
  }

  @Override
  public String remoteAddress() {
    return String.valueOf(ws.remoteAddress());
  }
}

package dev.syncline.server.http;

import io.netty.buffer.ByteBuf;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;

/**
 * Text frames from bytes that are already UTF-8 JSON. Vert.x's public API builds text frames from
 * a String only, which would decode and re-encode every fan-out frame; this is the one place
 * that reaches into its internal frame class for it.
 */
public final class Frames {
  private Frames() {}

  public static WebSocketFrame text(ByteBuf utf8) {
    return new WebSocketFrameImpl(WebSocketFrameType.TEXT, utf8, true);
  }
}

package dev.syncline.server.hub;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Builds {@code changes} frames from deltas that are already encoded. The part after the
 * subscription id is the same for every subscriber of an audience, so it is built once and each
 * subscriber's frame is its own small header wrapped around the shared body, without copying.
 */
final class ChangesFrame {
  private ChangesFrame() {}

  /** {@code {"type":"changes","sid":"<sid>"} — the part that differs per subscriber. */
  static byte[] header(String sid) {
    return ("{\"type\":\"changes\",\"sid\":\"" + sid + "\"").getBytes(StandardCharsets.UTF_8);
  }

  /** {@code ,"db":…,"seq":…,"deltas":[…]}} — shared by every subscriber of an audience. */
  static byte[] body(String db, long seq, List<byte[]> deltas) {
    byte[] head = (",\"db\":\"" + db + "\",\"seq\":" + seq + ",\"deltas\":[").getBytes(StandardCharsets.UTF_8);
    int size = head.length + 2 + Math.max(0, deltas.size() - 1);
    for (byte[] d : deltas) size += d.length;
    byte[] out = new byte[size];
    System.arraycopy(head, 0, out, 0, head.length);
    int at = head.length;
    for (int i = 0; i < deltas.size(); i++) {
      if (i > 0) out[at++] = ',';
      byte[] d = deltas.get(i);
      System.arraycopy(d, 0, out, at, d.length);
      at += d.length;
    }
    out[at++] = ']';
    out[at] = '}';
    return out;
  }

  static ByteBuf frame(byte[] header, byte[] body) {
    return Unpooled.wrappedBuffer(header, body);
  }
}

package dev.syncline.server.hub;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Builds {@code changes} frames from deltas that are already encoded. The part after the
 * subscription id is the same for every subscriber of an audience, so it is built once; each
 * subscriber's frame is its own small header and a copy of the shared body, in one array.
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

  /**
   * One array, not a composite of the two: Netty copies every frame from the heap into its own
   * buffer (the WebSocket encoder a small one, the epoll transport a large one) through {@code
   * nioBuffer()}, which for a composite first merges the parts into a new array, plus a dozen
   * small objects — per subscriber, the server's largest allocation in fan-out (JFR allocation
   * samples, bench/profiles/fanout-100-alloc.txt).
   */
  static ByteBuf frame(byte[] header, byte[] body) {
    byte[] frame = Arrays.copyOf(header, header.length + body.length);
    System.arraycopy(body, 0, frame, header.length, body.length);
    return Unpooled.wrappedBuffer(frame);
  }
}

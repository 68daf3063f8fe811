package dev.syncline.server.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.function.IntSupplier;

/**
 * Joins WebSocket frames into messages and checks what RFC 6455 requires and Vert.x's own
 * aggregation does not: a text message must be valid UTF-8 (else close 1007; Vert.x would replace
 * bad bytes with U+FFFD and carry on), and a message split into continuation frames is held to
 * the same size limit as a single frame (else close 1009; Vert.x would drop it silently). One per
 * connection, used on its event loop only.
 */
final class MessageAssembler {
  /** Close codes of RFC 6455 this class uses. */
  static final short INVALID_PAYLOAD = 1007;
  static final short TOO_BIG = 1009;

  interface Receiver {
    void text(String message);

    void binary();

    void close(short code, String reason);
  }

  private final IntSupplier maxBytes;
  private final Receiver receiver;
  private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPORT)
      .onUnmappableCharacter(CodingErrorAction.REPORT);
  private Buffer fragments;
  private boolean fragmentsAreText;

  MessageAssembler(IntSupplier maxBytes, Receiver receiver) {
    this.maxBytes = maxBytes;
    this.receiver = receiver;
  }

  void frame(WebSocketFrame frame) {
    if (frame.isText() || frame.isBinary()) {
      if (frame.isFinal()) {
        // the frame decoder bounds what was sent; with per-message compression a frame inflates past that
        int max = maxBytes.getAsInt();
        if (frame.binaryData().length() > max) receiver.close(TOO_BIG, "message larger than " + max + " bytes");
        else deliver(frame.isText(), frame.binaryData());
      } else {
        fragments = Buffer.buffer().appendBuffer(frame.binaryData());
        fragmentsAreText = frame.isText();
      }
    } else if (frame.isContinuation() && fragments != null) {
      // the frame decoder has refused a continuation outside a fragmented message already
      fragments.appendBuffer(frame.binaryData());
      int max = maxBytes.getAsInt();
      if (fragments.length() > max) {
        fragments = null;
        receiver.close(TOO_BIG, "message larger than " + max + " bytes");
      } else if (frame.isFinal()) {
        Buffer whole = fragments;
        fragments = null;
        deliver(fragmentsAreText, whole);
      }
    }
  }

  private void deliver(boolean text, Buffer data) {
    if (!text) {
      receiver.binary();
      return;
    }
    String message = decode(data.getBytes());
    if (message == null) receiver.close(INVALID_PAYLOAD, "text frame is not valid UTF-8");
    else receiver.text(message);
  }

  /** Strict UTF-8, with a fast path for plain ASCII (most protocol traffic). Null when invalid. */
  private String decode(byte[] bytes) {
    boolean ascii = true;
    for (byte b : bytes) {
      if (b < 0) {
        ascii = false;
        break;
      }
    }
    if (ascii) return new String(bytes, StandardCharsets.ISO_8859_1);
    try {
      return utf8.reset().decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}

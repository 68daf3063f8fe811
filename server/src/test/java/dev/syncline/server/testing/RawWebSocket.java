package dev.syncline.server.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * A WebSocket client over a plain {@link Socket} that does the RFC 6455 handshake and framing by
 * hand, so tests can send frames a real client library refuses to build: bad UTF-8, reserved bits,
 * unmasked or oversized frames, broken fragmentation. Every read is bounded by {@link #TIMEOUT_MS}.
 */
public final class RawWebSocket implements AutoCloseable {
  /** How long any single socket read may block before the test fails. */
  public static final int TIMEOUT_MS = 10_000;

  public static final int CONTINUATION = 0x0;
  public static final int TEXT = 0x1;
  public static final int BINARY = 0x2;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;
  public static final int PONG = 0xA;

  /** RFC 6455 §1.3: the GUID appended to the key for {@code Sec-WebSocket-Accept}. */
  private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** One frame as read from the server. */
  public record Frame(boolean fin, int rsv, int opcode, byte[] payload) {
    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    /** The status code of a close frame: 1005 when it carries none (RFC 6455 §7.1.5). */
    public int closeCode() {
      if (opcode != CLOSE) throw new IllegalStateException("not a close frame: " + this);
      return payload.length < 2 ? 1005 : ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
    }

    @Override
    public String toString() {
      String body = opcode == CLOSE && payload.length >= 2
          ? closeCode() + " " + new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8)
          : text();
      return "Frame[op=" + opcode + ", fin=" + fin + ", rsv=" + rsv + ", " + body + "]";
    }
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RawWebSocket(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /** Connects to {@code 127.0.0.1:port}, upgrades {@code /sync}, and checks the 101 and its accept key. */
  public static RawWebSocket connect(int port) {
    return connect(port, 0);
  }

  /** As {@link #connect(int)}, with a socket receive buffer of {@code receiveBufferBytes} (0: the system's), so a client that stops reading backs up soon. */
  public static RawWebSocket connect(int port, int receiveBufferBytes) {
    return connect(port, receiveBufferBytes, "");
  }

  /**
   * As {@link #connect(int)}, with {@code extraHeaders} in the upgrade request (each line ending in
   * CRLF), such as an extension offer.
   */
  public static RawWebSocket connect(int port, String extraHeaders) {
    return connect(port, 0, extraHeaders);
  }

  private static RawWebSocket connect(int port, int receiveBufferBytes, String extraHeaders) {
    try {
      Socket socket = new Socket();
      if (receiveBufferBytes > 0) socket.setReceiveBufferSize(receiveBufferBytes);
      socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), TIMEOUT_MS);
      socket.setSoTimeout(TIMEOUT_MS);
      socket.setTcpNoDelay(true);
      RawWebSocket ws = new RawWebSocket(socket);
      ws.handshake(port, extraHeaders);
      return ws;
    } catch (IOException e) {
      throw new AssertionError("raw WebSocket connect failed", e);
    }
  }

  private void handshake(int port, String extraHeaders) throws IOException {
    String key = newKey();
    sendUpgrade(port, "/sync", key, "Sec-WebSocket-Version: 13\r\n" + extraHeaders);
    String head = readHttpHead();
    String statusLine = head.substring(0, head.indexOf("\r\n"));
    if (!statusLine.startsWith("HTTP/1.1 101")) throw new AssertionError("handshake refused: " + head);
    String expected = acceptKey(key);
    boolean accepted = head.lines()
        .anyMatch(l -> l.toLowerCase().startsWith("sec-websocket-accept:") && l.substring(21).trim().equals(expected));
    if (!accepted) throw new AssertionError("bad Sec-WebSocket-Accept, wanted " + expected + ": " + head);
  }

  /**
   * Sends an upgrade request for {@code path} with {@code extraHeaders} (each line ending in CRLF;
   * the version header is among them, or left out) and returns the response's head.
   */
  public static String upgradeResponse(int port, String path, String extraHeaders) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(TIMEOUT_MS);
      RawWebSocket ws = new RawWebSocket(socket);
      ws.sendUpgrade(port, path, newKey(), extraHeaders);
      return ws.readHttpHead();
    } catch (IOException e) {
      throw new AssertionError("upgrade request failed", e);
    }
  }

  private static String newKey() {
    byte[] nonce = new byte[16];
    RANDOM.nextBytes(nonce);
    return Base64.getEncoder().encodeToString(nonce);
  }

  private void sendUpgrade(int port, String path, String key, String extraHeaders) throws IOException {
    String request = "GET " + path + " HTTP/1.1\r\n"
        + "Host: 127.0.0.1:" + port + "\r\n"
        + "Upgrade: websocket\r\n"
        + "Connection: Upgrade\r\n"
        + "Sec-WebSocket-Key: " + key + "\r\n"
        + extraHeaders
        + "\r\n";
    out.write(request.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** Reads the response head byte by byte, so no frame byte after it is consumed. */
  private String readHttpHead() throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < 4) {
      int b = in.read();
      if (b < 0) throw new EOFException("connection closed during the handshake: " + head);
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
      if (head.size() > 16 * 1024) throw new AssertionError("handshake response too long");
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  private static String acceptKey(String key) {
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key + ACCEPT_GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- writing ----

  /** Encodes one client frame: masked (as RFC 6455 requires of clients) unless {@code masked} is false. */
  public static byte[] frame(boolean fin, int rsv, int opcode, byte[] payload, boolean masked) {
    ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 14);
    f.write((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xf));
    int maskBit = masked ? 0x80 : 0;
    if (payload.length < 126) {
      f.write(maskBit | payload.length);
    } else if (payload.length < 65536) {
      f.write(maskBit | 126);
      f.write(payload.length >>> 8);
      f.write(payload.length & 0xff);
    } else {
      f.write(maskBit | 127);
      long len = payload.length;
      for (int shift = 56; shift >= 0; shift -= 8) f.write((int) (len >>> shift) & 0xff);
    }
    if (!masked) {
      f.writeBytes(payload);
      return f.toByteArray();
    }
    byte[] mask = new byte[4];
    RANDOM.nextBytes(mask);
    f.writeBytes(mask);
    byte[] body = new byte[payload.length];
    for (int i = 0; i < payload.length; i++) body[i] = (byte) (payload[i] ^ mask[i & 3]);
    f.writeBytes(body);
    return f.toByteArray();
  }

  public static byte[] frame(boolean fin, int opcode, byte[] payload) {
    return frame(fin, 0, opcode, payload, true);
  }

  public static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Writes already-encoded frames in one socket write (so the server sees them together). */
  public void write(byte[]... frames) {
    try {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      for (byte[] f : frames) all.writeBytes(f);
      out.write(all.toByteArray());
      out.flush();
    } catch (IOException e) {
      throw new AssertionError("raw WebSocket write failed", e);
    }
  }

  /** Writes frames, ignoring a failure because the server already closed (its close frame is still readable). */
  public void writeIfOpen(byte[]... frames) {
    try {
      write(frames);
    } catch (AssertionError e) {
      // the server closed first; the test reads its close frame next
    }
  }

  /** Sends one complete, masked text message in a single frame. */
  public void sendText(String text) {
    write(frame(true, TEXT, utf8(text)));
  }

  // ---- reading ----

  /** Reads the next frame; fails on timeout or when the connection ends first. */
  public Frame readFrame() {
    try {
      int b0 = readByte();
      int b1 = readByte();
      long len = b1 & 0x7f;
      if (len == 126) {
        len = (readByte() << 8) | readByte();
      } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) len = (len << 8) | readByte();
      }
      if (len > 64 << 20) throw new AssertionError("server frame too long: " + len);
      byte[] mask = null;
      if ((b1 & 0x80) != 0) mask = readFully(4);
      byte[] payload = readFully((int) len);
      if (mask != null) for (int i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      return new Frame((b0 & 0x80) != 0, (b0 >> 4) & 0x7, b0 & 0xf, payload);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no frame from the server within " + TIMEOUT_MS + " ms", e);
    } catch (EOFException e) {
      throw new AssertionError("the server ended the connection without a close frame (1006)", e);
    } catch (IOException e) {
      throw new AssertionError("reading from the server failed: " + e, e);
    }
  }

  /** Reads the next complete text message (joining continuation frames), answering pings on the way. */
  public String readText() {
    ByteArrayOutputStream message = null;
    while (true) {
      Frame f = readFrame();
      switch (f.opcode()) {
        case PING -> write(frame(true, PONG, f.payload()));
        case PONG -> { }
        case TEXT -> {
          if (f.fin()) return f.text();
          message = new ByteArrayOutputStream();
          message.writeBytes(f.payload());
        }
        case CONTINUATION -> {
          if (message == null) throw new AssertionError("continuation frame outside a message: " + f);
          message.writeBytes(f.payload());
          if (f.fin()) return message.toString(StandardCharsets.UTF_8);
        }
        default -> throw new AssertionError("expected a text message, got " + f);
      }
    }
  }

  /**
   * Reads the next frame and requires it to be the server's close frame; returns its status code.
   * Anything else first (say, an answer to the bad message) fails with that frame in the message.
   */
  public int expectClose() {
    Frame f = readFrame();
    if (f.opcode() != CLOSE) throw new AssertionError("expected the server to close, but it sent " + f);
    writeIfOpen(frame(true, CLOSE, f.payload().length >= 2 ? new byte[] {f.payload()[0], f.payload()[1]} : new byte[0]));
    return f.closeCode();
  }

  /**
   * Reads, without ever writing, until the server ends the TCP connection; returns the frames it
   * sent before that. Fails if the connection is still open {@code withinMs} from now.
   */
  public java.util.List<Frame> awaitEnd(long withinMs) {
    long deadline = System.nanoTime() + withinMs * 1_000_000;
    java.util.List<Frame> frames = new java.util.ArrayList<>();
    try {
      while (true) {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) throw new AssertionError("the server kept the connection open; it sent " + frames);
        socket.setSoTimeout((int) left);
        frames.add(readFrame());
      }
    } catch (AssertionError e) {
      if (e.getCause() instanceof EOFException || e.getCause() instanceof java.net.SocketException) return frames;
      throw e;
    } catch (IOException e) {
      throw new AssertionError(e);
    } finally {
      try {
        socket.setSoTimeout(TIMEOUT_MS);
      } catch (IOException ignored) {
        // the socket is gone
      }
    }
  }

  private int readByte() throws IOException {
    int b = in.read();
    if (b < 0) throw new EOFException();
    return b;
  }

  private byte[] readFully(int n) throws IOException {
    byte[] buf = new byte[n];
    int off = 0;
    while (off < n) {
      int r = in.read(buf, off, n - off);
      if (r < 0) throw new EOFException();
      off += r;
    }
    return buf;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing a socket the server already dropped
    }
  }
}

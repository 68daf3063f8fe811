package dev.syncline.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on 127.0.0.1 that a test controls, to put between two servers: it can cut every
 * connection (a reset, as when a cable is pulled), refuse new ones, or stall them (bytes are held,
 * nothing is closed: a link that hangs), and heal again. Plain threads and blocking sockets, so
 * its behaviour does not depend on the event loops under test.
 */
public final class TcpProxy implements AutoCloseable {
  /** What the proxy does with traffic. */
  public enum Mode {
    /** Pass everything through. */
    OPEN,
    /** Hold bytes in both directions; accept connections but pass nothing. */
    STALLED,
    /** Reset every connection, and every new one at once. */
    DOWN
  }

  private final ServerSocket server;
  private volatile int targetPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private volatile Mode mode = Mode.OPEN;
  /** Bytes per second each direction of each connection may pass; 0: no limit. */
  private volatile long bytesPerSecond;
  private volatile boolean closed;

  private TcpProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::acceptLoop, "tcp-proxy-accept-" + port());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** A proxy to {@code 127.0.0.1:targetPort}, listening on a port of its own. */
  public static TcpProxy to(int targetPort) {
    try {
      return new TcpProxy(targetPort);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Points the proxy at another port (a server restarted on a new one); open connections are reset. */
  public void retarget(int port) {
    targetPort = port;
    resetAll();
  }

  /** {@code ws://127.0.0.1:PORT/sync} through this proxy. */
  public String syncUrl() {
    return "ws://127.0.0.1:" + port() + "/sync";
  }

  /** Resets every open connection and refuses new ones until {@link #heal}. */
  public void cut() {
    mode = Mode.DOWN;
    resetAll();
  }

  /** Resets every open connection once; new ones pass. */
  public void reset() {
    resetAll();
  }

  /** Holds every byte from now on without closing anything, until {@link #heal}. */
  public void stall() {
    mode = Mode.STALLED;
  }

  /** Lets each direction of each connection pass at most {@code limit} bytes a second (0: no limit), as a slow network would. */
  public void throttle(long limit) {
    bytesPerSecond = limit;
  }

  /** Passes traffic again. */
  public void heal() {
    synchronized (gate) {
      mode = Mode.OPEN;
      gate.notifyAll();
    }
  }

  public Mode mode() {
    return mode;
  }

  private void resetAll() {
    for (Socket s : sockets) {
      try {
        s.setSoLinger(true, 0); // RST, not FIN
        s.close();
      } catch (IOException ignored) {
        // already gone
      }
    }
    sockets.clear();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return;
      }
      if (mode == Mode.DOWN) {
        closeHard(client);
        continue;
      }
      try {
        Socket upstream = new Socket();
        upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 2000);
        sockets.add(client);
        sockets.add(upstream);
        pipe(client, upstream);
        pipe(upstream, client);
      } catch (IOException e) {
        closeHard(client); // the target is down: so is the way to it
      }
    }
  }

  private void pipe(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[64 * 1024];
      long started = System.nanoTime();
      long passed = 0;
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buf, 0, chunk())) >= 0; ) {
          awaitPassable();
          if (mode == Mode.DOWN) break;
          out.write(buf, 0, n);
          out.flush();
          passed += n;
          long limit = bytesPerSecond;
          if (limit > 0) {
            long due = started + passed * 1_000_000_000L / limit;
            long wait = (due - System.nanoTime()) / 1_000_000;
            if (wait > 0) Thread.sleep(wait);
          }
        }
      } catch (IOException | InterruptedException e) {
        // one side went away: so does the other
      } finally {
        closeHard(from);
        closeHard(to);
      }
    }, "tcp-proxy-pipe");
    t.setDaemon(true);
    t.start();
  }

  /** How much to read at once: small when throttled, so the pace is even. */
  private int chunk() {
    long limit = bytesPerSecond;
    return limit > 0 ? (int) Math.max(1, Math.min(64 * 1024, limit / 20)) : 64 * 1024;
  }

  private void awaitPassable() throws InterruptedException {
    synchronized (gate) {
      while (mode == Mode.STALLED && !closed) gate.wait(100);
    }
  }

  private void closeHard(Socket s) {
    sockets.remove(s);
    try {
      s.setSoLinger(true, 0);
      s.close();
    } catch (SocketException ignored) {
      // closed already
    } catch (IOException ignored) {
      // closed already
    }
  }

  @Override
  public void close() {
    closed = true;
    heal();
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    resetAll();
  }
}

package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.config.ServerConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Several real servers linked to each other, each link through a {@link TcpProxy} the test
 * controls: {@link #ring} (each server dials the next) or {@link #star} (every spoke dials the
 * hub, node 0). Nodes live in this JVM, or each in its own when the test must kill them.
 */
public final class Cluster implements AutoCloseable {
  private final List<ClusterNode> nodes = new ArrayList<>();
  /** The proxy a dialed link goes through, by "from>to". */
  private final Map<String, TcpProxy> links = new HashMap<>();
  /** Which proxies lead to each node, so they can follow it to a new port. */
  private final Map<Integer, List<TcpProxy>> into = new HashMap<>();

  private Cluster() {}

  /** {@code n} servers in a ring: server i dials server i+1 (mod n). */
  public static Cluster ring(int n, boolean ownProcesses, Consumer<ServerConfig> tweak) {
    Cluster c = new Cluster();
    for (int i = 0; i < n; i++) c.nodes.add(new ClusterNode("n" + i, ownProcesses, tweak));
    for (int i = 0; i < n; i++) c.link(i, (i + 1) % n);
    c.startAll();
    return c;
  }

  /** A hub (node 0) and {@code spokes} servers, each dialing the hub. */
  public static Cluster star(int spokes, boolean ownProcesses, Consumer<ServerConfig> tweak) {
    Cluster c = new Cluster();
    for (int i = 0; i <= spokes; i++) c.nodes.add(new ClusterNode(i == 0 ? "hub" : "spoke" + i, ownProcesses, tweak));
    for (int i = 1; i <= spokes; i++) c.link(i, 0);
    c.startAll();
    return c;
  }

  /**
   * {@code n} servers, each dialing every other, as an admin who lists every server on every
   * server would set them up: each pair of servers keeps one of its two links.
   */
  public static Cluster mesh(int n, boolean ownProcesses, Consumer<ServerConfig> tweak) {
    Cluster c = new Cluster();
    for (int i = 0; i < n; i++) c.nodes.add(new ClusterNode("n" + i, ownProcesses, tweak));
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) if (i != j) c.link(i, j);
    }
    c.startAll();
    return c;
  }

  /** Two nodes or more with no links yet; {@link #link} then {@link #startAll}. */
  public static Cluster unlinked(int n, boolean ownProcesses, Consumer<ServerConfig> tweak) {
    Cluster c = new Cluster();
    for (int i = 0; i < n; i++) c.nodes.add(new ClusterNode("n" + i, ownProcesses, tweak));
    return c;
  }

  /** Makes node {@code from} dial node {@code to} (through a new proxy), from its next start on. */
  public TcpProxy link(int from, int to) {
    TcpProxy p = TcpProxy.to(0);
    links.put(from + ">" + to, p);
    into.computeIfAbsent(to, k -> new ArrayList<>()).add(p);
    nodes.get(from).addPeer(p.syncUrl());
    if (nodes.get(to).running()) p.retarget(nodes.get(to).port());
    return p;
  }

  /** Adds a node (not started) to the cluster. */
  public ClusterNode add(String name, boolean ownProcess, Consumer<ServerConfig> tweak) {
    ClusterNode n = new ClusterNode(name, ownProcess, tweak);
    nodes.add(n);
    return n;
  }

  public void startAll() {
    for (int i = 0; i < nodes.size(); i++) if (!nodes.get(i).running()) start(i);
  }

  /** Starts (or restarts) node {@code i}, and points the proxies leading to it at its port. */
  public void start(int i) {
    ClusterNode n = nodes.get(i);
    n.start();
    for (TcpProxy p : into.getOrDefault(i, List.of())) p.retarget(n.port());
  }

  public ClusterNode node(int i) {
    return nodes.get(i);
  }

  public List<ClusterNode> nodes() {
    return nodes;
  }

  /** The proxy of the link node {@code from} dials to node {@code to}. */
  public TcpProxy proxy(int from, int to) {
    return Objects.requireNonNull(links.get(from + ">" + to), "no link " + from + ">" + to);
  }

  public List<TcpProxy> proxies() {
    return new ArrayList<>(links.values());
  }

  /** Waits until every running node's digest of {@code db} is the same; returns it. */
  public String awaitSameDigest(String db, Duration within) {
    String[] digest = new String[1];
    await(() -> {
      String first = null;
      for (ClusterNode n : nodes) {
        if (!n.running()) continue;
        JsonNode d = n.digest(db);
        if (d == null) return false;
        String s = d.path("digest").asText();
        if (first == null) first = s;
        else if (!first.equals(s)) return false;
      }
      digest[0] = first;
      return first != null;
    }, within, () -> "every server to hold the same " + db + ": " + digests(db));
    return digest[0];
  }

  /** Digests of {@code db} on every running node, for failure messages. */
  public String digests(String db) {
    StringBuilder sb = new StringBuilder();
    for (ClusterNode n : nodes) {
      if (!n.running()) continue;
      JsonNode d = n.digest(db);
      sb.append(n.name()).append('=').append(d == null ? "none" : d.path("digest").asText() + "@" + d.path("head").asLong()).append(' ');
    }
    return sb.toString();
  }

  /**
   * Waits until every running node reports its dialed links live, or standing down for the peer's
   * own link to it ({@code covered}), which is live.
   */
  public void awaitLinksLive(Duration within) {
    await(() -> nodes.stream().filter(ClusterNode::running).allMatch(n -> {
      JsonNode peers = n.stats().path("peers");
      for (JsonNode p : peers) {
        if (!p.path("direction").asText().equals("dial")) continue;
        String state = p.path("state").asText();
        if (state.equals("covered") && liveWith(peers, p.path("peer").asText())) continue;
        if (!state.equals("live")) return false;
      }
      return true;
    }), within, () -> "every link to be live");
  }

  /** Whether an entry of {@code peers} (a node's {@code server.stats.peers}) is a live link with {@code peer}. */
  public static boolean liveWith(JsonNode peers, String peer) {
    for (JsonNode p : peers) {
      if (peer.equals(p.path("peer").asText()) && p.path("state").asText().equals("live")) return true;
    }
    return false;
  }

  /** Polls {@code condition} every 100 ms until it holds, or fails saying what it waited for. */
  public static void await(BooleanSupplier condition, Duration within, java.util.function.Supplier<String> what) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what.get());
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  @Override
  public void close() {
    for (TcpProxy p : links.values()) p.close();
    for (ClusterNode n : nodes) n.close();
  }
}

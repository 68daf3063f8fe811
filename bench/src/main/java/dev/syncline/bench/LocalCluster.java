package dev.syncline.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Server processes for the scenarios that need several (replication): each with its own data
 * folder and port on 127.0.0.1, the same cluster secret, the {@code bench} database open to
 * anyone, and its log beside the others. Stopped with SIGTERM (then SIGKILL) on close.
 */
final class LocalCluster implements AutoCloseable {
  static final String SECRET = "the bench cluster's secret, 32 characters or more";

  /** One server: its name, port and process. */
  record Node(String name, int port, Process process) {
    long pid() {
      return process.pid();
    }
  }

  private final ClusterOptions options;
  private final String adminPassword;
  private final Path dir;
  private final List<Node> nodes = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();

  LocalCluster(ClusterOptions options, String adminPassword) throws IOException {
    this.options = options;
    this.adminPassword = adminPassword;
    this.dir = Files.createTempDirectory("syncline-bench-cluster");
  }

  /** Starts a server on {@code port} dialing {@code peers}; returns once {@code /health} answers. */
  Node start(String name, int port, List<Integer> peers, int writeQuorum, Deadline deadline)
      throws IOException, TimeoutException, InterruptedException {
    Path data = dir.resolve(name);
    Files.createDirectories(data);
    ObjectNode config = Json.MAPPER.createObjectNode();
    ObjectNode db = config.putArray("databases").addObject().put("name", "bench");
    ObjectNode policy = db.putObject("policy");
    for (String action : List.of("read", "create", "update", "destroy")) policy.putArray(action).add("$all");
    config.put("durability", options.durability).put("adminPassword", adminPassword).put("messagesPerSecond", 0)
        .put("clusterSecret", SECRET).put("writeQuorum", writeQuorum).put("todoExample", false);
    ArrayNode urls = config.putArray("peers");
    for (int p : peers) urls.add("ws://127.0.0.1:" + p + "/sync");
    Path file = data.resolve("config.json");
    Files.writeString(file, config.toString());
    List<String> command = new ArrayList<>();
    command.add(options.serverJava != null ? options.serverJava : Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // "{name}" in the options is the server's name, e.g. for a flight recording per server
    command.addAll(List.of(options.serverJavaOpts.replace("{name}", name).trim().split("\\s+")));
    command.addAll(List.of("-jar", options.serverJar, "--port", Integer.toString(port), "--data", data.resolve("store").toString(),
        "--config", file.toString()));
    Process process = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(data.resolve("server.log").toFile()).start();
    Node node = new Node(name, port, process);
    nodes.add(node);
    URI health = URI.create("http://127.0.0.1:" + port + "/health");
    while (true) {
      if (deadline.remainingMillis() == 0) throw new TimeoutException("timed out waiting for server " + name + " to answer /health");
      if (!process.isAlive()) throw new IOException("server " + name + " exited; see " + data.resolve("server.log"));
      try {
        if (http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) return node;
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(50);
    }
  }

  /** Waits until the server behind {@code admin} says every link it dials is live and caught up. */
  static void awaitCaughtUp(BenchConnection admin, Deadline deadline) throws TimeoutException, InterruptedException {
    while (true) {
      Incoming stats = deadline.await(admin.adminStats(), "server.stats");
      if (stats.data != null && stats.data.path("replication").path("caughtUp").asBoolean()) return;
      if (deadline.remainingMillis() == 0) throw new TimeoutException("timed out waiting for the links to catch up");
      Thread.sleep(100);
    }
  }

  /** The pids of every server started, for {@link CpuMeter}. */
  long[] pids() {
    return nodes.stream().mapToLong(Node::pid).toArray();
  }

  /** The server's log, for a failure message. */
  Path log(Node n) {
    return dir.resolve(n.name()).resolve("server.log");
  }

  @Override
  public void close() throws InterruptedException {
    for (Node n : nodes) n.process().destroy();
    for (Node n : nodes) {
      if (!n.process().waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) n.process().destroyForcibly();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temp folder left behind is harmless
    }
  }
}

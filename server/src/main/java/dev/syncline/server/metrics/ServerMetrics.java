package dev.syncline.server.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.PushResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The server's Prometheus metrics: Vert.x's own (HTTP and WebSocket connections, bytes in and
 * out, the JVM), and Syncline's — pushes and deltas by outcome, group commits, the write queue,
 * subscriptions, catch-up, sign-in failures, the store and replication. Counters the server
 * already keeps for {@code server.stats} are read when scraped, not counted twice.
 */
public final class ServerMetrics {
  private static final double[] GROUP_SIZE_BUCKETS = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000};
  private static final Duration[] COMMIT_BUCKETS = {
      Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
      Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
      Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofSeconds(1)};

  /** HTTP methods kept as a label value; Vert.x takes any token as a method, and each would make meters of its own. */
  private static final java.util.Set<String> HTTP_METHODS =
      java.util.Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

  private static final java.util.concurrent.atomic.AtomicInteger SERVERS = new java.util.concurrent.atomic.AtomicInteger();
  private final String registryName = "syncline-" + SERVERS.incrementAndGet();
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<String, Counter> pushes = new ConcurrentHashMap<>();
  private final Map<String, Counter> deltas = new ConcurrentHashMap<>();
  private final DistributionSummary groupDeltas;
  private final Timer groupCommit;
  private final Timer groupSync;
  private final Counter pushPauses;
  private final MultiGauge peerUp;
  private final MultiGauge peerLagDeltas;
  private final MultiGauge peerLagSeconds;
  private Supplier<Future<ArrayNode>> peers = () -> Future.succeededFuture(null);

  public ServerMetrics() {
    // before any meter exists: a client inventing methods (XA1, XA2, ...) must not grow the registry
    registry.config().meterFilter(io.micrometer.core.instrument.config.MeterFilter.replaceTagValues(
        "method", m -> HTTP_METHODS.contains(m) ? m : "other"));
    groupDeltas = DistributionSummary.builder("syncline.commit.group.deltas")
        .description("Deltas per group commit").serviceLevelObjectives(GROUP_SIZE_BUCKETS).register(registry);
    groupCommit = Timer.builder("syncline.commit.group.duration")
        .description("Time of one group commit: merge, write and fsync").serviceLevelObjectives(COMMIT_BUCKETS)
        .register(registry);
    groupSync = Timer.builder("syncline.commit.sync.duration")
        .description("Time a group commit spent making its transaction durable (write and fsync)")
        .serviceLevelObjectives(COMMIT_BUCKETS).register(registry);
    pushPauses = Counter.builder("syncline.push.pauses")
        .description("Times a connection was not read on because its pushes held maxUnansweredDeltas deltas or maxUnansweredBytes bytes unanswered")
        .register(registry);
    peerUp = MultiGauge.builder("syncline.peer.up").description("1 while the link to a peer is live (or stands down for the peer's own link, which is)").register(registry);
    peerLagDeltas = MultiGauge.builder("syncline.replication.lag.deltas")
        .description("Deltas a peer's database holds that this server has not applied yet").register(registry);
    peerLagSeconds = MultiGauge.builder("syncline.replication.lag.seconds")
        .description("How long this server has been behind a peer's database").register(registry);
  }

  /** Vert.x's metrics, written to this registry; pass to {@code Vertx.builder().withMetrics}. */
  public VertxMetricsFactory vertxMetrics() {
    MicrometerMetricsFactory micrometer = new MicrometerMetricsFactory(registry);
    return options -> new StartupSafeMetrics(micrometer.metrics(options));
  }

  /** The options that turn Vert.x's metrics on, JVM metrics included. */
  public MicrometerMetricsOptions vertxOptions() {
    // only the HTTP server's (connections, bytes in and out): the pools' and the other domains' meters
    // are updated on the event loops for every task and showed in the fan-out tail.
    // Micrometer keeps one backend per registry name in the JVM, so each server names its own:
    // under a shared name, servers running side by side (embedded, or in tests) counted into the first one's
    return new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true).setRegistryName(registryName)
        .setDisabledMetricsCategories(java.util.stream.Stream.of(MetricsDomain.values())
            .filter(d -> d != MetricsDomain.HTTP_SERVER).map(MetricsDomain::toCategory)
            .collect(java.util.stream.Collectors.toSet()));
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** A gauge read when scraped. */
  public <T> void gauge(String name, String description, T source, ToDoubleFunction<T> value) {
    Gauge.builder(name, source, value).description(description).strongReference(true).register(registry);
  }

  /** A counter the server keeps elsewhere, read when scraped. */
  public <T> void counter(String name, String description, T source, ToDoubleFunction<T> value) {
    FunctionCounter.builder(name, source, value).description(description).register(registry);
  }

  /** Where the per-peer gauges come from: {@code server.stats.peers}. */
  public void peers(Supplier<Future<ArrayNode>> source) {
    this.peers = source;
  }

  /** One group commit: its size, its time, and the part of it spent making it durable. */
  public void groupCommitted(int deltaCount, long nanos, long syncNanos) {
    groupDeltas.record(deltaCount);
    groupCommit.record(Duration.ofNanos(nanos));
    groupSync.record(Duration.ofNanos(syncNanos));
  }

  /** A push answered with an {@code ack}: counted, and each of its deltas by result. */
  public void pushAcked(List<PushResult> results) {
    outcome(pushes, "syncline.pushes", "Pushes answered, by outcome", "acked").increment();
    for (PushResult r : results) {
      String name = r.error() != null ? r.error().wire() : r.outcome() != null ? r.outcome().wire() : "quorum_timeout";
      outcome(deltas, "syncline.deltas", "Pushed deltas, by result", name).increment();
    }
  }

  /** A connection stopped being read until its pushes are answered (back-pressure on a fast writer). */
  public void pushesPaused() {
    pushPauses.increment();
  }

  /** A push refused as a whole. */
  public void pushRefused(ErrorCode code) {
    outcome(pushes, "syncline.pushes", "Pushes answered, by outcome", code.wire()).increment();
  }

  private Counter outcome(Map<String, Counter> counters, String name, String description, String outcome) {
    return counters.computeIfAbsent(outcome,
        o -> Counter.builder(name).description(description).tag("outcome", o).register(registry));
  }

  /** Bytes the HTTP server received (WebSocket frames included), as Vert.x counted them; 0 while its metrics are off. */
  public long bytesIn() {
    return total("vertx.http.server.bytes.read");
  }

  /** Bytes the HTTP server sent, as Vert.x counted them; 0 while its metrics are off. */
  public long bytesOut() {
    return total("vertx.http.server.bytes.written");
  }

  private long total(String counter) {
    return (long) registry.find(counter).counters().stream().mapToDouble(Counter::count).sum();
  }

  /** The Prometheus text of every metric, the per-peer ones refreshed first. */
  public Future<String> scrape() {
    return peers.get().otherwise((ArrayNode) null).map(list -> {
      if (list != null) refreshPeers(list);
      return registry.scrape();
    });
  }

  private void refreshPeers(ArrayNode list) {
    List<MultiGauge.Row<?>> up = new ArrayList<>();
    List<MultiGauge.Row<?>> lagDeltas = new ArrayList<>();
    List<MultiGauge.Row<?>> lagSeconds = new ArrayList<>();
    java.util.Set<String> live = new java.util.HashSet<>();
    for (JsonNode p : list) if ("live".equals(p.path("state").asText())) live.add(p.path("peer").asText("unknown"));
    for (JsonNode p : list) {
      String peer = p.path("peer").asText("unknown");
      String state = p.path("state").asText();
      // a link that stands down for the peer's other link is up as far as anyone watching can tell
      boolean linked = "live".equals(state) || ("covered".equals(state) && live.contains(peer));
      up.add(MultiGauge.Row.of(Tags.of("peer", peer, "url", p.path("url").asText("")), linked ? 1 : 0));
      p.path("databases").fields().forEachRemaining(e -> {
        Tags tags = Tags.of("peer", peer, "db", e.getKey());
        lagDeltas.add(MultiGauge.Row.of(tags, e.getValue().path("lagDeltas").asLong()));
        lagSeconds.add(MultiGauge.Row.of(tags, e.getValue().path("lagMs").asLong() / 1000.0));
      });
    }
    peerUp.register(up, true);
    peerLagDeltas.register(lagDeltas, true);
    peerLagSeconds.register(lagSeconds, true);
  }

  public void close() {
    registry.close();
  }
}

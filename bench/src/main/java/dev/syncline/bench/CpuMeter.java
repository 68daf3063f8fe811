package dev.syncline.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the machine's CPU went during a measured phase: the server, this generator, and every
 * other process. Server and generator share the cores, so a result means little without this;
 * and "other" above a few percent says another build was running and the run should be repeated.
 * Linux only ({@code /proc}); figures are in CPU-seconds.
 */
final class CpuMeter {
  /** Clock ticks per second of {@code /proc} CPU counters (USER_HZ, 100 on Linux). */
  private static final double TICKS = 100.0;
  /** Share of the machine other processes may use before a run is marked noisy. */
  static final double NOISY_SHARE = 0.05;

  private final long[] serverPids;
  private final long startNanos = System.nanoTime();
  /** The window's start on the wall clock, so a server's profile can be cut to it ({@code profile-summary --from}). */
  private final long startEpochMs = System.currentTimeMillis();
  private final long machineBusy0;
  private final long server0;
  private final long self0;

  /**
   * Starts measuring; {@code serverPids} are the server processes (all of them, for a cluster),
   * none or 0 when unknown (then server CPU counts as "other").
   */
  CpuMeter(long... serverPids) {
    this.serverPids = serverPids;
    this.machineBusy0 = machineBusyTicks();
    this.server0 = serversTicks();
    this.self0 = selfNanos();
  }

  private long serversTicks() {
    long sum = 0;
    for (long pid : serverPids) sum += processTicks(pid);
    return sum;
  }

  private boolean knowsServer() {
    for (long pid : serverPids) if (pid > 0) return true;
    return false;
  }

  /** The CPU used since the start, as JSON. */
  ObjectNode stop() {
    double wall = (System.nanoTime() - startNanos) / 1e9;
    double machine = (machineBusyTicks() - machineBusy0) / TICKS;
    double server = (serversTicks() - server0) / TICKS;
    double self = (selfNanos() - self0) / 1e9;
    double other = Math.max(0, machine - server - self);
    int cores = Runtime.getRuntime().availableProcessors();
    return Json.MAPPER.createObjectNode()
        .put("wallSeconds", ServerStats.round1(wall))
        .put("fromEpochMs", startEpochMs)
        .put("toEpochMs", System.currentTimeMillis())
        .put("cores", cores)
        .put("serverCpuSeconds", ServerStats.round1(server))
        .put("generatorCpuSeconds", ServerStats.round1(self))
        .put("otherCpuSeconds", ServerStats.round1(other))
        .put("servers", serverPids.length)
        .put("noisy", knowsServer() && other > NOISY_SHARE * cores * wall);
  }

  /**
   * A short text of {@link #stop}'s figures. A noisy run says {@code NOISY}: other processes took
   * more than {@link #NOISY_SHARE} of the machine, so the figures are not the server's alone
   * ({@code run.sh} repeats such runs).
   */
  static String describe(ObjectNode cpu) {
    return String.format("cpu over %.1f s: %s %.1f s, generator %.1f s, other processes %.1f s%s",
        cpu.get("wallSeconds").asDouble(), cpu.path("servers").asInt(1) > 1 ? cpu.get("servers").asInt() + " servers" : "server",
        cpu.get("serverCpuSeconds").asDouble(),
        cpu.get("generatorCpuSeconds").asDouble(), cpu.get("otherCpuSeconds").asDouble(),
        cpu.get("noisy").asBoolean() ? " NOISY" : "");
  }

  /** Busy ticks of all cores: the first line of {@code /proc/stat} less idle and iowait. */
  private static long machineBusyTicks() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long busy = 0;
      for (int i = 1; i < f.length && i <= 8; i++) if (i != 4 && i != 5) busy += Long.parseLong(f[i]);
      return busy;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** utime + stime of a process, in ticks; 0 when it cannot be read. */
  static long processTicks(long pid) {
    if (pid <= 0) return 0;
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // the command name may hold spaces; fields are counted after its closing parenthesis
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  private static long selfNanos() {
    var os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) return sun.getProcessCpuTime();
    return 0;
  }
}

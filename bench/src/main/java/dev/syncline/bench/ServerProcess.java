package dev.syncline.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the memory of the server process from {@code /proc} (Linux; same machine), and asks it for a full GC. */
final class ServerProcess {
  private final long pid;

  ServerProcess(long pid) {
    this.pid = pid;
  }

  /** Resident set size in KB ({@code VmRSS} of {@code /proc/PID/status}). */
  long rssKb() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    throw new IOException("no VmRSS for process " + pid);
  }

  /**
   * A full GC of the server ({@code jcmd PID GC.run}, the JDK's own tool, from the JDK this
   * generator runs on): afterwards its heap holds only what is live.
   */
  void fullGc() throws IOException, InterruptedException {
    Path jdkJcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    String jcmd = Files.isExecutable(jdkJcmd) ? jdkJcmd.toString() : "jcmd";
    Process p = new ProcessBuilder(jcmd, Long.toString(pid), "GC.run").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("jcmd " + pid + " GC.run failed: " + out.trim());
    }
  }

  /** The command line the server was started with, for the report. */
  String commandLine() {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"))).replace('\0', ' ').trim();
    } catch (IOException e) {
      return "?";
    }
  }
}

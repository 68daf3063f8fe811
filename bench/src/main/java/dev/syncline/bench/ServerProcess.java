package dev.syncline.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the memory of the server process from {@code /proc} (Linux; same machine). */
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

  /** The command line the server was started with, for the report. */
  String commandLine() {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"))).replace('\0', ' ').trim();
    } catch (IOException e) {
      return "?";
    }
  }
}

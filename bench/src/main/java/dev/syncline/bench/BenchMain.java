package dev.syncline.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar syncline-bench.jar SCENARIO ...}: load scenarios against a running server. */
@Command(name = "syncline-bench", mixinStandardHelpOptions = true, version = "Syncline bench 0.1",
    description = "Load generator for a Syncline server on 127.0.0.1. Each scenario prints one summary line.",
    subcommands = {WritesBench.class, FanoutBench.class, CatchupBench.class, IdleBench.class, ReplicationLagBench.class,
        ReplicationCatchupBench.class, QuorumBench.class, JavaClientBench.class, ProfileSummary.class})
public final class BenchMain implements Runnable {
  public static void main(String[] args) {
    // Load the classes a measured phase's CPU meter needs (JMX, file channels) now: loading them
    // at a window's start made the JIT throw away this process's compiled receive path there
    // (class hierarchy changes), and recompiling it took one of two cores for half a second.
    new CpuMeter(ProcessHandle.current().pid()).stop();
    System.exit(new CommandLine(new BenchMain()).execute(args));
  }

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }
}

package dev.syncline.bench;

import picocli.CommandLine.Option;

/** Options of the scenarios that start their own servers ({@link LocalCluster}). */
final class ClusterOptions {
  @Option(names = "--server-jar", defaultValue = "server/target/syncline-server.jar",
      description = "server jar to start (default ${DEFAULT-VALUE})")
  String serverJar;

  @Option(names = "--server-java", description = "java command of each server (default: the generator's own)")
  String serverJava;

  @Option(names = "--server-java-opts", defaultValue = "-Xmx1g", description = "JVM options of each server; {name} stands for the server's name (default ${DEFAULT-VALUE})")
  String serverJavaOpts;

  @Option(names = "--durability", defaultValue = "sync", description = "sync or async (default ${DEFAULT-VALUE})")
  String durability;

  @Option(names = "--base-port", defaultValue = "18190", description = "first server's port; the others follow (default ${DEFAULT-VALUE})")
  int basePort;
}

package dev.syncline.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code digest DB}: a database's state digest. With {@code --also URL}, the digests of other
 * servers too, and exit 1 unless all are equal — how to check that replicas hold the same data.
 */
@Command(name = "digest", mixinStandardHelpOptions = true,
    description = "Print a database's digest; with --also, compare servers (exit 1 when they differ).")
final class DigestCommand implements java.util.concurrent.Callable<Integer> {
  @Mixin Remote remote;

  @Parameters(paramLabel = "DB")
  String db;

  @Option(names = "--also", paramLabel = "URL", description = "another server to compare with (repeatable); same user")
  List<String> others = new ArrayList<>();

  @Override
  public Integer call() {
    List<String> urls = new ArrayList<>();
    urls.add(remote.url); // as given, or null: the server of this environment, with its own certificate
    urls.addAll(others);
    String first = null;
    boolean same = true;
    for (String url : urls) {
      remote.url = url;
      try (ServerConnection server = ServerConnection.open(remote)) {
        JsonNode d = server.admin("db.digest", Json.MAPPER.createObjectNode().put("db", db));
        System.out.println(d.path("digest").asText() + "  head " + d.path("head").asLong() + "  " + remote.httpUrl());
        if (first == null) first = d.path("digest").asText();
        same &= first.equals(d.path("digest").asText());
      }
    }
    if (urls.size() > 1) System.out.println(same ? "equal" : "different");
    return same ? 0 : 1;
  }
}

package dev.syncline.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code policy get|set}: a database's or collection's access policy, through admin ops. */
@Command(name = "policy", description = "Read or change access policies on a running server.", mixinStandardHelpOptions = true,
    scope = picocli.CommandLine.ScopeType.INHERIT) // --help on each of its subcommands too
final class PolicyCommand {
  @Command(name = "get", description = "Print the stored policy and the one in force.")
  int get(@Mixin Remote remote, @Parameters(paramLabel = "DB") String db,
      @Parameters(paramLabel = "COL", arity = "0..1") String col) {
    return ServerConnection.runAndPrint(remote, "policy.get", target(db, col));
  }

  @Command(name = "set", description = "Store a policy, e.g. '{\"read\":[\"$user\"],\"update\":[\"$owner\"]}'; 'null' removes it.")
  int set(@Mixin Remote remote, @Parameters(paramLabel = "DB") String db,
      @Option(names = "--col", paramLabel = "COL", description = "a collection of DB (default: the database's policy)") String col,
      @Parameters(paramLabel = "POLICY") String policy) {
    ObjectNode args = target(db, col);
    args.set("policy", parse(policy));
    return ServerConnection.runAndPrint(remote, "policy.set", args);
  }

  private static ObjectNode target(String db, String col) {
    ObjectNode args = Json.MAPPER.createObjectNode().put("db", db);
    if (col != null) args.put("col", col);
    return args;
  }

  /** A policy given on the command line; the server checks what it means. */
  static JsonNode parse(String json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (IOException e) {
      throw new CliException("policy: not JSON: " + json);
    }
  }
}

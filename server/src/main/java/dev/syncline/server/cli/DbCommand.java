package dev.syncline.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code db create|list|destroy} and {@code digest}, through a running server's admin ops. */
@Command(name = "db", description = "Manage the databases of a running server.", mixinStandardHelpOptions = true,
    scope = picocli.CommandLine.ScopeType.INHERIT) // --help on each of its subcommands too
final class DbCommand {
  @Command(name = "create", description = "Create a database (nothing happens if it exists, but a given policy is set).")
  int create(@Mixin Remote remote, @Parameters(paramLabel = "DB") String db,
      @Option(names = "--policy", paramLabel = "JSON", description = "its policy, e.g. '{\"read\":[\"$all\"]}'") String policy) {
    ObjectNode args = Json.MAPPER.createObjectNode().put("db", db);
    if (policy != null) args.set("policy", PolicyCommand.parse(policy));
    return ServerConnection.runAndPrint(remote, "db.create", args);
  }

  @Command(name = "list", description = "List databases with their head seq and sizes.")
  int list(@Mixin Remote remote, @Option(names = "--json", description = "print JSON") boolean json) {
    try (ServerConnection server = ServerConnection.open(remote)) {
      JsonNode dbs = server.admin("db.list", Json.MAPPER.createObjectNode()).path("databases");
      if (json) Output.json(dbs);
      else Output.table(dbs, "db", "head", "documents", "attributes", "tombstones");
    }
    return 0;
  }

  @Command(name = "destroy", description = "Destroy a database and everything in it, on every server of the cluster.")
  int destroy(@Mixin Remote remote, @Parameters(paramLabel = "DB") String db,
      @Option(names = "--yes", description = "do not ask for confirmation") boolean yes) {
    if (!yes && !Prompt.confirm("destroy database " + db + " and all its documents?", db)) {
      throw new CliException("not destroyed: confirm by typing its name, or pass --yes");
    }
    return ServerConnection.runAndPrint(remote, "db.destroy", Json.MAPPER.createObjectNode().put("db", db));
  }
}

package dev.syncline.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code user add|list|disable|enable|passwd|roles}, through a running server's admin ops. */
@Command(name = "user", description = "Manage the users of a running server.", mixinStandardHelpOptions = true,
    scope = picocli.CommandLine.ScopeType.INHERIT) // --help on each of its subcommands too
final class UserCommand {
  static final String NEW_PASSWORD_ENV = "SYNCLINE_NEW_PASSWORD";

  @Command(name = "add", description = "Create a user. Its password comes from $" + NEW_PASSWORD_ENV + " or is asked twice.")
  int add(@Mixin Remote remote, @Parameters(paramLabel = "USERNAME") String username,
      @Option(names = "--role", paramLabel = "ROLE", description = "a role to give (repeatable), e.g. admin") List<String> roles) {
    ObjectNode args = Json.MAPPER.createObjectNode().put("username", username).put("password", newPassword(username));
    if (roles != null) roles.forEach(args.putArray("roles")::add);
    return ServerConnection.runAndPrint(remote, "user.create", args);
  }

  @Command(name = "list", description = "List users, their roles and whether they are disabled.")
  int list(@Mixin Remote remote, @Option(names = "--json", description = "print JSON") boolean json) {
    try (ServerConnection server = ServerConnection.open(remote)) {
      com.fasterxml.jackson.databind.node.ArrayNode users = Json.MAPPER.createArrayNode();
      for (String after = null; ; ) { // a page at a time
        ObjectNode args = Json.MAPPER.createObjectNode();
        if (after != null) args.put("after", after);
        JsonNode page = server.admin("user.list", args);
        page.path("users").forEach(users::add);
        if (!page.path("more").asBoolean(false) || page.path("users").isEmpty()) break;
        after = page.path("users").get(page.path("users").size() - 1).path("username").asText();
      }
      if (json) Output.json(users);
      else Output.table(users, "username", "roles", "disabled");
    }
    return 0;
  }

  @Command(name = "disable", description = "Stop a user from signing in; their open connections are closed.")
  int disable(@Mixin Remote remote, @Parameters(paramLabel = "USERNAME") String username) {
    return ServerConnection.runAndPrint(remote, "user.update",
        Json.MAPPER.createObjectNode().put("username", username).put("disabled", true));
  }

  @Command(name = "enable", description = "Let a disabled user sign in again.")
  int enable(@Mixin Remote remote, @Parameters(paramLabel = "USERNAME") String username) {
    return ServerConnection.runAndPrint(remote, "user.update",
        Json.MAPPER.createObjectNode().put("username", username).put("disabled", false));
  }

  @Command(name = "passwd", description = "Set a user's password, from $" + NEW_PASSWORD_ENV + " or asked twice.")
  int passwd(@Mixin Remote remote, @Parameters(paramLabel = "USERNAME") String username) {
    return ServerConnection.runAndPrint(remote, "user.update",
        Json.MAPPER.createObjectNode().put("username", username).put("password", newPassword(username)));
  }

  @Command(name = "roles", description = "Replace a user's roles (none given: no roles).")
  int roles(@Mixin Remote remote, @Parameters(paramLabel = "USERNAME") String username,
      @Parameters(paramLabel = "ROLE", arity = "0..*") List<String> roles) {
    ObjectNode args = Json.MAPPER.createObjectNode().put("username", username);
    var list = args.putArray("roles");
    if (roles != null) roles.forEach(list::add);
    return ServerConnection.runAndPrint(remote, "user.update", args);
  }

  private static String newPassword(String username) {
    String fromEnv = System.getenv(NEW_PASSWORD_ENV);
    if (fromEnv != null && !fromEnv.isEmpty()) return fromEnv;
    return Prompt.newSecret("new password for " + username, NEW_PASSWORD_ENV);
  }
}

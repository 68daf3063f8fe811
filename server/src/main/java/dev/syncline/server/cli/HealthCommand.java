package dev.syncline.server.cli;

import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code health}: exit 0 when the server answers GET /health with "ok" — for container health checks. */
@Command(name = "health", mixinStandardHelpOptions = true,
    description = "Ask a server whether it is up (exit 0) or not (exit 1); no sign-in needed.")
final class HealthCommand implements Callable<Integer> {
  @Mixin Remote remote;

  @Override
  public Integer call() {
    Map.Entry<Integer, String> answer = ServerConnection.get(remote, "/health");
    System.out.println(answer.getValue().trim());
    return answer.getKey() == 200 ? 0 : 1;
  }
}

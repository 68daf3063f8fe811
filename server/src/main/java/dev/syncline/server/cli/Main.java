package dev.syncline.server.cli;

import dev.syncline.server.StartupException;
import dev.syncline.server.config.ConfigException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

/**
 * {@code java -jar syncline-server.jar [COMMAND]}: without a command it serves (as {@code serve}).
 * The other commands manage a running server over the protocol, or a stopped server's data folder.
 * A failure is one line on standard error, with the stack trace only under {@code --verbose}.
 */
@Command(name = "syncline", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Reactive WebSocket sync server for offline-first apps. Without a command: serve.",
    subcommands = {Main.Serve.class, UserCommand.class, DbCommand.class, PolicyCommand.class, DigestCommand.class,
        DumpCommand.class, LoadCommand.class, BackupCommand.class, RestoreCommand.class, HealthCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {
  @Mixin ServeOptions serve;

  @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "print stack traces of failures")
  boolean verbose;

  public static void main(String[] args) {
    int code = commandLine().execute(args);
    if (code != 0) System.exit(code);
  }

  /** The command line with its error handling, for {@link #main} and tests. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(Main::failed);
    cli.setColorScheme(CommandLine.Help.defaultColorScheme(Terminal.ansi(Terminal.STDOUT))); // help goes to stdout
    cli.setParameterExceptionHandler(Main::badArguments);
    return cli;
  }

  /** As picocli's own handler: the mistake, then a suggestion or the usage, coloured only if stderr is a terminal. */
  private static int badArguments(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    CommandLine.Help.ColorScheme scheme = CommandLine.Help.defaultColorScheme(Terminal.ansi(Terminal.STDERR));
    err.println(scheme.errorText(e.getMessage()));
    if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) cmd.usage(err, scheme);
    err.flush();
    return cmd.getCommandSpec().exitCodeOnInvalidInput();
  }

  @Override
  public Integer call() throws Exception {
    return serve.serve();
  }

  @Command(name = "serve", mixinStandardHelpOptions = true, description = "Start a server (the default command).")
  static final class Serve implements Callable<Integer> {
    @Mixin ServeOptions serve;

    @Override
    public Integer call() throws Exception {
      return serve.serve();
    }
  }

  /** One line naming what went wrong; a stack trace only when asked for, or for what looks like a bug. */
  private static int failed(Exception e, CommandLine cmd, ParseResult parsed) {
    Throwable t = e;
    while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) t = t.getCause();
    boolean verbose = parsed.asCommandLineList().stream()
        .anyMatch(c -> c.getParseResult() != null && c.getParseResult().hasMatchedOption("--verbose"));
    PrintWriter err = cmd.getErr();
    boolean expected = t instanceof CliException || t instanceof StartupException || t instanceof ConfigException;
    err.println("syncline: " + (expected ? t.getMessage() : t.toString() + " (--verbose shows where)"));
    if (verbose) t.printStackTrace(err);
    err.flush();
    return 1;
  }
}

package dev.syncline.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The version Maven wrote into the jar. */
public final class Version implements IVersionProvider {
  @Override
  public String[] getVersion() throws IOException {
    return new String[] {"Syncline " + of()};
  }

  /** This build's version, or {@code dev} when the jar says none (e.g. classes run from an IDE). */
  public static String current() {
    try {
      return of();
    } catch (IOException e) {
      return "dev";
    }
  }

  static String of() throws IOException {
    Properties p = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("/syncline-version.properties")) {
      if (in != null) p.load(in);
    }
    return p.getProperty("version", "dev");
  }
}

package dev.syncline.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The version Maven wrote into the jar. */
final class Version implements IVersionProvider {
  @Override
  public String[] getVersion() throws IOException {
    return new String[] {"Syncline " + of()};
  }

  static String of() throws IOException {
    Properties p = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("/syncline-version.properties")) {
      if (in != null) p.load(in);
    }
    return p.getProperty("version", "dev");
  }
}

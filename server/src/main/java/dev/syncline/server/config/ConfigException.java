package dev.syncline.server.config;

/** A setting that cannot work; the message names the key (or file, or variable) and what it needs. */
public final class ConfigException extends IllegalArgumentException {
  public ConfigException(String message) {
    super(message);
  }
}

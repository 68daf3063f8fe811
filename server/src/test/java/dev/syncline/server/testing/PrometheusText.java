package dev.syncline.server.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): every line must be a
 * HELP, a TYPE or a sample of a declared family, with a well-formed value. Throws on anything else.
 */
public final class PrometheusText {
  private static final Pattern SAMPLE = Pattern.compile(
      "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)( -?\\d+)?");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");
  private static final List<String> SUFFIXES = List.of("_bucket", "_count", "_sum", "_total", "_created", "_max", "");

  /** One sample: its metric name, labels and value. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  private final Map<String, String> types = new HashMap<>();
  private final List<Sample> samples = new ArrayList<>();

  private PrometheusText() {}

  public static PrometheusText parse(String text) {
    PrometheusText p = new PrometheusText();
    int n = 0;
    for (String line : text.split("\n", -1)) {
      n++;
      if (line.isEmpty()) continue;
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        if (parts.length != 4 || !List.of("counter", "gauge", "histogram", "summary", "untyped").contains(parts[3])) {
          throw new IllegalArgumentException("line " + n + ": bad TYPE: " + line);
        }
        if (p.types.put(parts[2], parts[3]) != null) throw new IllegalArgumentException("line " + n + ": TYPE twice: " + line);
      } else if (line.startsWith("# HELP ") || line.startsWith("# ")) {
        continue;
      } else {
        p.samples.add(p.sample(line, n));
      }
    }
    if (p.samples.isEmpty()) throw new IllegalArgumentException("no samples");
    return p;
  }

  private Sample sample(String line, int n) {
    Matcher m = SAMPLE.matcher(line);
    if (!m.matches()) throw new IllegalArgumentException("line " + n + ": not a sample: " + line);
    String name = m.group(1);
    if (familyOf(name) == null) throw new IllegalArgumentException("line " + n + ": no TYPE for " + name);
    Map<String, String> labels = new LinkedHashMap<>();
    if (m.group(3) != null && !m.group(3).isEmpty()) {
      Matcher l = LABEL.matcher(m.group(3));
      int end = 0;
      while (l.find() && l.start() == end) {
        labels.put(l.group(1), l.group(2));
        end = l.end();
      }
      if (end != m.group(3).length()) throw new IllegalArgumentException("line " + n + ": bad labels: " + line);
    }
    String v = m.group(4);
    double value = switch (v) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(v);
    };
    return new Sample(name, labels, value);
  }

  private String familyOf(String name) {
    for (String s : SUFFIXES) {
      if (name.endsWith(s) && types.containsKey(name.substring(0, name.length() - s.length()))) {
        return name.substring(0, name.length() - s.length());
      }
    }
    return null;
  }

  public String type(String family) {
    return types.get(family);
  }

  /** Samples named {@code name} whose labels include {@code labels} (k1, v1, k2, v2, …). */
  public List<Sample> samples(String name, String... labels) {
    List<Sample> out = new ArrayList<>();
    outer:
    for (Sample s : samples) {
      if (!s.name().equals(name)) continue;
      for (int i = 0; i < labels.length; i += 2) if (!labels[i + 1].equals(s.labels().get(labels[i]))) continue outer;
      out.add(s);
    }
    return out;
  }

  /** The sum of the matching samples; throws when there is none. */
  public double value(String name, String... labels) {
    List<Sample> s = samples(name, labels);
    if (s.isEmpty()) throw new AssertionError("no sample " + name + " " + List.of(labels) + " among " + types.keySet());
    return s.stream().mapToDouble(Sample::value).sum();
  }
}

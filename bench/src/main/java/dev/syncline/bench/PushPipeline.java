package dev.syncline.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * Pushes over one connection with at most {@code window} pushes unacked: a new push goes out as
 * soon as an ack (or error) frees a slot. Push {@code k} carries rid {@code k}, so an ack finds
 * its send time in an array. Runs entirely on the connection's event loop.
 */
final class PushPipeline implements BenchConnection.Listener {
  /** Fills push number {@code index} (already begun with its rid) with its deltas. */
  @FunctionalInterface
  interface Filler {
    void fill(PushEncoder encoder, int index);
  }

  private final BenchConnection connection;
  private final PushEncoder encoder;
  private final int pushes;
  private final int window;
  private final Filler filler;
  private final long[] sentAt;
  private final Latencies latencies = new Latencies();
  private final Promise<Void> done = Promise.promise();
  private int sent;
  private int answered;
  private int inFlight;
  private long firstSend;
  private long lastAnswer;
  private long applied;
  private long unchanged;
  private long refused;
  private int errors;
  private String firstError;

  PushPipeline(BenchConnection connection, PushEncoder encoder, int pushes, int window, Filler filler) {
    this.connection = connection;
    this.encoder = encoder;
    this.pushes = pushes;
    this.window = window;
    this.filler = filler;
    this.sentAt = new long[pushes];
  }

  /** Starts pushing; the future completes once every push is answered. */
  Future<Void> run() {
    connection.listen(this, false);
    connection.context().runOnContext(v -> {
      firstSend = System.nanoTime();
      if (pushes == 0) done.complete();
      else pump();
    });
    return done.future();
  }

  private void pump() {
    while (inFlight < window && sent < pushes) {
      int k = sent++;
      encoder.begin(k);
      filler.fill(encoder, k);
      String text = encoder.end();
      sentAt[k] = System.nanoTime();
      connection.send(text);
      inFlight++;
    }
  }

  @Override
  public void onMessage(Incoming m, long receivedNanos) {
    if (m.rid == Incoming.NO_RID || m.rid < 0 || m.rid >= pushes) return;
    if (m.is("ack")) {
      latencies.record(receivedNanos - sentAt[(int) m.rid]);
      applied += m.applied;
      unchanged += m.unchanged;
      refused += m.refused;
      if (m.refused > 0 && firstError == null) firstError = m.firstRefusal;
    } else if (m.is("error")) {
      errors++;
      if (firstError == null) firstError = m.describeError();
    } else {
      return;
    }
    inFlight--;
    answered++;
    lastAnswer = receivedNanos;
    if (answered == pushes) done.tryComplete();
    else pump();
  }

  // read after run() completed: the completion happened-before the reader's await returned

  double seconds() {
    return (lastAnswer - firstSend) / 1e9;
  }

  long firstSendNanos() {
    return firstSend;
  }

  long lastAnswerNanos() {
    return lastAnswer;
  }

  int pushes() {
    return pushes;
  }

  Latencies latencies() {
    return latencies;
  }

  long applied() {
    return applied;
  }

  long unchanged() {
    return unchanged;
  }

  long refused() {
    return refused;
  }

  /** Pushes answered with an error instead of an ack (e.g. overloaded). */
  int errors() {
    return errors;
  }

  String firstError() {
    return firstError;
  }
}

package dev.syncline.server.store;

import java.util.List;

/**
 * What one purge step did ({@link Store#purge}): how many registers it removed, and the destroyed
 * documents' {@code $deleted} it committed again at new seqs ({@code recommitted.committed()},
 * empty if none), which subscribers and peers are told of like any commit.
 */
public record PurgeOutcome(int removed, BatchOutcome recommitted) {
  static PurgeOutcome none(String db, long head) {
    return new PurgeOutcome(0, new BatchOutcome(db, false, List.of(), List.of(), head));
  }
}

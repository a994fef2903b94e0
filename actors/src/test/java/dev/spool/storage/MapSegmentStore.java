package dev.spool.storage;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/** A segment store in a map, answering at once: tests override what they hold back. */
class MapSegmentStore implements SegmentStore {

  final Map<String, SegmentRow> rows = new ConcurrentHashMap<>();
  /** How many times a queue's rows were deleted. */
  int deletions;

  static String key(String queueId, long segment) {
    return queueId + "/" + segment;
  }

  @Override
  public CompletionStage<Void> write(SegmentRow row) {
    rows.put(key(row.queueId(), row.segment()), row);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<SegmentRow> read(String queueId, long segment) {
    return CompletableFuture.completedFuture(rows.get(key(queueId, segment)));
  }

  @Override
  public CompletionStage<List<SegmentRow>> list(String queueId) {
    List<SegmentRow> of = new ArrayList<>();
    rows.forEach((key, row) -> {
      if (row.queueId().equals(queueId)) {
        of.add(row);
      }
    });
    of.sort((a, b) -> Long.compare(a.segment(), b.segment()));
    return CompletableFuture.completedFuture(of);
  }

  @Override
  public CompletionStage<Void> deleteBelow(String queueId, long segment) {
    rows.values().removeIf(row -> row.queueId().equals(queueId) && row.segment() < segment);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletionStage<Void> deleteQueue(String queueId) {
    deletions++;
    rows.values().removeIf(row -> row.queueId().equals(queueId));
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public void close() {}
}

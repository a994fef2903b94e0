package dev.spool.storage;

import dev.spool.journal.JournalUnavailableException;
import dev.spool.journal.SqliteStore;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Segments in the embedded SQLite journal file, table {@code segment} (created with the journal's
 * tables when the file is opened). It shares the file's {@link SqliteStore}: a write joins the
 * writer's next transaction with the journal's writes (one fsync for all of them), and reads run
 * on the store's segment reader, a thread and read-only connection of their own, so that a
 * consumer reading a backlog back neither waits behind the replays of recovering queues nor holds
 * them up. Both queues are the store's, bounded: a full one fails the stage at once with
 * {@code JournalUnavailableException}.
 *
 * <p>Closing it refuses further calls; the store itself belongs to whoever opened it (the actor
 * system's {@code SqliteStores}) and closes with it.
 */
public final class SqliteSegmentStore implements SegmentStore {

  private static final String COLUMNS = SegmentColumns.COLUMNS;

  private final SqliteStore store;
  private volatile boolean closed;

  public SqliteSegmentStore(SqliteStore store) {
    this.store = store;
  }

  @Override
  public CompletionStage<Void> write(SegmentRow row) {
    if (row.data() == null) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("a segment row to write needs its data"));
    }
    if (closed) {
      return closed();
    }
    return store.write(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT OR REPLACE INTO segment (" + COLUMNS
          + ", data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
        SegmentColumns.bind(p, row);
        p.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public CompletionStage<SegmentRow> read(String queueId, long segment) {
    if (closed) {
      return closed();
    }
    return store.readSegments(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS
          + ", data FROM segment WHERE queue_id = ? AND segment = ?")) {
        p.setString(1, queueId);
        p.setLong(2, segment);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? SegmentColumns.read(rs, rs.getBytes(8)) : null;
        }
      }
    });
  }

  @Override
  public CompletionStage<List<SegmentRow>> list(String queueId) {
    // idx is stored before data, so this reads each row's first pages, not its data's overflow chain
    if (closed) {
      return closed();
    }
    return store.readSegments(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS
          + " FROM segment WHERE queue_id = ? ORDER BY segment")) {
        p.setString(1, queueId);
        List<SegmentRow> rows = new ArrayList<>();
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) {
            rows.add(SegmentColumns.read(rs, null));
          }
        }
        return rows;
      }
    });
  }

  @Override
  public CompletionStage<Void> deleteBelow(String queueId, long segment) {
    return delete("DELETE FROM segment WHERE queue_id = ? AND segment < ?", queueId, segment);
  }

  @Override
  public CompletionStage<Void> deleteQueue(String queueId) {
    return delete("DELETE FROM segment WHERE queue_id = ?", queueId, null);
  }

  private CompletionStage<Void> delete(String sql, String queueId, Long below) {
    if (closed) {
      return closed();
    }
    return store.write(c -> {
      try (PreparedStatement p = c.prepareStatement(sql)) {
        p.setString(1, queueId);
        if (below != null) {
          p.setLong(2, below);
        }
        p.executeUpdate();
      }
      return null;
    });
  }


  private <T> CompletableFuture<T> closed() {
    return CompletableFuture.failedFuture(new JournalUnavailableException("the segment store of "
        + store.settings().path() + " is closed", null));
  }

  /** Refuses further calls; those accepted still complete. The file's store stays open. */
  @Override
  public void close() {
    closed = true;
  }
}

package dev.spool.journal;

import com.typesafe.config.Config;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.snapshot.japi.SnapshotStore;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;

/**
 * A Pekko persistence snapshot store in the SQLite journal file ({@link SqliteStore}). A snapshot
 * is a row of metadata and its bytes in rows of {@code snapshot-chunk-size}, serialized on the
 * store's snapshot thread and written a chunk per write operation, so that a large one never holds
 * the one writer for long; its row marks it complete only once every chunk is written (see
 * {@link #save}), and loads and deletes see complete snapshots only. A snapshot whose serializer
 * is a {@link StreamingSerializer} that streams it (a queue's backlog) is written through an
 * output stream over the chunk rows and read through an input stream over them, so it is never
 * one byte array, however large; others are serialized as usual. Like the journal, the constructor never fails and the file opens on first use.
 */
public final class SqliteSnapshotStore extends SnapshotStore {

  private static final Logger log = LoggerFactory.getLogger(SqliteSnapshotStore.class);

  private final Serialization serialization = SerializationExtension.get(context().system());
  private final SqliteStore store;
  private final RuntimeException configurationError;

  public SqliteSnapshotStore(Config config) {
    SqliteStore s = null;
    RuntimeException error = null;
    try {
      s = SqliteStores.get(context().system()).forPlugin(config);
    } catch (RuntimeException e) {
      error = new IllegalArgumentException("the SQLite snapshot store is misconfigured: " + e.getMessage(), e);
    }
    this.store = s;
    this.configurationError = error;
  }

  private record Candidate(long id, long sequenceNr, long created, int serializerId, String manifest,
      boolean streamed, long size) {}

  @Override
  public Future<Optional<SelectedSnapshot>> doLoadAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
    if (store == null) {
      return SqliteJournal.Futures.failed(configurationError);
    }
    return FutureConverters.asScala(store.read(c -> {
      try (Statement s = c.createStatement()) {
        s.execute("BEGIN"); // one consistent view of the metadata and the chunks
        try {
          return load(c, persistenceId, criteria);
        } finally {
          s.execute("COMMIT");
        }
      }
    }));
  }

  /** The newest snapshot that matches and can be read; an older one if a newer cannot. */
  private Optional<SelectedSnapshot> load(Connection c, String persistenceId, SnapshotSelectionCriteria criteria)
      throws Exception {
    List<Candidate> candidates = new ArrayList<>();
    try (PreparedStatement select = c.prepareStatement("SELECT id, sequence_nr, created, ser_id, ser_manifest,"
        + " streamed, size FROM snapshot WHERE persistence_id = ? AND sequence_nr BETWEEN ? AND ?"
        + " AND created BETWEEN ? AND ? AND size >= 0 ORDER BY sequence_nr DESC")) {
      select.setString(1, persistenceId);
      select.setLong(2, criteria.minSequenceNr());
      select.setLong(3, criteria.maxSequenceNr());
      select.setLong(4, criteria.minTimestamp());
      select.setLong(5, criteria.maxTimestamp());
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          candidates.add(new Candidate(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getInt(4), rs.getString(5),
              rs.getInt(6) != 0, rs.getLong(7)));
        }
      }
    }
    Exception failure = null;
    for (Candidate k : candidates) {
      try {
        Object snapshot = read(c, k);
        return Optional.of(SelectedSnapshot.create(SnapshotMetadata.apply(persistenceId, k.sequenceNr(), k.created()),
            snapshot));
      } catch (Exception e) {
        log.warn("snapshot {} of {} cannot be read, trying an older one: {}", k.sequenceNr(), persistenceId,
            e.toString());
        failure = e;
      }
    }
    if (failure != null) {
      throw failure;
    }
    return Optional.empty();
  }

  private Object read(Connection c, Candidate k) throws Exception {
    try (PreparedStatement sizes = c.prepareStatement(
        "SELECT coalesce(sum(length(bytes)), 0) FROM snapshot_chunk WHERE snapshot_id = ?")) {
      sizes.setLong(1, k.id());
      try (ResultSet rs = sizes.executeQuery()) {
        long stored = rs.next() ? rs.getLong(1) : 0;
        if (stored != k.size()) {
          throw new IllegalStateException("the snapshot has " + stored + " of its " + k.size() + " bytes");
        }
      }
    }
    try (InputStream in = new ChunkInputStream(c, k.id())) {
      Serializer serializer = serialization.serializerByIdentity().get(k.serializerId()).get();
      if (k.streamed() && serializer instanceof StreamingSerializer streaming) {
        return streaming.read(in, k.manifest());
      }
      return serialization.deserialize(in.readAllBytes(), k.serializerId(), k.manifest()).get();
    }
  }

  @Override
  public Future<Void> doSaveAsync(SnapshotMetadata metadata, Object snapshot) {
    if (store == null) {
      return SqliteJournal.Futures.failed(configurationError);
    }
    Serializer serializer;
    String manifest;
    try {
      serializer = serialization.findSerializerFor(snapshot);
      manifest = Serializers.manifestFor(serializer, snapshot);
    } catch (RuntimeException e) {
      return SqliteJournal.Futures.failed(e);
    }
    return FutureConverters.asScala(store.snapshot(() -> {
      save(metadata, snapshot, serializer, manifest);
      return (Void) null;
    }));
  }

  /**
   * On the store's snapshot thread. A snapshot that fits in one chunk is written by one write
   * operation. A larger one first gets an incomplete row (size -1, and a negative sequence number
   * of its own so that it replaces nothing yet), then its chunks one write each, then, in a last
   * write, replaces any snapshot with its sequence number and becomes complete: it is visible whole
   * or not at all, and the writer never spends longer than a chunk on it at a time.
   */
  private void save(SnapshotMetadata metadata, Object snapshot, Serializer serializer, String manifest)
      throws Exception {
    int chunkSize = store.settings().chunkSize();
    boolean streamed = serializer instanceof StreamingSerializer s && s.streams(snapshot);
    byte[] bytes = streamed ? null : serializer.toBinary(snapshot);
    if (bytes != null && bytes.length <= chunkSize) {
      await(store.writeWhenRoom(c -> {
        delete(c, "persistence_id = ? AND sequence_nr = ?", metadata.persistenceId(), metadata.sequenceNr());
        long id = insert(c, metadata, metadata.sequenceNr(), serializer.identifier(), manifest, false, bytes.length);
        try (PreparedStatement insert = c.prepareStatement(
            "INSERT INTO snapshot_chunk (snapshot_id, chunk, bytes) VALUES (?, 0, ?)")) {
          insert.setLong(1, id);
          insert.setBytes(2, bytes);
          insert.executeUpdate();
        }
        return (Void) null;
      }));
      return;
    }
    long start = System.nanoTime();
    long id = await(store.writeWhenRoom(c -> {
      removeIncomplete(c);
      return insert(c, metadata, -1 - maxId(c), serializer.identifier(), manifest, streamed, INCOMPLETE);
    }));
    try {
      ChunkOutputStream out = new ChunkOutputStream(store, id, chunkSize);
      if (streamed) {
        ((StreamingSerializer) serializer).write(snapshot, out);
      } else {
        out.write(bytes);
      }
      long size = out.finish();
      await(store.writeWhenRoom(c -> {
        complete(c, id, metadata, size);
        return (Void) null;
      }));
      log.debug("snapshot {} of {}: {} bytes in {} chunks in {} ms", metadata.sequenceNr(), metadata.persistenceId(),
          size, out.chunks(), (System.nanoTime() - start) / 1_000_000);
    } catch (Exception e) {
      // If this fails too (the journal closed), the next save or the next open removes what is left.
      store.write(c -> {
        deleteIncomplete(c, id);
        return (Void) null;
      });
      throw e;
    }
  }

  /** A size that marks a snapshot whose chunks are still being written. */
  private static final long INCOMPLETE = -1;

  private static long insert(Connection c, SnapshotMetadata metadata, long sequenceNr, int serializerId,
      String manifest, boolean streamed, long size) throws SQLException {
    try (PreparedStatement insert = c.prepareStatement("INSERT INTO snapshot (persistence_id, sequence_nr, created,"
        + " ser_id, ser_manifest, streamed, size) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")) {
      insert.setString(1, metadata.persistenceId());
      insert.setLong(2, sequenceNr);
      insert.setLong(3, metadata.timestamp());
      insert.setInt(4, serializerId);
      insert.setString(5, manifest);
      insert.setInt(6, streamed ? 1 : 0);
      insert.setLong(7, size);
      try (ResultSet rs = insert.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static long maxId(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      return SqliteFile.single(s, "SELECT coalesce(max(id), 0) FROM snapshot");
    }
  }

  /** Replaces the complete snapshot with this one's sequence number, if any, by this one, all its chunks written. */
  private static void complete(Connection c, long id, SnapshotMetadata metadata, long size) throws SQLException {
    delete(c, "persistence_id = ? AND sequence_nr = ?", metadata.persistenceId(), metadata.sequenceNr());
    try (PreparedStatement update = c.prepareStatement(
        "UPDATE snapshot SET sequence_nr = ?, size = ? WHERE id = ? AND size = " + INCOMPLETE)) {
      update.setLong(1, metadata.sequenceNr());
      update.setLong(2, size);
      update.setLong(3, id);
      if (update.executeUpdate() != 1) {
        // its queue was deleted meanwhile, or the file was checked and opened again: both remove
        // snapshots being saved
        throw new IllegalStateException("snapshot " + metadata.sequenceNr() + " of " + metadata.persistenceId()
            + " was removed while it was being saved");
      }
    }
  }

  /** Deletes snapshot {@code id} unless it completed, and its chunks, also those written after its row went. */
  private static void deleteIncomplete(Connection c, long id) throws SQLException {
    for (String sql : new String[] {
        "DELETE FROM snapshot_chunk WHERE snapshot_id = ? AND NOT EXISTS"
            + " (SELECT 1 FROM snapshot WHERE id = snapshot_chunk.snapshot_id AND size >= 0)",
        "DELETE FROM snapshot WHERE id = ? AND size < 0"}) {
      try (PreparedStatement delete = c.prepareStatement(sql)) {
        delete.setLong(1, id);
        delete.executeUpdate();
      }
    }
  }

  /** Deletes the snapshots of {@code persistenceId} being saved, and their chunks. */
  private static void removeIncomplete(Connection c, String persistenceId) throws SQLException {
    for (String sql : new String[] {
        "DELETE FROM snapshot_chunk WHERE snapshot_id IN"
            + " (SELECT id FROM snapshot WHERE persistence_id = ? AND size < 0)",
        "DELETE FROM snapshot WHERE persistence_id = ? AND size < 0"}) {
      try (PreparedStatement delete = c.prepareStatement(sql)) {
        delete.setString(1, persistenceId);
        delete.executeUpdate();
      }
    }
  }

  /**
   * Removes every snapshot whose save did not finish, and its chunks: the store has one snapshot
   * thread, so when a save starts or the file is opened no other save is under way, and such a
   * snapshot was left by a crash or a failed save. Returns how many there were.
   */
  static int removeIncomplete(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.executeUpdate("DELETE FROM snapshot_chunk WHERE snapshot_id IN (SELECT id FROM snapshot WHERE size < 0)");
      // chunks a save wrote after its queue's deletion removed its row, left by a crash before it ended
      s.executeUpdate("DELETE FROM snapshot_chunk WHERE snapshot_id NOT IN (SELECT id FROM snapshot)");
      return s.executeUpdate("DELETE FROM snapshot WHERE size < 0");
    }
  }

  private static <T> T await(CompletableFuture<T> f) throws Exception {
    try {
      return f.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  @Override
  public Future<Void> doDeleteAsync(SnapshotMetadata metadata) {
    if (store == null) {
      return SqliteJournal.Futures.failed(configurationError);
    }
    return FutureConverters.asScala(store.write(c -> {
      delete(c, "persistence_id = ? AND sequence_nr = ?", metadata.persistenceId(), metadata.sequenceNr());
      return (Void) null;
    }));
  }

  @Override
  public Future<Void> doDeleteAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
    if (store == null) {
      return SqliteJournal.Futures.failed(configurationError);
    }
    return FutureConverters.asScala(store.write(c -> {
      delete(c, "persistence_id = ? AND sequence_nr BETWEEN ? AND ? AND created BETWEEN ? AND ?", persistenceId,
          criteria.minSequenceNr(), criteria.maxSequenceNr(), criteria.minTimestamp(), criteria.maxTimestamp());
      if (criteria.maxSequenceNr() == Long.MAX_VALUE && criteria.maxTimestamp() == Long.MAX_VALUE) {
        // Everything up to the latest: its queue was deleted. A snapshot still being saved goes too,
        // or it would complete after this deletion and stay for good; its save then fails.
        removeIncomplete(c, persistenceId);
      }
      return (Void) null;
    }));
  }

  /** Deletes the complete snapshots that match {@code where}: one being saved is not Pekko's yet. */
  private static void delete(Connection c, String where, Object... parameters) throws SQLException {
    String complete = "(" + where + ") AND size >= 0";
    for (String sql : new String[] {
        "DELETE FROM snapshot_chunk WHERE snapshot_id IN (SELECT id FROM snapshot WHERE " + complete + ")",
        "DELETE FROM snapshot WHERE " + complete}) {
      try (PreparedStatement delete = c.prepareStatement(sql)) {
        for (int i = 0; i < parameters.length; i++) {
          delete.setObject(i + 1, parameters[i]);
        }
        delete.executeUpdate();
      }
    }
  }
}

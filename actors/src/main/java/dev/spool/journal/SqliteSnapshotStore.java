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
 * is a row of metadata and its bytes in rows of {@code snapshot-chunk-size}, written in one
 * transaction. A snapshot whose serializer is a {@link StreamingSerializer} that streams it (a
 * queue's backlog) is written through an output stream over the chunk rows and read through an
 * input stream over them, so it is never one byte array, however large; others are serialized as
 * usual. Like the journal, the constructor never fails and the file opens on first use.
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
        + " AND created BETWEEN ? AND ? ORDER BY sequence_nr DESC")) {
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
    boolean streamed = serializer instanceof StreamingSerializer s && s.streams(snapshot);
    int chunkSize = store.settings().chunkSize();
    return FutureConverters.asScala(store.write(c -> {
      delete(c, "persistence_id = ? AND sequence_nr = ?", metadata.persistenceId(), metadata.sequenceNr());
      long id;
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO snapshot (persistence_id, sequence_nr, created,"
          + " ser_id, ser_manifest, streamed, size) VALUES (?, ?, ?, ?, ?, ?, 0) RETURNING id")) {
        insert.setString(1, metadata.persistenceId());
        insert.setLong(2, metadata.sequenceNr());
        insert.setLong(3, metadata.timestamp());
        insert.setInt(4, serializer.identifier());
        insert.setString(5, manifest);
        insert.setInt(6, streamed ? 1 : 0);
        try (ResultSet rs = insert.executeQuery()) {
          rs.next();
          id = rs.getLong(1);
        }
      }
      ChunkOutputStream out = new ChunkOutputStream(c, id, chunkSize);
      if (streamed) {
        ((StreamingSerializer) serializer).write(snapshot, out);
      } else {
        out.write(serializer.toBinary(snapshot));
      }
      long size = out.finish();
      try (PreparedStatement update = c.prepareStatement("UPDATE snapshot SET size = ? WHERE id = ?")) {
        update.setLong(1, size);
        update.setLong(2, id);
        update.executeUpdate();
      }
      return (Void) null;
    }));
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
      return (Void) null;
    }));
  }

  private static void delete(Connection c, String where, Object... parameters) throws SQLException {
    for (String sql : new String[] {
        "DELETE FROM snapshot_chunk WHERE snapshot_id IN (SELECT id FROM snapshot WHERE " + where + ")",
        "DELETE FROM snapshot WHERE " + where}) {
      try (PreparedStatement delete = c.prepareStatement(sql)) {
        for (int i = 0; i < parameters.length; i++) {
          delete.setObject(i + 1, parameters[i]);
        }
        delete.executeUpdate();
      }
    }
  }
}

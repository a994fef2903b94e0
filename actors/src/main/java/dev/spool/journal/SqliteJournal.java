package dev.spool.journal;

import com.typesafe.config.Config;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.persistence.journal.japi.AsyncWriteJournal;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import scala.concurrent.Future;
import scala.jdk.javaapi.CollectionConverters;
import scala.jdk.javaapi.FutureConverters;

/**
 * A Pekko persistence journal in one SQLite file ({@link SqliteStore}): events are rows of
 * (persistence id, sequence number, Pekko serializer id, manifest, bytes), written by the store's
 * single writer thread with group commit, replayed by its reader thread.
 *
 * <p>The plugin actor only serializes events (so that a serialization failure rejects its own
 * write and nothing else) and hands work to the store; it never waits for the database. Its
 * constructor never fails: a journal whose file cannot be opened fails each operation instead,
 * and opens it again on the next.
 */
public final class SqliteJournal extends AsyncWriteJournal {

  private final Serialization serialization = SerializationExtension.get(context().system());
  private final SqliteStore store;
  private final RuntimeException configurationError;

  public SqliteJournal(Config config) {
    SqliteStore s = null;
    RuntimeException error = null;
    try {
      s = SqliteStores.get(context().system()).forPlugin(config);
    } catch (RuntimeException e) {
      error = new IllegalArgumentException("the SQLite journal is misconfigured: " + e.getMessage(), e);
    }
    this.store = s;
    this.configurationError = error;
  }

  private record Row(String persistenceId, long sequenceNr, String writerUuid, long timestamp, String adapterManifest,
      int serializerId, String serializerManifest, byte[] payload) {}

  @Override
  public Future<Iterable<Optional<Exception>>> doAsyncWriteMessages(Iterable<AtomicWrite> messages) {
    if (store == null) {
      return Futures.failed(configurationError);
    }
    List<Optional<Exception>> results = new ArrayList<>();
    List<Row> rows = new ArrayList<>();
    long now = System.currentTimeMillis();
    for (AtomicWrite write : messages) {
      List<Row> these = new ArrayList<>(write.size());
      try {
        for (PersistentRepr p : CollectionConverters.asJava(write.payload())) {
          Object event = p.payload() instanceof Tagged t ? t.payload() : p.payload();
          Serializer serializer = serialization.findSerializerFor(event);
          these.add(new Row(p.persistenceId(), p.sequenceNr(), p.writerUuid(), p.timestamp() > 0 ? p.timestamp() : now,
              p.manifest(), serializer.identifier(), Serializers.manifestFor(serializer, event),
              serializer.toBinary(event)));
        }
        rows.addAll(these);
        results.add(Optional.empty());
      } catch (Exception e) {
        results.add(Optional.of(e)); // rejected: the event is not stored, the other writes are
      }
    }
    if (rows.isEmpty()) {
      return Futures.successful(results);
    }
    return FutureConverters.asScala(store.write(c -> {
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO journal (persistence_id, sequence_nr,"
          + " writer_uuid, write_timestamp, adapter_manifest, ser_id, ser_manifest, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
        for (Row r : rows) {
          insert.setString(1, r.persistenceId());
          insert.setLong(2, r.sequenceNr());
          insert.setString(3, r.writerUuid());
          insert.setLong(4, r.timestamp());
          insert.setString(5, r.adapterManifest());
          insert.setInt(6, r.serializerId());
          insert.setString(7, r.serializerManifest());
          insert.setBytes(8, r.payload());
          insert.executeUpdate();
        }
      }
      return (Iterable<Optional<Exception>>) results;
    }));
  }

  @Override
  public Future<Void> doAsyncDeleteMessagesTo(String persistenceId, long toSequenceNr) {
    if (store == null) {
      return Futures.failed(configurationError);
    }
    return FutureConverters.asScala(store.write(c -> {
      long highest;
      try (PreparedStatement max = c.prepareStatement("SELECT max(sequence_nr) FROM journal WHERE persistence_id = ?")) {
        max.setString(1, persistenceId);
        try (ResultSet rs = max.executeQuery()) {
          highest = rs.next() ? rs.getLong(1) : 0;
        }
      }
      long to = Math.min(toSequenceNr, highest);
      if (to <= 0) {
        return null;
      }
      try (PreparedStatement delete = c.prepareStatement(
          "DELETE FROM journal WHERE persistence_id = ? AND sequence_nr <= ?")) {
        delete.setString(1, persistenceId);
        delete.setLong(2, to);
        delete.executeUpdate();
      }
      // The highest sequence number stays readable after its event is deleted: a new event must not reuse it.
      try (PreparedStatement mark = c.prepareStatement("INSERT INTO journal_deleted (persistence_id, deleted_to)"
          + " VALUES (?, ?) ON CONFLICT (persistence_id) DO UPDATE SET deleted_to = max(deleted_to, excluded.deleted_to)")) {
        mark.setString(1, persistenceId);
        mark.setLong(2, to);
        mark.executeUpdate();
      }
      return null;
    }));
  }

  @Override
  public Future<Void> doAsyncReplayMessages(String persistenceId, long fromSequenceNr, long toSequenceNr, long max,
      Consumer<PersistentRepr> replayCallback) {
    if (store == null) {
      return Futures.failed(configurationError);
    }
    if (max <= 0 || toSequenceNr < fromSequenceNr) {
      return Futures.successful(null);
    }
    return FutureConverters.asScala(store.read(c -> {
      try (PreparedStatement select = c.prepareStatement("SELECT sequence_nr, writer_uuid, write_timestamp,"
          + " adapter_manifest, ser_id, ser_manifest, payload FROM journal WHERE persistence_id = ?"
          + " AND sequence_nr BETWEEN ? AND ? ORDER BY sequence_nr LIMIT ?")) {
        select.setString(1, persistenceId);
        select.setLong(2, fromSequenceNr);
        select.setLong(3, toSequenceNr);
        select.setLong(4, max);
        try (ResultSet rs = select.executeQuery()) {
          while (rs.next()) { // one row at a time: a replay never holds the whole journal
            Object event = serialization.deserialize(rs.getBytes(7), rs.getInt(5), rs.getString(6)).get();
            replayCallback.accept(PersistentRepr.apply(event, rs.getLong(1), persistenceId, rs.getString(4), false,
                ActorRef.noSender(), rs.getString(2)).withTimestamp(rs.getLong(3)));
          }
        }
      }
      return (Void) null;
    }));
  }

  @Override
  public Future<Long> doAsyncReadHighestSequenceNr(String persistenceId, long fromSequenceNr) {
    if (store == null) {
      return Futures.failed(configurationError);
    }
    return FutureConverters.asScala(store.read(c -> {
      try (PreparedStatement select = c.prepareStatement("SELECT max(coalesce((SELECT max(sequence_nr) FROM journal"
          + " WHERE persistence_id = ?1), 0), coalesce((SELECT deleted_to FROM journal_deleted"
          + " WHERE persistence_id = ?1), 0))")) {
        select.setString(1, persistenceId);
        try (ResultSet rs = select.executeQuery()) {
          return rs.next() ? rs.getLong(1) : 0L;
        }
      }
    }));
  }

  /** Completed Scala futures, without an execution context. */
  static final class Futures {
    private Futures() {}

    static <T> Future<T> successful(T value) {
      return FutureConverters.asScala(CompletableFuture.completedFuture(value));
    }

    static <T> Future<T> failed(Throwable t) {
      return FutureConverters.asScala(CompletableFuture.<T>failedFuture(t));
    }
  }
}

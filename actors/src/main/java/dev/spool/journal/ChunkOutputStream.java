package dev.spool.journal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.sql.PreparedStatement;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Writes a snapshot as rows of {@code chunkSize} bytes into {@code snapshot_chunk}, each row in a
 * write operation of its own, so that the writer commits other writes between two chunks. Runs on
 * the store's snapshot thread: a full chunk is handed to the writer and the stream goes on filling
 * a second buffer, then waits for that first chunk to commit before handing over the next, so at
 * most two chunks are in memory and one is in flight.
 */
final class ChunkOutputStream extends OutputStream {

  private final SqliteStore store;
  private final long snapshotId;
  private byte[] buffer;
  private byte[] spare; // the buffer of the chunk in flight, free again once it is written
  private CompletableFuture<Void> inFlight;
  private int filled;
  private int chunks;
  private long size;

  ChunkOutputStream(SqliteStore store, long snapshotId, int chunkSize) {
    this.store = store;
    this.snapshotId = snapshotId;
    this.buffer = new byte[chunkSize];
  }

  @Override
  public void write(int b) throws IOException {
    if (filled == buffer.length) {
      flushChunk();
    }
    buffer[filled++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      if (filled == buffer.length) {
        flushChunk();
      }
      int n = Math.min(len, buffer.length - filled);
      System.arraycopy(b, off, buffer, filled, n);
      filled += n;
      off += n;
      len -= n;
    }
  }

  private void flushChunk() throws IOException {
    byte[] bytes = filled == buffer.length ? buffer : Arrays.copyOf(buffer, filled);
    int chunk = chunks;
    CompletableFuture<Void> written;
    try {
      written = store.writeWhenRoom(c -> {
        try (PreparedStatement insert = c.prepareStatement(
            "INSERT INTO snapshot_chunk (snapshot_id, chunk, bytes) VALUES (?, ?, ?)")) {
          insert.setLong(1, snapshotId);
          insert.setInt(2, chunk);
          insert.setBytes(3, bytes);
          insert.executeUpdate();
        }
        return null;
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while saving a snapshot");
    }
    awaitInFlight();
    inFlight = written;
    byte[] free = spare;
    spare = buffer;
    buffer = free != null ? free : new byte[buffer.length];
    chunks++;
    size += filled;
    filled = 0;
  }

  private void awaitInFlight() throws IOException {
    if (inFlight == null) {
      return;
    }
    try {
      inFlight.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while saving a snapshot");
    } catch (ExecutionException e) {
      throw new IOException("a snapshot chunk was not written: " + e.getCause().getMessage(), e.getCause());
    } finally {
      inFlight = null;
    }
  }

  /** Writes the last chunk and waits until every chunk is written; returns the snapshot's size in bytes. */
  long finish() throws IOException {
    if (filled > 0 || chunks == 0) {
      flushChunk();
    }
    awaitInFlight();
    return size;
  }

  /** Chunks handed to the writer so far. */
  int chunks() {
    return chunks;
  }
}

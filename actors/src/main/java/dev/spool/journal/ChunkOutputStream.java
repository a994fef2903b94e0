package dev.spool.journal;

import java.io.OutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.io.IOException;

/**
 * Writes a snapshot as rows of {@code chunkSize} bytes into {@code snapshot_chunk}, so that no more
 * than one chunk is ever in memory. Runs on the writer thread, inside its transaction.
 */
final class ChunkOutputStream extends OutputStream {

  private final PreparedStatement insert;
  private final long snapshotId;
  private final byte[] buffer;
  private int filled;
  private int chunks;
  private long size;

  ChunkOutputStream(Connection c, long snapshotId, int chunkSize) throws SQLException {
    this.insert = c.prepareStatement("INSERT INTO snapshot_chunk (snapshot_id, chunk, bytes) VALUES (?, ?, ?)");
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
    try {
      insert.setLong(1, snapshotId);
      insert.setInt(2, chunks);
      insert.setBytes(3, filled == buffer.length ? buffer : java.util.Arrays.copyOf(buffer, filled));
      insert.executeUpdate();
    } catch (SQLException e) {
      throw new IOException(e.getMessage(), e);
    }
    chunks++;
    size += filled;
    filled = 0;
  }

  /** Writes the last chunk; returns the snapshot's size in bytes. */
  long finish() throws IOException {
    if (filled > 0 || chunks == 0) {
      flushChunk();
    }
    try {
      insert.close();
    } catch (SQLException e) {
      throw new IOException(e.getMessage(), e);
    }
    return size;
  }
}

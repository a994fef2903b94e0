package dev.spool.journal;

import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Reads a snapshot's chunk rows in order, one chunk in memory at a time. Runs on the reader thread,
 * inside its read transaction; unsynchronized, as it has one reader.
 */
final class ChunkInputStream extends InputStream {

  private final PreparedStatement select;
  private final ResultSet rows;
  private byte[] chunk = new byte[0];
  private int position;
  private long read;

  ChunkInputStream(Connection c, long snapshotId) throws SQLException {
    this.select = c.prepareStatement("SELECT bytes FROM snapshot_chunk WHERE snapshot_id = ? ORDER BY chunk");
    select.setLong(1, snapshotId);
    this.rows = select.executeQuery();
  }

  private boolean next() throws IOException {
    try {
      while (position == chunk.length) {
        if (!rows.next()) {
          return false;
        }
        chunk = rows.getBytes(1);
        position = 0;
      }
      return true;
    } catch (SQLException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  @Override
  public int read() throws IOException {
    if (!next()) {
      return -1;
    }
    read++;
    return chunk[position++] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (!next()) {
      return -1;
    }
    int n = Math.min(len, chunk.length - position);
    System.arraycopy(chunk, position, b, off, n);
    position += n;
    read += n;
    return n;
  }

  /** Bytes read so far. */
  long bytesRead() {
    return read;
  }

  @Override
  public void close() throws IOException {
    try {
      rows.close();
      select.close();
    } catch (SQLException e) {
      throw new IOException(e.getMessage(), e);
    }
  }
}

package dev.spool.storage;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** How a {@link SegmentRow} maps to the columns of both segment stores' tables, in one place. */
final class SegmentColumns {

  /** Every column but the data, in the order {@link #bind} and {@link #read} use; the data comes last. */
  static final String COLUMNS = "queue_id, segment, count, codec, key_id, checksum, idx";

  private SegmentColumns() {}

  /** Binds {@code row}, its data included, to parameters 1 to 8 of an insert of {@link #COLUMNS} and data. */
  static void bind(PreparedStatement p, SegmentRow row) throws SQLException {
    p.setString(1, row.queueId());
    p.setLong(2, row.segment());
    p.setInt(3, row.count());
    p.setInt(4, row.codec());
    p.setString(5, row.keyId());
    p.setLong(6, row.checksum());
    p.setBytes(7, row.index());
    p.setBytes(8, row.data());
  }

  /** The row at {@code rs}, selected as {@link #COLUMNS} (and data), with {@code data}. */
  static SegmentRow read(ResultSet rs, byte[] data) throws SQLException {
    return new SegmentRow(rs.getString(1), rs.getLong(2), rs.getInt(3), rs.getBytes(7), rs.getInt(4),
        rs.getString(5), rs.getLong(6), data);
  }
}

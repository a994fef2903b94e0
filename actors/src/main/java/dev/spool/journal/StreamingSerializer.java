package dev.spool.journal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A Pekko serializer that can also write some objects to a stream and read them back from one, so
 * that a snapshot of a large backlog never exists as one byte array. {@link SqliteSnapshotStore}
 * uses it for the objects it {@link #streams streams}; everything else goes through the
 * serializer's ordinary {@code toBinary}. Both forms must be the same bytes.
 */
public interface StreamingSerializer {

  /** Whether {@code o} is better written by {@link #write} than as one byte array. */
  boolean streams(Object o);

  /** Writes {@code o} to {@code out}, the same bytes as {@code toBinary(o)}; does not close {@code out}. */
  void write(Object o, OutputStream out) throws IOException;

  /** Reads what {@link #write} wrote with this manifest. */
  Object read(InputStream in, String manifest) throws IOException;
}

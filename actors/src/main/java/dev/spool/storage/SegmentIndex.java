package dev.spool.storage;

import dev.spool.Message;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * What a queue keeps in memory of each message of a stored segment while its content is not
 * loaded: its sequence, accounted size, append time and own expiry, never a payload or a header.
 * Stored beside the segment's data ({@link SegmentRow#index()}), so recovery rebuilds a queue's cold
 * segments from the index alone, about 10 bytes a message, without reading the data.
 *
 * <p>Form: a version byte, the segment size it was written with, the count, the first message's
 * append time; then per message its slot
 * in the segment, its size, and as unsigned varints its time after the first and its expiry (0: none).
 */
public final class SegmentIndex {

  private static final int VERSION = 1;

  /** One segment's index, by message, ascending. */
  public record Entries(long[] sequences, int[] sizes, long[] timestamps, long[] expiries) {
    public int count() {
      return sequences.length;
    }
  }

  private SegmentIndex() {}

  /** The index of {@code messages}, all of segment {@code segment} of a log of {@code segmentSize}. */
  public static byte[] encode(long segment, int segmentSize, List<Message> messages) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 + messages.size() * 10);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      out.writeInt(segmentSize);
      out.writeInt(messages.size());
      long base = messages.isEmpty() ? 0 : messages.get(0).timestamp();
      out.writeLong(base);
      long first = segment * segmentSize + 1;
      for (Message m : messages) {
        long slot = m.sequence() - first;
        if (slot < 0 || slot >= segmentSize) {
          throw new IllegalArgumentException("sequence " + m.sequence() + " is not in segment " + segment);
        }
        out.writeInt((int) slot);
        out.writeInt(m.sizeBytes());
        writeVarLong(out, Math.max(0, m.timestamp() - base));
        writeVarLong(out, m.expiresAtMillis());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
    return bytes.toByteArray();
  }

  /**
   * Reads an index of segment {@code segment}.
   *
   * @throws IllegalArgumentException if it is damaged
   */
  public static Entries decode(long segment, int segmentSize, byte[] index) {
    // A ByteBuffer, not a DataInputStream: recovery decodes one index per stored segment, about ten
    // bytes a message, and reads each field without a stream's locking and virtual calls.
    ByteBuffer in = ByteBuffer.wrap(index);
    try {
      int version = in.get() & 0xFF;
      if (version != VERSION) {
        throw new IllegalArgumentException("unknown segment index version " + version);
      }
      int writtenWith = in.getInt();
      if (writtenWith != segmentSize) {
        throw new IllegalArgumentException("segment " + segment + " was stored in segments of " + writtenWith
            + " messages, but spool.segment-size is " + segmentSize + " now: set it back to " + writtenWith
            + " (a persistent queue's stored segments keep the size they were written with)");
      }
      int count = in.getInt();
      if (count < 0 || count > segmentSize) {
        throw new IllegalArgumentException("segment index of " + count + " messages in segments of " + segmentSize);
      }
      long base = in.getLong();
      long first = segment * segmentSize + 1;
      long[] sequences = new long[count];
      int[] sizes = new int[count];
      long[] timestamps = new long[count];
      long[] expiries = new long[count];
      for (int i = 0; i < count; i++) {
        int slot = in.getInt();
        if (slot < 0 || slot >= segmentSize || i > 0 && first + slot <= sequences[i - 1]) {
          throw new IllegalArgumentException("segment index out of order at entry " + i);
        }
        sequences[i] = first + slot;
        sizes[i] = in.getInt();
        timestamps[i] = base + readVarLong(in);
        expiries[i] = readVarLong(in);
      }
      return new Entries(sequences, sizes, timestamps, expiries);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("segment index is truncated", e);
    }
  }

  private static void writeVarLong(DataOutputStream out, long value) throws IOException {
    while ((value & ~0x7FL) != 0) {
      out.writeByte((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.writeByte((int) value);
  }

  private static long readVarLong(ByteBuffer in) {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      int b = in.get() & 0xFF;
      value |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
    throw new IllegalArgumentException("segment index has a varint too long");
  }
}

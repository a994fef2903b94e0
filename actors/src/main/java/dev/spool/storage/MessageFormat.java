package dev.spool.storage;

import dev.spool.Message;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * The compact binary form of a run of messages, shared by the journal (events and snapshots) and
 * sealed segments: a message that shares its envelope (type, key, headers, producer …) with the
 * one before costs its flags, sequence, time and payload only. Stateless and thread-safe.
 *
 * <p>A message with a delivery time or a priority carries the {@code SCHEDULED} flag and both
 * fields after its id (journal format QE4/QS4, segment codec 2); what was written before them never
 * sets that flag, so it reads back unchanged, with neither.
 */
public final class MessageFormat {

  private static final int SAME_ENVELOPE = 1;
  private static final int CHOSEN_ID = 2;
  private static final int SCHEDULED = 4;

  private MessageFormat() {}

  /** Writes {@code messages}: their count, then each one. */
  public static void writeMessages(DataOutput out, List<Message> messages) throws IOException {
    out.writeInt(messages.size());
    Message previous = null;
    for (Message m : messages) {
      boolean chosenId = m.hasProducerId();
      boolean same = previous != null && sameEnvelope(previous, m);
      boolean scheduled = m.deliverAtMillis() != 0 || m.priority() != 0;
      out.writeByte((same ? SAME_ENVELOPE : 0) | (chosenId ? CHOSEN_ID : 0) | (scheduled ? SCHEDULED : 0));
      out.writeLong(m.sequence());
      out.writeLong(m.timestamp());
      if (!same) {
        writeString(out, m.producerId());
        writeString(out, m.type());
        writeString(out, m.key().orElse(null));
        writeString(out, m.contentType().orElse(null));
        Map<String, String> headers = m.headers();
        out.writeInt(headers.size());
        for (Map.Entry<String, String> h : headers.entrySet()) {
          writeString(out, h.getKey());
          writeString(out, h.getValue());
        }
        out.writeLong(m.expiresAtMillis());
        out.writeLong(m.idSeed());
      }
      if (chosenId) {
        out.writeLong(m.id().getMostSignificantBits());
        out.writeLong(m.id().getLeastSignificantBits());
      }
      if (scheduled) {
        out.writeLong(m.deliverAtMillis());
        out.writeByte(m.priority());
      }
      byte[] payload = m.payload();
      out.writeInt(payload.length);
      out.write(payload);
      previous = m;
    }
  }

  private static boolean sameEnvelope(Message a, Message b) {
    return a.idSeed() == b.idSeed() && a.expiresAtMillis() == b.expiresAtMillis()
        && Objects.equals(a.producerId(), b.producerId()) && a.type().equals(b.type())
        && a.key().equals(b.key()) && a.contentType().equals(b.contentType()) && a.headers().equals(b.headers());
  }

  /** Reads what {@link #writeMessages} wrote. */
  public static List<Message> readMessages(DataInput in) throws IOException {
    return readMessages(in, new ArrayList<>());
  }

  /**
   * Reads what {@link #writeMessages} wrote, appending to {@code into}: a list written in parts
   * reads back into one list.
   */
  public static List<Message> readMessages(DataInput in, List<Message> into) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("a negative message count (" + n + ")");
    }
    if (into instanceof ArrayList<Message> list) {
      list.ensureCapacity(into.size() + Math.min(n, 1 << 16));
    }
    Message previous = null;
    String producerId = null;
    String type = null;
    String key = null;
    String contentType = null;
    Map<String, String> headers = Map.of();
    long expiresAt = 0;
    long idSeed = 0;
    for (int i = 0; i < n; i++) {
      int flags = in.readByte();
      long sequence = in.readLong();
      long timestamp = in.readLong();
      if ((flags & SAME_ENVELOPE) == 0) {
        producerId = readString(in);
        type = readString(in);
        key = readString(in);
        contentType = readString(in);
        int headerCount = in.readInt();
        if (headerCount == 0) {
          headers = Map.of();
        } else {
          Map<String, String> h = new HashMap<>(headerCount * 2);
          for (int j = 0; j < headerCount; j++) {
            h.put(readString(in), readString(in));
          }
          headers = Collections.unmodifiableMap(h);
        }
        expiresAt = in.readLong();
        idSeed = in.readLong();
      } else if (previous == null) {
        throw new IOException("the first message of a run shares the envelope of none");
      }
      UUID id = (flags & CHOSEN_ID) != 0 ? new UUID(in.readLong(), in.readLong()) : null;
      long deliverAt = 0;
      int priority = 0;
      if ((flags & SCHEDULED) != 0) {
        deliverAt = in.readLong();
        priority = in.readByte();
        if (priority < 0 || priority > Message.MAX_PRIORITY) {
          throw new IOException("a message priority of " + priority);
        }
      }
      int length = in.readInt();
      if (length < 0) {
        throw new IOException("a negative payload length (" + length + ")");
      }
      byte[] payload = new byte[length];
      in.readFully(payload);
      Message m = Message.restored(sequence, timestamp, producerId, type, key, headers, contentType, payload, id,
          idSeed, expiresAt, deliverAt, priority, previous);
      into.add(m);
      previous = m;
    }
    return into;
  }

  /** A length-prefixed UTF-8 string; {@code null} as length -1. */
  public static void writeString(DataOutput out, String s) throws IOException {
    if (s == null) {
      out.writeInt(-1);
      return;
    }
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  /** What {@link #writeString} wrote. */
  public static String readString(DataInput in) throws IOException {
    int length = in.readInt();
    if (length < 0) {
      return null;
    }
    byte[] bytes = new byte[length];
    in.readFully(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}

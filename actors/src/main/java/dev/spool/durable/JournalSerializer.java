package dev.spool.durable;

import dev.spool.AckMode;
import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.Overflow;
import dev.spool.QueueSettings;
import dev.spool.StartPosition;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import dev.spool.journal.StreamingSerializer;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * The binary form of everything Spool journals. Hand-written rather than Jackson because a queue's
 * journal holds millions of messages and recovery reads them all: a message that shares its
 * envelope (type, key, headers, producer …) with the one before costs its sequence, time and
 * payload only. Every manifest carries a version, so the format can evolve. Snapshots are also
 * written to and read from streams ({@link StreamingSerializer}), the same bytes, so that a large
 * backlog is never one array.
 */
public final class JournalSerializer extends SerializerWithStringManifest implements StreamingSerializer {

  /** Registered with Pekko; must stay stable once data exists. */
  public static final int IDENTIFIER = 0x5370_6F6F; // "Spoo"

  static final String QUEUE_EVENT = "QE2";
  static final String QUEUE_SNAPSHOT = "QS2";
  /** Written before sealed segments and encryption: still read, never written. */
  static final String QUEUE_EVENT_V1 = "QE1";
  static final String QUEUE_SNAPSHOT_V1 = "QS1";
  static final String QUEUE_DEFINED = "RD1";
  static final String QUEUE_REMOVED = "RR1";
  static final String QUEUES = "RQ1";

  private static final int SAME_ENVELOPE = 1;
  private static final int CHOSEN_ID = 2;

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof QueueEvent) {
      return QUEUE_EVENT;
    }
    if (o instanceof QueueSnapshot) {
      return QUEUE_SNAPSHOT;
    }
    if (o instanceof RegistryEvent.QueueDefined) {
      return QUEUE_DEFINED;
    }
    if (o instanceof RegistryEvent.QueueRemoved) {
      return QUEUE_REMOVED;
    }
    if (o instanceof RegistryEvent.Queues) {
      return QUEUES;
    }
    throw new IllegalArgumentException("not journaled by Spool: " + o.getClass().getName());
  }

  /**
   * One exactly sized array: the form is written twice, first only to count its bytes. A growing
   * buffer would hold up to three times a large write at once (the doubled buffer and its trimmed
   * copy), heap that the memory accounting does not see; counting costs a pass over the fields but
   * copies no payload.
   */
  @Override
  public byte[] toBinary(Object o) {
    try {
      Counter counter = new Counter();
      write(o, counter);
      if (counter.count > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("a journal entry of " + counter.count + " bytes is too large for one array");
      }
      Exact exact = new Exact((int) counter.count);
      write(o, exact);
      return exact.bytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // neither stream fails
    }
  }

  /** Snapshots hold a queue's whole backlog: the snapshot store streams them rather than build one array. */
  @Override
  public boolean streams(Object o) {
    return o instanceof QueueSnapshot;
  }

  @Override
  public void write(Object o, OutputStream stream) throws IOException {
    Out out = new Out(stream);
    if (o instanceof QueueEvent e) {
      writeEvent(out, e);
    } else if (o instanceof QueueSnapshot s) {
      out.writeLong(s.lastWriteId());
      out.writeLong(s.lastSequence());
      writeMessages(out, s.messages());
      writeConsumers(out, s.consumers());
      writePositions(out, s.positions());
      out.writeInt(s.dedup().size());
      for (QueueSnapshot.DedupEntry d : s.dedup()) {
        out.writeLong(d.id().getMostSignificantBits());
        out.writeLong(d.id().getLeastSignificantBits());
        out.writeLong(d.sequence());
        out.writeLong(d.appendedAt());
      }
      out.writeLong(s.sealedThrough());
      out.writeLong(s.freedBelow());
      out.writeInt(s.removed().length);
      for (long r : s.removed()) {
        out.writeLong(r);
      }
      out.writeString(s.keyId());
    } else if (o instanceof RegistryEvent.QueueDefined d) {
      writeDefined(out, d);
    } else if (o instanceof RegistryEvent.QueueRemoved r) {
      out.writeString(r.name());
    } else if (o instanceof RegistryEvent.Queues q) {
      out.writeInt(q.queues().size());
      for (RegistryEvent.QueueDefined d : q.queues().values()) {
        writeDefined(out, d);
      }
    } else {
      throw new IllegalArgumentException("not journaled by Spool: " + o.getClass().getName());
    }
    out.flush();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try {
      return read(new Bytes(bytes), manifest);
    } catch (NotSerializableException e) {
      throw e;
    } catch (IOException e) {
      NotSerializableException failure = new NotSerializableException("a Spool journal entry (" + manifest
          + ") is truncated or damaged: " + e);
      failure.initCause(e);
      throw failure;
    }
  }

  @Override
  public Object read(InputStream stream, String manifest) throws IOException {
    DataInput in = new DataInputStream(stream);
    return switch (manifest) {
      case QUEUE_EVENT -> readEvent(in, true);
      case QUEUE_SNAPSHOT -> readSnapshot(in, true);
      case QUEUE_EVENT_V1 -> readEvent(in, false);
      case QUEUE_SNAPSHOT_V1 -> readSnapshot(in, false);
      case QUEUE_DEFINED -> readDefined(in);
      case QUEUE_REMOVED -> new RegistryEvent.QueueRemoved(readString(in));
      case QUEUES -> {
        int n = in.readInt();
        Map<String, RegistryEvent.QueueDefined> queues = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
          RegistryEvent.QueueDefined d = readDefined(in);
          queues.put(d.name(), d);
        }
        yield new RegistryEvent.Queues(queues);
      }
      default -> throw new NotSerializableException("unknown Spool journal manifest '" + manifest
          + "': written by a newer Spool?");
    };
  }

  // ---- queue events

  private static QueueSnapshot readSnapshot(DataInput in, boolean sealing) throws IOException {
    long lastWriteId = in.readLong();
    long lastSequence = in.readLong();
    List<Message> messages = readMessages(in);
    List<QueueEvent.ConsumerRecord> consumers = readConsumers(in);
    Map<String, ConsumerPosition> positions = readPositions(in);
    int n = in.readInt();
    List<QueueSnapshot.DedupEntry> dedup = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      dedup.add(new QueueSnapshot.DedupEntry(new UUID(in.readLong(), in.readLong()), in.readLong(), in.readLong()));
    }
    if (!sealing) {
      return new QueueSnapshot(lastWriteId, lastSequence, messages, consumers, positions, dedup);
    }
    long sealedThrough = in.readLong();
    long freedBelow = in.readLong();
    long[] removed = new long[in.readInt()];
    for (int i = 0; i < removed.length; i++) {
      removed[i] = in.readLong();
    }
    return new QueueSnapshot(lastWriteId, lastSequence, messages, consumers, positions, dedup, sealedThrough,
        freedBelow, removed, readString(in));
  }

  private static void writeEvent(Out out, QueueEvent e) throws IOException {
    out.writeLong(e.writeId());
    writeMessages(out, e.messages());
    writeConsumers(out, e.created());
    out.writeInt(e.deleted().size());
    for (String d : e.deleted()) {
      out.writeString(d);
    }
    writePositions(out, e.positions());
    out.writeInt(e.removed().length);
    for (long r : e.removed()) {
      out.writeLong(r);
    }
    out.writeLong(e.freedBelow());
    out.writeLong(e.sealedThrough());
    out.writeString(e.keyId());
  }

  private static QueueEvent readEvent(DataInput in, boolean sealing) throws IOException {
    long writeId = in.readLong();
    List<Message> messages = readMessages(in);
    List<QueueEvent.ConsumerRecord> created = readConsumers(in);
    int deletedCount = in.readInt();
    List<String> deleted = new ArrayList<>(deletedCount);
    for (int i = 0; i < deletedCount; i++) {
      deleted.add(readString(in));
    }
    Map<String, ConsumerPosition> positions = readPositions(in);
    long[] removed = new long[in.readInt()];
    for (int i = 0; i < removed.length; i++) {
      removed[i] = in.readLong();
    }
    long freedBelow = in.readLong();
    if (!sealing) {
      return new QueueEvent(writeId, messages, created, deleted, positions, removed, freedBelow);
    }
    return new QueueEvent(writeId, messages, created, deleted, positions, removed, freedBelow, in.readLong(),
        readString(in));
  }

  // ---- messages

  private static void writeMessages(Out out, List<Message> messages) throws IOException {
    out.writeInt(messages.size());
    Message previous = null;
    for (Message m : messages) {
      boolean chosenId = m.hasProducerId();
      boolean same = previous != null && sameEnvelope(previous, m);
      out.writeByte((same ? SAME_ENVELOPE : 0) | (chosenId ? CHOSEN_ID : 0));
      out.writeLong(m.sequence());
      out.writeLong(m.timestamp());
      if (!same) {
        out.writeString(m.producerId());
        out.writeString(m.type());
        out.writeString(m.key().orElse(null));
        out.writeString(m.contentType().orElse(null));
        Map<String, String> headers = m.headers();
        out.writeInt(headers.size());
        for (Map.Entry<String, String> h : headers.entrySet()) {
          out.writeString(h.getKey());
          out.writeString(h.getValue());
        }
        out.writeLong(m.expiresAtMillis());
        out.writeLong(m.idSeed());
      }
      if (chosenId) {
        out.writeLong(m.id().getMostSignificantBits());
        out.writeLong(m.id().getLeastSignificantBits());
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

  private static List<Message> readMessages(DataInput in) throws IOException {
    int n = in.readInt();
    List<Message> messages = new ArrayList<>(n);
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
      }
      UUID id = (flags & CHOSEN_ID) != 0 ? new UUID(in.readLong(), in.readLong()) : null;
      byte[] payload = new byte[in.readInt()];
      in.readFully(payload);
      Message m = Message.restored(sequence, timestamp, producerId, type, key, headers, contentType, payload, id,
          idSeed, expiresAt, previous);
      messages.add(m);
      previous = m;
    }
    return messages;
  }

  // ---- consumers

  private static void writeConsumers(Out out, List<QueueEvent.ConsumerRecord> consumers) throws IOException {
    out.writeInt(consumers.size());
    for (QueueEvent.ConsumerRecord c : consumers) {
      ConsumerSettings s = c.settings();
      out.writeString(s.name());
      out.writeString(s.startAt().toString());
      out.writeString(s.ackMode().name());
      out.writeInt(s.prefetch() == null ? -1 : s.prefetch());
      writeDuration(out, s.ackTimeout());
      out.writeInt(s.maxDeliveries() == null ? -1 : s.maxDeliveries());
      out.writeString(s.filter().type());
      out.writeInt(s.filter().headers().size());
      for (Map.Entry<String, String> h : s.filter().headers().entrySet()) {
        out.writeString(h.getKey());
        out.writeString(h.getValue());
      }
      Backoff b = s.backoff();
      out.writeBoolean(b != null);
      if (b != null) {
        writeDuration(out, b.initial());
        writeDuration(out, b.max());
        out.writeDouble(b.multiplier());
        out.writeDouble(b.jitter());
      }
      writeDuration(out, s.inactiveTimeout());
      out.writeLong(c.start());
    }
  }

  private static List<QueueEvent.ConsumerRecord> readConsumers(DataInput in) throws IOException {
    int n = in.readInt();
    List<QueueEvent.ConsumerRecord> consumers = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String name = readString(in);
      StartPosition startAt = StartPosition.parse(readString(in));
      AckMode ackMode = AckMode.valueOf(readString(in));
      int prefetch = in.readInt();
      Duration ackTimeout = readDuration(in);
      int maxDeliveries = in.readInt();
      String filterType = readString(in);
      int filterHeaders = in.readInt();
      Map<String, String> headers = new HashMap<>();
      for (int j = 0; j < filterHeaders; j++) {
        headers.put(readString(in), readString(in));
      }
      Backoff backoff = in.readByte() != 0
          ? new Backoff(readDuration(in), readDuration(in), in.readDouble(), in.readDouble())
          : null;
      Duration inactiveTimeout = readDuration(in);
      ConsumerSettings settings = new ConsumerSettings(name, startAt, ackMode, prefetch < 0 ? null : prefetch,
          ackTimeout, maxDeliveries < 0 ? null : maxDeliveries, new MessageFilter(filterType, headers), backoff,
          inactiveTimeout);
      consumers.add(new QueueEvent.ConsumerRecord(settings, in.readLong()));
    }
    return consumers;
  }

  private static void writePositions(Out out, Map<String, ConsumerPosition> positions) throws IOException {
    out.writeInt(positions.size());
    for (Map.Entry<String, ConsumerPosition> e : positions.entrySet()) {
      ConsumerPosition p = e.getValue();
      out.writeString(e.getKey());
      out.writeLong(p.next());
      out.writeBoolean(p.paused());
      out.writeInt(p.unsettled().length);
      for (int i = 0; i < p.unsettled().length; i++) {
        out.writeLong(p.unsettled()[i]);
        out.writeInt(p.attempts()[i]);
      }
    }
  }

  private static Map<String, ConsumerPosition> readPositions(DataInput in) throws IOException {
    int n = in.readInt();
    Map<String, ConsumerPosition> positions = new HashMap<>(n * 2);
    for (int i = 0; i < n; i++) {
      String consumer = readString(in);
      long next = in.readLong();
      boolean paused = in.readByte() != 0;
      int count = in.readInt();
      long[] unsettled = new long[count];
      int[] attempts = new int[count];
      for (int j = 0; j < count; j++) {
        unsettled[j] = in.readLong();
        attempts[j] = in.readInt();
      }
      positions.put(consumer, new ConsumerPosition(next, unsettled, attempts, paused));
    }
    return positions;
  }

  // ---- the registry

  private static void writeDefined(Out out, RegistryEvent.QueueDefined d) throws IOException {
    QueueSettings s = d.settings();
    out.writeString(d.name());
    out.writeString(d.incarnation());
    out.writeLong(d.idSeed());
    out.writeString(s.durability().name());
    out.writeLong(s.maxLength());
    out.writeLong(s.maxBytes());
    out.writeString(s.overflow().name());
    writeDuration(out, s.ttl());
    writeDuration(out, s.retention());
    out.writeString(s.deadLetter() == null ? null : s.deadLetter().queue());
    out.writeInt(s.deadLetter() == null ? 0 : s.deadLetter().maxDeliveries());
    writeDuration(out, s.dedupWindow());
  }

  private static RegistryEvent.QueueDefined readDefined(DataInput in) throws IOException {
    String name = readString(in);
    String incarnation = readString(in);
    long idSeed = in.readLong();
    Durability durability = Durability.valueOf(readString(in));
    long maxLength = in.readLong();
    long maxBytes = in.readLong();
    Overflow overflow = Overflow.valueOf(readString(in));
    Duration ttl = readDuration(in);
    Duration retention = readDuration(in);
    String deadLetterQueue = readString(in);
    int maxDeliveries = in.readInt();
    Duration dedupWindow = readDuration(in);
    QueueSettings settings = new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention,
        deadLetterQueue == null ? null : new QueueSettings.DeadLetter(deadLetterQueue, maxDeliveries), dedupWindow);
    return new RegistryEvent.QueueDefined(name, settings, incarnation, idSeed);
  }

  // ---- primitives

  private static void writeDuration(Out out, Duration d) throws IOException {
    out.writeLong(d == null ? -1 : d.toNanos());
  }

  private static Duration readDuration(DataInput in) throws IOException {
    long nanos = in.readLong();
    return nanos < 0 ? null : Duration.ofNanos(nanos);
  }

  private static String readString(DataInput in) throws IOException {
    int length = in.readInt();
    if (length < 0) {
      return null;
    }
    byte[] bytes = new byte[length];
    in.readFully(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** An output with length-prefixed, nullable UTF-8 strings. */
  private static final class Out extends DataOutputStream {
    Out(OutputStream out) {
      super(out);
    }

    void writeString(String s) throws IOException {
      if (s == null) {
        writeInt(-1);
        return;
      }
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      writeInt(bytes.length);
      write(bytes);
    }
  }

  /** Counts what is written to it. */
  private static final class Counter extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }

  /** Writes into an array of a size counted before. */
  private static final class Exact extends OutputStream {
    private final byte[] bytes;
    private int position;

    Exact(int size) {
      bytes = new byte[size];
    }

    @Override
    public void write(int b) {
      bytes[position++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      System.arraycopy(b, off, bytes, position, len);
      position += len;
    }

    /** The array, once it is filled: the second pass wrote what the first counted, or the object changed between. */
    byte[] bytes() {
      if (position != bytes.length) {
        throw new IllegalStateException("a journal entry changed while it was serialized (" + bytes.length
            + " bytes counted, " + position + " written)");
      }
      return bytes;
    }
  }

  /** A byte array as a stream, without the locking of ByteArrayInputStream: recovery reads millions of fields. */
  private static final class Bytes extends InputStream {
    private final byte[] bytes;
    private int position;

    Bytes(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    public int read() {
      return position < bytes.length ? bytes[position++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (len == 0) {
        return 0;
      }
      int n = Math.min(len, bytes.length - position);
      if (n <= 0) {
        return -1;
      }
      System.arraycopy(bytes, position, b, off, n);
      position += n;
      return n;
    }
  }
}

package dev.spool.durable;

import dev.spool.AckMode;
import dev.spool.Backoff;
import dev.spool.Compression;
import dev.spool.ConsumerSettings;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.FilterExpression;
import dev.spool.MessageFilter;
import dev.spool.PushSettings;
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
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Supplier;
import dev.spool.journal.StreamingSerializer;
import dev.spool.storage.ByteInput;
import dev.spool.storage.GcmCipher;
import dev.spool.storage.KeyRing;
import dev.spool.storage.MessageFormat;
import javax.crypto.AEADBadTagException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * The binary form of everything Spool journals. Hand-written rather than Jackson because a queue's
 * journal holds millions of messages and recovery reads them all: a message that shares its
 * envelope (type, key, headers, producer …) with the one before costs its sequence, time and
 * payload only. Every manifest carries a version, so the format can evolve. Snapshots are also
 * written to and read from streams ({@link StreamingSerializer}), the same bytes, so that a large
 * backlog is never one array.
 *
 * <p>The messages of an encrypted queue's events and snapshots (payloads, headers and every other
 * field of them) are written as AES-256-GCM frames ({@link GcmCipher}) under the queue's key from
 * the {@link KeyRing}, so that none of their plaintext reaches the database. A frame holds about
 * {@link #FRAME_BYTES} of messages, so a snapshot is still streamed rather than encrypted whole;
 * each frame's associated data binds the manifest, key id and frame position.
 */
public final class JournalSerializer extends SerializerWithStringManifest implements StreamingSerializer {

  /** Registered with Pekko; must stay stable once data exists. */
  public static final int IDENTIFIER = 0x5370_6F6F; // "Spoo"

  static final String QUEUE_EVENT = "QE5";
  static final String QUEUE_SNAPSHOT = "QS4";
  /**
   * Written before push consumers and before messages carried a delivery time and a priority: still
   * read, never written. The fields around the messages are those of QE4/QS4 but for each consumer's
   * push, and its messages never set the flag that adds the new fields.
   */
  static final String QUEUE_EVENT_V3 = "QE3";
  /** Written before writes were chained (each names the write it follows and the last confirmed): still read, never written. */
  static final String QUEUE_EVENT_V4 = "QE4";
  static final String QUEUE_SNAPSHOT_V3 = "QS3";
  /** Written before filter expressions and exclusive consumers: still read, never written. */
  static final String QUEUE_EVENT_V2 = "QE2";
  static final String QUEUE_SNAPSHOT_V2 = "QS2";
  /**
   * What encrypted message frames' associated data names them by: the section as first written,
   * which later versions of the fields around it leave unchanged.
   */
  private static final String EVENT_FRAMES = "QE2";
  private static final String SNAPSHOT_FRAMES = "QS2";
  /** Written before sealed segments and encryption: still read, never written. */
  static final String QUEUE_EVENT_V1 = "QE1";
  static final String QUEUE_SNAPSHOT_V1 = "QS1";
  static final String QUEUE_DEFINED = "RD4";
  static final String QUEUES = "RQ4";
  /** Written before priorities: still read, never written. */
  static final String QUEUE_DEFINED_V3 = "RD3";
  static final String QUEUES_V3 = "RQ3";
  /** Written before partitions: still read, never written. */
  static final String QUEUE_DEFINED_V2 = "RD2";
  static final String QUEUES_V2 = "RQ2";
  /** Written before compression and encryption settings: still read, never written. */
  static final String QUEUE_DEFINED_V1 = "RD1";
  static final String QUEUES_V1 = "RQ1";
  static final String QUEUE_REMOVED = "RR1";

  /**
   * Bytes of messages per encrypted frame (a frame ends with the message that reaches it): large
   * enough that the bytes a frame adds (its length and {@link GcmCipher#OVERHEAD}) are nothing,
   * small enough that reading a snapshot holds one frame at a time, not the snapshot.
   */
  static final int FRAME_BYTES = 1 << 20;

  private final Supplier<KeyRing> keys;

  /** A serializer without keys: it reads and writes everything but encrypted queues' messages. */
  public JournalSerializer() {
    this(KeyRing.empty());
  }

  /** A serializer encrypting and decrypting with {@code keys}. */
  public JournalSerializer(KeyRing keys) {
    this.keys = () -> keys;
  }

  /**
   * The constructor Pekko calls: the system's {@link KeyRing}, looked up when an encrypted queue's
   * messages are first written or read, not while serialization itself is being set up.
   */
  public JournalSerializer(ExtendedActorSystem system) {
    this.keys = () -> KeyRing.get(system);
  }

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
    Out out = new Out(stream, stream instanceof Counter counter ? counter : null);
    if (o instanceof QueueEvent e) {
      writeEvent(out, e);
    } else if (o instanceof QueueSnapshot s) {
      out.writeLong(s.lastWriteId());
      out.writeLong(s.lastSequence());
      out.writeString(s.keyId());
      writeMessageSection(out, s.messages(), SNAPSHOT_FRAMES, s.keyId());
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
      return read(new ByteInput(bytes), manifest);
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
      case QUEUE_EVENT -> readEvent(in, 5);
      case QUEUE_EVENT_V4 -> readEvent(in, 4);
      case QUEUE_SNAPSHOT -> readSnapshot(in, 4);
      case QUEUE_EVENT_V3 -> readEvent(in, 3);
      case QUEUE_SNAPSHOT_V3 -> readSnapshot(in, 3);
      case QUEUE_EVENT_V2 -> readEvent(in, 2);
      case QUEUE_SNAPSHOT_V2 -> readSnapshot(in, 2);
      case QUEUE_EVENT_V1 -> readEventV1(in);
      case QUEUE_SNAPSHOT_V1 -> readSnapshotV1(in);
      case QUEUE_DEFINED -> readDefined(in, 4);
      case QUEUE_DEFINED_V3 -> readDefined(in, 3);
      case QUEUE_DEFINED_V2 -> readDefined(in, 2);
      case QUEUE_DEFINED_V1 -> readDefined(in, 1);
      case QUEUE_REMOVED -> new RegistryEvent.QueueRemoved(readString(in));
      case QUEUES -> readQueues(in, 4);
      case QUEUES_V3 -> readQueues(in, 3);
      case QUEUES_V2 -> readQueues(in, 2);
      case QUEUES_V1 -> readQueues(in, 1);
      default -> throw new NotSerializableException("unknown Spool journal manifest '" + manifest
          + "': written by a newer Spool?");
    };
  }

  // ---- queue events

  private QueueSnapshot readSnapshot(DataInput in, int version) throws IOException {
    long lastWriteId = in.readLong();
    long lastSequence = in.readLong();
    String keyId = readString(in);
    List<Message> messages = readMessageSection(in, SNAPSHOT_FRAMES, keyId);
    List<QueueEvent.ConsumerRecord> consumers = readConsumers(in, version);
    Map<String, ConsumerPosition> positions = readPositions(in);
    List<QueueSnapshot.DedupEntry> dedup = readDedup(in);
    long sealedThrough = in.readLong();
    long freedBelow = in.readLong();
    return new QueueSnapshot(lastWriteId, lastSequence, messages, consumers, positions, dedup, sealedThrough,
        freedBelow, readLongs(in), keyId);
  }

  private static QueueSnapshot readSnapshotV1(DataInput in) throws IOException {
    long lastWriteId = in.readLong();
    long lastSequence = in.readLong();
    List<Message> messages = MessageFormat.readMessages(in);
    List<QueueEvent.ConsumerRecord> consumers = readConsumers(in, 1);
    Map<String, ConsumerPosition> positions = readPositions(in);
    return new QueueSnapshot(lastWriteId, lastSequence, messages, consumers, positions, readDedup(in));
  }

  private static List<QueueSnapshot.DedupEntry> readDedup(DataInput in) throws IOException {
    int n = in.readInt();
    List<QueueSnapshot.DedupEntry> dedup = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      dedup.add(new QueueSnapshot.DedupEntry(new UUID(in.readLong(), in.readLong()), in.readLong(), in.readLong()));
    }
    return dedup;
  }

  private void writeEvent(Out out, QueueEvent e) throws IOException {
    out.writeLong(e.writeId());
    out.writeString(e.keyId());
    writeMessageSection(out, e.messages(), EVENT_FRAMES, e.keyId());
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
    out.writeLong(e.follows());
    out.writeLong(e.confirmed());
  }

  private QueueEvent readEvent(DataInput in, int version) throws IOException {
    long writeId = in.readLong();
    String keyId = readString(in);
    List<Message> messages = readMessageSection(in, EVENT_FRAMES, keyId);
    List<QueueEvent.ConsumerRecord> created = readConsumers(in, version);
    List<String> deleted = readStrings(in);
    Map<String, ConsumerPosition> positions = readPositions(in);
    long[] removed = readLongs(in);
    long freedBelow = in.readLong();
    long sealedThrough = in.readLong();
    long follows = version >= 5 ? in.readLong() : QueueEvent.UNCHAINED;
    long confirmed = version >= 5 ? in.readLong() : QueueEvent.UNCHAINED;
    return new QueueEvent(writeId, messages, created, deleted, positions, removed, freedBelow, sealedThrough, keyId,
        follows, confirmed);
  }

  private static QueueEvent readEventV1(DataInput in) throws IOException {
    long writeId = in.readLong();
    List<Message> messages = MessageFormat.readMessages(in);
    List<QueueEvent.ConsumerRecord> created = readConsumers(in, 1);
    List<String> deleted = readStrings(in);
    Map<String, ConsumerPosition> positions = readPositions(in);
    long[] removed = readLongs(in);
    return new QueueEvent(writeId, messages, created, deleted, positions, removed, in.readLong());
  }

  private static List<String> readStrings(DataInput in) throws IOException {
    int n = in.readInt();
    List<String> strings = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      strings.add(readString(in));
    }
    return strings;
  }

  private static long[] readLongs(DataInput in) throws IOException {
    long[] longs = new long[in.readInt()];
    for (int i = 0; i < longs.length; i++) {
      longs[i] = in.readLong();
    }
    return longs;
  }

  // ---- messages, in the clear or in encrypted frames

  /**
   * {@code messages} as {@link MessageFormat} writes them, or, with a key, as encrypted frames: their
   * count, then each frame's length and bytes. Counting ({@code toBinary}'s first pass) costs no
   * encryption: a frame's size is its plaintext's and {@link GcmCipher#OVERHEAD}.
   */
  private void writeMessageSection(Out out, List<Message> messages, String manifest, String keyId)
      throws IOException {
    if (keyId == null) {
      MessageFormat.writeMessages(out, messages);
      return;
    }
    javax.crypto.SecretKey key = keys.get().key(keyId);
    List<List<Message>> frames = frames(messages);
    out.writeInt(frames.size());
    for (int i = 0; i < frames.size(); i++) {
      Counter size = new Counter();
      MessageFormat.writeMessages(new DataOutputStream(size), frames.get(i));
      if (out.counting != null) {
        out.writeInt(0);
        out.counting.count += size.count + GcmCipher.OVERHEAD;
        continue;
      }
      Exact plain = new Exact(Math.toIntExact(size.count));
      MessageFormat.writeMessages(new DataOutputStream(plain), frames.get(i));
      byte[] sealed = GcmCipher.encrypt(key, frameAad(manifest, keyId, i, frames.size()), plain.bytes(), 0,
          plain.bytes().length);
      Arrays.fill(plain.bytes(), (byte) 0);
      out.writeInt(sealed.length);
      out.write(sealed);
    }
  }

  private List<Message> readMessageSection(DataInput in, String manifest, String keyId) throws IOException {
    if (keyId == null) {
      return MessageFormat.readMessages(in);
    }
    javax.crypto.SecretKey key = keys.get().key(keyId);
    int frames = in.readInt();
    if (frames < 0) {
      throw new IOException("a negative frame count (" + frames + ")");
    }
    List<Message> messages = new ArrayList<>();
    for (int i = 0; i < frames; i++) {
      int length = in.readInt();
      if (length < GcmCipher.OVERHEAD) {
        throw new IOException("an encrypted frame of " + length + " bytes");
      }
      byte[] sealed = new byte[length];
      in.readFully(sealed);
      byte[] plain;
      try {
        plain = GcmCipher.decrypt(key, frameAad(manifest, keyId, i, frames), sealed, 0, length);
      } catch (AEADBadTagException e) {
        throw new IOException("encrypted messages do not authenticate under key '" + keyId
            + "': damaged, or written with a different key under that id");
      }
      ByteInput frame = new ByteInput(plain);
      MessageFormat.readMessages(new DataInputStream(frame), messages);
      if (frame.read() != -1) {
        throw new IOException("bytes after the messages of an encrypted frame");
      }
    }
    return messages;
  }

  /** Runs of messages of about {@link #FRAME_BYTES} each; one (maybe empty) run at least. */
  private static List<List<Message>> frames(List<Message> messages) {
    List<List<Message>> frames = new ArrayList<>();
    int from = 0;
    long bytes = 0;
    for (int i = 0; i < messages.size(); i++) {
      bytes += messages.get(i).sizeBytes();
      if (bytes >= FRAME_BYTES) {
        frames.add(messages.subList(from, i + 1));
        from = i + 1;
        bytes = 0;
      }
    }
    if (from < messages.size() || frames.isEmpty()) {
      frames.add(messages.subList(from, messages.size()));
    }
    return frames;
  }

  private static byte[] frameAad(String manifest, String keyId, int frame, int frames) {
    return ("spool-journal|" + manifest + "|" + keyId + "|" + frame + "/" + frames).getBytes(StandardCharsets.UTF_8);
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
      out.writeString(s.filter().expression() == null ? null : s.filter().expression().source());
      Backoff b = s.backoff();
      out.writeBoolean(b != null);
      if (b != null) {
        writeDuration(out, b.initial());
        writeDuration(out, b.max());
        out.writeDouble(b.multiplier());
        out.writeDouble(b.jitter());
      }
      writeDuration(out, s.inactiveTimeout());
      out.writeBoolean(s.exclusive());
      writePush(out, s.push());
      out.writeLong(c.start());
    }
  }

  /**
   * Consumers as format {@code version} wrote them: 3 added each consumer's filter expression after
   * its header filter and its exclusive flag after its inactive timeout, 4 its push after that.
   */
  private static List<QueueEvent.ConsumerRecord> readConsumers(DataInput in, int version) throws IOException {
    boolean v3 = version >= 3;
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
      String expression = v3 ? readString(in) : null;
      Backoff backoff = in.readByte() != 0
          ? new Backoff(readDuration(in), readDuration(in), in.readDouble(), in.readDouble())
          : null;
      Duration inactiveTimeout = readDuration(in);
      boolean exclusive = v3 && in.readByte() != 0;
      PushSettings push = version >= 4 ? readPush(in) : null;
      ConsumerSettings settings = new ConsumerSettings(name, startAt, ackMode, prefetch < 0 ? null : prefetch,
          ackTimeout, maxDeliveries < 0 ? null : maxDeliveries, new MessageFilter(filterType, headers,
          expression == null ? null : FilterExpression.compile(expression)), backoff,
          inactiveTimeout, exclusive, push);
      consumers.add(new QueueEvent.ConsumerRecord(settings, in.readLong()));
    }
    return consumers;
  }

  private static void writePush(Out out, PushSettings push) throws IOException {
    out.writeBoolean(push != null);
    if (push != null) {
      out.writeString(push.endpoint().toString());
      writeDuration(out, push.ackDeadline());
      out.writeInt(push.maxOutstanding());
      out.writeInt(push.permanentStatuses().size());
      for (int status : new TreeSet<>(push.permanentStatuses())) {
        out.writeInt(status);
      }
      out.writeString(push.nonce());
    }
  }

  private static PushSettings readPush(DataInput in) throws IOException {
    if (in.readByte() == 0) {
      return null;
    }
    URI endpoint = URI.create(readString(in));
    Duration ackDeadline = readDuration(in);
    int maxOutstanding = in.readInt();
    int statuses = in.readInt();
    Set<Integer> permanent = new HashSet<>();
    for (int i = 0; i < statuses; i++) {
      permanent.add(in.readInt());
    }
    return new PushSettings(endpoint, ackDeadline, maxOutstanding, permanent, readString(in));
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
    out.writeString(s.compression().wireName());
    out.writeString(s.encryptionKeyId());
    out.writeInt(s.partitions());
    out.writeByte(s.maxPriority());
  }

  private static RegistryEvent.Queues readQueues(DataInput in, int version) throws IOException {
    int n = in.readInt();
    Map<String, RegistryEvent.QueueDefined> queues = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      RegistryEvent.QueueDefined d = readDefined(in, version);
      queues.put(d.name(), d);
    }
    return new RegistryEvent.Queues(queues);
  }

  /**
   * A queue definition of format {@code version}: 2 added compression and encryption (RD2, RQ2), 3
   * partitions (RD3, RQ3), 4 the maximum priority (RD4, RQ4). One written before them takes the
   * durability's default compression, no encryption, one partition and no priorities.
   */
  private static RegistryEvent.QueueDefined readDefined(DataInput in, int version) throws IOException {
    boolean withStorage = version >= 2;
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
    Compression compression = withStorage ? Compression.parse(readString(in)) : null;
    String keyId = withStorage ? readString(in) : null;
    int partitions = version >= 3 ? in.readInt() : 1;
    int maxPriority = version >= 4 ? in.readByte() : 0;
    QueueSettings settings = new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention,
        deadLetterQueue == null ? null : new QueueSettings.DeadLetter(deadLetterQueue, maxDeliveries), dedupWindow,
        compression, keyId == null ? null : new QueueSettings.Encryption(keyId), partitions, maxPriority);
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
    return MessageFormat.readString(in);
  }

  /** An output with length-prefixed, nullable UTF-8 strings. */
  private static final class Out extends DataOutputStream {
    /** The counter written to when this only counts bytes ({@code toBinary}'s first pass), else null. */
    final Counter counting;

    Out(OutputStream out, Counter counting) {
      super(out);
      this.counting = counting;
    }

    void writeString(String s) throws IOException {
      MessageFormat.writeString(this, s);
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

}

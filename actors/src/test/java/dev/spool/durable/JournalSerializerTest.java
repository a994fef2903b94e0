package dev.spool.durable;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.AckMode;
import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.PushSettings;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.Overflow;
import dev.spool.QueueSettings;
import dev.spool.StartPosition;
import java.io.NotSerializableException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The journal's binary format: everything written reads back equal, including what a message shares. */
class JournalSerializerTest {

  private final JournalSerializer serializer = new JournalSerializer();

  private Object roundTrip(Object o) throws NotSerializableException {
    return serializer.fromBinary(serializer.toBinary(o), serializer.manifest(o));
  }

  private static void assertSameMessage(Message expected, Message actual) {
    assertEquals(expected.sequence(), actual.sequence());
    assertEquals(expected.id(), actual.id());
    assertEquals(expected.hasProducerId(), actual.hasProducerId());
    assertEquals(expected.timestamp(), actual.timestamp());
    assertEquals(expected.producerId(), actual.producerId());
    assertEquals(expected.type(), actual.type());
    assertEquals(expected.key(), actual.key());
    assertEquals(expected.headers(), actual.headers());
    assertEquals(expected.contentType(), actual.contentType());
    assertArrayEquals(expected.payload(), actual.payload());
    assertEquals(expected.expiresAt(), actual.expiresAt());
    assertEquals(expected.deliverAt(), actual.deliverAt());
    assertEquals(expected.priority(), actual.priority());
    assertEquals(expected.sizeBytes(), actual.sizeBytes());
  }

  @Test
  void aWriteWithEveryKindOfContentReadsBackEqual() throws Exception {
    long seed = Message.newIdSeed();
    List<Message> messages = new ArrayList<>();
    Message previous = null;
    Message[] plain = {
        Message.text("order.created", "a"),
        Message.text("order.created", "b"), // shares the envelope with the one before
        Message.of("blob", new byte[0]).withKey("k").withContentType("application/octet-stream"),
        Message.text("order.created", "c").withId(UUID.randomUUID()),
        Message.text("order.created", "ünïcödé ✓").withHeaders(Map.of("group-id", "g", "traceparent", "00-ab")),
        Message.text("expiring", "d").withExpiresAt(Instant.ofEpochMilli(1_900_000_000_000L)),
        Message.text("scheduled", "e").withDeliverAt(Instant.ofEpochMilli(1_800_000_000_000L)).withPriority(7),
        Message.text("scheduled", "f").withDelay(Duration.ofMinutes(5)), // the same envelope but its own time
        Message.text("urgent", "g").withPriority(9),
    };
    for (int i = 0; i < plain.length; i++) {
      previous = plain[i].appended(i + 1, 1_700_000_000_000L + i, i < 3 ? "p1" : "p2", seed, previous);
      messages.add(previous);
    }
    ConsumerSettings full = new ConsumerSettings("billing", StartPosition.time(Instant.parse("2026-01-01T00:00:00Z")),
        AckMode.EXPLICIT, 250, Duration.ofSeconds(12), 4, MessageFilter.type("t").header("region", "eu")
            .and("payload.total > 100 && key.startsWith('c-')"),
        Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(5), 3.0, 0.1), Duration.ofMinutes(10))
        .exclusive(true);
    ConsumerSettings bare = ConsumerSettings.named("audit").startAt(StartPosition.latest()).ackMode(AckMode.NONE);
    QueueEvent event = new QueueEvent(42, messages,
        List.of(new QueueEvent.ConsumerRecord(full, 3), new QueueEvent.ConsumerRecord(bare, 7)), List.of("gone"),
        Map.of("billing", new ConsumerPosition(9, new long[] {4, 6}, new int[] {1, 3}, true)), new long[] {2, 5}, 2);

    QueueEvent read = (QueueEvent) roundTrip(event);

    assertEquals(42, read.writeId());
    assertEquals(messages.size(), read.messages().size());
    for (int i = 0; i < messages.size(); i++) {
      assertSameMessage(messages.get(i), read.messages().get(i));
    }
    assertEquals(event.created(), read.created());
    assertEquals(List.of("gone"), read.deleted());
    assertEquals(event.positions(), read.positions());
    assertEquals(3, read.positions().get("billing").committed());
    assertArrayEquals(new long[] {2, 5}, read.removed());
    assertEquals(2, read.freedBelow());
  }

  @Test
  void eventsAndSnapshotsWrittenBeforeFilterExpressionsStillRead() throws Exception {
    // Written by the previous format (QE2, QS2): consumers without an expression after their header filter.
    byte[] event = getClass().getResourceAsStream("/journal/QE2.bin").readAllBytes();
    QueueEvent e = (QueueEvent) serializer.fromBinary(event, "QE2");
    assertEquals(42, e.writeId());
    assertEquals("{\"total\":5}", e.messages().get(0).payloadAsString());
    ConsumerSettings billing = e.created().get(0).settings();
    assertEquals(MessageFilter.type("t").header("region", "eu"), billing.filter());
    assertEquals(null, billing.filter().expression());
    assertEquals(List.of("gone"), e.deleted());
    assertEquals(9, e.positions().get("billing").next());
    assertEquals(2, e.freedBelow());

    byte[] snapshot = getClass().getResourceAsStream("/journal/QS2.bin").readAllBytes();
    QueueSnapshot s = (QueueSnapshot) serializer.fromBinary(snapshot, "QS2");
    assertEquals(7, s.lastSequence());
    assertEquals(billing, s.consumers().get(0).settings());
    assertEquals(8, s.positions().get("billing").next());

    assertEquals("QE5", serializer.manifest(e), "rewritten in the current format");
    QueueEvent again = (QueueEvent) roundTrip(e);
    assertEquals(e.created(), again.created());
  }

  @Test
  void eventsAndSnapshotsWrittenBeforeDeliveryTimesAndPrioritiesStillRead() throws Exception {
    // Written by the previous format (QE3, QS3): messages without the flag that adds a delivery time and priority.
    byte[] event = getClass().getResourceAsStream("/journal/QE3.bin").readAllBytes();
    QueueEvent e = (QueueEvent) serializer.fromBinary(event, "QE3");
    assertEquals(42, e.writeId());
    assertEquals(3, e.messages().size());
    assertEquals("{\"total\":5}", e.messages().get(0).payloadAsString());
    assertEquals("c-1", e.messages().get(0).key().orElseThrow());
    assertEquals("second", e.messages().get(1).payloadAsString());
    Message third = e.messages().get(2);
    assertEquals(new UUID(0x1111_2222_3333_4444L, 0x8555_6666_7777_8888L), third.id());
    assertEquals(Instant.ofEpochMilli(1_900_000_000_000L), third.expiresAt().orElseThrow());
    for (Message m : e.messages()) {
      assertEquals(java.util.Optional.empty(), m.deliverAt());
      assertEquals(0, m.priority());
      assertEquals("p1", m.producerId());
    }
    ConsumerSettings billing = e.created().get(0).settings();
    assertEquals("payload.total > 100", billing.filter().expression().toString());
    assertTrue(billing.exclusive());
    assertEquals(null, billing.push(), "written before push consumers");
    assertEquals(9, e.positions().get("billing").next());

    byte[] snapshot = getClass().getResourceAsStream("/journal/QS3.bin").readAllBytes();
    QueueSnapshot s = (QueueSnapshot) serializer.fromBinary(snapshot, "QS3");
    assertEquals(3, s.lastSequence());
    assertEquals(3, s.messages().size());
    assertEquals(billing, s.consumers().get(0).settings());
    assertEquals(8, s.positions().get("billing").next());

    assertEquals("QS4", serializer.manifest(s), "rewritten in the current format");
    QueueSnapshot again = (QueueSnapshot) roundTrip(s);
    for (int i = 0; i < 3; i++) {
      assertSameMessage(s.messages().get(i), again.messages().get(i));
    }
  }

  @Test
  void aPushConsumerReadsBackEqual() throws Exception {
    PushSettings push = PushSettings.to("https://receiver.example.com/hook?x=1")
        .ackDeadline(Duration.ofSeconds(7)).maxOutstanding(12).permanentStatuses(Set.of(422, 409));
    ConsumerSettings settings = ConsumerSettings.named("hook").push(push)
        .backoff(Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(2), 3.0, 0.0)).maxDeliveries(4);
    QueueEvent event = new QueueEvent(1, List.of(), List.of(new QueueEvent.ConsumerRecord(settings, 1)), List.of(),
        Map.of(), new long[0], 0);
    QueueEvent read = (QueueEvent) roundTrip(event);
    assertEquals(settings, read.created().get(0).settings());
    assertEquals(push, read.created().get(0).settings().push());
    assertEquals(12, read.created().get(0).settings().prefetch(), "prefetch raised to maxOutstanding");
  }

  @Test
  void aQueueDefinitionWrittenBeforePrioritiesReadsWithNone() throws Exception {
    QueueSettings settings = QueueSettings.defaults().withDurability(Durability.PERSISTENT).withPartitions(3);
    RegistryEvent.QueueDefined defined = new RegistryEvent.QueueDefined("orders", settings, "inc-1", 12345L);
    byte[] current = serializer.toBinary(defined);
    // RD3 is RD4 without the trailing priority byte.
    byte[] v3 = java.util.Arrays.copyOf(current, current.length - 1);
    assertEquals(defined, serializer.fromBinary(v3, "RD3"));
    RegistryEvent.QueueDefined prioritized = new RegistryEvent.QueueDefined("orders", settings.withMaxPriority(5),
        "inc-1", 12345L);
    assertEquals(5, ((RegistryEvent.QueueDefined) roundTrip(prioritized)).settings().maxPriority());
  }

  @Test
  void snapshotsAndTheRegistryReadBackEqual() throws Exception {
    Message m = Message.text("t", "x").appended(7, 1_700_000_000_000L, "p");
    QueueSnapshot snapshot = new QueueSnapshot(10, 7, List.of(m),
        List.of(new QueueEvent.ConsumerRecord(ConsumerSettings.named("c"), 1)),
        Map.of("c", new ConsumerPosition(8, new long[0], new int[0], false)),
        List.of(new QueueSnapshot.DedupEntry(UUID.randomUUID(), 3, 1_700_000_000_000L)));
    QueueSnapshot read = (QueueSnapshot) roundTrip(snapshot);
    assertEquals(10, read.lastWriteId());
    assertEquals(7, read.lastSequence());
    assertSameMessage(m, read.messages().get(0));
    assertEquals(snapshot.consumers(), read.consumers());
    assertEquals(snapshot.positions(), read.positions());
    assertEquals(snapshot.dedup(), read.dedup());

    QueueSettings settings = new QueueSettings(Durability.PERSISTENT, 1000, 1 << 20, Overflow.DROP_OLDEST,
        Duration.ofMinutes(10), Duration.ofHours(1), new QueueSettings.DeadLetter("dlq", 5), Duration.ofMinutes(3));
    RegistryEvent.QueueDefined defined = new RegistryEvent.QueueDefined("orders", settings, "inc-1", 12345L);
    assertEquals(defined, roundTrip(defined));
    RegistryEvent.QueueDefined minimal = new RegistryEvent.QueueDefined("q", QueueSettings.defaults(), "inc-2", 1L);
    assertEquals(minimal, roundTrip(minimal));
    assertEquals(new RegistryEvent.QueueRemoved("orders"), roundTrip(new RegistryEvent.QueueRemoved("orders")));
    RegistryEvent.Queues all = new RegistryEvent.Queues(Map.of("orders", defined, "q", minimal));
    assertEquals(all.queues(), ((RegistryEvent.Queues) roundTrip(all)).queues());
  }

  @Test
  void aStreamedSnapshotIsTheSameBytesAsToBinaryAndReadsBackFromAStreamInPieces() throws Exception {
    List<Message> messages = new ArrayList<>();
    java.util.Random random = new java.util.Random(9);
    for (int i = 1; i <= 2000; i++) {
      byte[] payload = new byte[i % 100 == 0 ? 64 * 1024 : 1024];
      random.nextBytes(payload);
      messages.add(Message.of("order", payload).withKey(i % 3 == 0 ? "k" + i : null)
          .appended(i, 1_700_000_000_000L + i, "p"));
    }
    QueueSnapshot snapshot = new QueueSnapshot(4000, 2000, messages,
        List.of(new QueueEvent.ConsumerRecord(ConsumerSettings.named("c"), 1)),
        Map.of("c", new ConsumerPosition(1500, new long[] {1200}, new int[] {2}, false)), List.of());
    assertEquals(true, serializer.streams(snapshot));
    java.io.ByteArrayOutputStream streamed = new java.io.ByteArrayOutputStream();
    serializer.write(snapshot, streamed);
    byte[] bytes = streamed.toByteArray();
    assertArrayEquals(serializer.toBinary(snapshot), bytes, "the streamed form is the stored format");

    // a stream that hands out at most 7 bytes a read, as a stream over database rows may
    java.io.InputStream pieces = new java.io.FilterInputStream(new java.io.ByteArrayInputStream(bytes)) {
      @Override
      public int read(byte[] b, int off, int len) throws java.io.IOException {
        return super.read(b, off, Math.min(len, 7));
      }
    };
    QueueSnapshot read = (QueueSnapshot) serializer.read(pieces, serializer.manifest(snapshot));
    assertEquals(messages.size(), read.messages().size());
    for (int i = 0; i < messages.size(); i++) {
      assertSameMessage(messages.get(i), read.messages().get(i));
    }
    assertEquals(snapshot.positions(), read.positions());

    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length / 2);
    assertThrows(java.io.EOFException.class, () -> serializer.read(new java.io.ByteArrayInputStream(truncated),
        serializer.manifest(snapshot)));
    assertThrows(NotSerializableException.class, () -> serializer.fromBinary(truncated, serializer.manifest(snapshot)));
  }

  @Test
  void aLargeWriteIsSerializedIntoOneExactlySizedArrayWithoutGrowingCopies() throws Exception {
    // A group commit of 16 MiB: 256 messages of 64 KiB, as producers publishing large batches gather.
    long seed = Message.newIdSeed();
    List<Message> messages = new ArrayList<>();
    Message previous = null;
    long accounted = 0;
    for (int i = 0; i < 256; i++) {
      byte[] payload = new byte[64 * 1024];
      java.util.Arrays.fill(payload, (byte) ('a' + i % 26));
      previous = Message.of("t", payload).appended(i + 1, 1_700_000_000_000L + i, "p", seed, previous);
      messages.add(previous);
      accounted += previous.sizeBytes();
    }
    QueueEvent event = new QueueEvent(1, messages, List.of(), List.of(), Map.of(), new long[0], 0);
    serializer.toBinary(event); // warm up: class loading allocates too

    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().getId();
    long before = threads.getThreadAllocatedBytes(thread);
    byte[] bytes = serializer.toBinary(event);
    long allocated = threads.getThreadAllocatedBytes(thread) - before;

    assertTrue(bytes.length <= accounted, bytes.length + " serialized bytes, more than the " + accounted
        + " accounted for the messages (what their queue reserves for the write)");
    // One array of the serialized size and a little for the fields; a doubling buffer allocates
    // about three times the size (its growing copies and the trimmed one).
    assertTrue(allocated < bytes.length + bytes.length / 10, "serializing " + bytes.length + " bytes allocated "
        + allocated);
    QueueEvent read = (QueueEvent) serializer.fromBinary(bytes, serializer.manifest(event));
    assertEquals(256, read.messages().size());
    assertSameMessage(messages.get(255), read.messages().get(255));
  }

  @Test
  void anUnknownManifestIsRefusedClearly() {
    NotSerializableException e = assertThrows(NotSerializableException.class,
        () -> serializer.fromBinary(new byte[0], "QE9"));
    assertEquals(true, e.getMessage().contains("QE9"));
  }
}

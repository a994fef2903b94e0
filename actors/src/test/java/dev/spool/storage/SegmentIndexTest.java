package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SegmentIndexTest {

  private static final int SEGMENT = 1024;

  @Test
  void roundTripsSequencesSizesTimesAndExpiriesInAboutTenBytesAMessage() {
    List<Message> messages = new ArrayList<>();
    long segment = 7;
    for (int slot = 0; slot < SEGMENT; slot += (slot % 5 == 0 ? 2 : 1)) { // gaps where messages were removed
      long sequence = segment * SEGMENT + slot + 1;
      Message m = Message.of("t", new byte[1000 + slot]);
      if (slot % 100 == 0) {
        m = m.withTtl(Duration.ofMinutes(5));
      }
      messages.add(m.appended(sequence, 1_700_000_000_000L + slot * 3L, "p"));
    }
    byte[] index = SegmentIndex.encode(segment, SEGMENT, messages);
    assertTrue(index.length < messages.size() * 12, index.length + " bytes for " + messages.size());

    SegmentIndex.Entries e = SegmentIndex.decode(segment, SEGMENT, index);
    assertEquals(messages.size(), e.count());
    for (int i = 0; i < e.count(); i++) {
      Message m = messages.get(i);
      assertEquals(m.sequence(), e.sequences()[i]);
      assertEquals(m.sizeBytes(), e.sizes()[i]);
      assertEquals(m.timestamp(), e.timestamps()[i]);
      assertEquals(m.expiresAtMillis(), e.expiries()[i]);
    }
  }

  @Test
  void anIndexWrittenWithAnotherSegmentSizeIsRefusedSayingSo() {
    byte[] index = SegmentIndex.encode(1, SEGMENT, List.of(Message.of("t", new byte[1]).appended(1025, 1, "p")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SegmentIndex.decode(0, 2 * SEGMENT, index));
    assertTrue(e.getMessage().contains("spool.segment-size"), e.getMessage());
  }

  @Test
  void aMessageOfAnotherSegmentIsRefused() {
    Message m = Message.of("t", new byte[1]).appended(5000, 1, "p");
    assertThrows(IllegalArgumentException.class, () -> SegmentIndex.encode(0, SEGMENT, List.of(m)));
  }

  @Test
  void aTruncatedOrDamagedIndexIsRefused() {
    List<Message> messages = List.of(Message.of("t", new byte[1]).appended(1, 1, "p"),
        Message.of("t", new byte[1]).appended(2, 2, "p"));
    byte[] index = SegmentIndex.encode(0, SEGMENT, messages);
    assertThrows(IllegalArgumentException.class,
        () -> SegmentIndex.decode(0, SEGMENT, Arrays.copyOf(index, index.length - 3)));
    byte[] version = index.clone();
    version[0] = 9;
    assertThrows(IllegalArgumentException.class, () -> SegmentIndex.decode(0, SEGMENT, version));
    assertArrayEquals(index, SegmentIndex.encode(0, SEGMENT, messages));
  }
}

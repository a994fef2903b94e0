package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What every {@link SegmentStore} does, run against each one by a subclass: rows of 1 MiB (1024
 * messages of 1 KiB) written, read back byte for byte, listed without data, replaced, deleted, by
 * several threads at once, and a read-back throughput figure.
 */
abstract class SegmentStoreContract {

  static final int KIB = 1024;
  static final int MIB = 1024 * 1024;

  /** The store under test, open, for the whole test. */
  abstract SegmentStore store();

  /** A queue id no other test (nor an earlier run on the same database) used. */
  static String queue(String name) {
    return name + "-" + UUID.randomUUID();
  }

  /**
   * A segment as a queue would store it: {@code messages} random payloads of {@code size} bytes
   * one after another, an index of (sequence, size, time) per message, the CRC32C of the data.
   */
  static SegmentRow row(String queueId, long segment, int messages, int size, long seed) {
    Random random = new Random(seed);
    byte[] data = new byte[messages * size];
    random.nextBytes(data);
    byte[] index = new byte[messages * 20];
    random.nextBytes(index);
    CRC32C crc = new CRC32C();
    crc.update(data);
    String keyId = seed % 2 == 0 ? null : "k" + seed;
    return new SegmentRow(queueId, segment, messages, index, 1, keyId, crc.getValue(), data);
  }

  static SegmentRow megabyte(String queueId, long segment) {
    return row(queueId, segment, 1024, KIB, queueId.hashCode() * 31L + segment);
  }

  static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  static void assertRow(SegmentRow expected, SegmentRow actual, boolean withData) {
    assertNotNull(actual, "segment " + expected.segment() + " of " + expected.queueId());
    assertEquals(expected.queueId(), actual.queueId());
    assertEquals(expected.segment(), actual.segment());
    assertEquals(expected.count(), actual.count());
    assertArrayEquals(expected.index(), actual.index());
    assertEquals(expected.codec(), actual.codec());
    assertEquals(expected.keyId(), actual.keyId());
    assertEquals(expected.checksum(), actual.checksum());
    if (withData) {
      assertArrayEquals(expected.data(), actual.data(), "the data of segment " + expected.segment());
    } else {
      assertNull(actual.data(), "list leaves the data out");
    }
  }

  @Test
  void rowsOfAMegabyteAreReadBackListedAndDeleted() throws Exception {
    SegmentStore store = store();
    String orders = queue("orders");
    String audit = queue("audit");
    List<SegmentRow> written = new ArrayList<>();
    for (long s = 0; s < 8; s++) {
      SegmentRow r = megabyte(orders, s);
      get(store.write(r));
      written.add(r);
    }
    SegmentRow other = megabyte(audit, 0);
    get(store.write(other));

    for (SegmentRow r : written) {
      assertRow(r, get(store.read(orders, r.segment())), true);
    }
    assertNull(get(store.read(orders, 8)), "a segment never written");
    assertNull(get(store.read(queue("none"), 0)), "a queue never written");

    List<SegmentRow> listed = get(store.list(orders));
    assertEquals(8, listed.size());
    for (int i = 0; i < 8; i++) {
      assertRow(written.get(i), listed.get(i), false);
    }

    get(store.deleteBelow(orders, 5));
    assertEquals(List.of(5L, 6L, 7L), get(store.list(orders)).stream().map(SegmentRow::segment).toList());
    assertNull(get(store.read(orders, 4)));
    assertRow(written.get(5), get(store.read(orders, 5)), true);

    get(store.deleteQueue(orders));
    assertEquals(List.of(), get(store.list(orders)));
    assertNull(get(store.read(orders, 7)));
    assertRow(other, get(store.read(audit, 0)), true); // another queue's rows stay
  }

  @Test
  void writingTheSameSegmentAgainReplacesIt() throws Exception {
    SegmentStore store = store();
    String q = queue("orders");
    get(store.write(row(q, 3, 1024, KIB, 1)));
    SegmentRow second = row(q, 3, 16, 64 * KIB, 2); // other count, codec key, data
    get(store.write(second));
    assertRow(second, get(store.read(q, 3)), true);
    List<SegmentRow> listed = get(store.list(q));
    assertEquals(1, listed.size());
    assertRow(second, listed.get(0), false);
  }

  @Test
  void severalThreadsWriteAndReadAtOnce() throws Exception {
    SegmentStore store = store();
    int threads = 4;
    int segments = 16;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      List<String> queues = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        String q = queue("q" + t);
        queues.add(q);
        done.add(pool.submit(() -> {
          for (long s = 0; s < segments; s++) {
            // two writes in flight at a time, and a read of one written before
            SegmentRow a = row(q, s, 256, KIB, s);
            CompletionStage<Void> w = store.write(a);
            SegmentRow b = row(q, s + 1000, 4, 64 * KIB, s + 1000);
            get(store.write(b));
            get(w);
            if (s > 0) {
              assertRow(row(q, s - 1, 256, KIB, s - 1), get(store.read(q, s - 1)), true);
            }
            assertRow(b, get(store.read(q, s + 1000)), true);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS);
      }
      for (String q : queues) {
        List<SegmentRow> listed = get(store.list(q));
        assertEquals(2 * segments, listed.size());
        for (int s = 0; s < segments; s++) {
          assertRow(row(q, s, 256, KIB, s), listed.get(s), false);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Reads 200 MiB of segments back, one at a time as a consumer behind its queue does, and prints MB/s. */
  @Test
  @Tag("slow")
  void readThroughput() throws Exception {
    SegmentStore store = store();
    String q = queue("backlog");
    int segments = 200;
    SegmentRow template = megabyte(q, 0);
    long writeStart = System.nanoTime();
    List<CompletionStage<Void>> writes = new ArrayList<>();
    for (long s = 0; s < segments; s++) { // as queues sealing at once would: a few writes in flight
      writes.add(store.write(new SegmentRow(q, s, template.count(), template.index(), template.codec(),
          template.keyId(), template.checksum(), template.data())));
      if (writes.size() == 4) {
        get(writes.remove(0));
      }
    }
    for (CompletionStage<Void> w : writes) {
      get(w);
    }
    double writeSeconds = (System.nanoTime() - writeStart) / 1e9;
    System.out.printf("%s: wrote %d MiB of 1 MiB segments, 4 in flight, in %.2f s: %.0f MB/s%n",
        getClass().getSimpleName(), segments, writeSeconds, segments * (double) MIB / 1e6 / writeSeconds);
    long bytes = 0;
    for (int round = 0; round < 3; round++) { // the first round warms the page caches and the JIT
      long start = System.nanoTime();
      bytes = 0;
      for (long s = 0; s < segments; s++) {
        bytes += get(store.read(q, s)).data().length;
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf("%s: read %d MiB of 1 MiB segments back in %.2f s: %.0f MB/s (round %d)%n",
          getClass().getSimpleName(), bytes / MIB, seconds, bytes / 1e6 / seconds, round + 1);
    }
    assertEquals((long) segments * MIB, bytes);
    // and with read-ahead: four reads in flight
    long start = System.nanoTime();
    List<CompletionStage<SegmentRow>> inFlight = new ArrayList<>();
    bytes = 0;
    for (long s = 0; s < segments; s++) {
      inFlight.add(store.read(q, s));
      if (inFlight.size() == 4) {
        bytes += get(inFlight.remove(0)).data().length;
      }
    }
    for (CompletionStage<SegmentRow> r : inFlight) {
      bytes += get(r).data().length;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("%s: read %d MiB back, 4 reads in flight, in %.2f s: %.0f MB/s%n",
        getClass().getSimpleName(), bytes / MIB, seconds, bytes / 1e6 / seconds);
    get(store.deleteQueue(q));
  }
}

package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class ExpiryIndexTest {

  @Test
  void pollsOnlyWhatExpiredEarliestFirst() {
    ExpiryIndex index = new ExpiryIndex();
    index.add(300, 1);
    index.add(100, 2);
    index.add(200, 3);
    index.add(100, 4);
    List<Long> got = new ArrayList<>();
    assertEquals(0, index.pollExpired(99, got::add));
    assertEquals(3, index.pollExpired(200, got::add));
    assertEquals(List.of(2L, 4L, 3L), got);
    assertEquals(1, index.size());
    assertEquals(300, index.earliest());
  }

  @Test
  void forgetsEntriesOfFreedMessagesOnceTheyOutnumberTheRetainedOnes() {
    ExpiryIndex index = new ExpiryIndex();
    for (long s = 1; s <= 5000; s++) {
      index.add(10_000 - s, s); // later sequences expire earlier
    }
    index.dropBelow(4001, 3000);
    assertEquals(5000, index.size(), "under twice the retained count (+1024) nothing is scanned");
    index.dropBelow(4001, 1000);
    assertEquals(1000, index.size());
    List<Long> got = new ArrayList<>();
    index.pollExpired(Long.MAX_VALUE, got::add);
    assertEquals(5000L, got.get(0), "still a heap: the earliest expiry first");
    assertEquals(1000, got.size());
    assertEquals(4001L, got.get(999));
  }

  /** Whatever the order of adds, polling at any time yields exactly the entries due, in (expiry, sequence) order. */
  @Property
  void behavesLikeASortedList(@ForAll @Size(max = 300) List<@LongRange(min = 0, max = 1000) Long> expiries,
      @ForAll @LongRange(min = 0, max = 1000) long now) {
    ExpiryIndex index = new ExpiryIndex();
    List<long[]> model = new ArrayList<>();
    for (int i = 0; i < expiries.size(); i++) {
      index.add(expiries.get(i), i + 1);
      model.add(new long[] {expiries.get(i), i + 1});
    }
    model.sort(Comparator.<long[]>comparingLong(e -> e[0]).thenComparingLong(e -> e[1]));
    List<Long> expected = model.stream().filter(e -> e[0] <= now).map(e -> e[1]).toList();
    List<Long> got = new ArrayList<>();
    index.pollExpired(now, got::add);
    assertEquals(expected, got);
    assertEquals(expiries.size() - expected.size(), index.size());
  }
}

package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class ConsumerCursorPropertiesTest {

  @Property(tries = 300)
  void committedIsAlwaysJustBelowTheLowestUnsettledAndNeverGoesBack(@ForAll("operations") List<Integer> ops) {
    ConsumerCursor cursor = new ConsumerCursor(1);
    TreeSet<Long> unsettled = new TreeSet<>();
    long next = 1;
    long committed = 0;
    long batch = cursor.newBatch();
    for (int op : ops) {
      int kind = op % 4;
      long pick = (op / 4) % next;
      if (kind == 0) {                       // deliver a new message
        cursor.delivered(next, 1, batch, 0);
        unsettled.add(next++);
      } else if (kind == 1 && !unsettled.isEmpty()) {   // ack one
        Long s = unsettled.ceiling(pick) == null ? unsettled.first() : unsettled.ceiling(pick);
        cursor.ack(s, b -> { });
        unsettled.remove(s);
      } else if (kind == 2 && !unsettled.isEmpty()) {   // requeue one and redeliver it
        Long s = unsettled.first();
        if (cursor.requeue(s, false, b -> { }) > 0) {
          long ready = cursor.firstReady();
          int attempt = cursor.pollReady();
          cursor.delivered(ready, attempt, batch, 0);
        }
      } else if (kind == 3) {                // a batch's deadline passes
        cursor.expireBatch(batch, Integer.MAX_VALUE, s -> { });
        batch = cursor.newBatch();
        while (cursor.hasReady()) {
          long ready = cursor.firstReady();
          cursor.delivered(ready, cursor.pollReady(), batch, 0);
        }
      }
      long expected = (unsettled.isEmpty() ? next : unsettled.first()) - 1;
      assertEquals(expected, cursor.committed());
      assertTrue(cursor.committed() >= committed, "committed never goes back");
      committed = cursor.committed();
      assertEquals(unsettled.size(), cursor.unsettled());
    }
  }

  @Provide
  Arbitrary<List<Integer>> operations() {
    return Arbitraries.integers().between(0, 4000).list().ofMaxSize(200);
  }
}

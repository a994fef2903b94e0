package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** {@link SequenceMap} behaves as a {@link TreeMap} would, whatever order keys come and go in. */
class SequenceMapPropertiesTest {

  @Property(tries = 500)
  void behavesAsASortedMap(@ForAll("operations") List<int[]> ops) {
    SequenceMap<String> map = new SequenceMap<>();
    TreeMap<Long, String> model = new TreeMap<>();
    long frontier = 1;
    for (int[] op : ops) {
      int arg = op[1];
      switch (op[0]) {
        case 0, 1, 2 -> { // the common case: the next few sequences
          frontier += arg % 4;
          assertEquals(model.put(frontier, "v" + frontier), map.put(frontier, "v" + frontier));
        }
        case 3 -> { // far ahead, past the widest window
          frontier += SequenceMap.MAX_WINDOW + arg * 37L;
          assertEquals(model.put(frontier, "far" + frontier), map.put(frontier, "far" + frontier));
        }
        case 4 -> { // a redelivery of something old
          long key = 1 + (arg * 7919L) % frontier;
          assertEquals(model.put(key, "old" + key), map.put(key, "old" + key));
        }
        case 5, 6 -> { // an ack of something held, else of anything
          long key = model.isEmpty() ? arg : pick(model, arg);
          assertEquals(model.remove(key), map.remove(key));
        }
        case 7 -> { // ack everything up to a point
          long key = model.isEmpty() ? arg : pick(model, arg);
          List<Long> told = new ArrayList<>();
          int removed = map.removeUpTo(key, (k, v) -> told.add(k));
          List<Long> expected = new ArrayList<>(model.headMap(key, true).keySet());
          model.headMap(key, true).clear();
          assertEquals(expected, told);
          assertEquals(expected.size(), removed);
        }
        case 8 -> { // an owner's deliveries go back
          int mod = 2 + arg % 3;
          List<Long> asked = new ArrayList<>();
          map.removeIf((k, v) -> {
            asked.add(k);
            return k % mod == 0;
          });
          assertEquals(new ArrayList<>(model.keySet()), asked, "asked about every key, ascending");
          model.keySet().removeIf(k -> k % mod == 0);
        }
        default -> {
          map.clear();
          model.clear();
        }
      }
      assertEquals(model.size(), map.size());
      assertEquals(model.isEmpty(), map.isEmpty());
      if (!model.isEmpty()) {
        assertEquals(model.firstKey(), map.firstKey());
        long probe = pick(model, arg);
        assertEquals(model.get(probe), map.get(probe));
        assertEquals(model.get(probe + 1), map.get(probe + 1));
      }
      List<Map.Entry<Long, String>> walked = new ArrayList<>();
      map.forEach((k, v) -> walked.add(Map.entry(k, v)));
      assertEquals(new ArrayList<>(model.entrySet()), walked);
    }
  }

  @Test
  void anEmptyMapHasNoFirstKeyAndRefusesNullValues() {
    SequenceMap<String> map = new SequenceMap<>();
    assertThrows(NoSuchElementException.class, map::firstKey);
    assertThrows(IllegalArgumentException.class, () -> map.put(1, null));
    assertTrue(map.isEmpty());
    assertEquals(null, map.remove(5));
  }

  @Test
  void aKeyHeldWhileManyPassMovesBehindTheWindowAndStaysFirst() {
    SequenceMap<Integer> map = new SequenceMap<>();
    map.put(1, 1);
    for (long k = 2; k < 3 * SequenceMap.MAX_WINDOW; k++) {
      map.put(k, 0);
      map.remove(k);
    }
    assertEquals(1, map.size());
    assertEquals(1, map.firstKey());
    assertEquals(1, map.get(1));
    assertEquals(1, map.remove(1));
    assertTrue(map.isEmpty());
  }

  private static long pick(TreeMap<Long, String> model, int arg) {
    Long k = model.ceilingKey(model.firstKey() + (long) arg * 13 % (model.lastKey() - model.firstKey() + 1));
    return k == null ? model.lastKey() : k;
  }

  @Provide
  Arbitrary<List<int[]>> operations() {
    return Arbitraries.integers().between(0, 9)
        .flatMap(kind -> Arbitraries.integers().between(0, 5000).map(arg -> new int[] {kind, arg}))
        .list().ofMaxSize(300);
  }
}

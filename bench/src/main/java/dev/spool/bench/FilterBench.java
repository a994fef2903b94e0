package dev.spool.bench;

import dev.spool.Message;
import dev.spool.MessageFilter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * What a consumer's filter costs per message, on the consumer's thread: the exact-match filter
 * (type and a header), a CEL expression over type and headers, and one that also reads a field of a
 * 1 KiB JSON payload (parsed per message). Each is timed over the same 100,000 messages (a third of
 * them matching), median of five rounds after a warm-up, in one JVM, side by side.
 *
 * <p>Run: {@code java -jar bench/target/spool-bench.jar filter [--quick]}.
 */
final class FilterBench {

  private FilterBench() {}

  static void run(boolean quick) {
    int n = quick ? 20_000 : 100_000;
    List<Message> messages = messages(n);
    String[] names = {"none (matches all)", "exact match: type and header", "CEL: type and header",
        "CEL: type, header in list, JSON field"};
    MessageFilter[] filters = {
        MessageFilter.ALL,
        MessageFilter.type("order.created").header("region", "eu"),
        MessageFilter.expression("type == 'order.created' && headers['region'] == 'eu'"),
        MessageFilter.expression("type == 'order.created' && headers['region'] in ['eu', 'uk'] && payload.total > 100"),
    };
    int rounds = quick ? 3 : 5;
    double[][] nanos = new double[filters.length][rounds];
    long[] matched = new long[filters.length];
    for (int warm = 0; warm < 3; warm++) {
      for (MessageFilter f : filters) {
        time(f, messages);
      }
    }
    for (int r = 0; r < rounds; r++) {
      for (int i = 0; i < filters.length; i++) {
        long t0 = System.nanoTime();
        matched[i] = time(filters[i], messages);
        nanos[i][r] = (System.nanoTime() - t0) / (double) n;
      }
    }
    System.out.printf("filter cost per message, %,d messages of 1 KiB JSON, median of %d rounds%n", n, rounds);
    for (int i = 0; i < filters.length; i++) {
      Arrays.sort(nanos[i]);
      System.out.printf("  %-42s %,8.0f ns/msg  (%,d matched)%n", names[i], nanos[i][rounds / 2], matched[i]);
    }
  }

  private static long time(MessageFilter filter, List<Message> messages) {
    long matched = 0;
    for (Message m : messages) {
      if (filter.matches(m)) {
        matched++;
      }
    }
    return matched;
  }

  private static List<Message> messages(int n) {
    Random random = new Random(42);
    String[] types = {"order.created", "order.paid", "refund"};
    String[] regions = {"eu", "uk", "us"};
    String pad = "x".repeat(1000);
    List<Message> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String body = "{\"total\":" + random.nextInt(300) + ",\"pad\":\"" + pad + "\"}";
      out.add(Message.text(types[random.nextInt(3)], body).withContentType("application/json")
          .withHeader("region", regions[random.nextInt(3)]).withKey("c-" + i));
    }
    return out;
  }
}

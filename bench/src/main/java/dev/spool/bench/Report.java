package dev.spool.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * What one suite measured: tables of figures, each the median of its runs with the spread, written
 * to {@code bench/results/<suite>.json} and {@code <suite>.md} with PNG charts beside them. A
 * {@code --quick} run writes to {@code bench/results/quick/} instead, so that it never replaces the
 * figures of a full run.
 */
final class Report {

  /** The median of several runs, with the lowest and the highest. */
  record Figure(double median, double min, double max, int runs) {

    static Figure of(List<Double> values) {
      if (values.isEmpty()) {
        throw new IllegalArgumentException("no runs");
      }
      double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      int n = sorted.length;
      double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      return new Figure(median, sorted[0], sorted[n - 1], n);
    }

    static Figure of(double... values) {
      return of(Arrays.stream(values).boxed().toList());
    }

    /** The median, and the spread as the lowest and highest run when there were several. */
    String format(String pattern) {
      String m = String.format(Locale.ROOT, pattern, median);
      return runs == 1 ? m : m + " (" + String.format(Locale.ROOT, pattern, min) + "–"
          + String.format(Locale.ROOT, pattern, max) + ")";
    }
  }

  /** One table: a header and rows whose cells are text, numbers or {@link Figure}s. */
  static final class Table {
    final String title;
    final List<String> columns;
    final List<String> formats;
    final List<List<Object>> rows = new ArrayList<>();

    private Table(String title, List<String> columns, List<String> formats) {
      this.title = title;
      this.columns = columns;
      this.formats = formats;
    }

    /** Adds a row, printed at once so that a long run shows its progress. */
    Table row(Object... cells) {
      if (cells.length != columns.size()) {
        throw new IllegalArgumentException(cells.length + " cells for " + columns.size() + " columns");
      }
      rows.add(Arrays.asList(cells));
      System.out.println("  " + String.join(" | ", rendered(rows.get(rows.size() - 1))));
      return this;
    }

    private List<String> rendered(List<Object> row) {
      List<String> out = new ArrayList<>();
      for (int i = 0; i < row.size(); i++) {
        out.add(render(row.get(i), formats.get(i)));
      }
      return out;
    }

    private static String render(Object cell, String format) {
      if (cell instanceof Figure f) {
        return f.format(format);
      }
      if (cell instanceof Number n && !format.isEmpty()) {
        return String.format(Locale.ROOT, format, n.doubleValue());
      }
      return String.valueOf(cell);
    }
  }

  private record Chart(String file, String title) {}

  /** Ten colours told apart in print and by most colour-blind readers (Tableau 10). */
  private static final java.awt.Color[] PALETTE = java.util.stream.Stream.of(
          0x4E79A7, 0xF28E2B, 0xE15759, 0x76B7B2, 0x59A14F, 0xEDC948, 0xB07AA1, 0xFF9DA7, 0x9C755F, 0xBAB0AC)
      .map(java.awt.Color::new).toArray(java.awt.Color[]::new);

  private final String suite;
  private final boolean quick;
  private final Path dir;
  private final Map<String, Table> tables = new LinkedHashMap<>();
  private final List<String> notes = new ArrayList<>();
  private final List<Chart> charts = new ArrayList<>();

  Report(String suite, boolean quick) {
    this.suite = suite;
    this.quick = quick;
    // bench/results/ when run from the repository's root, else the working directory
    Path base = Files.isDirectory(Path.of("bench")) ? Path.of("bench", "results") : Path.of("bench-results");
    this.dir = quick ? base.resolve("quick") : base;
  }

  /**
   * A new table. Each column is {@code "name"} or {@code "name:format"}, the format (e.g.
   * {@code %,.0f}) applied to numbers and figures in that column.
   */
  Table table(String id, String title, String... columns) {
    List<String> names = new ArrayList<>();
    List<String> formats = new ArrayList<>();
    for (String c : columns) {
      int colon = c.lastIndexOf(':');
      names.add(colon < 0 ? c : c.substring(0, colon));
      formats.add(colon < 0 ? "" : c.substring(colon + 1));
    }
    Table table = new Table(title, names, formats);
    tables.put(id, table);
    System.out.println(title);
    return table;
  }

  /** A sentence printed now and kept under the tables: a ratio, a target, a caveat. */
  void note(String format, Object... args) {
    String text = String.format(Locale.ROOT, format, args);
    notes.add(text);
    System.out.println("  " + text);
  }

  /**
   * A grouped bar chart: one group per category, one bar per series, values in series order.
   * {@code logarithmic} for values that span orders of magnitude (Disruptor beside the rest).
   */
  void barChart(String name, String title, String yAxis, List<String> categories,
      Map<String, List<Double>> series, boolean logarithmic) throws IOException {
    CategoryChart chart = new CategoryChartBuilder().width(900).height(500).title(title)
        .yAxisTitle(yAxis).theme(Styler.ChartTheme.Matlab).build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    chart.getStyler().setSeriesColors(PALETTE); // the theme's own has 7 colours; fan-out draws 8 systems
    if (logarithmic) {
      // bars grow from zero unless told otherwise, and a log axis cannot hold zero: decades around the data
      double low = series.values().stream().flatMap(List::stream).filter(v -> v > 0).min(Double::compare).orElse(1.0);
      double high = series.values().stream().flatMap(List::stream).max(Double::compare).orElse(10.0);
      chart.getStyler().setYAxisLogarithmic(true);
      chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(low))));
      chart.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(Math.max(high, low * 10)))));
    }
    chart.getStyler().setLocale(Locale.ROOT);
    for (Map.Entry<String, List<Double>> s : series.entrySet()) {
      chart.addSeries(s.getKey(), categories, s.getValue());
    }
    Files.createDirectories(dir);
    String file = suite + "-" + name + ".png";
    BitmapEncoder.saveBitmap(chart, dir.resolve(file).toString(), BitmapEncoder.BitmapFormat.PNG);
    charts.add(new Chart(file, title));
  }

  /** Writes the JSON and the Markdown, and answers the Markdown's path. */
  Path write() throws IOException {
    Files.createDirectories(dir);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("suite", suite);
    json.put("quick", quick);
    json.put("finished", Instant.now().toString());
    json.put("machine", machine());
    Map<String, Object> jsonTables = new LinkedHashMap<>();
    for (Map.Entry<String, Table> t : tables.entrySet()) {
      Map<String, Object> table = new LinkedHashMap<>();
      table.put("title", t.getValue().title);
      List<Map<String, Object>> rows = new ArrayList<>();
      for (List<Object> row : t.getValue().rows) {
        Map<String, Object> r = new LinkedHashMap<>();
        for (int i = 0; i < row.size(); i++) {
          r.put(t.getValue().columns.get(i), row.get(i));
        }
        rows.add(r);
      }
      table.put("rows", rows);
      jsonTables.put(t.getKey(), table);
    }
    json.put("tables", jsonTables);
    json.put("notes", notes);
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve(suite + ".json").toFile(), json);

    StringBuilder md = new StringBuilder("# ").append(suite).append(quick ? " (quick)" : "").append("\n\n");
    md.append("Finished ").append(json.get("finished")).append(" on this machine: ");
    machine().forEach((k, v) -> md.append(k).append(": ").append(v).append("; "));
    md.setLength(md.length() - 2);
    md.append(".\n\n");
    for (Table t : tables.values()) {
      md.append("## ").append(t.title).append("\n\n| ").append(String.join(" | ", t.columns)).append(" |\n|");
      md.append(" --- |".repeat(t.columns.size())).append('\n');
      for (List<Object> row : t.rows) {
        md.append("| ").append(String.join(" | ", t.rendered(row))).append(" |\n");
      }
      md.append('\n');
    }
    for (String n : notes) {
      md.append("- ").append(n).append('\n');
    }
    for (Chart c : charts) {
      md.append("\n![").append(c.title).append("](").append(c.file).append(")\n");
    }
    Path out = dir.resolve(suite + ".md");
    Files.writeString(out, md);
    System.out.println("written: " + out.toAbsolutePath() + " and " + suite + ".json");
    return out;
  }

  /** What the figures depend on: cores, CPU, memory, JVM. */
  static Map<String, Object> machine() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("cpu", cpuModel());
    m.put("memory", String.format(Locale.ROOT, "%.0f GiB",
        ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize() / (double) (1L << 30)));
    m.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    // The tail latencies depend on the collector's pauses more than on anything Spool does.
    m.put("gc", String.join(" + ", ManagementFactory.getGarbageCollectorMXBeans().stream()
        .map(java.lang.management.GarbageCollectorMXBean::getName).toList()));
    m.put("max heap", String.format(Locale.ROOT, "%.0f MiB", Runtime.getRuntime().maxMemory() / (double) (1 << 20)));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    return m;
  }

  private static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("unknown");
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }
}

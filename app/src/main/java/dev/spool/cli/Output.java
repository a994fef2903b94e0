package dev.spool.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.Map;

/** How answers are printed: the API's JSON as it came ({@code --json}), or flattened {@code key  value} lines. */
final class Output {

  private Output() {}

  /** {@code node} as one line of JSON. */
  static void json(PrintWriter out, JsonNode node) {
    try {
      out.println(ApiClient.JSON.writeValueAsString(node));
    } catch (JsonProcessingException e) {
      throw new CliException(ExitCodes.FAILED, "NotJson", "cannot print the answer as JSON: " + e.getMessage(), e);
    }
    out.flush();
  }

  /** Every scalar of {@code node} as a {@code dotted.name  value} line, nested objects and arrays included. */
  static void fields(PrintWriter out, JsonNode node) {
    Table table = new Table("FIELD", "VALUE");
    flatten("", node, table);
    table.print(out);
  }

  private static void flatten(String prefix, JsonNode node, Table table) {
    if (node.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        flatten(prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey(), field.getValue(), table);
      }
    } else if (node.isArray()) {
      if (node.isEmpty()) {
        table.row(prefix, "[]");
      }
      for (int i = 0; i < node.size(); i++) {
        flatten(prefix + "[" + i + "]", node.get(i), table);
      }
    } else if (!node.isNull() && !node.isMissingNode()) {
      table.row(prefix, node.asText());
    }
  }

  /** {@code 1 message}, {@code 2 messages}. */
  static String messages(long n) {
    return n + (n == 1 ? " message" : " messages");
  }
}

package dev.spool.redis;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.spool.Message;
import dev.spool.redis.resp.RespError;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How a stream entry's field-value pairs and a Spool message map to each other, so that HTTP and
 * Java users see entries written over RESP sensibly, and RESP clients see their messages:
 * <ul>
 *   <li>one field named {@code payload}: the message's payload is its value, byte for byte;</li>
 *   <li>any other fields: the payload is a JSON object of the pairs in their order, with content
 *       type {@code application/json} (values must be UTF-8 text, each field once);</li>
 *   <li>reading: a message of content type {@code application/json} (parameters aside) whose
 *       payload is a JSON object with members gives its members as fields (strings as they are,
 *       other values as their JSON text); any other message gives the one field {@code payload}.</li>
 * </ul>
 */
final class Entries {

  static final String PAYLOAD = "payload";
  static final String JSON = "application/json";
  /** The message type of entries added over RESP. */
  static final String TYPE = "redis";

  private static final JsonFactory JSON_FACTORY = new JsonFactory();
  private static final byte[] PAYLOAD_BYTES = PAYLOAD.getBytes(StandardCharsets.US_ASCII);

  private Entries() {}

  /** The message for {@code fields} ({@code field, value, field, value, …}, an even, non-zero count). */
  static Message toMessage(List<byte[]> fields) {
    if (fields.size() == 2 && java.util.Arrays.equals(fields.get(0), PAYLOAD_BYTES)) {
      return Message.of(TYPE, fields.get(1));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + fields.stream().mapToInt(f -> f.length).sum());
    Set<String> seen = new HashSet<>();
    try (JsonGenerator json = JSON_FACTORY.createGenerator(out)) {
      json.writeStartObject();
      for (int i = 0; i < fields.size(); i += 2) {
        String field = utf8(fields.get(i));
        if (!seen.add(field)) {
          throw new RespError("ERR field '" + printable(field) + "' appears twice: a Spool stream entry takes each"
              + " field once");
        }
        json.writeStringField(field, utf8(fields.get(i + 1)));
      }
      json.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("JSON to memory cannot fail", e);
    }
    return Message.of(TYPE, out.toByteArray()).withContentType(JSON);
  }

  /** The entry's fields for {@code message}, as bulk strings in order. */
  static List<byte[]> fields(Message message) {
    if (message.contentType().filter(Entries::isJson).isPresent()) {
      List<byte[]> fields = jsonFields(message.payload());
      if (fields != null) {
        return fields;
      }
    }
    return List.of(PAYLOAD_BYTES, message.payload());
  }

  /** {@code application/json}, with or without parameters ({@code ; charset=utf-8}). */
  private static boolean isJson(String contentType) {
    int semicolon = contentType.indexOf(';');
    String type = (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim();
    return type.equalsIgnoreCase(JSON);
  }

  /** The members of a JSON object as fields, or null if the payload is not one with members. */
  private static List<byte[]> jsonFields(byte[] payload) {
    List<byte[]> fields = new ArrayList<>();
    try (JsonParser json = JSON_FACTORY.createParser(payload)) {
      if (json.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (json.nextToken() == JsonToken.FIELD_NAME) {
        fields.add(json.currentName().getBytes(StandardCharsets.UTF_8));
        JsonToken value = json.nextToken();
        if (value == JsonToken.VALUE_STRING) {
          fields.add(json.getText().getBytes(StandardCharsets.UTF_8));
        } else if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
          ByteArrayOutputStream nested = new ByteArrayOutputStream();
          try (JsonGenerator copy = JSON_FACTORY.createGenerator(nested)) {
            copy.copyCurrentStructure(json);
          }
          fields.add(nested.toByteArray());
        } else {
          fields.add(json.getText().getBytes(StandardCharsets.UTF_8));
        }
      }
      // An entry has at least one field in Redis: an empty object reads as its payload.
      return json.nextToken() == null && !fields.isEmpty() ? fields : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new RespError("ERR an entry of several fields takes UTF-8 text; send binary data as the one field '"
          + PAYLOAD + "'");
    }
  }

  private static String printable(String s) {
    String cut = s.length() > 40 ? s.substring(0, 40) + "…" : s;
    return cut.replaceAll("[\\p{Cntrl}]", "?");
  }
}

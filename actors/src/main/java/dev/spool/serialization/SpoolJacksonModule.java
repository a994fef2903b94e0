package dev.spool.serialization;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import dev.spool.Message;
import dev.spool.SpoolException;
import dev.spool.StartPosition;
import dev.spool.actor.ConsumerActor;
import dev.spool.actor.Janitor;
import dev.spool.actor.QueueActor;
import dev.spool.durable.QueueRegistry;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.remote.serialization.ThrowableNotSerializableException;

/**
 * What Pekko's Jackson serializer needs to know of Spool's messages beyond their records, added to
 * its object mapper by {@code pekko.serialization.jackson.jackson-modules} in {@code reference.conf}:
 *
 * <ul>
 *   <li>Fields whose type is one of Spool's protocol interfaces (a routed command, a consumer's
 *       start position, the registry's reply) carry the class of their value. Only these base
 *       types do, and a class id is accepted only if it names a subtype of the field's base type,
 *       so the sender cannot make the receiver build anything else.
 *   <li>{@link Message}, which keeps its fields private: written field by field, its payload as
 *       one CBOR byte string (no base64, no array of numbers).
 *   <li>{@link Throwable} fields: class name and message, and a {@link SpoolException}'s code, so
 *       that it arrives as the same subclass with the same code; any other throwable arrives as
 *       Pekko's {@link ThrowableNotSerializableException} naming the original class, never through
 *       Java serialization.
 * </ul>
 */
public final class SpoolJacksonModule extends SimpleModule {

  /** Writes the class of the value with it, for fields of a protocol interface type. */
  @JsonTypeInfo(use = JsonTypeInfo.Id.CLASS, include = JsonTypeInfo.As.PROPERTY, property = "@type")
  private interface WithClass {}

  /** Created by Pekko from the module list in configuration. */
  public SpoolJacksonModule() {
    super("spool");
    // The base types that fields of crossing messages are declared with: ToQueue's command,
    // ToConsumer's, ToJanitor's, a consumer's start position, the registry's reply to its manager.
    setMixInAnnotation(QueueActor.Command.class, WithClass.class);
    setMixInAnnotation(ConsumerActor.Command.class, WithClass.class);
    setMixInAnnotation(Janitor.Command.class, WithClass.class);
    setMixInAnnotation(StartPosition.class, WithClass.class);
    setMixInAnnotation(QueueRegistry.Reply.class, WithClass.class);
    addSerializer(Message.class, new MessageWriter());
    addDeserializer(Message.class, new MessageReader());
    // A filter expression crosses as its source and is compiled again where it arrives.
    addSerializer(dev.spool.FilterExpression.class, new com.fasterxml.jackson.databind.ser.std.ToStringSerializerBase(
        dev.spool.FilterExpression.class) {
      @Override
      public String valueToString(Object value) {
        return ((dev.spool.FilterExpression) value).source();
      }
    });
    addDeserializer(dev.spool.FilterExpression.class,
        new com.fasterxml.jackson.databind.deser.std.FromStringDeserializer<>(dev.spool.FilterExpression.class) {
          @Override
          protected dev.spool.FilterExpression _deserialize(String value,
              com.fasterxml.jackson.databind.DeserializationContext context) {
            return dev.spool.FilterExpression.compile(value);
          }
        });
    addSerializer(Throwable.class, new ThrowableWriter());
    addDeserializer(Throwable.class, new ThrowableReader());
  }

  /** A message's fields, those at their default left out. */
  private static final class MessageWriter extends StdSerializer<Message> {
    MessageWriter() {
      super(Message.class);
    }

    @Override
    public void serialize(Message m, JsonGenerator gen, SerializerProvider provider) throws IOException {
      gen.writeStartObject();
      if (m.sequence() != 0) {
        gen.writeNumberField("sequence", m.sequence());
        gen.writeNumberField("timestamp", m.timestamp());
        gen.writeNumberField("idSeed", m.idSeed());
      }
      if (m.producerId() != null) {
        gen.writeStringField("producer", m.producerId());
      }
      gen.writeStringField("type", m.type());
      if (m.key().isPresent()) {
        gen.writeStringField("key", m.key().get());
      }
      if (m.contentType().isPresent()) {
        gen.writeStringField("contentType", m.contentType().get());
      }
      if (!m.headers().isEmpty()) {
        gen.writeObjectFieldStart("headers");
        for (Map.Entry<String, String> h : m.headers().entrySet()) {
          gen.writeStringField(h.getKey(), h.getValue());
        }
        gen.writeEndObject();
      }
      if (m.hasProducerId()) {
        gen.writeNumberField("idHigh", m.id().getMostSignificantBits());
        gen.writeNumberField("idLow", m.id().getLeastSignificantBits());
      }
      if (m.expiresAtMillis() != 0) {
        gen.writeNumberField("expiresAt", m.expiresAtMillis());
      }
      if (m.ttl().isPresent()) {
        gen.writeNumberField("ttl", m.ttl().get().toMillis());
      }
      if (m.deliverAtMillis() != 0) {
        gen.writeNumberField("deliverAt", m.deliverAtMillis());
      }
      if (m.delay().isPresent()) {
        gen.writeNumberField("delay", m.delay().get().toMillis());
      }
      if (m.priority() != 0) {
        gen.writeNumberField("priority", m.priority());
      }
      gen.writeFieldName("payload");
      gen.writeBinary(m.payload());
      gen.writeEndObject();
    }
  }

  /**
   * A message as {@link MessageWriter} wrote it: an appended one as the journal restores it, one
   * not yet appended (a publish) rebuilt through the producer's API, whose checks it passes again.
   */
  private static final class MessageReader extends StdDeserializer<Message> {
    MessageReader() {
      super(Message.class);
    }

    @Override
    public Message deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.currentToken() != JsonToken.START_OBJECT) {
        return (Message) ctxt.handleUnexpectedToken(Message.class, p);
      }
      long sequence = 0;
      long timestamp = 0;
      long idSeed = 0;
      String producer = null;
      String type = null;
      String key = null;
      String contentType = null;
      Map<String, String> headers = Map.of();
      Long idHigh = null;
      Long idLow = null;
      long expiresAt = 0;
      long ttl = 0;
      long deliverAt = 0;
      long delay = 0;
      int priority = 0;
      byte[] payload = null;
      for (String field = p.nextFieldName(); field != null; field = p.nextFieldName()) {
        p.nextToken();
        switch (field) {
          case "sequence" -> sequence = p.getLongValue();
          case "timestamp" -> timestamp = p.getLongValue();
          case "idSeed" -> idSeed = p.getLongValue();
          case "producer" -> producer = p.getValueAsString();
          case "type" -> type = p.getValueAsString();
          case "key" -> key = p.getValueAsString();
          case "contentType" -> contentType = p.getValueAsString();
          case "headers" -> headers = readHeaders(p, ctxt);
          case "idHigh" -> idHigh = p.getLongValue();
          case "idLow" -> idLow = p.getLongValue();
          case "expiresAt" -> expiresAt = p.getLongValue();
          case "ttl" -> ttl = p.getLongValue();
          case "deliverAt" -> deliverAt = p.getLongValue();
          case "delay" -> delay = p.getLongValue();
          case "priority" -> priority = p.getIntValue();
          case "payload" -> payload = p.getBinaryValue();
          default -> p.skipChildren();
        }
      }
      if (type == null || payload == null) {
        return (Message) ctxt.handleUnexpectedToken(Message.class, p);
      }
      UUID id = idHigh != null && idLow != null ? new UUID(idHigh, idLow) : null;
      if (sequence != 0) {
        return Message.restored(sequence, timestamp, producer, type, key, headers, contentType, payload, id, idSeed,
            expiresAt, deliverAt, priority, null);
      }
      Message m = Message.of(type, payload);
      if (key != null) {
        m = m.withKey(key);
      }
      if (!headers.isEmpty()) {
        m = m.withHeaders(headers);
      }
      if (contentType != null) {
        m = m.withContentType(contentType);
      }
      if (id != null) {
        m = m.withId(id);
      }
      if (ttl > 0) {
        m = m.withTtl(Duration.ofMillis(ttl));
      } else if (expiresAt != 0) {
        m = m.withExpiresAt(Instant.ofEpochMilli(expiresAt));
      }
      if (delay > 0) {
        m = m.withDelay(Duration.ofMillis(delay));
      } else if (deliverAt != 0) {
        m = m.withDeliverAt(Instant.ofEpochMilli(deliverAt));
      }
      if (priority != 0) {
        m = m.withPriority(priority);
      }
      return m;
    }

    private static Map<String, String> readHeaders(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.currentToken() != JsonToken.START_OBJECT) {
        ctxt.handleUnexpectedToken(Map.class, p);
      }
      Map<String, String> headers = new HashMap<>();
      for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
        p.nextToken();
        headers.put(name, p.getValueAsString());
      }
      return Collections.unmodifiableMap(headers);
    }
  }

  /** A throwable's class name and message, and a {@link SpoolException}'s code (and missing key). */
  private static final class ThrowableWriter extends StdSerializer<Throwable> {
    ThrowableWriter() {
      super(Throwable.class);
    }

    @Override
    public void serialize(Throwable t, JsonGenerator gen, SerializerProvider provider) throws IOException {
      gen.writeStartObject();
      gen.writeStringField("class", t.getClass().getName());
      if (t.getMessage() != null) {
        gen.writeStringField("message", t.getMessage());
      }
      if (t instanceof SpoolException e) {
        gen.writeStringField("code", e.code().name());
        if (e instanceof SpoolException.EncryptionKeyMissing missing) {
          gen.writeStringField("keyId", missing.keyId());
        }
      }
      gen.writeEndObject();
    }
  }

  /**
   * A {@link SpoolException} rebuilt from its code; anything else as a
   * {@link ThrowableNotSerializableException}: no class named by the sender is instantiated.
   */
  private static final class ThrowableReader extends StdDeserializer<Throwable> {
    ThrowableReader() {
      super(Throwable.class);
    }

    @Override
    public Throwable deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.currentToken() != JsonToken.START_OBJECT) {
        return (Throwable) ctxt.handleUnexpectedToken(Throwable.class, p);
      }
      String className = null;
      String message = null;
      String code = null;
      String keyId = null;
      for (String field = p.nextFieldName(); field != null; field = p.nextFieldName()) {
        p.nextToken();
        switch (field) {
          case "class" -> className = p.getValueAsString();
          case "message" -> message = p.getValueAsString();
          case "code" -> code = p.getValueAsString();
          case "keyId" -> keyId = p.getValueAsString();
          default -> p.skipChildren();
        }
      }
      return Failures.restore(className, message, code, keyId);
    }
  }
}

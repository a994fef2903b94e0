package dev.spool.serialization;

import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.HandlerSettings;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.QueueSettings;
import dev.spool.StartPosition;
import dev.spool.SpoolException;
import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * Sample values of any type the protocols use, built by reflection: strings, numbers, enums, times,
 * lists and maps, nested records, a probe's reference, and messages with 1 KiB and 64 KiB payloads.
 * An interface-typed field gets an implementation from {@code implementations}, so routed
 * commands carry real inner commands. Also a structural equality for what has none of its own
 * ({@link Message}, arrays, throwables, records holding them).
 */
final class Samples {

  private final ActorRef<?> ref;
  private final Function<Class<?>, List<Class<?>>> implementations;
  private final Random random = new Random(19);
  private int counter;
  private final byte[] smallPayload = bytes(1024);
  private final byte[] largePayload = bytes(64 * 1024);
  private boolean large;

  Samples(ActorRef<?> ref, Function<Class<?>, List<Class<?>>> implementations) {
    this.ref = ref;
    this.implementations = implementations;
  }

  /** From now on messages carry 64 KiB payloads ({@code true}) or 1 KiB ones. */
  void largePayloads(boolean large) {
    this.large = large;
  }

  byte[] bytes(int size) {
    byte[] b = new byte[size];
    random.nextBytes(b);
    return b;
  }

  /**
   * An appended message (producer, key, headers, content type, chosen id, expiry, delivery time,
   * priority) as a queue hands it out.
   */
  Message appendedMessage() {
    int n = ++counter;
    return Message.of("order.created", large ? largePayload : smallPayload)
        .withKey("customer-" + n)
        .withHeaders(Map.of("region", "eu", "group-id", "g" + n))
        .withContentType("application/octet-stream")
        .withId(new UUID(random.nextLong(), random.nextLong()))
        .withExpiresAt(Instant.ofEpochMilli(1_900_000_000_000L + n))
        .withDeliverAt(Instant.ofEpochMilli(1_850_000_000_000L + n))
        .withPriority(n % 10)
        .appended(n, 1_800_000_000_000L + n, "producer-" + n);
  }

  /** A message as a producer publishes it: not appended, with a ttl, a delay and a priority. */
  Message publishedMessage() {
    int n = ++counter;
    return Message.text("invoice.paid", "x".repeat(large ? 64 * 1024 : 1024))
        .withKey("k" + n)
        .withHeader("trace", "t" + n)
        .withTtl(Duration.ofSeconds(30 + n))
        .withDelay(Duration.ofSeconds(5 + n))
        .withPriority(9 - n % 10);
  }

  /** Every sample of {@code type}: one per implementation for a field typed by a protocol interface. */
  List<Object> all(Class<?> type) {
    if (type == ConsumerSettings.class) {
      // Built as callers build them (its components constrain each other), once per start position.
      List<Object> variants = new ArrayList<>();
      for (StartPosition p : new StartPosition[] {StartPosition.earliest(), StartPosition.latest(),
          StartPosition.sequence(7), StartPosition.time(Instant.ofEpochMilli(1_800_000_000_000L))}) {
        variants.add(((ConsumerSettings) value(ConsumerSettings.class, Map.of(), 0)).startAt(p));
      }
      return variants;
    }
    if (type.isRecord()) {
      RecordComponent[] components = type.getRecordComponents();
      for (int i = 0; i < components.length; i++) {
        Class<?> raw = components[i].getType();
        if (isProtocolInterface(raw)) {
          List<Object> variants = new ArrayList<>();
          for (Class<?> impl : implementations.apply(raw)) {
            Object[] args = args(type, Map.of());
            args[i] = value(impl, Map.of(), 1);
            variants.add(construct(type, args));
          }
          if (!variants.isEmpty()) {
            return variants;
          }
        }
      }
    }
    return List.of(value(type, Map.of(), 0));
  }

  Object value(Type type) {
    return value(type, Map.of(), 0);
  }

  private static boolean isProtocolInterface(Class<?> raw) {
    return raw.isInterface() && raw.getName().startsWith("dev.spool.");
  }

  private Object value(Type type, Map<TypeVariable<?>, Type> bindings, int depth) {
    if (depth > 6) {
      throw new IllegalStateException("sample nesting too deep at " + type);
    }
    if (type instanceof TypeVariable<?> v) {
      Type bound = bindings.get(v);
      return bound == null ? "value-" + (++counter) : value(bound, bindings, depth + 1);
    }
    if (type instanceof WildcardType w) {
      return value(w.getUpperBounds()[0], bindings, depth + 1);
    }
    if (type instanceof GenericArrayType g) {
      Object one = value(g.getGenericComponentType(), bindings, depth + 1);
      Object array = Array.newInstance(one.getClass(), 1);
      Array.set(array, 0, one);
      return array;
    }
    if (type instanceof ParameterizedType p) {
      Class<?> raw = (Class<?>) p.getRawType();
      Type[] args = p.getActualTypeArguments();
      if (List.class.isAssignableFrom(raw) || raw == java.util.Collection.class) {
        return List.of(value(args[0], bindings, depth + 1), value(args[0], bindings, depth + 1));
      }
      if (Map.class.isAssignableFrom(raw)) {
        Map<Object, Object> map = new LinkedHashMap<>();
        map.put(value(args[0], bindings, depth + 1), value(args[1], bindings, depth + 1));
        map.put(value(args[0], bindings, depth + 1), value(args[1], bindings, depth + 1));
        return map;
      }
      if (raw == Optional.class) {
        return Optional.of(value(args[0], bindings, depth + 1));
      }
      if (raw == ActorRef.class) {
        return ref;
      }
      if (raw == StatusReply.class) {
        return StatusReply.success(value(args[0], bindings, depth + 1));
      }
      Map<TypeVariable<?>, Type> inner = new HashMap<>(bindings);
      TypeVariable<?>[] vars = raw.getTypeParameters();
      for (int i = 0; i < vars.length; i++) {
        inner.put(vars[i], args[i]);
      }
      return value(raw, inner, depth + 1);
    }
    Class<?> c = (Class<?>) type;
    int n = ++counter;
    if (c == String.class) {
      return "name-" + n;
    }
    if (c == int.class || c == Integer.class) {
      return 3 + n % 50;
    }
    if (c == long.class || c == Long.class) {
      return 1_000L + n;
    }
    if (c == double.class || c == Double.class) {
      return 0.5 + n;
    }
    if (c == boolean.class || c == Boolean.class) {
      return true;
    }
    if (c == byte[].class) {
      return large ? largePayload : smallPayload;
    }
    if (c == long[].class) {
      return new long[] {n, n + 1L};
    }
    if (c == int[].class) {
      return new int[] {1, 2};
    }
    if (c == Duration.class) {
      return Duration.ofMillis(1_500 + n);
    }
    if (c == Instant.class) {
      return Instant.ofEpochMilli(1_800_000_000_000L + n);
    }
    if (c == UUID.class) {
      return new UUID(random.nextLong(), random.nextLong());
    }
    if (c == Done.class) {
      return Done.getInstance();
    }
    if (c == Object.class) {
      return "value-" + n;
    }
    if (c == Message.class) {
      return n % 2 == 0 ? appendedMessage() : publishedMessage();
    }
    if (Throwable.class.isAssignableFrom(c)) {
      return new SpoolException.QueueNotFound("gone-" + n);
    }
    if (c == ActorRef.class) {
      return ref;
    }
    // Values whose constructors check their arguments: realistic ones, as callers build them.
    if (c == QueueSettings.class) {
      return QueueSettings.defaults().withDeadLetter("dead-" + n, 4).withTtl(Duration.ofMinutes(5))
          .withMaxLength(10_000).withRetention(Duration.ofMinutes(1)).withMaxPriority(1 + n % 9);
    }
    if (c == QueueSettings.Encryption.class) {
      return new QueueSettings.Encryption("key-" + n);
    }
    if (c == ConsumerSettings.class) {
      return ConsumerSettings.named("consumer-" + n).startAt(StartPosition.sequence(5)).prefetch(20)
          .ackTimeout(Duration.ofSeconds(10)).maxDeliveries(3).filter(MessageFilter.type("order.created")
              .header("region", "eu").and("payload.total > " + n)).backoff(Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5), 2, 0.1))
          .push(n % 2 == 0 ? null : (dev.spool.PushSettings) value(dev.spool.PushSettings.class, bindings, depth + 1));
    }
    if (c == dev.spool.PushSettings.class) {
      return dev.spool.PushSettings.to("https://hooks.example.com/in/" + n).maxOutstanding(1 + n % 20)
          .ackDeadline(Duration.ofSeconds(5)).permanentStatuses(java.util.Set.of(409, 422));
    }
    if (c == java.net.URI.class) {
      return java.net.URI.create("https://hooks.example.com/in/" + n);
    }
    if (c == dev.spool.FilterExpression.class) {
      return dev.spool.FilterExpression.compile("headers['region'] in ['eu', 'uk'] && payload.total > " + n);
    }
    if (c == Backoff.class) {
      return Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5), 2.0, 0.2);
    }
    if (c == HandlerSettings.class) {
      return new HandlerSettings(Duration.ofSeconds(5), "spool.handler-dispatcher", 3, Duration.ofSeconds(1),
          Duration.ofSeconds(30));
    }
    if (c == StartPosition.class) {
      StartPosition[] all = {StartPosition.earliest(), StartPosition.latest(), StartPosition.sequence(7),
          StartPosition.time(Instant.ofEpochMilli(1_800_000_000_000L))};
      return all[n % all.length];
    }
    if (c.isEnum()) {
      Object[] constants = c.getEnumConstants();
      return constants[n % constants.length];
    }
    if (c.isRecord()) {
      return construct(c, args(c, bindings, depth));
    }
    if (c.isInterface() || Modifier.isAbstract(c.getModifiers())) {
      List<Class<?>> impls = implementations.apply(c);
      if (impls.isEmpty()) {
        throw new IllegalStateException("no implementation of " + c.getName() + " to sample");
      }
      return value(impls.get(n % impls.size()), bindings, depth + 1);
    }
    throw new IllegalStateException("no sample for " + c.getName());
  }

  private Object[] args(Class<?> record, Map<TypeVariable<?>, Type> bindings) {
    return args(record, bindings, 0);
  }

  private Object[] args(Class<?> record, Map<TypeVariable<?>, Type> bindings, int depth) {
    RecordComponent[] components = record.getRecordComponents();
    Object[] args = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      args[i] = value(components[i].getGenericType(), bindings, depth + 1);
    }
    return args;
  }

  static Object construct(Class<?> record, Object[] args) {
    try {
      Class<?>[] types = Arrays.stream(record.getRecordComponents()).map(RecordComponent::getType).toArray(Class[]::new);
      Constructor<?> canonical = record.getDeclaredConstructor(types);
      canonical.setAccessible(true);
      return canonical.newInstance(args);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot build a " + record.getName() + ": " + e, e);
    }
  }

  /**
   * Whether {@code a} and {@code b} hold the same values: records component by component, messages
   * by every public field and their payload bytes, throwables by class, message and code.
   */
  static boolean same(Object a, Object b) {
    if (a == b) {
      return true;
    }
    if (a == null || b == null) {
      return false;
    }
    if (a instanceof Message x && b instanceof Message y) {
      return x.sequence() == y.sequence() && x.timestamp() == y.timestamp() && Objects.equals(x.id(), y.id())
          && x.hasProducerId() == y.hasProducerId() && Objects.equals(x.producerId(), y.producerId())
          && x.type().equals(y.type()) && x.key().equals(y.key()) && x.headers().equals(y.headers())
          && x.contentType().equals(y.contentType()) && Arrays.equals(x.payload(), y.payload())
          && x.expiresAtMillis() == y.expiresAtMillis() && x.ttl().equals(y.ttl()) && x.idSeed() == y.idSeed()
          && x.deliverAtMillis() == y.deliverAtMillis() && x.delay().equals(y.delay())
          && x.priority() == y.priority() && x.sizeBytes() == y.sizeBytes();
    }
    if (a instanceof Throwable x && b instanceof Throwable y) {
      return x.getClass() == y.getClass() && Objects.equals(x.getMessage(), y.getMessage())
          && (!(x instanceof SpoolException e) || e.code() == ((SpoolException) y).code());
    }
    if (a instanceof StatusReply<?> x && b instanceof StatusReply<?> y) {
      return x.isSuccess() == y.isSuccess()
          && (x.isSuccess() ? same(x.getValue(), y.getValue()) : same(x.getError(), y.getError()));
    }
    if (a instanceof List<?> x && b instanceof List<?> y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!same(x.get(i), y.get(i))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
      if (!x.keySet().equals(y.keySet())) {
        return false;
      }
      for (Object key : x.keySet()) {
        if (!same(x.get(key), y.get(key))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Optional<?> x && b instanceof Optional<?> y) {
      return x.isPresent() == y.isPresent() && (x.isEmpty() || same(x.get(), y.get()));
    }
    if (a.getClass().isArray() && b.getClass().isArray()) {
      int length = Array.getLength(a);
      if (length != Array.getLength(b)) {
        return false;
      }
      for (int i = 0; i < length; i++) {
        if (!same(Array.get(a, i), Array.get(b, i))) {
          return false;
        }
      }
      return true;
    }
    if (a.getClass().isRecord() && a.getClass() == b.getClass()) {
      for (RecordComponent c : a.getClass().getRecordComponents()) {
        try {
          var accessor = c.getAccessor();
          accessor.setAccessible(true);
          if (!same(accessor.invoke(a), accessor.invoke(b))) {
            return false;
          }
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException(e);
        }
      }
      return true;
    }
    return a.equals(b);
  }
}

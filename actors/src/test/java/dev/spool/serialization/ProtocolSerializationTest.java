package dev.spool.serialization;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.SpoolException;
import dev.spool.actor.QueueActor;
import dev.spool.durable.QueueRegistry;
import java.io.Serializable;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.remote.serialization.ThrowableNotSerializableException;
import org.apache.pekko.serialization.DisabledJavaSerializer;
import org.apache.pekko.serialization.JavaSerializer;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every message that can cross the network between cluster members round-trips through the
 * serializer it is bound to. The protocols are found, not listed: each behavior's message type
 * (its implementations, or the message classes nested in a behavior of {@code Object}), what their
 * {@code ActorRef} fields receive (a reply's value inside {@code StatusReply}, deliveries, stream
 * elements, events), the interfaces their fields are typed with, and every class
 * {@code reference.conf} binds to Jackson. A new message type that has no binding, or that its
 * binding cannot write and read back equal, fails here; only messages marked
 * {@link NoSerializationVerificationNeeded} (never sent off their node) are left out.
 */
class ProtocolSerializationTest {

  private static ActorTestKit testKit;
  private static Serialization serialization;
  private static List<Class<?>> classes;
  private static Samples samples;

  /** Message classes (concrete) and reply value types found in the protocols. */
  private static final Set<Class<?>> MESSAGES = new LinkedHashSet<>();
  private static final Set<Type> REPLIES = new LinkedHashSet<>();

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("serialization");
    serialization = SerializationExtension.get(testKit.system());
    classes = new ClassFileImporter().withImportOption(new ImportOption.DoNotIncludeTests())
        .importPackages("dev.spool").stream().map(JavaClass::reflect)
        .sorted(Comparator.comparing(Class::getName)).toList();
    ActorRef<Object> probe = testKit.<Object>createTestProbe().ref();
    samples = new Samples(probe, ProtocolSerializationTest::implementations);
    discover();
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  /** The concrete classes of Spool that are {@code type}, itself included. */
  private static List<Class<?>> implementations(Class<?> type) {
    List<Class<?>> found = new ArrayList<>();
    for (Class<?> c : classes) {
      if (type.isAssignableFrom(c) && !c.isInterface() && !Modifier.isAbstract(c.getModifiers())
          && !c.isAnonymousClass() && !local(c)) {
        found.add(c);
      }
    }
    return found;
  }

  private static boolean local(Class<?> c) {
    return NoSerializationVerificationNeeded.class.isAssignableFrom(c);
  }

  private static void discover() {
    Set<Class<?>> roots = new LinkedHashSet<>();
    for (Class<?> c : classes) {
      if (Behavior.class.isAssignableFrom(c) && c.getGenericSuperclass() instanceof ParameterizedType p
          && p.getActualTypeArguments()[0] instanceof Class<?> messageType) {
        if (messageType == Object.class) {
          for (Class<?> nested : c.getDeclaredClasses()) {
            roots.add(nested);
          }
        } else {
          roots.add(messageType);
        }
      }
    }
    // What reference.conf binds to Jackson: the API's values replies and deliveries carry.
    var bindings = testKit.system().settings().config().getConfig("pekko.actor.serialization-bindings");
    for (Map.Entry<String, com.typesafe.config.ConfigValue> b : bindings.root().entrySet()) {
      String name = b.getKey().replace("\"", "");
      if (name.startsWith("dev.spool.") && b.getValue().unwrapped().equals("jackson-cbor")) {
        try {
          roots.add(Class.forName(name));
        } catch (ClassNotFoundException e) {
          throw new AssertionError("reference.conf binds a class that does not exist: " + name);
        }
      }
    }
    List<Class<?>> work = new ArrayList<>(roots);
    Set<Class<?>> seen = new LinkedHashSet<>();
    while (!work.isEmpty()) {
      Class<?> root = work.remove(work.size() - 1);
      if (!seen.add(root) || local(root)) {
        continue;
      }
      for (Class<?> message : implementations(root)) {
        if (!MESSAGES.add(message) || !message.isRecord()) {
          continue;
        }
        for (RecordComponent component : message.getRecordComponents()) {
          Type type = component.getGenericType();
          if (type instanceof ParameterizedType p && p.getRawType() == ActorRef.class) {
            Type received = p.getActualTypeArguments()[0];
            if (received instanceof ParameterizedType r && r.getRawType() == StatusReply.class) {
              REPLIES.add(r.getActualTypeArguments()[0]);
            } else if (received instanceof Class<?> k && k != Object.class) {
              work.add(k);
            }
          } else if (component.getType().isInterface() && component.getType().getName().startsWith("dev.spool.")) {
            work.add(component.getType());
          }
        }
      }
    }
  }

  private static Object roundTrip(Object value) {
    Serializer serializer = serialization.findSerializerFor(value);
    assertFalse(serializer instanceof JavaSerializer || serializer instanceof DisabledJavaSerializer,
        value.getClass().getName() + " would need Java serialization");
    // serialize() as a transport does it, with the system at hand for ActorRefs.
    byte[] bytes = serialization.serialize(value).get();
    String manifest = Serializers.manifestFor(serializer, value);
    return serialization.deserialize(bytes, serializer.identifier(), manifest).get();
  }

  /** Round-trips {@code value}; returns why it failed, or null. */
  private static String check(String what, Object value) {
    try {
      Object back = roundTrip(value);
      return Samples.same(value, back) ? null : what + ": read back different: " + value + " -> " + back;
    } catch (Throwable e) {
      return what + ": " + e;
    }
  }

  @Test
  void everyProtocolMessageRoundTrips() {
    assertTrue(MESSAGES.size() > 80, "the protocols were found: " + MESSAGES.size() + " message classes");
    // The routed commands and the reply types the facade and the HTTP layer rely on are among them.
    assertTrue(MESSAGES.contains(QueueActor.Publish.class) && MESSAGES.contains(Delivery.class)
        && MESSAGES.contains(dev.spool.SpoolEvent.QueueCreated.class), MESSAGES.toString());
    List<String> failures = new ArrayList<>();
    int checked = 0;
    for (boolean large : new boolean[] {false, true}) {
      samples.largePayloads(large);
      for (Class<?> message : MESSAGES) {
        List<Object> values;
        try {
          values = samples.all(message);
        } catch (RuntimeException e) {
          failures.add(message.getName() + ": no sample: " + e);
          continue;
        }
        for (Object value : values) {
          checked++;
          String failure = check(message.getName(), value);
          if (failure != null) {
            failures.add(failure);
          }
        }
      }
    }
    assertEquals(List.of(), failures, failures.size() + " of " + checked + " samples failed");
  }

  @Test
  void everyReplyRoundTripsInAStatusReply() {
    assertTrue(REPLIES.size() > 15, "reply types found: " + REPLIES);
    List<String> failures = new ArrayList<>();
    for (Type reply : REPLIES) {
      Object value;
      try {
        value = samples.value(reply);
      } catch (RuntimeException e) {
        failures.add(reply.getTypeName() + ": no sample: " + e);
        continue;
      }
      String failure = check("StatusReply<" + reply.getTypeName() + ">", StatusReply.success(value));
      if (failure != null) {
        failures.add(failure);
      }
    }
    assertEquals(List.of(), failures);
  }

  @Test
  void spoolExceptionsArriveAsTheSameSubclassWithCodeAndMessage() {
    List<SpoolException> errors = new ArrayList<>(List.of(
        new SpoolException.QueueNotFound("orders"),
        new SpoolException.QueueAlreadyExists("orders"),
        new SpoolException.ConsumerNotFound("orders", "billing"),
        new SpoolException.ConsumerAlreadyExists("orders", "billing"),
        new SpoolException.QueueFull("queue 'orders' holds 10000 messages, its max-length"),
        new SpoolException.InvalidName("'a b' is not a name"),
        new SpoolException.InvalidConfiguration("prefetch must be between 1 and 100000"),
        new SpoolException.MessageTooLarge("9 MiB is over 8 MiB"),
        new SpoolException.SequenceOutOfRange("sequence 5 is not retained"),
        new SpoolException.Timeout("Spool did not answer in time"),
        new SpoolException.ShuttingDown(),
        new SpoolException.JournalUnavailable("the journal write stalled"),
        new SpoolException.SegmentCorrupt("orders-1", 3, "checksum"),
        new SpoolException.EncryptionKeyMissing("k1")));
    for (SpoolException.Code code : SpoolException.Code.values()) {
      errors.add(SpoolException.restore(code, "restored " + code, "k2"));
    }
    for (SpoolException error : errors) {
      StatusReply<?> back = (StatusReply<?>) roundTrip(StatusReply.error(error));
      Throwable received = back.getError();
      assertEquals(error.getClass(), received.getClass(), error.toString());
      assertEquals(error.code(), ((SpoolException) received).code());
      assertEquals(error.getMessage(), received.getMessage());
      if (error instanceof SpoolException.EncryptionKeyMissing missing) {
        assertEquals(missing.keyId(), ((SpoolException.EncryptionKeyMissing) received).keyId());
      }
      // As a message of its own (a field, or an error sent on its own) too.
      assertTrue(Samples.same(error, roundTrip(error)), error.toString());
    }
  }

  @Test
  void otherThrowablesArriveAsTheirClassNameAndMessageWithoutJavaSerialization() {
    StatusReply<?> back = (StatusReply<?>) roundTrip(StatusReply.error(new IllegalStateException("disk on fire")));
    ThrowableNotSerializableException received = assertInstanceOf(ThrowableNotSerializableException.class,
        back.getError());
    assertEquals(IllegalStateException.class.getName(), received.originalClassName());
    assertEquals("disk on fire", received.originalMessage());
    // A throwable field too: the registry telling its manager why it cannot read its journal.
    QueueRegistry.Unavailable unavailable = (QueueRegistry.Unavailable) roundTrip(
        new QueueRegistry.Unavailable(new java.sql.SQLException("connection refused")));
    ThrowableNotSerializableException cause = assertInstanceOf(ThrowableNotSerializableException.class,
        unavailable.cause());
    assertEquals("java.sql.SQLException", cause.originalClassName());
    assertEquals("connection refused", cause.originalMessage());
  }

  /** A plain Java-serializable value with no binding of its own. */
  record Plain(String text) implements Serializable {}

  @Test
  void javaSerializationIsOff() throws Exception {
    assertFalse(testKit.system().settings().config().getBoolean("pekko.actor.allow-java-serialization"));
    assertTrue(serialization.serialize(new Plain("x")).isFailure(), "a Serializable without binding is refused");
    for (Class<?> message : MESSAGES) {
      Serializer serializer = serialization.serializerFor(message);
      assertFalse(serializer instanceof JavaSerializer || serializer instanceof DisabledJavaSerializer,
          message.getName() + " is bound to Java serialization");
    }
  }

  @Test
  void messagePayloadsAreCborByteStrings() {
    samples.largePayloads(true);
    Message message = samples.appendedMessage();
    Delivery delivery = new Delivery("billing", message, 1);
    byte[] bytes = serialization.serialize(delivery).get();
    // One byte string: the payload plus well under a hundred bytes of fields, not base64 (4/3 of
    // it) or an array of numbers (up to 3 bytes each).
    assertTrue(bytes.length < message.payload().length + 400,
        bytes.length + " bytes for a " + message.payload().length + "-byte payload");
  }

  /**
   * Not an assertion on time (the machine is shared): prints what one 64 KiB delivery costs to
   * write and read back, for the record.
   */
  @Test
  void timesA64KiBDelivery() {
    samples.largePayloads(true);
    Delivery delivery = new Delivery("billing", samples.appendedMessage(), 1);
    Serializer serializer = serialization.findSerializerFor(delivery);
    String manifest = Serializers.manifestFor(serializer, delivery);
    byte[] bytes = serialization.serialize(delivery).get();
    for (int i = 0; i < 3_000; i++) {
      bytes = serialization.serialize(delivery).get();
      serialization.deserialize(bytes, serializer.identifier(), manifest).get();
    }
    int rounds = 5_000;
    long start = System.nanoTime();
    for (int i = 0; i < rounds; i++) {
      bytes = serialization.serialize(delivery).get();
    }
    long written = System.nanoTime() - start;
    start = System.nanoTime();
    Object back = null;
    for (int i = 0; i < rounds; i++) {
      back = serialization.deserialize(bytes, serializer.identifier(), manifest).get();
    }
    long read = System.nanoTime() - start;
    assertTrue(Samples.same(delivery, back));
    System.out.printf("64 KiB delivery: %d bytes, serialize %.1f us, deserialize %.1f us%n", bytes.length,
        written / 1000.0 / rounds, read / 1000.0 / rounds);
  }
}

package dev.spool.serialization;

import dev.spool.Created;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.apache.pekko.serialization.Serializers;

/**
 * Replies whose value is a container rather than a message of its own: a {@code java.util.List}
 * (the queues, a queue's consumers, a browse, a read's deliveries, a publish's sequences) and
 * {@link Created}. Pekko writes a {@code StatusReply}'s value with the value's own binding, and
 * Jackson alone would need type information over {@code Object} to bring the elements back; here
 * each element is written through Pekko's serialization instead (its serializer's id, manifest and
 * bytes), so it is read back by the serializer its class is bound to, and only such classes are.
 */
public final class ContainerSerializer extends SerializerWithStringManifest {

  /** This serializer's id among the actor system's serializers ("Sp" and 2). */
  public static final int IDENTIFIER = 0x5370_0002;

  private static final String LIST = "L";
  private static final String CREATED = "C";

  private final ExtendedActorSystem system;
  // Looked up on first use: the extension does not exist yet while Pekko creates its serializers.
  private volatile Serialization serialization;

  /** Created by Pekko from {@code pekko.actor.serializers}. */
  public ContainerSerializer(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof List<?>) {
      return LIST;
    }
    if (o instanceof Created<?>) {
      return CREATED;
    }
    throw new IllegalArgumentException("cannot serialize a " + o.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object o) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      if (o instanceof List<?> list) {
        out.writeInt(list.size());
        for (Object element : list) {
          writeElement(out, element);
        }
      } else if (o instanceof Created<?> created) {
        out.writeBoolean(created.created());
        writeElement(out, created.value());
      } else {
        throw new IllegalArgumentException("cannot serialize a " + o.getClass().getName());
      }
    } catch (IOException impossible) {
      throw new UncheckedIOException(impossible);
    }
    return bytes.toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      switch (manifest) {
        case LIST -> {
          int size = in.readInt();
          // Each element takes at least 10 bytes: a count beyond that is damage, not a reason to allocate.
          if (size < 0 || size > in.available() / 10) {
            throw new IOException("a list of " + size + " elements in " + in.available() + " bytes");
          }
          List<Object> list = new ArrayList<>(size);
          for (int i = 0; i < size; i++) {
            list.add(readElement(in));
          }
          return list;
        }
        case CREATED -> {
          boolean created = in.readBoolean();
          return new Created<>(readElement(in), created);
        }
        default -> throw new NotSerializableException("unknown manifest '" + manifest + "'");
      }
    } catch (IOException e) {
      throw new NotSerializableException("a damaged " + manifest + " value: " + e.getMessage());
    }
  }

  private void writeElement(DataOutputStream out, Object element) throws IOException {
    Serializer serializer = serialization().findSerializerFor(element);
    byte[] bytes = serializer.toBinary(element);
    out.writeInt(serializer.identifier());
    out.writeUTF(Serializers.manifestFor(serializer, element));
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private Object readElement(DataInputStream in) throws IOException {
    int serializerId = in.readInt();
    String manifest = in.readUTF();
    int length = in.readInt();
    if (length < 0 || length > in.available()) {
      throw new IOException("an element of " + length + " bytes in " + in.available());
    }
    byte[] bytes = in.readNBytes(length);
    try {
      return serialization().deserialize(bytes, serializerId, manifest).get();
    } catch (Exception e) {
      NotSerializableException failure = new NotSerializableException(
          "an element (serializer " + serializerId + ", " + manifest + ") could not be read: " + e.getMessage());
      failure.initCause(e);
      throw failure;
    }
  }

  private Serialization serialization() {
    Serialization s = serialization;
    if (s == null) {
      s = SerializationExtension.get(system);
      serialization = s;
    }
    return s;
  }
}

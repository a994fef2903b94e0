package dev.spool.serialization;

import dev.spool.SpoolException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * {@link SpoolException}s as the error of a {@code StatusReply} or a message field: the stable code
 * (the manifest), the message and a missing key's id, rebuilt as the same subclass on the other
 * node, so that callers there (and the HTTP layer's mapping to a status) see exactly what a local
 * caller would. Pekko's own throwable support would rebuild it through a {@code (String)}
 * constructor, which Spool's subclasses give a queue or consumer name, not a message.
 */
public final class SpoolExceptionSerializer extends SerializerWithStringManifest {

  /** This serializer's id among the actor system's serializers ("Sp" and 1). */
  public static final int IDENTIFIER = 0x5370_0001;

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    return ((SpoolException) o).code().name();
  }

  @Override
  public byte[] toBinary(Object o) {
    SpoolException e = (SpoolException) o;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + (e.getMessage() == null ? 0 : e.getMessage().length()));
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writeString(out, e.getClass().getName());
      writeString(out, e.getMessage());
      writeString(out, e instanceof SpoolException.EncryptionKeyMissing missing ? missing.keyId() : null);
    } catch (IOException impossible) {
      throw new UncheckedIOException(impossible);
    }
    return bytes.toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      String className = readString(in);
      String message = readString(in);
      String keyId = readString(in);
      return Failures.restore(className, message, manifest, keyId);
    } catch (IOException e) {
      throw new NotSerializableException("a damaged SpoolException (" + manifest + "): " + e.getMessage());
    }
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    if (s == null) {
      out.writeInt(-1);
      return;
    }
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  private static String readString(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 0) {
      return null;
    }
    if (length > in.available()) {
      throw new IOException("a string of " + length + " bytes in " + in.available());
    }
    return new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }
}

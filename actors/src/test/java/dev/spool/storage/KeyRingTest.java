package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keys from configuration: every accepted form, and a clear refusal naming the key id (never the key) otherwise. */
class KeyRingTest {

  @TempDir
  Path dir;

  private static byte[] key() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return key;
  }

  private static KeyRing ring(String keys) {
    return KeyRing.create(ConfigFactory.parseString("spool.encryption.keys { " + keys + " }"));
  }

  private static String quoted(String s) {
    return "\"" + s.replace("\\", "\\\\") + "\"";
  }

  @Test
  void aBase64KeyAndKeyFilesOfTextOrRawBytesLoad() throws Exception {
    byte[] inline = key();
    byte[] text = key();
    byte[] raw = key();
    Path textFile = Files.writeString(dir.resolve("k2.key"),
        Base64.getEncoder().encodeToString(text) + "\n", StandardCharsets.US_ASCII);
    Path rawFile = Files.write(dir.resolve("k3.bin"), raw);

    KeyRing ring = ring("k1 = " + quoted(Base64.getEncoder().encodeToString(inline))
        + "\nk2 = " + quoted("file:" + textFile) + "\nk-3_x = " + quoted("file:" + rawFile));

    assertEquals(Set.of("k1", "k2", "k-3_x"), ring.ids());
    assertArrayEquals(inline, ring.key("k1").getEncoded());
    assertArrayEquals(text, ring.key("k2").getEncoded());
    assertArrayEquals(raw, ring.key("k-3_x").getEncoded());
    assertEquals("AES", ring.key("k1").getAlgorithm());
    assertTrue(ring.contains("k2"));
    assertFalse(ring.contains("k4"));
  }

  @Test
  void noKeysConfiguredIsAnEmptyRing() {
    assertEquals(Set.of(), KeyRing.create(ConfigFactory.empty()).ids());
    assertEquals(Set.of(), KeyRing.create(ConfigFactory.load()).ids());
  }

  @Test
  void aMissingKeyNamesItsIdAndSetting() {
    SpoolException.EncryptionKeyMissing e = assertThrows(SpoolException.EncryptionKeyMissing.class,
        () -> KeyRing.empty().key("k9"));
    assertTrue(e.getMessage().contains("'k9'") && e.getMessage().contains("spool.encryption.keys.k9"),
        e.getMessage());
  }

  @Test
  void aKeyOfTheWrongLengthIsRefusedNamingItsIdNotItsValue() {
    String short16 = Base64.getEncoder().encodeToString(new byte[16]);
    String long48 = Base64.getEncoder().encodeToString(new byte[48]);
    for (String value : new String[] {short16, long48, ""}) {
      SpoolException.InvalidConfiguration e = assertThrows(SpoolException.InvalidConfiguration.class,
          () -> ring("good = " + quoted(Base64.getEncoder().encodeToString(key())) + "\nbad = " + quoted(value)));
      assertTrue(e.getMessage().contains("spool.encryption.keys.bad"), e.getMessage());
      assertTrue(e.getMessage().contains("32"), e.getMessage());
      if (!value.isEmpty()) {
        assertFalse(e.getMessage().contains(value), "the value is in the error: " + e.getMessage());
      }
    }
  }

  @Test
  void badBase64IsRefusedNamingItsIdNotItsValue() {
    String value = "not*base64*at*all*but*secret*stuff*00000000";
    SpoolException.InvalidConfiguration e = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> ring("k1 = " + quoted(value)));
    assertTrue(e.getMessage().contains("spool.encryption.keys.k1") && e.getMessage().contains("base64"),
        e.getMessage());
    assertFalse(e.getMessage().contains("secret"), e.getMessage());
  }

  @Test
  void aKeyFileThatIsMissingOrOfTheWrongSizeIsRefused() throws Exception {
    SpoolException.InvalidConfiguration missing = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> ring("k1 = " + quoted("file:" + dir.resolve("absent.key"))));
    assertTrue(missing.getMessage().contains("spool.encryption.keys.k1")
        && missing.getMessage().contains("cannot be read"), missing.getMessage());

    Path raw16 = Files.write(dir.resolve("short.bin"), new byte[16]);
    SpoolException.InvalidConfiguration wrong = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> ring("k2 = " + quoted("file:" + raw16)));
    assertTrue(wrong.getMessage().contains("spool.encryption.keys.k2"), wrong.getMessage());
  }

  @Test
  void aKeyThatIsNotAStringOrAnIdThatIsNotValidIsRefused() {
    SpoolException.InvalidConfiguration notString = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> ring("k1 = 12345"));
    assertTrue(notString.getMessage().contains("spool.encryption.keys.k1"), notString.getMessage());
    // HOCON reads a dotted id as nested objects: refused, not silently ignored.
    SpoolException.InvalidConfiguration dotted = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> ring("\"k.1\" = " + quoted(Base64.getEncoder().encodeToString(key()))));
    assertTrue(dotted.getMessage().contains("spool.encryption.keys.k"), dotted.getMessage());
  }

  @Test
  void toStringShowsIdsOnly() {
    byte[] material = key();
    String base64 = Base64.getEncoder().encodeToString(material);
    KeyRing ring = ring("k1 = " + quoted(base64));
    String text = ring.toString();
    assertEquals("KeyRing[k1]", text);
    assertFalse(text.contains(base64));
  }
}

package dev.spool.storage;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.ExtensionIdProvider;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The AES-256 keys of encrypted queues, by id, from {@code spool.encryption.keys.<id>}: each the
 * base64 of 32 bytes, or {@code file:<path>} of a file holding that text or the 32 raw bytes.
 * Loaded once per actor system ({@link #get}) and checked whole when loaded, so a bad key stops the
 * start with an error naming its id. Key material is never printed: not by {@link #toString},
 * not in an error, not in a log. Immutable, thread-safe.
 */
public final class KeyRing implements Extension {

  /** Where the keys are configured. */
  public static final String CONFIG_PATH = "spool.encryption.keys";

  private static final int KEY_BYTES = 32;
  private static final Logger log = LoggerFactory.getLogger(KeyRing.class);
  private static final Id ID = new Id();

  private final Map<String, SecretKey> keys;

  private KeyRing(Map<String, SecretKey> keys) {
    this.keys = Collections.unmodifiableMap(keys);
  }

  /** The key ring of {@code system}, loaded from its configuration the first time. */
  public static KeyRing get(org.apache.pekko.actor.ActorSystem system) {
    return ID.get(system);
  }

  /** The key ring of {@code system}, loaded from its configuration the first time. */
  public static KeyRing get(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return get(Adapter.toClassic(system));
  }

  /** A ring without keys: nothing can be encrypted or decrypted with it. */
  public static KeyRing empty() {
    return new KeyRing(Map.of());
  }

  /**
   * The keys of {@code config}'s {@value #CONFIG_PATH}.
   *
   * @throws SpoolException.InvalidConfiguration naming the first bad key's id (never its value)
   */
  public static KeyRing create(Config config) {
    if (!config.hasPath(CONFIG_PATH)) {
      return empty();
    }
    Map<String, SecretKey> keys = new TreeMap<>();
    for (Map.Entry<String, ConfigValue> e : config.getObject(CONFIG_PATH).entrySet()) {
      String id = e.getKey();
      String setting = CONFIG_PATH + "." + id;
      if (!QueueSettings.Encryption.isValidKeyId(id)) {
        throw new SpoolException.InvalidConfiguration(setting + ": a key id is 1 to 64 of A-Z, a-z, 0-9, '_' and '-'");
      }
      if (e.getValue().valueType() != ConfigValueType.STRING) {
        throw new SpoolException.InvalidConfiguration(setting + " must be a string: base64 of a 32-byte key, or "
            + "file:<path>");
      }
      keys.put(id, parse(setting, (String) e.getValue().unwrapped()));
    }
    return new KeyRing(keys);
  }

  private static SecretKey parse(String setting, String value) {
    byte[] material;
    if (value.startsWith("file:")) {
      Path path = Path.of(value.substring("file:".length()).trim());
      byte[] content;
      try {
        content = Files.readAllBytes(path);
      } catch (IOException e) {
        throw new SpoolException.InvalidConfiguration(setting + ": the key file " + path + " cannot be read ("
            + e.getClass().getSimpleName() + ")");
      }
      try {
        material = content.length == KEY_BYTES ? content.clone() : decode(setting + " (file " + path + ")",
            new String(content, StandardCharsets.US_ASCII));
      } finally {
        Arrays.fill(content, (byte) 0);
      }
    } else {
      material = decode(setting, value);
    }
    try {
      return new SecretKeySpec(material, "AES");
    } finally {
      Arrays.fill(material, (byte) 0);
    }
  }

  private static byte[] decode(String where, String text) {
    byte[] material;
    try {
      material = Base64.getDecoder().decode(text.strip());
    } catch (IllegalArgumentException e) {
      throw new SpoolException.InvalidConfiguration(where + " is not base64: it must be the base64 of a 32-byte"
          + " (AES-256) key, e.g. the output of 'openssl rand -base64 32'");
    }
    if (material.length != KEY_BYTES) {
      int length = material.length;
      Arrays.fill(material, (byte) 0);
      throw new SpoolException.InvalidConfiguration(where + " holds " + length + " bytes: an AES-256 key is "
          + KEY_BYTES + " bytes (base64 of 32 bytes, e.g. the output of 'openssl rand -base64 32')");
    }
    return material;
  }

  /** Whether a key of that id is configured. */
  public boolean contains(String keyId) {
    return keys.containsKey(keyId);
  }

  /**
   * The key of that id.
   *
   * @throws SpoolException.EncryptionKeyMissing if none is configured
   */
  public SecretKey key(String keyId) {
    SecretKey key = keys.get(keyId);
    if (key == null) {
      throw new SpoolException.EncryptionKeyMissing(keyId);
    }
    return key;
  }

  /** The ids of the configured keys, sorted. */
  public Set<String> ids() {
    return keys.keySet();
  }

  /** The key ids only: never the keys. */
  @Override
  public String toString() {
    return "KeyRing" + keys.keySet();
  }

  private static final class Id extends AbstractExtensionId<KeyRing> implements ExtensionIdProvider {
    @Override
    public KeyRing createExtension(ExtendedActorSystem system) {
      KeyRing ring = create(system.settings().config());
      if (!ring.keys.isEmpty()) {
        log.info("Encryption keys configured: {}", ring.keys.keySet());
      }
      return ring;
    }

    @Override
    public Id lookup() {
      return ID;
    }
  }
}

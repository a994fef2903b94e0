package dev.spool.storage;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM through the JDK's JCA, the one cipher of Spool's data at rest (segments, journal
 * events, snapshots). The associated data (never stored) binds a ciphertext to where it belongs,
 * so bytes copied elsewhere fail to open.
 *
 * <p>Each call draws a random 128-bit salt and a random 96-bit nonce and encrypts under a key
 * derived from the configured one and the salt (HKDF-Expand with HMAC-SHA256, RFC 5869, as Tink's
 * AES-GCM-HKDF does): random 96-bit nonces alone limit one key to about 2^32 encryptions (NIST
 * SP 800-38D), which a busy journal writing an event per group commit would reach in weeks; with a
 * fresh key per salt that limit no longer binds. Stored form: salt, nonce, ciphertext, 128-bit tag.
 *
 * <p>Thread-safe: a {@link Cipher} and a {@link Mac} are made per call, since neither is safe to share.
 */
public final class GcmCipher {

  /** Bytes of the salt the encryption key is derived with, stored first. */
  public static final int SALT_BYTES = 16;
  /** Bytes of the nonce, stored after the salt. */
  public static final int NONCE_BYTES = 12;
  /** Bytes of the authentication tag at the end of each ciphertext. */
  public static final int TAG_BYTES = 16;
  /** What encryption adds to a plaintext's length. */
  public static final int OVERHEAD = SALT_BYTES + NONCE_BYTES + TAG_BYTES;

  private static final String TRANSFORMATION = "AES/GCM/NoPadding";
  private static final byte[] INFO = "spool aes-256-gcm v1".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  private GcmCipher() {}

  /** {@code plaintext[offset, offset + length)} encrypted: salt, nonce, then ciphertext and tag. */
  public static byte[] encrypt(SecretKey key, byte[] aad, byte[] plaintext, int offset, int length) {
    byte[] out = new byte[OVERHEAD + length];
    byte[] header = new byte[SALT_BYTES + NONCE_BYTES];
    RANDOM.nextBytes(header);
    System.arraycopy(header, 0, out, 0, header.length);
    try {
      Cipher cipher = Cipher.getInstance(TRANSFORMATION);
      cipher.init(Cipher.ENCRYPT_MODE, derive(key, out, 0),
          new GCMParameterSpec(TAG_BYTES * 8, out, SALT_BYTES, NONCE_BYTES));
      cipher.updateAAD(aad);
      int written = cipher.doFinal(plaintext, offset, length, out, header.length);
      if (written != length + TAG_BYTES) {
        throw new IllegalStateException("AES-GCM wrote " + written + " bytes, " + (length + TAG_BYTES) + " expected");
      }
      return out;
    } catch (GeneralSecurityException e) {
      // AES-GCM and HMAC-SHA256 are required of every JDK and the key is checked at load: a broken JDK.
      throw new IllegalStateException("AES-GCM encryption is not available: " + e, e);
    }
  }

  /**
   * What {@link #encrypt} encrypted, from {@code sealed[offset, offset + length)}.
   *
   * @throws AEADBadTagException if the bytes, the key or the associated data are not those they
   *     were encrypted with
   */
  public static byte[] decrypt(SecretKey key, byte[] aad, byte[] sealed, int offset, int length)
      throws AEADBadTagException {
    if (length < OVERHEAD) {
      throw new AEADBadTagException("too short for AES-GCM: " + length + " bytes");
    }
    try {
      Cipher cipher = Cipher.getInstance(TRANSFORMATION);
      cipher.init(Cipher.DECRYPT_MODE, derive(key, sealed, offset),
          new GCMParameterSpec(TAG_BYTES * 8, sealed, offset + SALT_BYTES, NONCE_BYTES));
      cipher.updateAAD(aad);
      int header = SALT_BYTES + NONCE_BYTES;
      return cipher.doFinal(sealed, offset + header, length - header);
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM decryption is not available: " + e, e);
    }
  }

  /** HKDF-Expand (RFC 5869) of {@code key} with info = label and salt, one block: a 256-bit AES key. */
  private static SecretKey derive(SecretKey key, byte[] salt, int offset) throws GeneralSecurityException {
    Mac hmac = Mac.getInstance("HmacSHA256");
    hmac.init(new SecretKeySpec(key.getEncoded(), "HmacSHA256"));
    hmac.update(INFO);
    hmac.update(salt, offset, SALT_BYTES);
    hmac.update((byte) 1);
    byte[] derived = hmac.doFinal();
    try {
      return new SecretKeySpec(derived, "AES");
    } finally {
      Arrays.fill(derived, (byte) 0);
    }
  }
}

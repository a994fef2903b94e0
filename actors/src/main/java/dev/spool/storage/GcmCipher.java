package dev.spool.storage;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * AES-256-GCM through the JDK's JCA, the one cipher of Spool's data at rest (segments, journal
 * events, snapshots). Each call draws a fresh random 96-bit nonce and stores it in front of the
 * ciphertext, whose last 128 bits are the tag; the associated data (never stored) binds the
 * ciphertext to where it belongs, so bytes copied elsewhere fail to open. Thread-safe: a
 * {@link Cipher} is made per call, since one is not safe to share.
 */
public final class GcmCipher {

  /** Bytes of the nonce stored in front of each ciphertext. */
  public static final int NONCE_BYTES = 12;
  /** Bytes of the authentication tag at the end of each ciphertext. */
  public static final int TAG_BYTES = 16;
  /** What encryption adds to a plaintext's length. */
  public static final int OVERHEAD = NONCE_BYTES + TAG_BYTES;

  private static final String TRANSFORMATION = "AES/GCM/NoPadding";
  private static final SecureRandom RANDOM = new SecureRandom();

  private GcmCipher() {}

  /** {@code plaintext[offset, offset + length)} encrypted: nonce, then ciphertext and tag. */
  public static byte[] encrypt(SecretKey key, byte[] aad, byte[] plaintext, int offset, int length) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance(TRANSFORMATION);
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, nonce));
      cipher.updateAAD(aad);
      byte[] out = new byte[NONCE_BYTES + cipher.getOutputSize(length)];
      System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
      int written = cipher.doFinal(plaintext, offset, length, out, NONCE_BYTES);
      if (written != out.length - NONCE_BYTES) {
        throw new IllegalStateException("AES-GCM wrote " + written + " bytes, " + (out.length - NONCE_BYTES)
            + " expected");
      }
      return out;
    } catch (GeneralSecurityException e) {
      // AES/GCM is required of every JDK and the key is checked at load: this is a broken JDK.
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
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, sealed, offset, NONCE_BYTES));
      cipher.updateAAD(aad);
      return cipher.doFinal(sealed, offset + NONCE_BYTES, length - NONCE_BYTES);
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM decryption is not available: " + e, e);
    }
  }
}

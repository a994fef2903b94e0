package dev.spool.storage;

import java.io.InputStream;

/**
 * A byte array as a stream that tells what is left, without ByteArrayInputStream's locking: recovery
 * and read-back read millions of fields. Single-threaded.
 */
public final class ByteInput extends InputStream {
  private final byte[] bytes;
  private int position;

  public ByteInput(byte[] bytes) {
    this.bytes = bytes;
  }

  public int remaining() {
    return bytes.length - position;
  }

  @Override
  public int read() {
    return position < bytes.length ? bytes[position++] & 0xff : -1;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (len == 0) {
      return 0;
    }
    int n = Math.min(len, bytes.length - position);
    if (n <= 0) {
      return -1;
    }
    System.arraycopy(bytes, position, b, off, n);
    position += n;
    return n;
  }
}

package dev.spool.storage;

/** How sealed segments are compressed. */
public enum Compression {
  NONE, LZ4, ZSTD
}

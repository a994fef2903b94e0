package dev.spool.redis.resp;

/**
 * Input that is not a well-formed Redis request. The message is Redis's own wording; the connection
 * answers with {@link #reply()} and closes, as Redis does, because the rest of the stream can no
 * longer be framed.
 */
public final class RespProtocolException extends RuntimeException {

  public RespProtocolException(String message) {
    // No stack trace: any client can trigger this, and the trace would only point into the parser.
    super(message, null, false, false);
  }

  /** The {@code -ERR <message>} error reply sent before closing the connection. */
  public Reply reply() {
    return Reply.error("ERR " + getMessage());
  }
}

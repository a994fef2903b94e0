package dev.spool.redis.resp;

/**
 * A command's failure as the client sees it: the error line after the {@code -}, starting with its
 * code, such as {@code ERR wrong number of arguments for 'xadd' command} or
 * {@code NOGROUP No such key 'orders' or consumer group 'billing'}. Command handlers throw it and the
 * connection replies with {@link #reply()}; the connection stays open.
 */
public final class RespError extends RuntimeException {

  private final Reply.SimpleError reply;

  public RespError(String line) {
    // No stack trace: these are expected answers to bad requests, thrown as often as clients err.
    super(line, null, false, false);
    this.reply = new Reply.SimpleError(line);
  }

  /** The error reply, its line already cleared of CR and LF. */
  public Reply reply() {
    return reply;
  }
}

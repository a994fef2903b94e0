package dev.spool;

/**
 * A handler's way to say "do not retry this message": thrown by a handler, or failing the stage
 * it returned (also as the cause of another exception), it dead-letters the message at once with
 * {@code x-death-reason: permanent} and the failure in {@code x-death-error}, whatever attempts
 * were left; without a dead-letter queue the message is dropped. Unlike other failures it does
 * not count toward the handler's circuit breaker: the message is at fault, not the handler.
 *
 * @since 0.1.0
 */
public class PermanentFailure extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** Most causes looked through for one: a chain longer than this is not a wrapped permanent failure. */
  private static final int MAX_DEPTH = 8;

  /** A permanent failure saying why the message can never be handled. */
  public PermanentFailure(String message) {
    super(message);
  }

  /** A permanent failure saying why, with the failure that showed it. */
  public PermanentFailure(String message, Throwable cause) {
    super(message, cause);
  }

  /** The permanent failure {@code failure} is or wraps, or {@code null}. */
  public static PermanentFailure in(Throwable failure) {
    Throwable t = failure;
    for (int depth = 0; t != null && depth < MAX_DEPTH; depth++, t = t.getCause()) {
      if (t instanceof PermanentFailure permanent) {
        return permanent;
      }
    }
    return null;
  }
}

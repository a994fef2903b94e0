package dev.spool.cli;

/**
 * The command line's exit codes: a script tells a usage error, a missing thing, a refusal and an
 * outage apart. {@link SpoolCli}'s usage help lists them.
 */
final class ExitCodes {

  static final int OK = 0;
  /** Anything not covered below: an unreadable file, an answer that is not JSON. */
  static final int FAILED = 1;
  /** picocli's own code for an unknown command, option or value. */
  static final int USAGE = 2;
  /** The API answered 404: no such queue, consumer, sequence or resource. */
  static final int NOT_FOUND = 3;
  /** The API refused the request (400, 401, 403, 409, 413, 429 …): asking again unchanged will not help. */
  static final int REFUSED = 4;
  /** The service could not be reached, timed out, answered 5xx or is not ready. */
  static final int UNAVAILABLE = 5;

  private ExitCodes() {}

  /** The exit code of an HTTP status the API answered with. */
  static int forStatus(int status) {
    if (status == 404) {
      return NOT_FOUND;
    }
    if (status >= 400 && status < 500) {
      return REFUSED;
    }
    if (status >= 500) {
      return UNAVAILABLE;
    }
    return FAILED;
  }
}

package dev.spool.cli;

/**
 * A failure the command line reports as {@code error: CODE: message} on standard error and ends
 * with {@link #exitCode()}: the API's own error code and message when the service answered, else
 * one of the command line's ({@code Unavailable} when it could not be reached).
 */
final class CliException extends RuntimeException {

  private final int exitCode;
  private final String code;

  CliException(int exitCode, String code, String message) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }

  CliException(int exitCode, String code, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
    this.code = code;
  }

  int exitCode() {
    return exitCode;
  }

  String code() {
    return code;
  }

  /** The same failure with {@code context} appended to its message, e.g. what was done before it. */
  CliException withContext(String context) {
    return new CliException(exitCode, code, getMessage() + " (" + context + ")", this);
  }
}

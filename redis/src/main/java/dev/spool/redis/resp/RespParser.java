package dev.spool.redis.resp;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.util.ByteString;

/**
 * Reassembles the requests of one connection from the bytes it receives, in whatever pieces they
 * arrive. Takes both request forms Redis takes: multibulk ({@code *<n>\r\n} then n times
 * {@code $<len>\r\n<bytes>\r\n}, what client libraries send) and inline (a line of blank-separated,
 * optionally quoted words, what telnet and {@code redis-cli} in raw mode send). It follows Redis's
 * {@code processMultibulkBuffer} and {@code processInlineBuffer}, error messages included.
 *
 * <p>Memory stays within one request: received chunks are read in place rather than joined, header
 * and inline lines are capped, and a bulk argument is copied straight into one array of its declared
 * length. After a {@link RespProtocolException} the stream cannot be framed again; the parser keeps
 * throwing it and the connection is to reply with it and close.
 *
 * <p>Single owner: not thread-safe; only the connection that feeds it calls it.
 */
public final class RespParser {

  public static final int DEFAULT_MAX_BULK_LENGTH = 8 * 1024 * 1024;
  public static final int DEFAULT_MAX_ARGUMENTS = 1024 * 1024;
  /** Redis's {@code PROTO_INLINE_MAX_SIZE}. */
  public static final int DEFAULT_MAX_INLINE_LENGTH = 64 * 1024;

  private enum State { REQUEST_START, INLINE, ARGUMENT_COUNT, BULK_LENGTH, BULK_DATA, BULK_TERMINATOR }

  private final int maxBulkLength;
  private final int maxArguments;
  private final int maxInlineLength;

  /** Received chunks not yet read, the first one partly read. */
  private final ArrayDeque<ByteBuffer> input = new ArrayDeque<>();
  private int inputBytes;
  /** The line being read: an inline request or a {@code *} or {@code $} header, without its LF. */
  private byte[] line = new byte[64];
  private int lineLength;

  private State state = State.REQUEST_START;
  private int argumentCount;
  private List<byte[]> args;
  private byte[] bulk;
  private int bulkFilled;
  private int terminatorRead;
  private RespProtocolException failure;

  public RespParser() {
    this(DEFAULT_MAX_BULK_LENGTH, DEFAULT_MAX_ARGUMENTS, DEFAULT_MAX_INLINE_LENGTH);
  }

  /**
   * @param maxBulkLength   the longest bulk argument accepted, in bytes (Redis's
   *                        {@code proto-max-bulk-len})
   * @param maxArguments    the most arguments in one multibulk request, counting the name
   * @param maxInlineLength the longest inline request line, and multibulk header line, in bytes
   */
  public RespParser(int maxBulkLength, int maxArguments, int maxInlineLength) {
    // A Java array holds a little less than Integer.MAX_VALUE bytes.
    if (maxBulkLength < 0 || maxBulkLength > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("maxBulkLength must be within 0.." + (Integer.MAX_VALUE - 8) + ", got " + maxBulkLength);
    }
    if (maxArguments < 1) {
      throw new IllegalArgumentException("maxArguments must be at least 1, got " + maxArguments);
    }
    // Room for a header holding any bulk length: '$', up to ten digits and the CR.
    if (maxInlineLength < 16 || maxInlineLength > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("maxInlineLength must be within 16.." + (Integer.MAX_VALUE - 8) + ", got " + maxInlineLength);
    }
    this.maxBulkLength = maxBulkLength;
    this.maxArguments = maxArguments;
    this.maxInlineLength = maxInlineLength;
  }

  /** Hands over received bytes, in any split; they are read in place, not copied. */
  public void feed(ByteString bytes) {
    for (ByteBuffer chunk : bytes.getByteBuffers()) {
      if (chunk.hasRemaining()) {
        input.add(chunk);
        inputBytes += chunk.remaining();
      }
    }
  }

  /**
   * The next complete request, or null when more bytes are needed. Blank inline lines and empty
   * multibulks ({@code *0}, {@code *-1}) are skipped, as Redis skips them.
   *
   * @throws RespProtocolException when the input is not a Redis request
   */
  public RespCommand next() {
    if (failure != null) {
      throw failure;
    }
    try {
      return parse();
    } catch (RespProtocolException e) {
      failure = e;
      throw e;
    }
  }

  /** Bytes received and not yet moved into the request being assembled. */
  int pendingBytes() {
    return inputBytes + lineLength;
  }

  private RespCommand parse() {
    while (true) {
      switch (state) {
        case REQUEST_START -> {
          if (inputBytes == 0) {
            return null;
          }
          ByteBuffer head = input.peek();
          state = head.get(head.position()) == '*' ? State.ARGUMENT_COUNT : State.INLINE;
        }
        case INLINE -> {
          if (!readLine(maxInlineLength + 1, "Protocol error: too big inline request")) {
            return null;
          }
          int length = lineLength > 0 && line[lineLength - 1] == '\r' ? lineLength - 1 : lineLength;
          if (length > maxInlineLength) {
            throw new RespProtocolException("Protocol error: too big inline request");
          }
          List<byte[]> inline = InlineSplitter.split(line, length);
          endLine();
          state = State.REQUEST_START;
          if (!inline.isEmpty()) {
            return new RespCommand(inline);
          }
        }
        case ARGUMENT_COUNT -> {
          if (!readLine(maxInlineLength, "Protocol error: too big mbulk count string")) {
            return null;
          }
          long count = headerNumber(true);
          endLine();
          if (count > maxArguments) {
            throw new RespProtocolException("Protocol error: invalid multibulk length");
          }
          if (count <= 0) {
            state = State.REQUEST_START;
          } else {
            argumentCount = (int) count;
            // The count is the client's claim: grow towards it as arguments actually arrive.
            args = new ArrayList<>(Math.min(argumentCount, 1024));
            state = State.BULK_LENGTH;
          }
        }
        case BULK_LENGTH -> {
          if (!readLine(maxInlineLength, "Protocol error: too big bulk count string")) {
            return null;
          }
          // An empty line is a lone LF where the '$' should be.
          int first = lineLength > 0 ? line[0] & 0xff : '\n';
          if (first != '$') {
            throw new RespProtocolException("Protocol error: expected '$', got '" + (char) first + "'");
          }
          long length = headerNumber(false);
          endLine();
          if (length < 0 || length > maxBulkLength) {
            throw new RespProtocolException("Protocol error: invalid bulk length");
          }
          bulk = new byte[(int) length];
          bulkFilled = 0;
          state = State.BULK_DATA;
        }
        case BULK_DATA -> {
          while (bulkFilled < bulk.length && inputBytes > 0) {
            ByteBuffer head = input.peek();
            int n = Math.min(head.remaining(), bulk.length - bulkFilled);
            head.get(bulk, bulkFilled, n);
            bulkFilled += n;
            consumed(head, n);
          }
          if (bulkFilled < bulk.length) {
            return null;
          }
          terminatorRead = 0;
          state = State.BULK_TERMINATOR;
        }
        case BULK_TERMINATOR -> {
          while (terminatorRead < 2 && inputBytes > 0) {
            ByteBuffer head = input.peek();
            byte b = head.get();
            consumed(head, 1);
            // Redis skips these two bytes unread; checking them catches a client whose lengths are off
            // before it desynchronises every request after this one.
            if (b != (terminatorRead == 0 ? '\r' : '\n')) {
              throw new RespProtocolException("Protocol error: expected CRLF after bulk argument");
            }
            terminatorRead++;
          }
          if (terminatorRead < 2) {
            return null;
          }
          args.add(bulk);
          bulk = null;
          if (args.size() < argumentCount) {
            state = State.BULK_LENGTH;
          } else {
            RespCommand command = new RespCommand(args);
            args = null;
            state = State.REQUEST_START;
            return command;
          }
        }
      }
    }
  }

  /**
   * Moves input into {@link #line} up to the next LF, which is consumed but not kept.
   *
   * @return whether the line is complete
   * @throws RespProtocolException {@code tooBig} once more than {@code limit} bytes precede the LF
   */
  private boolean readLine(int limit, String tooBig) {
    while (inputBytes > 0) {
      ByteBuffer head = input.peek();
      int start = head.position();
      int end = head.limit();
      int lf = start;
      while (lf < end && head.get(lf) != '\n') {
        lf++;
      }
      int n = lf - start;
      if (lineLength + n > limit) {
        throw new RespProtocolException(tooBig);
      }
      if (lineLength + n > line.length) {
        line = Arrays.copyOf(line, Math.min(limit, Math.max(lineLength + n, 2 * line.length)));
      }
      head.get(line, lineLength, n);
      lineLength += n;
      if (lf < end) {
        head.get();
        consumed(head, n + 1);
        return true;
      }
      consumed(head, n);
    }
    return false;
  }

  /** The signed number between a header line's type byte and its closing CR. */
  private long headerNumber(boolean count) {
    if (lineLength < 2 || line[lineLength - 1] != '\r') {
      throw invalidHeader(count);
    }
    try {
      return parseLong(line, 1, lineLength - 1);
    } catch (NumberFormatException e) {
      throw invalidHeader(count);
    }
  }

  private static RespProtocolException invalidHeader(boolean count) {
    return new RespProtocolException(count ? "Protocol error: invalid multibulk length" : "Protocol error: invalid bulk length");
  }

  private void endLine() {
    lineLength = 0;
    // A long inline request should not keep its buffer for the life of the connection.
    if (line.length > 4096) {
      line = new byte[64];
    }
  }

  private void consumed(ByteBuffer head, int n) {
    inputBytes -= n;
    if (!head.hasRemaining()) {
      input.poll();
    }
  }

  /**
   * Redis's {@code string2ll}: an optional '-', then either a lone 0 or digits without a leading zero,
   * within a signed 64-bit range.
   *
   * @throws NumberFormatException for anything else
   */
  static long parseLong(byte[] s, int from, int to) {
    if (to - from == 1 && s[from] == '0') {
      return 0;
    }
    boolean negative = from < to && s[from] == '-';
    int i = negative ? from + 1 : from;
    if (i >= to || s[i] < '1' || s[i] > '9') {
      throw new NumberFormatException();
    }
    // Accumulated as a negative number, whose range reaches Long.MIN_VALUE.
    long value = 0;
    for (; i < to; i++) {
      int digit = s[i] - '0';
      if (digit < 0 || digit > 9 || value < (Long.MIN_VALUE + digit) / 10) {
        throw new NumberFormatException();
      }
      value = value * 10 - digit;
    }
    if (negative) {
      return value;
    }
    if (value == Long.MIN_VALUE) {
      throw new NumberFormatException();
    }
    return -value;
  }
}

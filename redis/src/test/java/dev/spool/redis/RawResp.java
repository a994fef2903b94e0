package dev.spool.redis;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A RESP client by hand: sends exactly the bytes a test wants and reads replies as parsed values. */
final class RawResp implements AutoCloseable {

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RawResp(String host, int port) throws IOException {
    socket = new Socket(host, port);
    socket.setSoTimeout(10_000);
    in = socket.getInputStream();
    out = socket.getOutputStream();
  }

  void send(String raw) throws IOException {
    send(raw.getBytes(StandardCharsets.UTF_8));
  }

  void send(byte[] raw) throws IOException {
    out.write(raw);
    out.flush();
  }

  /** Sends a command as a multibulk array. */
  void command(String... args) throws IOException {
    send(encode(args));
  }

  static byte[] encode(String... args) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    write(b, "*" + args.length + "\r\n");
    for (String a : args) {
      byte[] bytes = a.getBytes(StandardCharsets.UTF_8);
      write(b, "$" + bytes.length + "\r\n");
      b.writeBytes(bytes);
      write(b, "\r\n");
    }
    return b.toByteArray();
  }

  private static void write(ByteArrayOutputStream b, String s) {
    b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
  }

  /** Sends a command and reads its reply. */
  Object call(String... args) throws IOException {
    command(args);
    return read();
  }

  /**
   * One reply: a String for simple and bulk strings, "-…" kept as an {@link Err}, Long for
   * integers, List for arrays, maps (flattened) and sets, null for nulls.
   */
  Object read() throws IOException {
    String line = line();
    char type = line.charAt(0);
    String rest = line.substring(1);
    switch (type) {
      case '+':
        return rest;
      case '-':
        return new Err(rest);
      case ':':
        return Long.parseLong(rest);
      case '$': {
        int n = Integer.parseInt(rest);
        if (n < 0) {
          return null;
        }
        byte[] data = in.readNBytes(n + 2);
        return new String(data, 0, n, StandardCharsets.UTF_8);
      }
      case '*':
      case '~':
      case '>': {
        int n = Integer.parseInt(rest);
        if (n < 0) {
          return null;
        }
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          items.add(read());
        }
        return items;
      }
      case '%': {
        int n = Integer.parseInt(rest);
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < 2 * n; i++) {
          items.add(read());
        }
        return items;
      }
      case '_':
        return null;
      case '#':
        return rest.equals("t");
      case ',':
        return Double.parseDouble(rest);
      case '=': {
        int n = Integer.parseInt(rest);
        byte[] data = in.readNBytes(n + 2);
        return new String(data, 4, n - 4, StandardCharsets.UTF_8);
      }
      default:
        throw new IOException("unexpected reply type: " + line);
    }
  }

  /** Whether the server closed the connection (reads end of stream within the socket timeout). */
  boolean closedByServer() throws IOException {
    try {
      return in.read() == -1;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  void timeout(int millis) throws IOException {
    socket.setSoTimeout(millis);
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\r') {
        in.read();
        break;
      }
      b.write(c);
    }
    if (c == -1 && b.size() == 0) {
      throw new IOException("connection closed");
    }
    return b.toString(StandardCharsets.UTF_8);
  }

  /** An error reply. */
  record Err(String line) {
    @Override
    public String toString() {
      return "-" + line;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}

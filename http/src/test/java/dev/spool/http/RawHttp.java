package dev.spool.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for what {@link java.net.http.HttpClient} hides or refuses: idle and
 * half-sent requests, raw bytes, thousands of headers, and how a connection ends (FIN or reset).
 */
final class RawHttp implements AutoCloseable {

  /** A response as read off the socket; {@code raw} holds the body bytes as they came (chunked framing included). */
  record Response(int status, Map<String, String> headers, String body, String raw) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RawHttp(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /** A connection to {@code port} on loopback from {@code localAddress} (another 127.x address is another client). */
  static RawHttp connect(String localAddress, int port) throws IOException {
    Socket socket = new Socket();
    socket.bind(new InetSocketAddress(localAddress, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    socket.setSoTimeout(15_000);
    return new RawHttp(socket);
  }

  static RawHttp connect(int port) throws IOException {
    return connect("127.0.0.1", port);
  }

  static String request(String method, String path, String token, String contentType, int bodyLength) {
    return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + (token == null ? "" : "Authorization: Bearer " + token + "\r\n")
        + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
        + (bodyLength < 0 ? "" : "Content-Length: " + bodyLength + "\r\n") + "\r\n";
  }

  void write(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  void write(String text) throws IOException {
    write(text.getBytes(StandardCharsets.UTF_8));
  }

  /** Sends a request with {@code body} (none if null) and reads its response. */
  Response exchange(String method, String path, String token, byte[] body) throws IOException {
    String head = request(method, path, token, body == null ? null : "application/json", body == null ? 0 : body.length);
    write(head);
    if (body != null) {
      write(body);
    }
    return read();
  }

  Response get(String path, String token) throws IOException {
    return exchange("GET", path, token, null);
  }

  /** Reads one response: its head, then a body by Content-Length, chunked to the terminator, or to the close. */
  Response read() throws IOException {
    String head = readHead();
    String[] lines = head.split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
    }
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    if (headers.containsKey("content-length")) {
      byte[] bytes = in.readNBytes(Integer.parseInt(headers.get("content-length")));
      raw.write(bytes);
      body.write(bytes);
    } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      while (true) {
        String sizeLine = readLine(raw);
        int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
        byte[] chunk = in.readNBytes(size + 2);
        raw.write(chunk);
        if (size == 0) {
          break;
        }
        body.write(chunk, 0, size);
      }
    } else {
      byte[] rest = in.readAllBytes();
      raw.write(rest);
      body.write(rest);
    }
    return new Response(status, headers, body.toString(StandardCharsets.UTF_8), raw.toString(StandardCharsets.UTF_8));
  }

  /**
   * How the server ended the connection, waiting up to the socket timeout: "FIN" for an orderly
   * close, "RESET" for a reset, "OPEN" if it stays open, or the bytes it sent instead.
   */
  String awaitEnd() throws IOException {
    try {
      int b = in.read();
      return b < 0 ? "FIN" : "DATA:" + (char) b + new String(in.readNBytes(in.available()), StandardCharsets.UTF_8);
    } catch (SocketTimeoutException e) {
      return "OPEN";
    } catch (IOException e) {
      return "RESET";
    }
  }

  private String readHead() throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed after " + head.size() + " bytes of a response head: " + head);
      }
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    return text.substring(0, text.length() - 4);
  }

  private String readLine(ByteArrayOutputStream raw) throws IOException {
    StringBuilder line = new StringBuilder();
    int previous = -1;
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed inside a chunked body");
      }
      raw.write(b);
      if (previous == '\r' && b == '\n') {
        return line.substring(0, line.length() - 1);
      }
      line.append((char) b);
      previous = b;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}

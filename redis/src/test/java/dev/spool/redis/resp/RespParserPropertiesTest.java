package dev.spool.redis.resp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

class RespParserPropertiesTest {

  @Property(tries = 300)
  void anyChunkingOfEncodedCommandsParsesBackToThem(
      @ForAll("commands") List<List<byte[]>> commands, @ForAll("chunkSizes") List<Integer> chunkSizes) {
    ByteStringBuilder encoded = ByteString.createBuilder();
    List<RespCommand> expected = new ArrayList<>();
    for (List<byte[]> args : commands) {
      encoded.putBytes(("*" + args.size() + "\r\n").getBytes(StandardCharsets.US_ASCII));
      for (byte[] arg : args) {
        encoded.putBytes(("$" + arg.length + "\r\n").getBytes(StandardCharsets.US_ASCII)).putBytes(arg)
            .putBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      expected.add(new RespCommand(args));
    }
    ByteString input = encoded.result();

    RespParser parser = new RespParser();
    List<RespCommand> parsed = new ArrayList<>();
    int offset = 0;
    for (int chunk = 0; offset < input.length(); chunk++) {
      int size = chunkSizes.get(chunk % chunkSizes.size());
      parser.feed(input.slice(offset, Math.min(input.length(), offset + size)));
      offset += size;
      for (RespCommand c = parser.next(); c != null; c = parser.next()) {
        parsed.add(c);
      }
    }
    assertEquals(expected, parsed);
    assertEquals(0, parser.pendingBytes());
  }

  @Provide
  Arbitrary<List<List<byte[]>>> commands() {
    Arbitrary<byte[]> arg = Arbitraries.bytes().array(byte[].class).ofMaxSize(40);
    return arg.list().ofMinSize(1).ofMaxSize(6).list().ofMaxSize(12);
  }

  @Provide
  Arbitrary<List<Integer>> chunkSizes() {
    return Arbitraries.integers().between(1, 64).list().ofMinSize(1).ofMaxSize(10);
  }
}

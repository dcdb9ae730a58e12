// MONITOR in-process: what a monitoring client receives, how arguments are quoted, and what is left out.
import Testing
@testable import Server
import Keyspace

@Suite("Monitor")
struct MonitorTests {
    /// The monitor's lines without their timestamps.
    func lines(_ monitor: Client) -> [String] {
        String(decoding: monitor.reply.buffer, as: UTF8.self).split(separator: "\r\n").map {
            String($0.drop { $0 != "[" })
        }
    }

    @Test("every byte class is quoted as sdscatrepr does")
    func quoting() {
        let bytes: [UInt8] = [0x61, 0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x07, 0x08, 0x20, 0x7E, 0x7F, 0x00, 0xFF, 0x80]
        var out: [UInt8] = []
        bytes.withUnsafeBytes { Server.appendQuoted($0, to: &out) }
        #expect(String(decoding: out, as: UTF8.self) == #""a\"\\\n\r\t\a\b ~\x7f\x00\xff\x80""#)
    }

    @Test("commands reach monitors after they run; admin, refused and secret parts do not")
    func feed() {
        let s = Server(config: Config())
        let monitor = s.detachedClient(), c = s.detachedClient()
        #expect(s.execute("MONITOR", on: monitor) == "+OK\r\n")
        #expect(s.execute("MONITOR", on: monitor) == "", "a second MONITOR has no reply")
        monitor.reply.buffer.removeAll()
        s.execute("SET", "k", "v w", on: c)
        s.execute("CONFIG", "GET", "port", on: c)
        s.execute("GET", on: c)
        s.execute("AUTH", "secret", on: c)
        s.execute("MULTI", on: c)
        s.execute("INCR", "n", on: c)
        s.execute("EXEC", on: c)
        #expect(lines(monitor) == ["[0 127.0.0.1:0] \"SET\" \"k\" \"v w\"", "[0 127.0.0.1:0] \"AUTH\" \"(redacted)\"",
                                   "[0 127.0.0.1:0] \"MULTI\"", "[0 127.0.0.1:0] \"INCR\" \"n\"", "[0 127.0.0.1:0] \"EXEC\""])
        #expect(s.execute("GET", "k", on: monitor) == "-ERR Replica can't interact with the keyspace\r\n")
        #expect(s.execute("CLIENT", "INFO", on: monitor).contains("flags=O "))
        s.close(monitor)
        #expect(s.monitorIDs.isEmpty)
        s.execute("SET", "k", "v", on: c)  // no monitor left: nothing to feed
    }
}

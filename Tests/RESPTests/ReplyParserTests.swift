// The reply decoder: every RESP2/RESP3 type, identical results at every split point of the stream, pipelined replies,
// limits, and a round trip through ReplyWriter.
import Testing
@testable import RESP

/// Decodes a stream delivered in `chunks` as a connection would: append each read, take every complete reply.
private func decode(_ chunks: [[UInt8]], limits: ReplyLimits = ReplyLimits()) throws -> [RESPValue] {
    var parser = ReplyParser(limits: limits)
    var buffer: [UInt8] = []
    var out: [RESPValue] = []
    for c in chunks {
        buffer += c
        let (values, used) = try parser.parseAll(buffer)
        out += values
        buffer.removeFirst(used)
    }
    #expect(buffer.isEmpty)
    return out
}

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

private let replySamples: [(String, RESPValue)] = [
    ("+OK\r\n", .simple("OK")),
    ("-ERR unknown command\r\n", .error("ERR unknown command")),
    (":-42\r\n", .integer(-42)),
    (":-9223372036854775808\r\n", .integer(.min)),  // INCRBY k -9223372036854775808 replies this
    (":9223372036854775807\r\n", .integer(.max)),
    ("$5\r\nhe\r\no\r\n", .bulk(b("he\r\no"))),
    ("$0\r\n\r\n", .bulk([])),
    ("$-1\r\n", .null),
    ("*-1\r\n", .null),
    ("_\r\n", .null),
    ("*0\r\n", .array([])),
    ("*3\r\n:1\r\n$1\r\na\r\n*1\r\n+x\r\n", .array([.integer(1), .bulk(b("a")), .array([.simple("x")])])),
    ("%2\r\n+a\r\n:1\r\n+b\r\n,0.5\r\n", .map([RESPPair(.simple("a"), .integer(1)), RESPPair(.simple("b"), .double(0.5))])),
    ("~2\r\n$1\r\nx\r\n$1\r\ny\r\n", .set([.bulk(b("x")), .bulk(b("y"))])),
    (">2\r\n+message\r\n$2\r\nhi\r\n", .push([.simple("message"), .bulk(b("hi"))])),
    ("#t\r\n", .boolean(true)),
    ("#f\r\n", .boolean(false)),
    (",-inf\r\n", .double(-.infinity)),
    (",1.5e-7\r\n", .double(1.5e-7)),
    ("(12345678901234567890\r\n", .bigNumber("12345678901234567890")),
    ("=8\r\ntxt:abcd\r\n", .verbatim(format: "txt", text: b("abcd"))),
    ("!9\r\nERR oops!\r\n", .error("ERR oops!")),
    ("|1\r\n+ttl\r\n:3\r\n:7\r\n", .integer(7)),
]

@Suite("ReplyParser")
struct ReplyParserTests {
    @Test("every type decodes", arguments: replySamples.indices)
    func decodesType(_ i: Int) throws {
        #expect(try decode([b(replySamples[i].0)]) == [replySamples[i].1])
    }

    @Test("a pipelined stream decodes identically at every split point")
    func everySplitPoint() throws {
        let stream = replySamples.flatMap { b($0.0) }
        let expected = replySamples.map(\.1)
        for split in 0...stream.count {
            #expect(try decode([Array(stream[..<split]), Array(stream[split...])]) == expected, "split at \(split)")
        }
        for (a, c) in [(3, 17), (40, 41), (1, 100)] where c <= stream.count {
            #expect(try decode([Array(stream[..<a]), Array(stream[a..<c]), Array(stream[c...])]) == expected)
        }
        #expect(try decode(stream.map { [$0] }) == expected)
    }

    @Test("an FT.SEARCH-shaped reply decodes at every split point")
    func searchReplySplits() throws {
        var w = ReplyWriter(protocolVersion: 3)
        w.map(2); w.simpleString("total_results"); w.integer(2)
        w.simpleString("results"); w.array(2)
        for id in ["doc:1", "doc:2"] { w.map(1); w.simpleString("id"); w.bulk(id) }
        let bytes = w.buffer
        let whole = try decode([bytes])
        #expect(whole.count == 1)
        for split in 0...bytes.count {
            #expect(try decode([Array(bytes[..<split]), Array(bytes[split...])]) == whole)
        }
    }

    @Test("incomplete input returns nil without consuming")
    func incomplete() throws {
        var p = ReplyParser()
        for s in ["", "$", "$5\r", "$5\r\nabc", "$5\r\nabcde", "$5\r\nabcde\r", "*2\r\n:1\r\n", "%1\r\n+a\r\n"] {
            let r = try p.parse(b(s), from: 0)
            #expect(r == nil, "\(s.debugDescription)")
        }
    }

    @Test("malformed streams throw", arguments: ["?x\r\n", ":12a\r\n", ":9223372036854775808\r\n", ":-9223372036854775809\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "#x\r\n", ",abc\r\n", "+a\rb\r\n", "_x\r\n"])
    func malformed(_ s: String) {
        #expect(throws: ProtocolError.self) { _ = try decode([b(s)]) }
    }

    @Test("limits: bulk length, aggregate count, nesting depth")
    func limits() {
        var l = ReplyLimits()
        l.maxBulkLength = 4; l.maxAggregateCount = 3; l.maxDepth = 3
        #expect(throws: ProtocolError.self) { _ = try decode([b("$5\r\nabcde\r\n")], limits: l) }
        #expect(throws: ProtocolError.self) { _ = try decode([b("*4\r\n")], limits: l) }
        #expect(throws: ProtocolError.self) { _ = try decode([b("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n")], limits: l) }
        #expect((try? decode([b("*1\r\n*1\r\n:1\r\n")], limits: l)) == [.array([.array([.integer(1)])])])
    }

    @Test("ReplyWriter.value re-encodes a decoded reply byte for byte (same protocol)")
    func roundTrip() throws {
        for (text, _) in replySamples where !text.hasPrefix("|") && !text.hasPrefix("!") && !text.hasPrefix("*-1") && !text.hasPrefix("$-1") {
            let v = try decode([b(text)])[0]
            var w = ReplyWriter(protocolVersion: 3)
            w.value(v)
            #expect(w.buffer == b(text), "\(text.debugDescription)")
        }
    }

    @Test("accessors")
    func accessors() {
        #expect(RESPValue.bulk(b("12")).int == 12)
        #expect(RESPValue.bulk(b("0.25")).number == 0.25)
        #expect(RESPValue.simple("x").bytes == b("x"))
        #expect(RESPValue.array([.integer(1)]).elements == [.integer(1)])
    }
}

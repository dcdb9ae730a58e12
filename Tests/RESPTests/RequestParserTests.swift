// The incremental request parser: identical results however the bytes are split, pipelining, inline quoting, and
// Redis's exact protocol-error texts at every limit.
import Testing
@testable import RESP

/// What a byte stream parses to: the requests (as argument lists) and, if the stream is invalid, the error reason.
struct Outcome: Equatable, CustomStringConvertible {
    var requests: [[String]] = []
    var error: String?
    var description: String { "\(requests.map { $0.map { $0.debugDescription } }) error: \(error ?? "none")" }
}

/// Feeds `chunks` into one growing buffer as a connection does, consuming every complete request after each read.
func feed(_ chunks: [[UInt8]], limits: RequestLimits = RequestLimits()) -> Outcome {
    var parser = RequestParser(limits: limits)
    var buffer: [UInt8] = []
    var start = 0
    var outcome = Outcome()
    for chunk in chunks {
        buffer += chunk
        while start < buffer.count {
            let result: ParsedRequest?
            do {
                result = try buffer.withUnsafeMutableBytes { try parser.parse(UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
            } catch {
                outcome.error = (error as? ProtocolError)?.reason ?? "\(error)"
                return outcome
            }
            guard let result else { break }
            switch result {
            case .multibulk(let consumed), .inline(let consumed):
                outcome.requests.append(parser.spans.map {
                    String(decoding: buffer[(start + $0.offset)..<(start + $0.offset + $0.count)], as: UTF8.self)
                })
                start += consumed
            case .empty(let consumed):
                start += consumed
            }
        }
    }
    return outcome
}

func feed(_ text: String, limits: RequestLimits = RequestLimits()) -> Outcome { feed([Array(text.utf8)], limits: limits) }

/// A RESP multibulk request.
func multibulk(_ args: [String]) -> String {
    "*\(args.count)\r\n" + args.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
}

let samples: [String] = [
    multibulk(["PING"]),
    multibulk(["SET", "key", "value"]),
    multibulk(["HSET", "h", "f", "a\r\nb\r\n"]),  // binary-safe: CRLF inside a bulk
    multibulk(["SET", "empty", ""]),
    multibulk(["ECHO", String(repeating: "x", count: 300)]),
    multibulk(["GET", "a"]) + multibulk(["GET", "b"]) + multibulk(["MGET", "a", "b", "c"]),  // pipelined
    "PING\r\n",
    "SET k \"hello world\"\r\n",
    "PING\n",
    "\r\n" + multibulk(["PING"]),
    "*0\r\n" + multibulk(["PING"]),
    "*-1\r\n" + multibulk(["PING"]),
    "SET a 'it\\'s'\r\nGET a\r\n",
    multibulk(["PING"]) + "*1\r\n$3\r\nfoo\r\n" + "x\r\n",
    "*1\r\n$3\r\nfoo\r\n*1\r\nxyz\r\n",  // ends in an error after a good request
    // Inline requests, decoded in place over the read buffer: plain, quoted, escaped, mixed with multibulk.
    "PING_INLINE x\r\nPING\r\nPING\r\n",
    "SET \"k 1\" \"\\x41\\x7a\\n\" 'it\\'s'\r\n" + multibulk(["GET", "k 1"]) + "ECHO \"\"\r\n",
    "  HSET\th f\u{0B}x  \"v w\"\r\nECHO a\u{0}b c\r\nECHO done\n",
    "SET k \"open\r\n",  // unbalanced quotes after the line is complete
]

@Suite("RequestParser")
struct RequestParserTests {
    @Test("every sample split at every byte boundary parses as the whole", arguments: samples)
    func everySplit(sample: String) {
        let bytes = Array(sample.utf8)
        let whole = feed([bytes])
        #expect(!whole.requests.isEmpty || whole.error != nil)
        for cut in 0...bytes.count {
            #expect(feed([Array(bytes[..<cut]), Array(bytes[cut...])]) == whole, "cut at \(cut)")
        }
        #expect(feed(bytes.map { [$0] }) == whole, "one byte per read")
    }

    @Test("random splits of a long pipeline (seeded) parse identically")
    func randomSplits() {
        var rng = SeededGenerator(seed: 0x5EED)
        var stream: [UInt8] = []
        var expected: [[String]] = []
        for i in 0..<300 {
            let args = ["HSET", "key:\(i)", "f\r\n\(i)", String(repeating: "v", count: Int(rng.next() % 100))]
            expected.append(args)
            stream += Array(multibulk(args).utf8)
            if i % 7 == 0 { stream += Array("PING \"a b\"\r\n".utf8); expected.append(["PING", "a b"]) }
        }
        for _ in 0..<50 {
            var chunks: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                let n = min(stream.count - i, 1 + Int(rng.next() % 200))
                chunks.append(Array(stream[i..<(i + n)]))
                i += n
            }
            #expect(feed(chunks) == Outcome(requests: expected))
        }
    }

    @Test("pipelined requests in one read are all returned, in order")
    func pipeline() {
        let text = multibulk(["SET", "a", "1"]) + "GET a\r\n" + multibulk(["DEL", "a"])
        #expect(feed(text).requests == [["SET", "a", "1"], ["GET", "a"], ["DEL", "a"]])
    }

    @Test("inline requests: quotes, escapes, blanks", arguments: [
        ("SET k v\r\n", ["SET", "k", "v"]),
        ("  SET   k\tv  \r\n", ["SET", "k", "v"]),
        ("SET k \"a b\"\r\n", ["SET", "k", "a b"]),
        ("SET k \"a\\nb\\r\\t\\\\\\\"\"\r\n", ["SET", "k", "a\nb\r\t\\\""]),
        ("SET k \"\\x41\\x7a\\xZZ\"\r\n", ["SET", "k", "AzxZZ"]),
        ("SET k 'single \"quoted\"'\r\n", ["SET", "k", "single \"quoted\""]),
        ("SET k 'it\\'s'\r\n", ["SET", "k", "it's"]),
        ("SET k 'no\\nescape'\r\n", ["SET", "k", "no\\nescape"]),
        ("SET k \"\"\r\n", ["SET", "k", ""]),
        ("SET a\"b c\"d\r\n", []),  // a closing quote must be followed by a blank
        ("ECHO x\u{0B}y\r\n", ["ECHO", "x\u{0B}y"]),  // \v joins an unquoted word, as in sdssplitargs
        ("ECHO a\u{0}b c\r\n", ["ECHO", "a"]),  // a NUL ends the line
    ])
    func inline(line: String, expected: [String]) {
        let outcome = feed(line)
        if expected.isEmpty {
            #expect(outcome.error == "unbalanced quotes in request")
        } else {
            #expect(outcome == Outcome(requests: [expected]))
        }
    }

    @Test("inline arguments are spans of the caller's buffer, quoted words decoded over their own bytes")
    func inlineInPlace() throws {
        var line = Array("SET \"a\\x41 b\" plain ''\r\nGET".utf8)
        var parser = RequestParser()
        let parsed = try line.withUnsafeMutableBytes { try parser.parse($0) }
        #expect(parsed == .inline(consumed: 24))
        #expect(parser.spans == [ArgumentSpan(offset: 0, count: 3), ArgumentSpan(offset: 4, count: 4),
                                 ArgumentSpan(offset: 14, count: 5), ArgumentSpan(offset: 20, count: 0)])
        #expect(String(decoding: line[4..<8], as: UTF8.self) == "aA b")
        #expect(String(decoding: line[14..<19], as: UTF8.self) == "plain")
        // The next request's bytes are untouched, and an incomplete line is not rewritten while it waits.
        #expect(String(decoding: line[24...], as: UTF8.self) == "GET")
        var partial = Array("ECHO \"a\\nb\"".utf8)
        let before = partial
        #expect(try partial.withUnsafeMutableBytes { try parser.parse($0) } == nil)
        #expect(partial == before)
    }

    @Test("splitInline (config files) keeps sdssplitargs's rules")
    func splitInlineCopies() {
        let words = Array("dir \"/tmp/a b\" 'x\\'y'".utf8).withUnsafeBytes { RequestParser.splitInline($0) }
        #expect(words?.map { String(decoding: $0, as: UTF8.self) } == ["dir", "/tmp/a b", "x'y"])
        #expect(Array("a \"b".utf8).withUnsafeBytes { RequestParser.splitInline($0) } == nil)
    }

    @Test("unbalanced quotes are a protocol error")
    func unbalanced() {
        #expect(feed("SET k \"abc\r\n").error == "unbalanced quotes in request")
        #expect(feed("SET k 'abc\r\n").error == "unbalanced quotes in request")
        #expect(feed("SET k \"abc\"def\r\n").error == "unbalanced quotes in request")
        #expect(ProtocolError("unbalanced quotes in request").message == "ERR Protocol error: unbalanced quotes in request")
    }

    @Test("an empty line and *0 / *-1 are skipped")
    func empty() {
        #expect(feed("\r\n\n   \r\n*0\r\n*-1\r\nPING\r\n") == Outcome(requests: [["PING"]]))
    }

    @Test("bulk lengths: proto-max-bulk-len, negatives and garbage")
    func bulkLength() {
        #expect(feed("*1\r\n$536870913\r\n").error == "invalid bulk length")
        #expect(feed("*1\r\n$536870912\r\n").error == nil)  // the limit itself is allowed (waits for the bytes)
        var small = RequestLimits()
        small.maxBulkLength = 10
        #expect(feed("*1\r\n$10\r\n0123456789\r\n", limits: small).requests == [["0123456789"]])
        #expect(feed("*1\r\n$11\r\n", limits: small).error == "invalid bulk length")
        #expect(feed("*1\r\n$-1\r\n").error == "invalid bulk length")
        #expect(feed("*1\r\n$abc\r\n").error == "invalid bulk length")
        #expect(feed("*1\r\n$\r\n").error == "invalid bulk length")
        #expect(feed("*1\r\n$99999999999999999999\r\n").error == "invalid bulk length")
    }

    @Test("multibulk counts: INT_MAX by default, a configurable limit, garbage")
    func multibulkCount() {
        #expect(feed("*2147483648\r\n").error == "invalid multibulk length")
        #expect(feed("*2147483647\r\n").error == nil)
        var small = RequestLimits()
        small.maxMultibulkCount = 3
        #expect(feed("*4\r\n", limits: small).error == "invalid multibulk length")
        #expect(feed(multibulk(["a", "b", "c"]), limits: small).requests == [["a", "b", "c"]])
        #expect(feed("*x\r\n").error == "invalid multibulk length")
        #expect(feed("*\r\n").error == "invalid multibulk length")
        #expect(feed("*1 \r\n").error == "invalid multibulk length")
    }

    @Test("plain headers (digits then CRLF, read in one pass) and the general path agree at their edges")
    func headerFastPathEdges() {
        #expect(feed("*01\r\n$03\r\nabc\r\n").requests == [["abc"]])  // leading zeros, as before
        var huge = RequestLimits()
        huge.maxBulkLength = Int.max
        #expect(feed("*1\r\n$999999999999999999\r\n", limits: huge).error == nil)   // 18 digits: waits for the bytes
        #expect(feed("*1\r\n$1000000000000000000\r\n", limits: huge).error == nil)  // 19 digits: general path
        #expect(feed("*1\r\n$9999999999999999999\r\n", limits: huge).error == "invalid bulk length")  // > Int.max
        #expect(feed("*1\r\n$+3\r\nabc\r\n").error == "invalid bulk length")
        #expect(feed("*1\r\n$3\rxabc\r\n").error == "invalid bulk length")  // a lone CR is not the end of the line
        var small = RequestLimits()
        small.maxMultibulkCount = 2
        #expect(feed("*3\r\n", limits: small).error == "invalid multibulk length")
        #expect(feed("*2\r\n", limits: small).error == nil)
    }

    @Test("a bulk header must start with '$'")
    func expectedDollar() {
        #expect(feed("*1\r\nx\r\n").error == "expected '$', got 'x'")
        #expect(feed("*2\r\n$1\r\na\r\n:1\r\n").error == "expected '$', got ':'")
        #expect(feed("*1\r\nx").error == nil)  // not judged before its line is complete, as Redis
        #expect(ProtocolError("expected '$', got 'x'").message == "ERR Protocol error: expected '$', got 'x'")
    }

    @Test("header and inline lines have a 64 KB ceiling")
    func lineLimits() {
        let long = String(repeating: "a", count: 64 * 1024 + 1)
        #expect(feed(long).error == "too big inline request")
        #expect(feed(String(repeating: "a", count: 64 * 1024)).error == nil)
        #expect(feed("ECHO " + long + "\r\n").requests == [["ECHO", long]])  // a complete long line is fine
        #expect(feed("*" + String(repeating: "1", count: 64 * 1024 + 1)).error == "too big mbulk count string")
        #expect(feed("*1\r\n$" + String(repeating: "1", count: 64 * 1024 + 1)).error == "too big bulk count string")
        var small = RequestLimits()
        small.maxInlineLength = 8
        #expect(feed("PING PONG", limits: small).error == "too big inline request")
    }

    @Test("binary bulks keep CR, LF and NUL bytes")
    func binary() {
        let payload: [UInt8] = [0, 13, 10, 255, 13, 10, 36, 42]
        var stream = Array("*2\r\n$4\r\nECHO\r\n$8\r\n".utf8) + payload + [13, 10]
        var parser = RequestParser()
        let parsed = try? stream.withUnsafeMutableBytes { try parser.parse($0) }
        #expect(parsed == .multibulk(consumed: stream.count))
        #expect(parser.spans.count == 2)
        #expect(Array(stream[parser.spans[1].offset..<(parser.spans[1].offset + 8)]) == payload)
    }

    @Test("a large bulk arriving in many reads is not rescanned from the start each time")
    func largeBulk() {
        let big = String(repeating: "z", count: 1 << 20)
        let bytes = Array(multibulk(["SET", "k", big]).utf8)
        var chunks: [[UInt8]] = []
        var i = 0
        while i < bytes.count { chunks.append(Array(bytes[i..<min(bytes.count, i + 16384)])); i += 16384 }
        #expect(feed(chunks).requests == [["SET", "k", big]])
    }
}

/// SplitMix64, so random splits reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

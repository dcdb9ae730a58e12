// The reply writer, byte-exact in RESP2 and RESP3 for every method (the one place where the protocols differ).
import Testing
@testable import RESP

/// The bytes `body` writes with a writer for `version`, as text.
func written(_ version: Int, _ body: (inout ReplyWriter) -> Void) -> String {
    var w = ReplyWriter(protocolVersion: version)
    body(&w)
    return String(decoding: w.buffer, as: UTF8.self)
}

/// Asserts the RESP2 and RESP3 encodings of one reply.
func expectReply(_ resp2: String, _ resp3: String, sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: (inout ReplyWriter) -> Void) {
    #expect(written(2, body) == resp2, sourceLocation: sourceLocation)
    #expect(written(3, body) == resp3, sourceLocation: sourceLocation)
}

@Suite("ReplyWriter")
struct ReplyWriterTests {
    @Test("simple strings, OK, errors")
    func simple() {
        expectReply("+PONG\r\n", "+PONG\r\n") { $0.simpleString("PONG") }
        expectReply("+QUEUED\r\n", "+QUEUED\r\n") { $0.simpleString("QUEUED" as String) }
        expectReply("+OK\r\n", "+OK\r\n") { $0.ok() }
        expectReply("-ERR syntax error\r\n", "-ERR syntax error\r\n") { $0.error("ERR syntax error") }
        // Newlines inside an error would break the protocol: Redis turns them into spaces.
        expectReply("-ERR a b  c\r\n", "-ERR a b  c\r\n") { $0.error("ERR a\nb\r\nc") }
    }

    @Test("integers, including the extremes", arguments: [
        (0, ":0\r\n"), (7, ":7\r\n"), (-1, ":-1\r\n"), (10, ":10\r\n"), (-10, ":-10\r\n"),
        (Int.max, ":9223372036854775807\r\n"), (Int.min, ":-9223372036854775808\r\n"),
    ])
    func integers(value: Int, expected: String) {
        expectReply(expected, expected) { $0.integer(value) }
    }

    @Test("bulk strings from every source, binary-safe")
    func bulk() {
        expectReply("$5\r\nhello\r\n", "$5\r\nhello\r\n") { $0.bulk("hello") }
        expectReply("$0\r\n\r\n", "$0\r\n\r\n") { $0.bulk("") }
        expectReply("$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n") { $0.bulk([97, 13, 10, 98]) }
        expectReply("$3\r\n-42\r\n", "$3\r\n-42\r\n") { $0.bulk(integerText: -42) }
        let raw: [UInt8] = [0, 255, 1]
        var w = ReplyWriter()
        raw.withUnsafeBytes { w.bulk($0) }
        #expect(w.buffer == Array("$3\r\n".utf8) + raw + [13, 10])
    }

    @Test("null and null array")
    func nulls() {
        expectReply("$-1\r\n", "_\r\n") { $0.null() }
        expectReply("*-1\r\n", "_\r\n") { $0.nullArray() }
    }

    @Test("booleans are integers in RESP2")
    func booleans() {
        expectReply(":1\r\n", "#t\r\n") { $0.boolean(true) }
        expectReply(":0\r\n", "#f\r\n") { $0.boolean(false) }
    }

    @Test("doubles: RESP2 bulk, RESP3 ',' with Redis 7.4's d2string text", arguments: [
        (1.5, "1.5"), (-0.25, "-0.25"), (3.0, "3"), (0.0, "0"), (-0.0, "-0"), (0.1, "0.1"),
        (1.0 / 3.0, "0.3333333333333333"), (Double.infinity, "inf"), (-Double.infinity, "-inf"), (Double.nan, "nan"),
        (4_611_686_018_427_387_904.0, "4611686018427387904"), (1e19, "1e+19"), (1.5e-7, "1.5e-7"),
        (0.0001, "0.0001"), (1e-7, "1e-7"), (1e300, "1e+300"), (-1.25e-300, "-1.25e-300"), (123456.789, "123456.789"),
        (1e21 + 5e5, "1000000000000000500000"), (1.2345e22, "1.2345e+22"), (0.000123, "0.000123"),
    ])
    func doubles(value: Double, text: String) {
        expectReply("$\(text.utf8.count)\r\n\(text)\r\n", ",\(text)\r\n") { $0.double(value) }
    }

    @Test("verbatim strings carry their format in RESP3")
    func verbatim() {
        expectReply("$5\r\nhello\r\n", "=9\r\ntxt:hello\r\n") { $0.verbatim("hello") }
        expectReply("$2\r\n# \r\n", "=6\r\nmkd:# \r\n") { $0.verbatim("# ", format: "mkd") }
    }

    @Test("big numbers are bulk strings in RESP2")
    func bigNumber() {
        expectReply("$22\r\n1234567890123456789012\r\n", "(1234567890123456789012\r\n") { $0.bigNumber("1234567890123456789012") }
    }

    @Test("aggregates: array, map, set, push, pairs")
    func aggregates() {
        expectReply("*2\r\n:1\r\n:2\r\n", "*2\r\n:1\r\n:2\r\n") { $0.array(2); $0.integer(1); $0.integer(2) }
        expectReply("*0\r\n", "*0\r\n") { $0.array(0) }
        expectReply("*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n") {
            $0.map(2); $0.bulk("a"); $0.integer(1); $0.bulk("b"); $0.integer(2)
        }
        expectReply("*0\r\n", "%0\r\n") { $0.map(0) }
        expectReply("*1\r\n+x\r\n", "~1\r\n+x\r\n") { $0.set(1); $0.simpleString("x") }
        expectReply("*2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n", ">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n") {
            $0.push(2); $0.bulk("message"); $0.bulk("hi")
        }
        expectReply("*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\nw\r\n",
                    "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n") {
            $0.pairArray(2); $0.pair(); $0.bulk("f"); $0.bulk("v"); $0.pair(); $0.bulk("g"); $0.bulk("w")
        }
        expectReply("*3\r\n*1\r\n%1\r\n", "*3\r\n*1\r\n%1\r\n") { $0.array(3); $0.array(1); $0.header(37, 1) }
    }

    @Test("raw bytes pass through and the protocol can change between replies")
    func rawAndSwitch() {
        var w = ReplyWriter(protocolVersion: 2)
        w.raw(Array("+A\r\n".utf8))
        w.null()
        w.protocolVersion = 3
        w.null()
        #expect(String(decoding: w.buffer, as: UTF8.self) == "+A\r\n$-1\r\n_\r\n")
        #expect(w.isRESP3)
    }
}

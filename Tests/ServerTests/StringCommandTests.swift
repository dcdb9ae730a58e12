// String commands through the command table: exact reply bytes (RESP2 unless stated), errors as Redis 7.4 words them.
import Testing
@testable import Server
import Keyspace

/// Milliseconds the tests move by hand, so expiry needs no sleeping.
final class SteppedClock: @unchecked Sendable {
    var now: Int64
    init(_ now: Int64) { self.now = now }
}

/// A server with one detached client and a hand-driven clock; `h("SET", "k", "v")` returns the reply text.
struct KeyStringHarness {
    let server = Server(config: Config())
    let client: Client
    let clock = SteppedClock(1_700_000_000_000)

    init(protocolVersion: Int = 2) {
        let clock = self.clock
        server.database.clock = { clock.now }
        client = server.detachedClient(protocolVersion: protocolVersion)
    }

    @discardableResult
    func callAsFunction(_ argv: String...) -> String {
        String(decoding: server.execute(argv.map { Bytes($0) }, on: client), as: UTF8.self)
    }

    @discardableResult
    func raw(_ argv: [[UInt8]]) -> [UInt8] { server.execute(argv.map { Bytes($0) }, on: client) }
}

private let wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
private let notInteger = "-ERR value is not an integer or out of range\r\n"
private let syntax = "-ERR syntax error\r\n"

@Suite("String commands")
struct StringCommandTests {
    @Test("GET and SET basics, binary values, WRONGTYPE on hashes")
    func getSet() {
        let h = KeyStringHarness()
        #expect(h("GET", "k") == "$-1\r\n")
        #expect(h("SET", "k", "v") == "+OK\r\n")
        #expect(h("GET", "k") == "$1\r\nv\r\n")
        let binary: [UInt8] = [0, 13, 10, 255]
        #expect(h.raw([Array("SET".utf8), Array("b".utf8), binary]) == Array("+OK\r\n".utf8))
        #expect(h.raw([Array("GET".utf8), Array("b".utf8)]) == Array("$4\r\n".utf8) + binary + [13, 10])
        h("HSET", "h", "f", "v")
        #expect(h("GET", "h") == wrongType)
        // SET ignores the old type.
        #expect(h("SET", "h", "s") == "+OK\r\n")
        #expect(h("GET", "h") == "$1\r\ns\r\n")
        let h3 = KeyStringHarness(protocolVersion: 3)
        #expect(h3("GET", "missing") == "_\r\n")
    }

    @Test("SET option conflicts are syntax errors; a repeated option is not")
    func setSyntax() {
        let h = KeyStringHarness()
        #expect(h("SET", "k", "v", "EX", "10", "PX", "10") == syntax)
        #expect(h("SET", "k", "v", "NX", "XX") == syntax)
        #expect(h("SET", "k", "v", "KEEPTTL", "EX", "1") == syntax)
        #expect(h("SET", "k", "v", "EX", "1", "KEEPTTL") == syntax)
        #expect(h("SET", "k", "v", "EX") == syntax)
        #expect(h("SET", "k", "v", "PERSIST") == syntax)
        #expect(h("SET", "k", "v", "FOO") == syntax)
        #expect(h("SET", "k", "v", "ex", "10", "ex", "20") == "+OK\r\n")
        #expect(h("PTTL", "k") == ":20000\r\n")
        #expect(h("SET", "k") == "-ERR wrong number of arguments for 'set' command\r\n")
    }

    @Test("SET expiry validation: non-positive, non-integer and overflowing times")
    func setExpireErrors() {
        let h = KeyStringHarness()
        let invalid = "-ERR invalid expire time in 'set' command\r\n"
        #expect(h("SET", "k", "v", "EX", "0") == invalid)
        #expect(h("SET", "k", "v", "EX", "-1") == invalid)
        #expect(h("SET", "k", "v", "PX", "0") == invalid)
        #expect(h("SET", "k", "v", "EX", "abc") == notInteger)
        #expect(h("SET", "k", "v", "EX", "9223372036854776") == invalid)  // × 1000 overflows
        #expect(h("SET", "k", "v", "PX", "9223372036854775807") == invalid)  // + now overflows
        #expect(h("SET", "k", "v", "EXAT", "9223372036854775") == "+OK\r\n")
        #expect(h("SETEX", "k", "0", "v") == "-ERR invalid expire time in 'setex' command\r\n")
        #expect(h("SETEX", "k", "abc", "v") == notInteger)
        #expect(h("PSETEX", "k", "-5", "v") == "-ERR invalid expire time in 'psetex' command\r\n")
        // The expiry is validated even when NX would skip the write.
        #expect(h("SET", "k", "v", "NX", "EX", "0") == invalid)
    }

    @Test("SET EX/PX/EXAT/PXAT/KEEPTTL set and keep TTLs; a past EXAT leaves the key expired")
    func setExpiry() {
        let h = KeyStringHarness()
        let now = h.clock.now
        #expect(h("SET", "k", "v", "EX", "10") == "+OK\r\n")
        #expect(h("PTTL", "k") == ":10000\r\n")
        #expect(h("SET", "k", "v", "PX", "1500") == "+OK\r\n")
        #expect(h("PTTL", "k") == ":1500\r\n")
        #expect(h("SET", "k", "v", "PXAT", String(now + 777)) == "+OK\r\n")
        #expect(h("PEXPIRETIME", "k") == ":\(now + 777)\r\n")
        #expect(h("SET", "k", "v", "EXAT", String(now / 1000 + 100)) == "+OK\r\n")
        #expect(h("PEXPIRETIME", "k") == ":\(now / 1000 * 1000 + 100_000)\r\n")
        #expect(h("SET", "k", "v2", "KEEPTTL") == "+OK\r\n")
        #expect(h("PEXPIRETIME", "k") == ":\(now / 1000 * 1000 + 100_000)\r\n")
        #expect(h("SET", "k", "v3") == "+OK\r\n")
        #expect(h("TTL", "k") == ":-1\r\n")
        #expect(h("SET", "k", "v", "EXAT", "1") == "+OK\r\n")
        #expect(h("GET", "k") == "$-1\r\n")
        #expect(h("SET", "k", "v", "PX", "100") == "+OK\r\n")
        h.clock.now += 100
        #expect(h("GET", "k") == "$-1\r\n")
    }

    @Test("SET NX / XX / GET combinations")
    func setConditions() {
        let h = KeyStringHarness()
        #expect(h("SET", "k", "v", "XX") == "$-1\r\n")
        #expect(h("SET", "k", "v", "NX") == "+OK\r\n")
        #expect(h("SET", "k", "w", "NX") == "$-1\r\n")
        #expect(h("SET", "k", "w", "XX") == "+OK\r\n")
        #expect(h("SET", "k", "x", "GET") == "$1\r\nw\r\n")
        #expect(h("SET", "k", "y", "GET", "NX") == "$1\r\nx\r\n")
        #expect(h("GET", "k") == "$1\r\nx\r\n")
        #expect(h("SET", "n", "1", "GET", "XX") == "$-1\r\n")
        #expect(h("EXISTS", "n") == ":0\r\n")
        #expect(h("SET", "n", "1", "GET") == "$-1\r\n")
        h("HSET", "h", "f", "v")
        #expect(h("SET", "h", "v", "GET") == wrongType)
        #expect(h("TYPE", "h") == "+hash\r\n")
        #expect(h("SETNX", "k", "z") == ":0\r\n")
        #expect(h("SETNX", "z", "z") == ":1\r\n")
    }

    @Test("SETEX, PSETEX, GETSET, GETDEL")
    func variants() {
        let h = KeyStringHarness()
        #expect(h("SETEX", "k", "10", "v") == "+OK\r\n")
        #expect(h("TTL", "k") == ":10\r\n")
        #expect(h("PSETEX", "k", "2500", "v") == "+OK\r\n")
        #expect(h("PTTL", "k") == ":2500\r\n")
        #expect(h("GETSET", "k", "new") == "$1\r\nv\r\n")
        #expect(h("TTL", "k") == ":-1\r\n")  // GETSET drops the TTL
        #expect(h("GETSET", "fresh", "1") == "$-1\r\n")
        #expect(h("GETDEL", "k") == "$3\r\nnew\r\n")
        #expect(h("GETDEL", "k") == "$-1\r\n")
        h("HSET", "h", "f", "v")
        #expect(h("GETSET", "h", "x") == wrongType)
        #expect(h("GETDEL", "h") == wrongType)
        #expect(h("EXISTS", "h") == ":1\r\n")
    }

    @Test("GETEX: options, PERSIST, validation only for an existing string")
    func getex() {
        let h = KeyStringHarness()
        let now = h.clock.now
        #expect(h("GETEX", "nokey", "EX", "-1") == "$-1\r\n")
        h("SET", "k", "v")
        #expect(h("GETEX", "k", "EX", "-1") == "-ERR invalid expire time in 'getex' command\r\n")
        #expect(h("GETEX", "k", "PERSIST", "EX", "1") == syntax)
        #expect(h("GETEX", "k", "EX", "1", "PERSIST") == syntax)
        #expect(h("GETEX", "k", "NX") == syntax)
        #expect(h("GETEX", "k", "KEEPTTL") == syntax)
        #expect(h("GETEX", "k") == "$1\r\nv\r\n")
        #expect(h("TTL", "k") == ":-1\r\n")
        #expect(h("GETEX", "k", "PX", "5000") == "$1\r\nv\r\n")
        #expect(h("PTTL", "k") == ":5000\r\n")
        #expect(h("GETEX", "k", "EXAT", String(now / 1000 + 60)) == "$1\r\nv\r\n")
        #expect(h("EXPIRETIME", "k") == ":\(now / 1000 + 60)\r\n")
        #expect(h("GETEX", "k", "PERSIST") == "$1\r\nv\r\n")
        #expect(h("TTL", "k") == ":-1\r\n")
        #expect(h("GETEX", "k", "PXAT", "1") == "$1\r\nv\r\n")
        #expect(h("EXISTS", "k") == ":0\r\n")
        h("HSET", "h", "f", "v")
        #expect(h("GETEX", "h") == wrongType)
    }

    @Test("MGET answers nil for missing and non-string keys; MSET / MSETNX")
    func multi() {
        let h = KeyStringHarness()
        h("HSET", "h", "f", "v")
        #expect(h("MSET", "a", "1", "b", "2") == "+OK\r\n")
        #expect(h("MGET", "a", "h", "nokey", "b") == "*4\r\n$1\r\n1\r\n$-1\r\n$-1\r\n$1\r\n2\r\n")
        #expect(h("MSET", "a", "1", "b") == "-ERR wrong number of arguments for 'mset' command\r\n")
        #expect(h("MSETNX", "a", "1", "c") == "-ERR wrong number of arguments for 'msetnx' command\r\n")
        #expect(h("MSETNX", "c", "3", "a", "9") == ":0\r\n")
        #expect(h("EXISTS", "c") == ":0\r\n")
        #expect(h("MSETNX", "c", "3", "d", "4") == ":1\r\n")
        #expect(h("MGET", "c", "d") == "*2\r\n$1\r\n3\r\n$1\r\n4\r\n")
        h("SET", "t", "v", "EX", "100")
        h("MSET", "t", "w")
        #expect(h("TTL", "t") == ":-1\r\n")
    }

    @Test("INCR family: parsing, overflow, TTL kept")
    func counters() {
        let h = KeyStringHarness()
        #expect(h("INCR", "n") == ":1\r\n")
        #expect(h("INCRBY", "n", "41") == ":42\r\n")
        #expect(h("DECR", "n") == ":41\r\n")
        #expect(h("DECRBY", "n", "50") == ":-9\r\n")
        #expect(h("INCRBY", "n", "abc") == notInteger)
        #expect(h("DECRBY", "n", "-9223372036854775808") == "-ERR decrement would overflow\r\n")
        h("SET", "n", "9223372036854775807")
        #expect(h("INCR", "n") == "-ERR increment or decrement would overflow\r\n")
        h("SET", "n", "-9223372036854775808")
        #expect(h("DECR", "n") == "-ERR increment or decrement would overflow\r\n")
        for bad in ["010", " 1", "1.5", "+1", "", "abc"] {
            h("SET", "x", bad)
            #expect(h("INCR", "x") == notInteger, "value \(bad)")
        }
        h("HSET", "h", "f", "v")
        #expect(h("INCR", "h") == wrongType)
        h("SET", "t", "5", "EX", "100")
        #expect(h("INCR", "t") == ":6\r\n")
        #expect(h("TTL", "t") == ":100\r\n")
        #expect(h("GET", "t") == "$1\r\n6\r\n")
    }

    @Test("INCRBYFLOAT formats like Redis's long double %.17Lf, refuses NaN and Infinity")
    func incrByFloat() {
        let h = KeyStringHarness()
        #expect(h("INCRBYFLOAT", "f", "10.5") == "$4\r\n10.5\r\n")
        #expect(h("INCRBYFLOAT", "f", "0.1") == "$4\r\n10.6\r\n")
        #expect(h("INCRBYFLOAT", "f", "-10.6") == "$1\r\n0\r\n")
        #expect(h("INCRBYFLOAT", "f", "5.0e3") == "$4\r\n5000\r\n")
        #expect(h("INCRBYFLOAT", "f", "abc") == "-ERR value is not a valid float\r\n")
        #expect(h("INCRBYFLOAT", "f", " 1") == "-ERR value is not a valid float\r\n")
        #expect(h("INCRBYFLOAT", "f", "1e5000") == "-ERR value is not a valid float\r\n")
        #expect(h("INCRBYFLOAT", "f", "inf") == "-ERR increment would produce NaN or Infinity\r\n")
        #expect(h("INCRBYFLOAT", "g", "1.23456789012345678") == "$19\r\n1.23456789012345678\r\n")
        #expect(h("INCRBYFLOAT", "g3", "0x10") == "$2\r\n16\r\n")
        #expect(h("INCRBYFLOAT", "g6", "-0.0") == "$1\r\n0\r\n")
        h("SET", "x", "1.5")
        #expect(h("INCRBYFLOAT", "x", "1.5") == "$1\r\n3\r\n")
        #expect(h("INCRBYFLOAT", "x", "1e17") == "$18\r\n100000000000000003\r\n")
        h("SET", "x", "1.5")
        #expect(h("INCRBYFLOAT", "x", "1e17") == "$20\r\n100000000000000001.5\r\n")  // exact in 80-bit long double
        h("SET", "x", "text")
        #expect(h("INCRBYFLOAT", "x", "1") == "-ERR value is not a valid float\r\n")
        h("HSET", "h", "f", "v")
        #expect(h("INCRBYFLOAT", "h", "1") == wrongType)
        h("SET", "t", "1", "PX", "9000")
        #expect(h("INCRBYFLOAT", "t", "0.5") == "$3\r\n1.5\r\n")
        #expect(h("PTTL", "t") == ":9000\r\n")
    }

    @Test("APPEND and STRLEN")
    func append() {
        let h = KeyStringHarness()
        #expect(h("APPEND", "k", "hello") == ":5\r\n")
        #expect(h("APPEND", "k", " world") == ":11\r\n")
        #expect(h("GET", "k") == "$11\r\nhello world\r\n")
        #expect(h("STRLEN", "k") == ":11\r\n")
        #expect(h("STRLEN", "nokey") == ":0\r\n")
        h("HSET", "h", "f", "v")
        #expect(h("APPEND", "h", "x") == wrongType)
        #expect(h("STRLEN", "h") == wrongType)
        h("SET", "t", "a", "EX", "50")
        h("APPEND", "t", "b")
        #expect(h("TTL", "t") == ":50\r\n")
        // A value shared with a copy must not change under the copy.
        h("COPY", "k", "k2")
        h("APPEND", "k", "!")
        #expect(h("GET", "k2") == "$11\r\nhello world\r\n")
        h("CONFIG", "SET", "proto-max-bulk-len", "12")
        #expect(h("APPEND", "k", "xx") == "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n")
    }

    @Test("SETRANGE pads with zero bytes and checks offsets and size")
    func setRange() {
        let h = KeyStringHarness()
        #expect(h("SETRANGE", "s", "-1", "x") == "-ERR offset is out of range\r\n")
        #expect(h("SETRANGE", "s", "abc", "x") == notInteger)
        #expect(h("SETRANGE", "s", "0", "") == ":0\r\n")
        #expect(h("EXISTS", "s") == ":0\r\n")
        #expect(h("SETRANGE", "s", "3", "x") == ":4\r\n")
        #expect(h.raw([Array("GET".utf8), Array("s".utf8)]) == Array("$4\r\n".utf8) + [0, 0, 0, 120, 13, 10])
        #expect(h("SETRANGE", "s", "0", "ab") == ":4\r\n")
        #expect(h("SETRANGE", "s", "1", "") == ":4\r\n")
        #expect(h("SETRANGE", "s", "536870911", "xx") == "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n")
        #expect(h("SETRANGE", "s", "9223372036854775807", "xx") == "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n")
        h("SET", "w", "Hello World")
        #expect(h("SETRANGE", "w", "6", "Redis") == ":11\r\n")
        #expect(h("GET", "w") == "$11\r\nHello Redis\r\n")
        h("HSET", "h", "f", "v")
        #expect(h("SETRANGE", "h", "0", "") == wrongType)
    }

    @Test("GETRANGE / SUBSTR clamp indexes as Redis does")
    func getRange() {
        let h = KeyStringHarness()
        h("SET", "s", "This is a string")
        #expect(h("GETRANGE", "s", "0", "3") == "$4\r\nThis\r\n")
        #expect(h("GETRANGE", "s", "-3", "-1") == "$3\r\ning\r\n")
        #expect(h("GETRANGE", "s", "0", "-1") == "$16\r\nThis is a string\r\n")
        #expect(h("GETRANGE", "s", "10", "100") == "$6\r\nstring\r\n")
        #expect(h("GETRANGE", "s", "-1", "-5") == "$0\r\n\r\n")
        #expect(h("GETRANGE", "s", "5", "3") == "$0\r\n\r\n")
        #expect(h("GETRANGE", "s", "-100", "2") == "$3\r\nThi\r\n")
        #expect(h("GETRANGE", "s", "100", "200") == "$0\r\n\r\n")
        #expect(h("GETRANGE", "nokey", "0", "1") == "$0\r\n\r\n")
        #expect(h("GETRANGE", "s", "a", "1") == notInteger)
        #expect(h("SUBSTR", "s", "0", "3") == "$4\r\nThis\r\n")
        h("SET", "e", "")
        #expect(h("GETRANGE", "e", "0", "-1") == "$0\r\n\r\n")
        h("HSET", "h", "f", "v")
        #expect(h("GETRANGE", "h", "0", "1") == wrongType)
    }

    @Test("command table entries: arity, flags, key positions")
    func table() {
        let h = KeyStringHarness()
        let mset = h.server.commands.lookup("mset")!
        #expect(mset.arity == -3 && mset.keys.first == 1 && mset.keys.last == -1 && mset.keys.step == 2)
        #expect(h("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == "*2\r\n$1\r\na\r\n$1\r\nb\r\n")
        #expect(h("COMMAND", "INFO", "get") == "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n")
        for name in ["get", "set", "setnx", "setex", "psetex", "getset", "getdel", "getex", "mget", "mset", "msetnx",
                     "incr", "incrby", "incrbyfloat", "decr", "decrby", "append", "strlen", "getrange", "setrange", "substr"] {
            let spec = h.server.commands.lookup(name)
            #expect(spec != nil, "\(name) registered")
            #expect(spec?.categories.contains("string") == true, "\(name) is @string")
        }
    }
}

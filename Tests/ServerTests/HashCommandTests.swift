// Hash commands against the command table, byte-exact replies in RESP2 and RESP3 (where they differ), errors included.
import Testing
@testable import Server
import Keyspace

private func fresh(_ proto: Int = 2) -> (Server, Client) {
    let server = Server(config: Config())
    return (server, server.detachedClient(protocolVersion: proto))
}

@Suite("Hash commands")
struct HashCommandTests {
    @Test("HSET counts only new fields; HMSET replies OK")
    func hset() {
        let (s, c) = fresh()
        #expect(s.execute("HSET", "h", "a", "1", "b", "2", on: c) == ":2\r\n")
        #expect(s.execute("HSET", "h", "a", "9", "c", "3", on: c) == ":1\r\n")
        #expect(s.execute("HMSET", "h", "d", "4", on: c) == "+OK\r\n")
        #expect(s.execute("HGET", "h", "a", on: c) == "$1\r\n9\r\n")
        #expect(s.execute("HLEN", "h", on: c) == ":4\r\n")
    }

    @Test("odd argument counts are arity errors named after the command")
    func arity() {
        let (s, c) = fresh()
        #expect(s.execute("HSET", "h", "a", "1", "b", on: c) == "-ERR wrong number of arguments for 'hset' command\r\n")
        #expect(s.execute("HMSET", "h", "a", "1", "b", on: c) == "-ERR wrong number of arguments for 'hmset' command\r\n")
        #expect(s.execute("HSET", "h", "a", on: c) == "-ERR wrong number of arguments for 'hset' command\r\n")
        #expect(s.execute("HGET", "h", on: c) == "-ERR wrong number of arguments for 'hget' command\r\n")
        #expect(s.execute("HDEL", "h", on: c) == "-ERR wrong number of arguments for 'hdel' command\r\n")
        #expect(s.execute("HRANDFIELD", on: c) == "-ERR wrong number of arguments for 'hrandfield' command\r\n")
        #expect(s.execute("HSCAN", "h", on: c) == "-ERR wrong number of arguments for 'hscan' command\r\n")
        #expect(s.execute("EXISTS", "h", on: c) == ":0\r\n")
    }

    @Test("every hash command refuses a string key with WRONGTYPE")
    func wrongType() {
        let (s, c) = fresh()
        s.execute("SET", "s", "v", on: c)
        let wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        let commands: [[String]] = [
            ["HSET", "s", "f", "v"], ["HMSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"], ["HGET", "s", "f"],
            ["HMGET", "s", "f"], ["HGETALL", "s"], ["HDEL", "s", "f"], ["HLEN", "s"], ["HEXISTS", "s", "f"],
            ["HKEYS", "s"], ["HVALS", "s"], ["HSTRLEN", "s", "f"], ["HINCRBY", "s", "f", "1"],
            ["HINCRBYFLOAT", "s", "f", "1"], ["HRANDFIELD", "s"], ["HRANDFIELD", "s", "2"], ["HSCAN", "s", "0"],
        ]
        for argv in commands {
            #expect(String(decoding: s.execute(argv.map { Bytes($0) }, on: c), as: UTF8.self) == wrong, "\(argv)")
        }
        #expect(s.execute("GET", "s", on: c) == "$1\r\nv\r\n")
    }

    @Test("missing keys: null, zero, empty map or array")
    func missing() {
        let (s2, c2) = fresh(2)
        let (s3, c3) = fresh(3)
        #expect(s2.execute("HGET", "m", "f", on: c2) == "$-1\r\n")
        #expect(s3.execute("HGET", "m", "f", on: c3) == "_\r\n")
        #expect(s2.execute("HMGET", "m", "a", "b", on: c2) == "*2\r\n$-1\r\n$-1\r\n")
        #expect(s3.execute("HMGET", "m", "a", "b", on: c3) == "*2\r\n_\r\n_\r\n")
        #expect(s2.execute("HGETALL", "m", on: c2) == "*0\r\n")
        #expect(s3.execute("HGETALL", "m", on: c3) == "%0\r\n")
        #expect(s3.execute("HKEYS", "m", on: c3) == "*0\r\n")
        #expect(s3.execute("HVALS", "m", on: c3) == "*0\r\n")
        #expect(s2.execute("HLEN", "m", on: c2) == ":0\r\n")
        #expect(s2.execute("HEXISTS", "m", "f", on: c2) == ":0\r\n")
        #expect(s2.execute("HSTRLEN", "m", "f", on: c2) == ":0\r\n")
        #expect(s2.execute("HDEL", "m", "f", on: c2) == ":0\r\n")
        #expect(s2.execute("HRANDFIELD", "m", on: c2) == "$-1\r\n")
        #expect(s3.execute("HRANDFIELD", "m", on: c3) == "_\r\n")
        #expect(s3.execute("HRANDFIELD", "m", "3", "WITHVALUES", on: c3) == "*0\r\n")
        #expect(s2.execute("HSCAN", "m", "0", on: c2) == "*2\r\n$1\r\n0\r\n*0\r\n")
    }

    @Test("HGETALL is a map in RESP3 and a flat array in RESP2; HKEYS/HVALS keep insertion order while compact")
    func getAll() {
        let (s2, c2) = fresh(2)
        let (s3, c3) = fresh(3)
        for (s, c) in [(s2, c2), (s3, c3)] { s.execute("HSET", "h", "a", "1", "bb", "22", on: c) }
        #expect(s2.execute("HGETALL", "h", on: c2) == "*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nbb\r\n$2\r\n22\r\n")
        #expect(s3.execute("HGETALL", "h", on: c3) == "%2\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nbb\r\n$2\r\n22\r\n")
        #expect(s3.execute("HKEYS", "h", on: c3) == "*2\r\n$1\r\na\r\n$2\r\nbb\r\n")
        #expect(s3.execute("HVALS", "h", on: c3) == "*2\r\n$1\r\n1\r\n$2\r\n22\r\n")
        #expect(s2.execute("HMGET", "h", "bb", "x", "a", on: c2) == "*3\r\n$2\r\n22\r\n$-1\r\n$1\r\n1\r\n")
        #expect(s2.execute("HSTRLEN", "h", "bb", on: c2) == ":2\r\n")
        #expect(s2.execute("HEXISTS", "h", "bb", on: c2) == ":1\r\n")
    }

    @Test("HSETNX sets only new fields")
    func hsetnx() {
        let (s, c) = fresh()
        #expect(s.execute("HSETNX", "h", "f", "1", on: c) == ":1\r\n")
        #expect(s.execute("HSETNX", "h", "f", "2", on: c) == ":0\r\n")
        #expect(s.execute("HGET", "h", "f", on: c) == "$1\r\n1\r\n")
    }

    @Test("HDEL counts removed fields and deletes the emptied key")
    func hdel() {
        let (s, c) = fresh()
        s.execute("HSET", "h", "a", "1", "b", "2", "c", "3", on: c)
        #expect(s.execute("HDEL", "h", "a", "a", "x", on: c) == ":1\r\n")
        #expect(s.execute("HDEL", "h", "x", on: c) == ":0\r\n")
        #expect(s.execute("HDEL", "h", "b", "c", on: c) == ":2\r\n")
        #expect(s.execute("EXISTS", "h", on: c) == ":0\r\n")
        #expect(s.execute("TYPE", "h", on: c) == "+none\r\n")
    }

    @Test("only real changes emit key events (WATCH and indexes rely on them)")
    func changeEvents() {
        let (s, c) = fresh()
        final class Log { var events: [KeyEvent.Kind] = [] }
        let log = Log()
        s.database.subscribe { log.events.append($0.kind) }
        s.execute("HSET", "h", "a", "1", on: c)
        s.execute("HDEL", "h", "nope", on: c)
        s.execute("HSETNX", "h", "a", "2", on: c)
        s.execute("HINCRBY", "h", "a", "x", on: c)
        #expect(log.events == [.written])
        s.execute("HDEL", "h", "a", on: c)
        #expect(log.events == [.written, .deleted])
    }

    @Test("HINCRBY: integers, overflow and non-integer values")
    func hincrby() {
        let (s, c) = fresh()
        #expect(s.execute("HINCRBY", "h", "n", "5", on: c) == ":5\r\n")
        #expect(s.execute("HINCRBY", "h", "n", "-7", on: c) == ":-2\r\n")
        #expect(s.execute("HGET", "h", "n", on: c) == "$2\r\n-2\r\n")
        #expect(s.execute("HINCRBY", "h", "n", "x", on: c) == "-ERR value is not an integer or out of range\r\n")
        s.execute("HSET", "h", "s", "abc", "big", "9223372036854775807", "sp", " 1", on: c)
        #expect(s.execute("HINCRBY", "h", "s", "1", on: c) == "-ERR hash value is not an integer\r\n")
        #expect(s.execute("HINCRBY", "h", "sp", "1", on: c) == "-ERR hash value is not an integer\r\n")
        #expect(s.execute("HINCRBY", "h", "big", "1", on: c) == "-ERR increment or decrement would overflow\r\n")
        #expect(s.execute("HINCRBY", "h", "big", "-1", on: c) == ":9223372036854775806\r\n")
        #expect(s.execute("HGET", "h", "s", on: c) == "$3\r\nabc\r\n")
        #expect(s.execute("HINCRBY", "h2", "m", "-9223372036854775808", on: c) == ":-9223372036854775808\r\n")
        #expect(s.execute("HINCRBY", "h2", "m", "-1", on: c) == "-ERR increment or decrement would overflow\r\n")
    }

    @Test("HINCRBYFLOAT uses long double text like Redis")
    func hincrbyfloat() {
        let (s, c) = fresh()
        #expect(s.execute("HINCRBYFLOAT", "h", "f", "10.5", on: c) == "$4\r\n10.5\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "f", "0.1", on: c) == "$4\r\n10.6\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "g", "0.1", on: c) == "$3\r\n0.1\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "g", "0.2", on: c) == "$3\r\n0.3\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "i", "-5", on: c) == "$2\r\n-5\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "i", "5", on: c) == "$1\r\n0\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "e", "5.0e3", on: c) == "$4\r\n5000\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "f", "abc", on: c) == "-ERR value is not a valid float\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "f", " 1", on: c) == "-ERR value is not a valid float\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "f", "inf", on: c) == "-ERR value is NaN or Infinity\r\n")
        s.execute("HSET", "h", "s", "abc", "huge", "1e4932", on: c)
        #expect(s.execute("HINCRBYFLOAT", "h", "s", "1", on: c) == "-ERR hash value is not a float\r\n")
        #expect(s.execute("HINCRBYFLOAT", "h", "huge", "1e4932", on: c) == "-ERR increment would produce NaN or Infinity\r\n")
        // The same text in RESP3: a bulk string, not a double.
        let (s3, c3) = fresh(3)
        #expect(s3.execute("HINCRBYFLOAT", "h", "f", "1.5", on: c3) == "$3\r\n1.5\r\n")
    }

    @Test("OBJECT ENCODING follows hash-max-listpack-entries / -value, one way")
    func encoding() {
        let (s, c) = fresh()
        s.execute("HSET", "h", "f", "v", on: c)
        #expect(s.execute("OBJECT", "ENCODING", "h", on: c) == "$8\r\nlistpack\r\n")
        for i in 0..<127 { s.execute("HSET", "h", "f\(i)", "v", on: c) }
        #expect(s.execute("HLEN", "h", on: c) == ":128\r\n")
        #expect(s.execute("OBJECT", "ENCODING", "h", on: c) == "$8\r\nlistpack\r\n")
        s.execute("HSET", "h", "one-more", "v", on: c)
        #expect(s.execute("OBJECT", "ENCODING", "h", on: c) == "$9\r\nhashtable\r\n")
        // Conversions are one-way: shrinking keeps the table.
        for i in 0..<127 { s.execute("HDEL", "h", "f\(i)", on: c) }
        #expect(s.execute("HLEN", "h", on: c) == ":2\r\n")
        #expect(s.execute("OBJECT", "ENCODING", "h", on: c) == "$9\r\nhashtable\r\n")

        // A 64-byte value still fits; 65 bytes converts, for fields as for values.
        let v64 = String(repeating: "x", count: 64), v65 = String(repeating: "x", count: 65)
        s.execute("HSET", "a", "f", v64, on: c)
        #expect(s.execute("OBJECT", "ENCODING", "a", on: c) == "$8\r\nlistpack\r\n")
        s.execute("HSET", "b", v65, "v", on: c)
        #expect(s.execute("OBJECT", "ENCODING", "b", on: c) == "$9\r\nhashtable\r\n")
        s.execute("HSET", "a", "g", v65, on: c)
        #expect(s.execute("OBJECT", "ENCODING", "a", on: c) == "$9\r\nhashtable\r\n")
        #expect(s.execute("HGET", "a", "f", on: c) == "$64\r\n\(v64)\r\n")

        // HSETNX on an existing field does not convert; HSETNX of a long value does.
        s.execute("HSET", "n", "f", "v", on: c)
        s.execute("HSETNX", "n", "f", v65, on: c)
        #expect(s.execute("OBJECT", "ENCODING", "n", on: c) == "$8\r\nlistpack\r\n")
        s.execute("HSETNX", "n", "g", v65, on: c)
        #expect(s.execute("OBJECT", "ENCODING", "n", on: c) == "$9\r\nhashtable\r\n")

        // More than 128 pairs in one HSET convert up front, even when they repeat one field (hashTypeTryConversion).
        let repeated = ["HSET", "r"] + Array(repeating: ["f", "v"], count: 129).flatMap { $0 }
        #expect(String(decoding: s.execute(repeated.map { Bytes($0) }, on: c), as: UTF8.self) == ":1\r\n")
        #expect(s.execute("OBJECT", "ENCODING", "r", on: c) == "$9\r\nhashtable\r\n")

        // HINCRBYFLOAT producing a long value converts, as hashTypeSet checks every write.
        s.execute("HSET", "x", "f", "1", on: c)
        s.execute("HINCRBYFLOAT", "x", "f", "1e70", on: c)
        #expect(s.execute("OBJECT", "ENCODING", "x", on: c) == "$9\r\nhashtable\r\n")
    }

    @Test("an indexed document (its vector held by the index) answers every hash command as a plain hash does")
    func indexedDocument() throws {
        var config = Config()
        try config.set("search-workers", "0")
        let s = Server(config: config)
        let c = s.detachedClient()
        s.execute("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32",
                  "DIM", "32", "DISTANCE_METRIC", "L2", "n", "NUMERIC", on: c)
        let vector = Bytes((0..<128).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) })
        func run(_ args: [Bytes]) -> [UInt8] { s.execute(args, on: c) }
        // d:1 is indexed (its vector becomes a reference), e:1 is the same hash outside the index.
        for key in ["d:1", "e:1"] { _ = run(["HSET", Bytes(key), "v", vector, "n", "7"]) }
        let commands: [(Bytes) -> [Bytes]] = [
            { ["HGET", $0, "v"] }, { ["HGETALL", $0] }, { ["HVALS", $0] }, { ["HSTRLEN", $0, "v"] }, { ["HLEN", $0] },
            { ["HMGET", $0, "v", "n", "x"] }, { ["HSCAN", $0, "0"] }, { ["HRANDFIELD", $0, "5", "WITHVALUES"] },
            { ["OBJECT", "ENCODING", $0] }, { ["MEMORY", "USAGE", $0] },
        ]
        // The packed hash lists the vector first, the table in its own order: both are a hashtable's unspecified order,
        // so replies are compared as multisets of RESP lines.
        func lines(_ reply: [UInt8]) -> [[UInt8]] {
            var out: [[UInt8]] = [], current: [UInt8] = []
            for byte in reply {
                if byte == 10, current.last == 13 { current.removeLast(); out.append(current); current = [] } else { current.append(byte) }
            }
            return out.sorted { $0.lexicographicallyPrecedes($1) }
        }
        for command in commands {
            #expect(lines(run(command("d:1"))) == lines(run(command("e:1"))), "\(command("k"))")
        }
        #expect(s.execute("OBJECT", "ENCODING", "d:1", on: c) == "$9\r\nhashtable\r\n")
        #expect(s.execute("FT.SEARCH", "idx", "@n:[7 7]", "RETURN", "1", "n", on: c) == "*3\r\n:1\r\n$3\r\nd:1\r\n*2\r\n$1\r\nn\r\n$1\r\n7\r\n")
        // Overwriting the vector with a short value, then deleting it: still a hashtable, as in Redis.
        s.execute("HSET", "d:1", "v", "short", on: c)
        #expect(s.execute("HGET", "d:1", "v", on: c) == "$5\r\nshort\r\n")
        #expect(s.execute("HDEL", "d:1", "v", on: c) == ":1\r\n")
        #expect(s.execute("HGETALL", "d:1", on: c) == "*2\r\n$1\r\nn\r\n$1\r\n7\r\n")
        #expect(s.execute("OBJECT", "ENCODING", "d:1", on: c) == "$9\r\nhashtable\r\n")
    }

    @Test("the encoding limits come from config")
    func encodingConfig() throws {
        var config = Config()
        try config.set("hash-max-listpack-entries", "2")
        let s = Server(config: config)
        let c = s.detachedClient()
        s.execute("HSET", "h", "a", "1", "b", "2", on: c)
        #expect(s.execute("OBJECT", "ENCODING", "h", on: c) == "$8\r\nlistpack\r\n")
        s.execute("HSET", "h", "c", "3", on: c)
        #expect(s.execute("OBJECT", "ENCODING", "h", on: c) == "$9\r\nhashtable\r\n")
    }

    @Test("large hashes keep every operation working after conversion")
    func table() {
        let (s, c) = fresh()
        for i in 0..<1000 { s.execute("HSET", "h", "field:\(i)", "\(i)", on: c) }
        #expect(s.execute("HLEN", "h", on: c) == ":1000\r\n")
        #expect(s.execute("HGET", "h", "field:777", on: c) == "$3\r\n777\r\n")
        for i in stride(from: 0, to: 1000, by: 2) { s.execute("HDEL", "h", "field:\(i)", on: c) }
        #expect(s.execute("HLEN", "h", on: c) == ":500\r\n")
        for i in 0..<1000 {
            #expect(s.execute("HEXISTS", "h", "field:\(i)", on: c) == (i % 2 == 0 ? ":0\r\n" : ":1\r\n"))
        }
        #expect(s.execute("HINCRBY", "h", "field:1", "10", on: c) == ":11\r\n")
    }

    @Test("HRANDFIELD: shapes per protocol, counts, repeats and errors")
    func hrandfield() {
        let (s2, c2) = fresh(2)
        let (s3, c3) = fresh(3)
        for (s, c) in [(s2, c2), (s3, c3)] { s.execute("HSET", "h", "a", "1", on: c) }
        #expect(s2.execute("HRANDFIELD", "h", on: c2) == "$1\r\na\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "1", on: c2) == "*1\r\n$1\r\na\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "5", "WITHVALUES", on: c2) == "*2\r\n$1\r\na\r\n$1\r\n1\r\n")
        #expect(s3.execute("HRANDFIELD", "h", "5", "withvalues", on: c3) == "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "-3", on: c2) == "*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "-2", "WITHVALUES", on: c2) == "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n")
        #expect(s3.execute("HRANDFIELD", "h", "-2", "WITHVALUES", on: c3) == "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "0", on: c2) == "*0\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "x", on: c2) == "-ERR value is not an integer or out of range\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "1", "WITHVALUE", on: c2) == "-ERR syntax error\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "1", "WITHVALUES", "x", on: c2) == "-ERR syntax error\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "-9223372036854775808", on: c2)
            == "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n")
        #expect(s2.execute("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES", on: c2) == "-ERR value is out of range\r\n")
    }

    @Test("HRANDFIELD with a positive count returns distinct fields, for both encodings", arguments: [10, 300])
    func hrandfieldUnique(size: Int) {
        let (s, c) = fresh()
        for i in 0..<size { s.execute("HSET", "h", "f\(i)", "v\(i)", on: c) }
        for count in [1, 3, size / 2, size - 1, size, size + 5] {
            let reply = s.execute(["HRANDFIELD", "h", "\(count)"].map { Bytes($0) }, on: c)
            let fields = bulkStrings(reply)
            #expect(fields.count == min(count, size))
            #expect(Set(fields).count == fields.count)
            #expect(fields.allSatisfy { $0.hasPrefix("f") })
        }
        let pairs = bulkStrings(s.execute(["HRANDFIELD", "h", "4", "WITHVALUES"].map { Bytes($0) }, on: c))
        #expect(pairs.count == 8)
        for i in stride(from: 0, to: 8, by: 2) { #expect("v" + pairs[i].dropFirst() == pairs[i + 1]) }
    }

    @Test("HSCAN of a compact hash returns everything with cursor 0; MATCH, COUNT, NOVALUES, errors")
    func hscanCompact() {
        let (s, c) = fresh()
        s.execute("HSET", "h", "a1", "x", "b1", "y", "a2", "z", on: c)
        #expect(s.execute("HSCAN", "h", "0", on: c) == "*2\r\n$1\r\n0\r\n*6\r\n$2\r\na1\r\n$1\r\nx\r\n$2\r\nb1\r\n$1\r\ny\r\n$2\r\na2\r\n$1\r\nz\r\n")
        #expect(s.execute("HSCAN", "h", "0", "MATCH", "a*", "COUNT", "1", on: c) == "*2\r\n$1\r\n0\r\n*4\r\n$2\r\na1\r\n$1\r\nx\r\n$2\r\na2\r\n$1\r\nz\r\n")
        #expect(s.execute("HSCAN", "h", "0", "match", "b*", "novalues", on: c) == "*2\r\n$1\r\n0\r\n*1\r\n$2\r\nb1\r\n")
        #expect(s.execute("HSCAN", "h", "x", on: c) == "-ERR invalid cursor\r\n")
        #expect(s.execute("HSCAN", "h", "-1", on: c) == "-ERR invalid cursor\r\n")
        #expect(s.execute("HSCAN", "h", "0", "COUNT", "0", on: c) == "-ERR syntax error\r\n")
        #expect(s.execute("HSCAN", "h", "0", "COUNT", "x", on: c) == "-ERR value is not an integer or out of range\r\n")
        #expect(s.execute("HSCAN", "h", "0", "COUNT", on: c) == "-ERR syntax error\r\n")
        #expect(s.execute("HSCAN", "h", "0", "BOGUS", on: c) == "-ERR syntax error\r\n")
        #expect(s.execute("HSCAN", "h", "18446744073709551615", on: c).hasPrefix("*2\r\n$1\r\n0\r\n"))
    }

    @Test("HSCAN of a table visits every field across calls, even while the table grows")
    func hscanTable() {
        let (s, c) = fresh()
        for i in 0..<500 { s.execute("HSET", "h", "f\(i)", "v", on: c) }
        var seen = Set<String>()
        var cursor = "0"
        var calls = 0
        repeat {
            let reply = s.execute(["HSCAN", "h", cursor, "COUNT", "20", "NOVALUES"].map { Bytes($0) }, on: c)
            let strings = bulkStrings(reply)
            cursor = strings[0]
            seen.formUnion(strings.dropFirst())
            calls += 1
            // Grow the table mid-scan; the original fields must still all come back.
            if calls == 3 { for i in 500..<2000 { s.execute("HSET", "h", "g\(i)", "v", on: c) } }
        } while cursor != "0" && calls < 10_000
        #expect(cursor == "0")
        #expect(calls > 2)
        #expect((0..<500).allSatisfy { seen.contains("f\($0)") })
    }

    @Test("COMMAND INFO describes the hash commands as Redis 7.4 does")
    func commandInfo() {
        let (s, c) = fresh()
        #expect(s.execute("COMMAND", "INFO", "hset", on: c).hasPrefix("*1\r\n*10\r\n$4\r\nhset\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@hash\r\n+@fast\r\n"))
        #expect(s.execute("COMMAND", "INFO", "hgetall", on: c).hasPrefix("*1\r\n*10\r\n$7\r\nhgetall\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@hash\r\n+@slow\r\n"))
        let expected: [String: (Int, String)] = [
            "hset": (-4, "write denyoom fast"), "hsetnx": (4, "write denyoom fast"), "hmset": (-4, "write denyoom fast"),
            "hget": (3, "readonly fast"), "hmget": (-3, "readonly fast"), "hgetall": (2, "readonly"),
            "hdel": (-3, "write fast"), "hlen": (2, "readonly fast"), "hexists": (3, "readonly fast"),
            "hkeys": (2, "readonly"), "hvals": (2, "readonly"), "hstrlen": (3, "readonly fast"),
            "hincrby": (4, "write denyoom fast"), "hincrbyfloat": (4, "write denyoom fast"),
            "hrandfield": (-2, "readonly"), "hscan": (-3, "readonly"),
        ]
        for (name, (arity, flags)) in expected {
            let spec = s.commands.lookup(name)
            #expect(spec?.arity == arity, "\(name)")
            #expect(spec?.flags.joined(separator: " ") == flags, "\(name)")
            #expect(spec?.keys.first == 1 && spec?.keys.last == 1 && spec?.keys.step == 1, "\(name)")
            #expect(spec?.categories.contains("hash") == true, "\(name)")
        }
        #expect(s.execute("COMMAND", "GETKEYS", "HSET", "k", "f", "v", on: c) == "*1\r\n$1\r\nk\r\n")
    }
}

/// The bulk strings of a reply, in order (nested arrays flattened).
func bulkStrings(_ reply: [UInt8]) -> [String] {
    var result: [String] = []
    var i = 0
    while i < reply.count {
        let type = reply[i]
        var j = i
        while reply[j] != 13 { j += 1 }
        let header = String(decoding: reply[(i + 1)..<j], as: UTF8.self)
        i = j + 2
        if type == UInt8(ascii: "$"), let n = Int(header), n >= 0 {
            result.append(String(decoding: reply[i..<(i + n)], as: UTF8.self))
            i += n + 2
        }
    }
    return result
}

// Keyspace commands through the command table: exact reply bytes, Redis 7.4 errors, expiry with a hand-driven clock.
import Testing
@testable import Server
import Keyspace

private let syntax = "-ERR syntax error\r\n"
private let notInteger = "-ERR value is not an integer or out of range\r\n"

/// Decodes a RESP2 SCAN reply: the next cursor and the keys.
private func parseScan(_ reply: String) -> (cursor: String, keys: [String]) {
    let lines = reply.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
    let cursor = lines[2]
    let n = Int(lines[3].dropFirst())!
    let keys = (0..<n).map { lines[5 + 2 * $0] }
    return (cursor, keys)
}

@Suite("Key commands")
struct KeyCommandTests {
    @Test("DEL / UNLINK count existing keys, a repeated key once")
    func del() {
        let h = KeyStringHarness()
        #expect(h("DEL", "a") == ":0\r\n")
        h("MSET", "a", "1", "b", "2")
        h("HSET", "h", "f", "v")
        #expect(h("DEL", "a", "a", "b", "nokey") == ":2\r\n")
        #expect(h("UNLINK", "h", "nokey") == ":1\r\n")
        #expect(h("DBSIZE") == ":0\r\n")
        h("SET", "e", "v", "PX", "10")
        h.clock.now += 10
        #expect(h("DEL", "e") == ":0\r\n")
        #expect(h("DEL") == "-ERR wrong number of arguments for 'del' command\r\n")
    }

    @Test("EXISTS and TOUCH count a repeated key each time; TYPE names the type")
    func existsType() {
        let h = KeyStringHarness()
        h("SET", "s", "v")
        h("HSET", "h", "f", "v")
        #expect(h("EXISTS", "s", "s", "h", "nokey") == ":3\r\n")
        #expect(h("TOUCH", "s", "h", "nokey", "s") == ":3\r\n")
        #expect(h("TYPE", "s") == "+string\r\n")
        #expect(h("TYPE", "h") == "+hash\r\n")
        #expect(h("TYPE", "nokey") == "+none\r\n")
    }

    @Test("KEYS matches globs and skips expired keys")
    func keys() {
        let h = KeyStringHarness()
        h("MSET", "hello", "1", "hallo", "2", "hxllo", "3", "other", "4")
        h("SET", "hexp", "v", "PX", "5")
        h.clock.now += 5
        func sorted(_ reply: String) -> [String] {
            reply.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.hasPrefix("$") && !$0.hasPrefix("*") && !$0.isEmpty }.sorted()
        }
        #expect(sorted(h("KEYS", "*")) == ["hallo", "hello", "hxllo", "other"])
        #expect(sorted(h("KEYS", "h[ae]llo")) == ["hallo", "hello"])
        #expect(sorted(h("KEYS", "h?llo")) == ["hallo", "hello", "hxllo"])
        #expect(h("KEYS", "nomatch*") == "*0\r\n")
    }

    @Test("SCAN: cursor validation and option errors")
    func scanErrors() {
        let h = KeyStringHarness()
        #expect(h("SCAN", "abc") == "-ERR invalid cursor\r\n")
        #expect(h("SCAN", "-1") == "-ERR invalid cursor\r\n")
        #expect(h("SCAN", "0", "COUNT", "0") == syntax)
        #expect(h("SCAN", "0", "COUNT", "abc") == notInteger)
        #expect(h("SCAN", "0", "MATCH") == syntax)
        #expect(h("SCAN", "0", "foo", "bar") == syntax)
        #expect(h("SCAN", "0", "NOVALUES") == "-ERR NOVALUES option can only be used in HSCAN\r\n")
        #expect(h("SCAN", "0") == "*2\r\n$1\r\n0\r\n*0\r\n")
        #expect(h("SCAN", "007") == "*2\r\n$1\r\n0\r\n*0\r\n")  // strtoull accepts leading zeros
        #expect(h("SCAN", "99999999999") == "*2\r\n$1\r\n0\r\n*0\r\n")
    }

    @Test("SCAN visits every key exactly once, with MATCH and TYPE filters")
    func scanAll() {
        let h = KeyStringHarness()
        for i in 0..<500 { h("SET", "key:\(i)", "v") }
        for i in 0..<20 { h("HSET", "hash:\(i)", "f", "v") }
        var seen: [String: Int] = [:]
        var cursor = "0"
        var calls = 0
        repeat {
            let (next, keys) = parseScan(h("SCAN", cursor, "COUNT", "25"))
            for k in keys { seen[k, default: 0] += 1 }
            cursor = next
            calls += 1
        } while cursor != "0"
        #expect(seen.count == 520)
        #expect(seen.values.allSatisfy { $0 == 1 })
        #expect(calls > 1)
        let hashes = parseScan(h("SCAN", "0", "COUNT", "100000", "TYPE", "HASH")).keys
        #expect(Set(hashes) == Set((0..<20).map { "hash:\($0)" }))
        let matched = parseScan(h("SCAN", "0", "COUNT", "100000", "MATCH", "key:1?")).keys
        #expect(Set(matched) == Set((10..<20).map { "key:\($0)" }))
        #expect(parseScan(h("SCAN", "0", "COUNT", "100000", "TYPE", "nosuchtype")).keys.isEmpty)
    }

    @Test("RANDOMKEY returns a live key or nil")
    func randomKey() {
        let h = KeyStringHarness()
        #expect(h("RANDOMKEY") == "$-1\r\n")
        h("SET", "only", "v")
        #expect(h("RANDOMKEY") == "$4\r\nonly\r\n")
        h("PEXPIRE", "only", "1")
        h.clock.now += 1
        #expect(h("RANDOMKEY") == "$-1\r\n")
    }

    @Test("RENAME / RENAMENX keep the TTL, overwrite or refuse the target")
    func rename() {
        let h = KeyStringHarness()
        #expect(h("RENAME", "nokey", "x") == "-ERR no such key\r\n")
        #expect(h("RENAMENX", "nokey", "x") == "-ERR no such key\r\n")
        h("SET", "s", "v", "EX", "100")
        #expect(h("RENAME", "s", "s") == "+OK\r\n")
        #expect(h("RENAMENX", "s", "s") == ":0\r\n")
        h("SET", "t", "old")
        #expect(h("RENAMENX", "s", "t") == ":0\r\n")
        #expect(h("RENAME", "s", "t") == "+OK\r\n")
        #expect(h("GET", "t") == "$1\r\nv\r\n")
        #expect(h("TTL", "t") == ":100\r\n")
        #expect(h("EXISTS", "s") == ":0\r\n")
        #expect(h("RENAMENX", "t", "u") == ":1\r\n")
        #expect(h("TTL", "u") == ":100\r\n")
        h("HSET", "h", "f", "v")
        h("SET", "plain", "x", "EX", "5")
        #expect(h("RENAME", "h", "plain") == "+OK\r\n")
        #expect(h("TTL", "plain") == ":-1\r\n")  // the target's TTL goes with its old value
        #expect(h("HGET", "plain", "f") == "$1\r\nv\r\n")
        let spec = h.server.commands.lookup("rename")!
        #expect((spec.keys.first, spec.keys.last, spec.keys.step) == (1, 2, 1))
    }

    @Test("EXPIRE family: NX / XX / GT / LT rules")
    func expireConditions() {
        let h = KeyStringHarness()
        #expect(h("EXPIRE", "nokey", "10") == ":0\r\n")
        h("SET", "u", "v")
        #expect(h("EXPIRE", "u", "10", "XX") == ":0\r\n")
        #expect(h("EXPIRE", "u", "10", "GT") == ":0\r\n")  // no TTL counts as infinite
        #expect(h("EXPIRE", "u", "100", "NX") == ":1\r\n")
        #expect(h("EXPIRE", "u", "50", "NX") == ":0\r\n")
        #expect(h("EXPIRE", "u", "50", "XX") == ":1\r\n")
        #expect(h("TTL", "u") == ":50\r\n")
        #expect(h("EXPIRE", "u", "20", "GT") == ":0\r\n")
        #expect(h("EXPIRE", "u", "200", "gt") == ":1\r\n")
        #expect(h("EXPIRE", "u", "300", "LT") == ":0\r\n")
        #expect(h("EXPIRE", "u", "100", "lt") == ":1\r\n")
        #expect(h("EXPIRE", "u", "90", "XX", "LT") == ":1\r\n")
        #expect(h("TTL", "u") == ":90\r\n")
        h("SET", "p", "v")
        #expect(h("EXPIRE", "p", "10", "LT") == ":1\r\n")
    }

    @Test("EXPIRE family: option and time errors")
    func expireErrors() {
        let h = KeyStringHarness()
        h("SET", "u", "v")
        #expect(h("EXPIRE", "u", "10", "NX", "XX") == "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n")
        #expect(h("EXPIRE", "u", "10", "NX", "GT") == "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n")
        #expect(h("EXPIRE", "u", "10", "GT", "LT") == "-ERR GT and LT options at the same time are not compatible\r\n")
        #expect(h("EXPIRE", "u", "10", "foo") == "-ERR Unsupported option foo\r\n")
        #expect(h("EXPIRE", "u", "abc") == notInteger)
        #expect(h("EXPIRE", "u", "9223372036854775807") == "-ERR invalid expire time in 'expire' command\r\n")
        #expect(h("EXPIRE", "u", "-9223372036854775808") == "-ERR invalid expire time in 'expire' command\r\n")
        #expect(h("PEXPIRE", "u", "9223372036854775807") == "-ERR invalid expire time in 'pexpire' command\r\n")
        #expect(h("EXPIREAT", "u", "9223372036854776") == "-ERR invalid expire time in 'expireat' command\r\n")
        #expect(h("PEXPIREAT", "u", "9223372036854775807") == ":1\r\n")
        #expect(h("PEXPIRETIME", "u") == ":9223372036854775807\r\n")
        #expect(h("EXPIRETIME", "u") == ":9223372036854776\r\n")
        #expect(h("TTL", "u") == ":\((Int(Int64.max - h.clock.now) + 500) / 1000)\r\n")
        #expect(h("EXPIRE", "u") == "-ERR wrong number of arguments for 'expire' command\r\n")
        // Errors win over a missing key.
        #expect(h("EXPIRE", "nokey", "10", "bar") == "-ERR Unsupported option bar\r\n")
    }

    @Test("EXPIRE family: past times delete; lazy expiry at the exact millisecond")
    func expireTimes() {
        let h = KeyStringHarness()
        let now = h.clock.now
        h("SET", "a", "v")
        #expect(h("EXPIRE", "a", "-1") == ":1\r\n")
        #expect(h("EXISTS", "a") == ":0\r\n")
        h("SET", "b", "v")
        #expect(h("EXPIREAT", "b", "1") == ":1\r\n")
        #expect(h("EXISTS", "b") == ":0\r\n")
        h("SET", "c", "v")
        #expect(h("PEXPIRE", "c", "0") == ":1\r\n")
        #expect(h("EXISTS", "c") == ":0\r\n")
        h("SET", "d", "v")
        #expect(h("PEXPIREAT", "d", String(now + 1500)) == ":1\r\n")
        #expect(h("PTTL", "d") == ":1500\r\n")
        #expect(h("TTL", "d") == ":2\r\n")  // seconds are rounded to nearest
        h.clock.now += 1001
        #expect(h("TTL", "d") == ":0\r\n")
        #expect(h("PTTL", "d") == ":499\r\n")
        h.clock.now += 498
        #expect(h("GET", "d") == "$1\r\nv\r\n")
        h.clock.now += 1
        #expect(h("GET", "d") == "$-1\r\n")
        #expect(h("PTTL", "d") == ":-2\r\n")
    }

    @Test("TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST")
    func ttlFamily() {
        let h = KeyStringHarness()
        let now = h.clock.now
        for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] { #expect(h(c, "nokey") == ":-2\r\n") }
        h("SET", "p", "v")
        for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] { #expect(h(c, "p") == ":-1\r\n") }
        #expect(h("PERSIST", "p") == ":0\r\n")
        #expect(h("PERSIST", "nokey") == ":0\r\n")
        h("PEXPIREAT", "p", String(now + 10_499))
        #expect(h("PEXPIRETIME", "p") == ":\(now + 10_499)\r\n")
        #expect(h("EXPIRETIME", "p") == ":\((now + 10_499 + 500) / 1000)\r\n")
        #expect(h("TTL", "p") == ":10\r\n")
        #expect(h("PERSIST", "p") == ":1\r\n")
        #expect(h("TTL", "p") == ":-1\r\n")
    }

    @Test("COPY: options, TTL, REPLACE, independence of the copy")
    func copy() {
        let h = KeyStringHarness()
        h("HSET", "h", "f", "v")
        #expect(h("COPY", "h", "h") == "-ERR source and destination objects are the same\r\n")
        #expect(h("COPY", "nokey", "x") == ":0\r\n")
        #expect(h("COPY", "h", "h2") == ":1\r\n")
        #expect(h("HGETALL", "h2") == "*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
        #expect(h("COPY", "h", "h2") == ":0\r\n")
        #expect(h("COPY", "h", "h2", "REPLACE") == ":1\r\n")
        #expect(h("COPY", "h", "h3", "DB", "0") == ":1\r\n")
        #expect(h("COPY", "h", "h4", "DB", "1") == "-ERR DB index is out of range\r\n")
        #expect(h("COPY", "h", "h4", "DB", "abc") == notInteger)
        #expect(h("COPY", "h", "h4", "foo") == syntax)
        #expect(h("COPY", "h", "h4", "DB") == syntax)
        h("HSET", "h2", "g", "w")
        #expect(h("HGETALL", "h") == "*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
        h("SET", "s", "v", "EX", "100")
        #expect(h("COPY", "s", "s2") == ":1\r\n")
        #expect(h("TTL", "s2") == ":100\r\n")
        h("SET", "t", "x", "EX", "1000")
        h("SET", "plain", "p")
        #expect(h("COPY", "plain", "t", "REPLACE") == ":1\r\n")
        #expect(h("TTL", "t") == ":-1\r\n")
        #expect(h("GET", "t") == "$1\r\np\r\n")
        let spec = h.server.commands.lookup("copy")!
        #expect((spec.keys.first, spec.keys.last, spec.keys.step) == (1, 2, 1))
    }

    @Test("each keyed command declares its keys as Redis does")
    func table() {
        let h = KeyStringHarness()
        let expected: [String: (Int, Int, Int, Int)] = [
            "del": (-2, 1, -1, 1), "unlink": (-2, 1, -1, 1), "exists": (-2, 1, -1, 1), "touch": (-2, 1, -1, 1),
            "type": (2, 1, 1, 1), "keys": (2, 0, 0, 0), "scan": (-2, 0, 0, 0), "randomkey": (1, 0, 0, 0),
            "rename": (3, 1, 2, 1), "renamenx": (3, 1, 2, 1), "copy": (-3, 1, 2, 1),
            "expire": (-3, 1, 1, 1), "pexpire": (-3, 1, 1, 1), "expireat": (-3, 1, 1, 1), "pexpireat": (-3, 1, 1, 1),
            "ttl": (2, 1, 1, 1), "pttl": (2, 1, 1, 1), "expiretime": (2, 1, 1, 1), "pexpiretime": (2, 1, 1, 1),
            "persist": (2, 1, 1, 1),
        ]
        for (name, (arity, first, last, step)) in expected {
            let spec = h.server.commands.lookup(name)
            #expect(spec != nil, "\(name) registered")
            guard let spec else { continue }
            #expect(spec.arity == arity && spec.keys.first == first && spec.keys.last == last && spec.keys.step == step, "\(name)")
            #expect(spec.categories.first == "keyspace", "\(name) is @keyspace")
        }
        #expect(h("COMMAND", "GETKEYS", "COPY", "a", "b", "REPLACE") == "*2\r\n$1\r\na\r\n$1\r\nb\r\n")
    }

    @Test("WATCH sees writes made by string and key commands")
    func watchSeesWrites() {
        let h = KeyStringHarness()
        let other = h.server.detachedClient()
        h("SET", "k", "1")
        for write in [["INCR", "k"], ["APPEND", "k", "x"], ["EXPIRE", "k", "100"], ["RENAME", "k", "k2"]] {
            h("SET", "k", "1")
            h("WATCH", "k")
            h("MULTI")
            h("GET", "k")
            h.server.execute(write.map { Bytes($0) }, on: other)
            #expect(h("EXEC") == "*-1\r\n", "\(write[0]) should touch the watched key")
        }
    }
}

// The keyspace alone: lazy and active expiry with an injected clock, change events per mutation, SCAN coverage, rename.
import Testing
@testable import Keyspace

/// Milliseconds the tests move by hand, so expiry needs no sleeping.
final class ManualClock: @unchecked Sendable {
    var now: Int64 = 1_000_000
}

/// A database on a manual clock that records every event it emits.
final class Recorder {
    let clock = ManualClock()
    let database: Database
    var events: [(KeyEvent.Kind, String)] = []

    init() {
        let clock = self.clock
        database = Database(clock: { clock.now })
        database.subscribe { [unowned self] e in self.events.append((e.kind, e.key.string)) }
    }

    /// Events since the last call, then forgets them.
    func drain() -> [String] {
        defer { events = [] }
        return events.map { "\($0.0) \($0.1)" }
    }
}

private func string(_ s: String) -> Value { .string(Bytes(s)) }

@Suite("Database")
struct DatabaseTests {
    @Test("set / get / delete keep the count and emit one event each")
    func basics() {
        let r = Recorder()
        let db = r.database
        db.set("a", string("1"))
        db.set("a", string("2"))
        db.set("b", string("3"))
        #expect(db.count == 2)
        #expect(r.drain() == ["written a", "written a", "written b"])
        #expect(db.delete("a"))
        #expect(!db.delete("a"))
        #expect(db.count == 1)
        #expect(r.drain() == ["deleted a"])
        #expect(db.get("b") != nil && db.get("zz") == nil)
        #expect(db.keyspaceHits == 1 && db.keyspaceMisses == 1)
    }

    @Test("lazy expiry removes a key at its exact millisecond and emits .expired once")
    func lazyExpiry() {
        let r = Recorder()
        let db = r.database
        db.set("k", string("v"))
        #expect(db.setExpire("k", at: r.clock.now + 100))
        #expect(db.pttl("k") == 100)
        r.clock.now += 99
        #expect(db.peek("k") != nil)
        r.clock.now += 1
        #expect(db.count == 1)  // still stored until touched
        #expect(db.peek("k") == nil)
        #expect(db.peek("k") == nil)
        #expect(db.count == 0)
        #expect(db.expiredKeys == 1)
        #expect(db.pttl("k") == -2)
        #expect(r.drain() == ["written k", "ttlChanged k", "expired k"])
    }

    @Test("a past expiry deletes at once; persist and TTL-less keys")
    func expireEdges() {
        let r = Recorder()
        let db = r.database
        db.set("k", string("v"))
        #expect(db.pttl("k") == -1)
        #expect(!db.persist("k"))
        #expect(!db.setExpire("k", at: r.clock.now))
        #expect(!db.exists("k"))
        #expect(!db.setExpire("missing", at: r.clock.now + 10))
        db.set("p", string("v"))
        db.setExpire("p", at: r.clock.now + 10)
        #expect(db.persist("p"))
        r.clock.now += 20
        #expect(db.exists("p"))
        #expect(r.drain() == ["written k", "deleted k", "written p", "ttlChanged p", "ttlChanged p"])
    }

    @Test("set without keepTTL clears the TTL; keepTTL and updateString keep it")
    func ttlOnWrite() {
        let r = Recorder()
        let db = r.database
        db.set("k", string("v"), expireAt: r.clock.now + 50)
        #expect(db.pttl("k") == 50)
        db.set("k", string("w"), keepTTL: true)
        #expect(db.pttl("k") == 50)
        let n = db.updateString("k") { bytes -> Int in bytes.append(contentsOf: Array("xyz".utf8)); return bytes.count }
        #expect(n == 4)
        #expect(db.pttl("k") == 50)
        db.set("k", string("plain"))
        #expect(db.pttl("k") == -1)
        #expect(r.drain() == ["written k", "written k", "written k", "written k"])
    }

    @Test("updateString creates missing keys and refuses hashes")
    func updateString() {
        let r = Recorder()
        let db = r.database
        #expect(db.updateString("s") { bytes -> Int in bytes.append(65); return bytes.count } == 1)
        #expect(db.count == 1)
        _ = db.updateHash("h", create: true) { $0.set("f", "v") }
        _ = r.drain()
        #expect(db.updateString("h") { _ in 0 } == nil)
        #expect(r.drain().isEmpty)
        if case .string(let s)? = db.peek("s") { #expect(s == "A") } else { Issue.record("s is not a string") }
    }

    @Test("updateHash: one event per call; WRONGTYPE and a throwing body emit nothing and keep the key stored")
    func updateHashPaths() {
        struct Stop: Error {}
        let r = Recorder()
        let db = r.database
        #expect(db.updateHash("h", create: false) { $0.set("f", "v") } == nil)
        #expect(db.count == 0)
        _ = db.updateHash("h", create: true) { $0.set("f", "v") }
        _ = db.updateHash("h", create: true) { $0.set("g", "w") }
        db.set("s", string("x"))
        if case .failure? = db.updateHash("s", create: true, { $0.set("f", "v") }) {} else { Issue.record("no WRONGTYPE") }
        #expect(throws: Stop.self) { _ = try db.updateHash("h", create: true) { h in h.set("f", "changed"); throw Stop() } }
        #expect(throws: Stop.self) { _ = try db.updateHash("new", create: true) { _ in throw Stop() } }
        // What the body changed before throwing stays (callers validate first), but the key is neither lost nor created.
        if case .hash(let h)? = db.peek("h") { #expect(h.count == 2 && h["f"] == "changed") } else { Issue.record("h lost") }
        #expect(db.count == 2 && !db.exists("new"))
        db.setExpire("h", at: r.clock.now + 100)
        _ = db.updateHash("h", create: false) { h in h.remove("f"); h.remove("g") }
        #expect(db.count == 1 && db.expireTime("h") == nil)
        #expect(r.drain() == ["written h", "written h", "written s", "ttlChanged h", "deleted h"])
    }


    func activeExpiry() {
        let r = Recorder()
        let db = r.database
        for i in 0..<200 {
            db.set(Bytes("t\(i)"), string("v"))
            db.setExpire(Bytes("t\(i)"), at: r.clock.now + 10)
        }
        for i in 0..<50 { db.set(Bytes("keep\(i)"), string("v")) }
        db.set("later", string("v"), expireAt: r.clock.now + 1_000_000)
        _ = r.drain()
        #expect(db.activeExpireCycle() == 0)
        r.clock.now += 10
        var removed = 0
        for _ in 0..<100 where db.count > 51 { removed += db.activeExpireCycle() }
        #expect(removed == 200)
        #expect(db.count == 51)
        #expect(db.expiredKeys == 200)
        let events = r.drain()
        #expect(events.count == 200 && events.allSatisfy { $0.hasPrefix("expired t") })
        #expect(db.exists("later"))
    }

    @Test("rename keeps the TTL, replaces the target and reports both names")
    func rename() {
        let r = Recorder()
        let db = r.database
        db.set("a", string("1"), expireAt: r.clock.now + 500)
        db.set("b", string("2"), expireAt: r.clock.now + 9000)
        _ = r.drain()
        #expect(db.rename("a", to: "b"))
        #expect(db.pttl("b") == 500)
        #expect(db.pttl("a") == -2)
        #expect(db.count == 1)
        #expect(r.drain() == ["renamedFrom a", "deleted b", "renamedTo b"])
        db.set("c", string("3"))
        _ = r.drain()
        #expect(db.rename("c", to: "d"))
        #expect(db.pttl("d") == -1)
        #expect(!db.rename("missing", to: "x"))
        #expect(r.drain() == ["renamedFrom c", "renamedTo d"])
    }

    @Test("copy duplicates value and TTL; the copy is independent")
    func copy() {
        let r = Recorder()
        let db = r.database
        _ = db.updateHash("h", create: true) { $0.set("f", "v") }
        db.setExpire("h", at: r.clock.now + 70)
        _ = r.drain()
        #expect(db.copy("h", to: "h2", replace: false))
        #expect(!db.copy("h", to: "h2", replace: false))
        #expect(!db.copy("missing", to: "x", replace: true))
        #expect(db.pttl("h2") == 70)
        _ = db.updateHash("h2", create: false) { $0.set("g", "w") }
        if case .hash(let original)? = db.peek("h") { #expect(original.count == 1) } else { Issue.record("h lost") }
        #expect(r.drain() == ["written h2", "written h2"])
    }

    @Test("SCAN by slot returns every key exactly once and skips expired keys")
    func scan() {
        let r = Recorder()
        let db = r.database
        for i in 0..<3000 { db.set(Bytes("key:\(i)"), string("v")) }
        db.set("gone", string("v"), expireAt: r.clock.now + 1)
        r.clock.now += 1
        var seen: [Bytes: Int] = [:]
        var cursor = 0
        var calls = 0
        repeat {
            cursor = db.scan(cursor: cursor, count: 100) { k, _ in seen[k, default: 0] += 1 }
            calls += 1
        } while cursor != 0
        #expect(seen.count == 3000)
        #expect(seen.values.allSatisfy { $0 == 1 })
        #expect(seen["gone"] == nil)
        #expect(calls >= 30)
    }

    @Test("keys are indexed per slot")
    func perSlot() {
        let db = Database()
        db.set("{user}:1", string("a"))
        db.set("{user}:2", string("b"))
        db.set("foo", string("c"))
        #expect(db.countKeys(inSlot: 5474) == 2)
        #expect(Set(db.keys(inSlot: 5474, limit: 10)) == ["{user}:1", "{user}:2"])
        #expect(db.countKeys(inSlot: 12182) == 1)
        #expect(db.keys(inSlot: 5474, limit: 1).count == 1)
    }

    @Test("flush emits one delete per key; allKeys skips expired keys")
    func flushAndAllKeys() {
        let r = Recorder()
        let db = r.database
        db.set("a", string("1"))
        db.set("b", string("2"), expireAt: r.clock.now + 5)
        r.clock.now += 5
        #expect(db.allKeys() == ["a"])
        _ = r.drain()
        db.flush()
        #expect(db.count == 0)
        #expect(Set(r.drain()) == ["deleted a", "deleted b"])
        #expect(db.randomKey() == nil)
    }
}

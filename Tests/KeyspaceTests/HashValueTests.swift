// Bytes' inline/heap forms and both hash encodings: contents, conversions, removal, random picks and scan cursors.
import Testing
@testable import Keyspace

@Suite("Bytes")
struct BytesTests {
    @Test("inline and heap forms compare, hash and round-trip by content", arguments: [0, 1, 7, 8, 13, 14, 15, 16, 64, 1000])
    func forms(length: Int) {
        let raw = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) }
        let a = Bytes(raw)
        let b = raw.withUnsafeBytes { Bytes($0) }
        let c = Bytes(raw.lazy.map { $0 })
        #expect(a == b && b == c)
        #expect(a.hashValue == b.hashValue)
        #expect(a.count == length)
        #expect(a.storage == raw)
        #expect(a.withUnsafeBytes { Array($0) } == raw)
        if length > 0 {
            var changed = raw
            changed[length - 1] &+= 1
            #expect(Bytes(changed) != a)
            #expect(a < Bytes(changed))
        }
        #expect(Bytes(raw + [0]) != a)  // a trailing zero byte is content, not padding
    }

    @Test("a copy in a reused buffer equals a plain copy and survives the buffer's next use")
    func reusedBuffer() {
        var buffer: [UInt8] = []
        let long = Array("counter:__rand_int__".utf8), other = Array("another key, longer than that".utf8)
        let first = long.withUnsafeBytes { Bytes($0, reusing: &buffer) }
        let second = other.withUnsafeBytes { Bytes($0, reusing: &buffer) }  // `first` still holds the storage
        #expect(first == Bytes(long) && first.hashValue == Bytes(long).hashValue)
        #expect(second == Bytes(other))
        #expect(Array("short".utf8).withUnsafeBytes { Bytes($0, reusing: &buffer) } == Bytes("short"))
        var stored: [Bytes: Int] = [first.compacted: 1]
        stored[second.compacted] = 2
        _ = Array("overwrites the buffer's bytes".utf8).withUnsafeBytes { Bytes($0, reusing: &buffer) }
        #expect(stored[Bytes(long)] == 1 && stored[Bytes(other)] == 2)
    }

    @Test("storage can be replaced through the compatibility setter")
    func storageSetter() {
        var b = Bytes("short")
        b.storage.append(contentsOf: Array(" and now much longer".utf8))
        #expect(b == Bytes("short and now much longer"))
        b.storage = [1]
        #expect(b == Bytes([1]))
        #expect(Bytes("12345").integerValue == 12345)
        #expect(Bytes("-0").integerValue == nil)
    }
}

@Suite("HashValue")
struct HashValueTests {
    @Test("set from argument views matches set from Bytes, through conversion to a table", arguments: [1, 2, 64, 65, 200])
    func setFromViews(valueLength: Int) {
        var limits = HashEncodingLimits()
        limits.maxCompactEntries = 8
        var viaBytes = HashValue(), viaViews = HashValue()
        for i in 0..<12 {
            let field = Array("element:\(i % 10):long-enough-field".utf8), value = Array(repeating: UInt8(65 + i), count: valueLength)
            let a = viaBytes.set(Bytes(field), Bytes(value), limits: limits)
            let b = field.withUnsafeBytes { f in value.withUnsafeBytes { v in viaViews.set(field: f, value: v, limits: limits) } }
            #expect(a == b)
            #expect(viaBytes.isCompact == viaViews.isCompact)
        }
        #expect(viaBytes.pairs.map(\.field) == viaViews.pairs.map(\.field))
        #expect(viaBytes.pairs.map(\.value) == viaViews.pairs.map(\.value))
    }

    @Test("compact hash: set, replace with other lengths, remove, insertion order")
    func compact() {
        var h = HashValue()
        #expect(h.isEmpty && h.isCompact)
        let added = [h.set("a", "1"), h.set("b", "22"), h.set("a", String(repeating: "x", count: 60).bytes),
                     h.set("b", ""), h.set("c", "3")]
        #expect(added == [true, true, false, false, true])
        #expect(h.count == 3 && h.isCompact)
        #expect(h["a"] == String(repeating: "x", count: 60).bytes)
        #expect(h["b"] == Bytes(""))
        #expect(h["zz"] == nil)
        #expect(h.pairs.map(\.field) == ["a", "b", "c"])
        let removed = [h.remove("b"), h.remove("b")]
        #expect(removed == [true, false])
        #expect(h.pairs.map(\.field) == ["a", "c"])
        let rest = [h.remove("a"), h.remove("c")]
        #expect(rest == [true, true])
        #expect(h.isEmpty)
    }

    @Test("copies are independent (copy on write)")
    func copyOnWrite() {
        var a = HashValue()
        a.set("f", "1")
        var b = a
        b.set("f", "2")
        b.set("g", "3")
        #expect(a["f"] == "1" && a.count == 1)
        #expect(b["f"] == "2" && b.count == 2)
        var big = HashValue()
        for i in 0..<200 { big.set(Bytes("f\(i)"), "v") }
        var other = big
        other.remove("f1")
        #expect(big.count == 200 && other.count == 199)
    }

    @Test("long fields and values use lengths longer than one varint byte")
    func longEntries() {
        var limits = HashEncodingLimits()
        limits.maxCompactValueLength = 100_000
        var h = HashValue()
        let long = Bytes(Array(repeating: 7, count: 20_000))
        h.set(long, long, limits: limits)
        h.set("x", "y", limits: limits)
        #expect(h.isCompact)
        #expect(h[long] == long)
        #expect(h["x"] == "y")
    }

    @Test("conversion to a table is one-way and keeps every field")
    func conversion() {
        var h = HashValue()
        for i in 0..<128 { h.set(Bytes("f\(i)"), Bytes("\(i)")) }
        #expect(h.isCompact)
        h.set("f128", "128")
        #expect(!h.isCompact)
        for i in 0...128 { #expect(h[Bytes("f\(i)")] == Bytes("\(i)")) }
        for i in 0..<128 { let removed = h.remove(Bytes("f\(i)")); #expect(removed) }
        #expect(!h.isCompact && h.count == 1)
    }

    @Test("table removal keeps probe runs intact under heavy churn")
    func churn() {
        var h = HashValue()
        var model: [Bytes: Bytes] = [:]
        var rng = SplitMix(seed: 42)
        for _ in 0..<20_000 {
            let k = Bytes("k\(rng.next() % 700)")
            if rng.next() % 3 == 0 {
                let removed = h.remove(k)
                #expect(removed == (model.removeValue(forKey: k) != nil))
            } else {
                let v = Bytes("\(rng.next())")
                let isNew = h.set(k, v)
                #expect(isNew == (model.updateValue(v, forKey: k) == nil))
            }
        }
        #expect(h.count == model.count)
        for (k, v) in model { #expect(h[k] == v) }
        var seen = 0
        h.forEach { k, v in seen += 1; #expect(model[k] == v) }
        #expect(seen == model.count)
    }

    @Test("a full scan returns every field exactly once when nothing changes")
    func scan() {
        var h = HashValue()
        for i in 0..<1000 { h.set(Bytes("f\(i)"), "v") }
        var seen: [Bytes: Int] = [:]
        var cursor: UInt64 = 0
        repeat { cursor = h.scan(cursor: cursor, count: 7) { f, _ in seen[f, default: 0] += 1 } } while cursor != 0
        #expect(seen.count == 1000)
        #expect(seen.values.allSatisfy { $0 == 1 })
    }

    @Test("random pairs come from the hash, in both encodings")
    func random() {
        var rng = SplitMix(seed: 7)
        for size in [1, 5, 500] {
            var h = HashValue()
            for i in 0..<size { h.set(Bytes("f\(i)"), Bytes("v\(i)")) }
            var fields = Set<Bytes>()
            for _ in 0..<(size * 20) {
                let p = h.randomPair(using: &rng)!
                #expect(h[p.field] == p.value)
                fields.insert(p.field)
            }
            #expect(fields.count > size / 2)
        }
        #expect(HashValue().randomPair(using: &rng) == nil)
    }
}

/// A small seeded generator so failures reproduce.
struct SplitMix: RandomNumberGenerator {
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

private extension String {
    var bytes: Bytes { Bytes(self) }
}

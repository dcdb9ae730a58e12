// Hash values held in a store (an indexed vector): reads, overwrites, removal, copies, detaching, encoding.
import Testing
@testable import Keyspace

/// Serves fixed contents by label, like a vector index serving its copies.
private final class FixedSource: ExternalByteSource, @unchecked Sendable {
    var contents: [UInt64: [UInt8]] = [:]
    func externalBytes(label: UInt64) -> [UInt8]? { contents[label] }
}

private let vector = (0..<1536).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }

/// An indexed-document-like hash (`v` long, two short fields), as HSET leaves it: a table.
private func document() -> HashValue {
    var h = HashValue()
    h.prepareForWrite(pairs: 3, longestArgument: vector.count, limits: HashEncodingLimits())
    h.set("v", Bytes(vector))
    h.set("year", "2015")
    h.set("popular", "true")
    return h
}

/// A store over a fixed source; `reference` puts the vector under `label` and returns its reference.
private struct Fixture {
    let source = FixedSource()
    let store: ExternalStore
    init() { store = ExternalStore(source: source, byteCount: vector.count) }
    func reference(_ label: UInt32 = 1) -> ExternalReference {
        source.contents[UInt64(label)] = vector
        return store.reference(label: label)
    }
    /// Detaches `label` and forgets its content, as an index does when it drops or replaces a vector.
    func forget(_ label: UInt32) {
        store.detach(label: label)
        source.contents[UInt64(label)] = nil
    }
}

private func isPacked(_ h: HashValue) -> Bool { if case .compact = h.storage { return true }; return false }

private func fields(_ h: HashValue) -> [Bytes: Bytes] {
    var all: [Bytes: Bytes] = [:]
    h.forEach { all[$0] = $1 }
    return all
}

@Suite("External references")
struct ExternalReferenceTests {
    @Test("a reference is one word in a hash buffer; it resolves through its store, a lost label reads as zeros")
    func resolves() {
        let f = Fixture()
        let r = f.reference(7)
        #expect(MemoryLayout<Bytes>.size == 16)
        #expect(ExternalReference(packed: r.packed) == r && r.count == vector.count && r.resolve() == vector)
        #expect(f.store.reference(label: 8).resolve() == [UInt8](repeating: 0, count: vector.count))
        #expect(!f.store.isReferenced(label: 7))
    }
}

@Suite("External value in a hash")
struct ExternalValueTests {
    @Test("externalizing packs the hash, which still reads the same and reports hashtable")
    func packsAndReads() {
        let f = Fixture()
        var h = document()
        let before = fields(h)
        let memoryBefore = h.memoryUsage
        #expect(!isPacked(h))
        let reference = f.reference()
        h.setExternal("v", reference)
        #expect(isPacked(h) && f.store.isReferenced(label: 1))
        #expect(!h.isCompact)
        #expect(Value.hash(h).encodingName == "hashtable")
        #expect(h.count == 3 && !h.isEmpty)
        #expect(h.contains("v") && h.contains("year") && !h.contains("nope"))
        #expect(h.externalReference(for: "v") == reference && h.externalReference(for: "year") == nil)
        #expect(h["v"]?.storage == vector && h["v"]?.externalReference == nil)  // handed out resolved
        #expect(h["year"] == "2015" && h["popular"] == "true")
        #expect(fields(h) == before)
        #expect(h.memoryUsage == memoryBefore)

        var raw: [[UInt8]: [UInt8]] = [:]
        h.forEachRaw { f, v in raw[Array(f)] = Array(v) }
        #expect(raw[Array("v".utf8)] == vector && raw.count == 3)

        var scanned: [Bytes: Bytes] = [:]
        #expect(h.scan(cursor: 0, count: 1) { scanned[$0] = $1 } == 0)
        #expect(scanned == before)

        var rng = SystemRandomNumberGenerator()
        var seen = Set<Bytes>()
        for _ in 0..<200 {
            if let p = h.randomPair(using: &rng) {
                seen.insert(p.field)
                #expect(p.value == before[p.field] && p.value.externalReference == nil)
            }
        }
        #expect(seen == Set(before.keys))
    }

    @Test("other fields can change around the external one, growing the buffer; the encoding stays hashtable")
    func otherFields() {
        let f = Fixture()
        var h = document()
        let reference = f.reference()
        h.setExternal("v", reference)
        let results = [h.set("year", "1999"), h.set("new", "field"), h.remove("popular"),
                       h.set("grows", Bytes(Array(repeating: 2, count: 60)))]  // past the buffer's capacity
        #expect(results == [false, true, true, true])
        #expect(isPacked(h) && !h.isCompact)
        #expect(h.externalReference(for: "v") == reference)
        #expect(fields(h) == ["v": Bytes(vector), "year": "1999", "new": "field", "grows": Bytes(Array(repeating: 2, count: 60))])
        // The larger buffer took over the registration: detaching gives it the bytes.
        f.forget(1)
        #expect(h.externalReference(for: "v") == nil && h["v"]?.storage == vector)
        // Growing past the limits moves everything, the reference included, into a table.
        var g = document()
        g.setExternal("v", f.reference(2))
        g.set("long", Bytes(Array(repeating: 1, count: 100)))
        #expect(!isPacked(g))
        #expect(g.externalReference(for: "v") == f.store.reference(label: 2) && f.store.isReferenced(label: 2))
        #expect(g.count == 4)
        f.forget(2)
        #expect(g.externalReference(for: "v") == nil && g["v"]?.storage == vector && !f.store.isReferenced(label: 2))
    }

    @Test("a plain value over the external field replaces it; removing it drops the registration")
    func overwriteAndRemove() {
        let f = Fixture()
        var h = document()
        h.setExternal("v", f.reference(1))
        let replacedShort = h.set("v", "short")
        #expect(!replacedShort)
        #expect(!f.store.isReferenced(label: 1))
        #expect(h["v"] == "short" && h.count == 3 && isPacked(h) && !h.isCompact)

        h.setExternal("v", f.reference(2))
        let replacedLong = h.set("v", Bytes(Array(repeating: 9, count: 200)))
        #expect(!replacedLong)
        #expect(!isPacked(h) && !f.store.isReferenced(label: 2))
        #expect(h["v"] == Bytes(Array(repeating: 9, count: 200)))

        var g = document()
        g.setExternal("v", f.reference(3))
        let removals = [g.remove("v"), g.remove("v")]
        #expect(removals == [true, false])
        #expect(!f.store.isReferenced(label: 3))
        #expect(g.count == 2 && !g.contains("v") && !g.isCompact)
        let rest = [g.remove("year"), g.remove("popular")]
        #expect(rest == [true, true] && g.isEmpty)

        do {
            var t = document()
            t.set("w", Bytes(vector))
            t.setExternal("v", f.reference(4))
            #expect(!isPacked(t) && f.store.isReferenced(label: 4))
            #expect(t.remove("v") && !f.store.isReferenced(label: 4))
            t.setExternal("w", f.reference(5))
            #expect(f.store.isReferenced(label: 5))
        }
        #expect(!f.store.isReferenced(label: 5))  // a freed table unregisters
    }

    @Test("copies share the buffer; one written to owns its bytes; detaching serves every sharer")
    func copyOnWrite() {
        let f = Fixture()
        var copies: [HashValue] = []
        do {
            var h = document()
            h.setExternal("v", f.reference())
            var other = h
            other.set("year", "1800")
            #expect(h["year"] == "2015" && other["year"] == "1800")
            #expect(h.externalReference(for: "v") != nil && other.externalReference(for: "v") == nil)
            #expect(other["v"]?.storage == vector)
            other.remove("v")
            #expect(h["v"]?.storage == vector && !other.contains("v"))
            copies = [h, h]
        }
        #expect(f.store.isReferenced(label: 1))
        f.forget(1)  // the shared buffer takes the bytes in place: both copies read them
        #expect(copies[0]["v"]?.storage == vector && copies[1]["v"]?.storage == vector)
        copies[0].set("v", "mine")
        #expect(copies[1]["v"]?.storage == vector && copies[0]["v"] == "mine")
        copies.removeAll()
        #expect(!f.store.isReferenced(label: 1))
    }

    @Test("a shared table copied for a write owns its bytes; detaching serves the other sharers")
    func tableCopyOnWrite() {
        let f = Fixture()
        var h = document()
        h.set("w", Bytes(vector))
        h.setExternal("v", f.reference())
        var other = h
        other.set("year", "1800")
        #expect(!isPacked(other) && other.externalReference(for: "v") == nil && other["v"]?.storage == vector)
        f.forget(1)
        #expect(h.externalReference(for: "v") == nil && h["v"]?.storage == vector && h.count == 4)
    }

    @Test("re-pointing the external field moves the registration")
    func replaceReference() {
        let f = Fixture()
        var h = document()
        h.setExternal("v", f.reference(1))
        h.setExternal("v", f.reference(2))
        #expect(h.externalReference(for: "v") == f.store.reference(label: 2) && h.count == 3 && isPacked(h))
        #expect(!f.store.isReferenced(label: 1) && f.store.isReferenced(label: 2))
        #expect(h["v"]?.storage == vector)
    }

    @Test("a second holder of one label makes the first take its bytes")
    func oneHolderPerLabel() {
        let f = Fixture()
        var a = document(), b = document()
        a.setExternal("v", f.reference(1))
        b.setExternal("v", f.reference(1))
        #expect(a.externalReference(for: "v") == nil && b.externalReference(for: "v") != nil)
        f.forget(1)
        #expect(a["v"]?.storage == vector && b["v"]?.storage == vector)
    }

    @Test("a second external field, or other long values, keep the table")
    func fallsBackToTable() {
        let f = Fixture()
        var h = document()
        h.set("w", Bytes(vector))
        h.setExternal("v", f.reference(1))
        #expect(!isPacked(h))  // `w` is long and inline
        h.setExternal("w", f.reference(2))
        #expect(!isPacked(h))
        #expect(h.externalReference(for: "v") != nil && h.externalReference(for: "w") != nil)

        var g = document()
        g.setExternal("v", f.reference(3))
        g.set("w", Bytes(vector))
        g.setExternal("w", f.reference(4))
        #expect(!isPacked(g))
        #expect(g["v"]?.storage == vector && g["w"]?.storage == vector && g.count == 4)
        f.forget(3)
        f.forget(4)
        #expect(g["v"]?.storage == vector && g["w"]?.storage == vector && g.externalReference(for: "w") == nil)
    }

    @Test("a store released with holders left gives them their bytes")
    func storeGone() {
        var h = document()
        do {
            let f = Fixture()
            h.setExternal("v", f.reference(1))
        }
        #expect(h.externalReference(for: "v") == nil && h["v"]?.storage == vector)
    }
}

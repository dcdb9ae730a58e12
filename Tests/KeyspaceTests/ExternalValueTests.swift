// A packed hash holding one value kept elsewhere (an indexed vector): reads, overwrites, removal, copies, encoding.
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

private func box(_ source: FixedSource, label: UInt64 = 1) -> ExternalBytes {
    source.contents[label] = vector
    return ExternalBytes(source: source, label: label, count: vector.count)
}

private func isPacked(_ h: HashValue) -> Bool { if case .compact = h.storage { return true }; return false }

private func fields(_ h: HashValue) -> [Bytes: Bytes] {
    var all: [Bytes: Bytes] = [:]
    h.forEach { all[$0] = $1 }
    return all
}

@Suite("ExternalBytes")
struct ExternalBytesTests {
    @Test("the box stays small: its state fits 24 bytes, so the object is 40")
    func size() {
        #expect(MemoryLayout<ExternalBytes.State>.size <= 24)
    }

    @Test("length and content survive materializing; a lost label reads as zeros of the right length")
    func states() {
        let source = FixedSource()
        let held = box(source, label: 7)
        #expect(held.count == vector.count && held.isHeld(by: source, label: 7) && !held.isHeld(by: source, label: 8))
        held.materialize()
        source.contents = [:]
        #expect(held.count == vector.count && held.resolve() == vector && !held.isHeld(by: source, label: 7))
        let lost = ExternalBytes(source: source, label: UInt64(UInt32.max), count: 5)
        #expect(lost.resolve() == [0, 0, 0, 0, 0])
    }
}

@Suite("External value in a packed hash")
struct ExternalValueTests {
    @Test("externalizing packs the hash, which still reads the same and reports hashtable")
    func packsAndReads() {
        let source = FixedSource()
        var h = document()
        let before = fields(h)
        let memoryBefore = h.memoryUsage
        #expect(!isPacked(h))
        let reference = box(source)
        h.setExternal("v", reference)
        #expect(isPacked(h))
        #expect(!h.isCompact)
        #expect(Value.hash(h).encodingName == "hashtable")
        #expect(h.count == 3 && !h.isEmpty)
        #expect(h.contains("v") && h.contains("year") && !h.contains("nope"))
        #expect(h["v"]?.externalReference === reference)
        #expect(h["v"]?.storage == vector)
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
        for _ in 0..<200 { if let p = h.randomPair(using: &rng) { seen.insert(p.field); #expect(p.value == before[p.field]) } }
        #expect(seen == Set(before.keys))
    }

    @Test("other fields can change around the external one; the encoding stays hashtable")
    func otherFields() {
        let source = FixedSource()
        var h = document()
        let reference = box(source)
        h.setExternal("v", reference)
        let results = [h.set("year", "1999"), h.set("new", "field"), h.remove("popular")]
        #expect(results == [false, true, true])
        #expect(isPacked(h) && !h.isCompact)
        #expect(h["v"]?.externalReference === reference)
        #expect(fields(h) == ["v": Bytes(vector), "year": "1999", "new": "field"])
        // Growing past the limits moves everything, the reference included, into a table.
        h.set("long", Bytes(Array(repeating: 1, count: 100)))
        #expect(!isPacked(h))
        #expect(h["v"]?.externalReference === reference)
        #expect(h.count == 4)
    }

    @Test("a plain value over the external field replaces it; removing it drops the reference")
    func overwriteAndRemove() {
        let source = FixedSource()
        weak var released: ExternalBytes?
        var h = document()
        do {
            let reference = box(source)
            released = reference
            h.setExternal("v", reference)
        }
        #expect(released != nil)
        let replacedShort = h.set("v", "short")
        #expect(!replacedShort)
        #expect(released == nil)  // the buffer let go of its reference
        #expect(h["v"] == "short" && h.count == 3 && isPacked(h) && !h.isCompact)

        h.setExternal("v", box(source, label: 2))
        let replacedLong = h.set("v", Bytes(Array(repeating: 9, count: 200)))
        #expect(!replacedLong)
        #expect(!isPacked(h))
        #expect(h["v"] == Bytes(Array(repeating: 9, count: 200)))

        var g = document()
        do {
            let reference = box(source, label: 3)
            released = reference
            g.setExternal("v", reference)
        }
        let removals = [g.remove("v"), g.remove("v")]
        #expect(removals == [true, false])
        #expect(released == nil)
        #expect(g.count == 2 && !g.contains("v") && !g.isCompact)
        let rest = [g.remove("year"), g.remove("popular")]
        #expect(rest == [true, true] && g.isEmpty)
    }

    @Test("copies share the reference and write independently; the last one releases it")
    func copyOnWrite() {
        let source = FixedSource()
        weak var released: ExternalBytes?
        var copies: [HashValue] = []
        do {
            var h = document()
            let reference = box(source)
            released = reference
            h.setExternal("v", reference)
            var other = h
            other.set("year", "1800")
            other.set("grows", Bytes(Array(repeating: 2, count: 60)))  // past the buffer's capacity: a new buffer
            #expect(h["year"] == "2015" && other["year"] == "1800")
            #expect(h["v"]?.externalReference === reference && other["v"]?.externalReference === reference)
            other.remove("v")
            #expect(h["v"]?.storage == vector && !other.contains("v"))
            copies = [h, h]
        }
        #expect(released != nil)
        copies[0].set("v", "mine")
        #expect(copies[1]["v"]?.storage == vector)
        copies.removeAll()
        #expect(released == nil)
    }

    @Test("re-pointing the external field swaps the reference")
    func replaceReference() {
        let source = FixedSource()
        var h = document()
        let first = box(source, label: 1), second = box(source, label: 2)
        h.setExternal("v", first)
        h.setExternal("v", second)
        #expect(h["v"]?.externalReference === second && h.count == 3 && isPacked(h))
        var firstReference: ExternalBytes? = first
        withExtendedLifetime(first) {}
        #expect(isKnownUniquelyReferenced(&firstReference!) == false)  // `first` itself still holds it
        #expect(h["v"]?.storage == vector)
    }

    @Test("a second external field, or other long values, keep the table")
    func fallsBackToTable() {
        let source = FixedSource()
        var h = document()
        h.set("w", Bytes(vector))
        h.setExternal("v", box(source, label: 1))
        #expect(!isPacked(h))  // `w` is long and inline
        h.setExternal("w", box(source, label: 2))
        #expect(!isPacked(h))
        #expect(h["v"]?.externalReference != nil && h["w"]?.externalReference != nil)

        var g = document()
        g.setExternal("v", box(source, label: 3))
        g.set("w", Bytes(vector))
        g.setExternal("w", box(source, label: 4))
        #expect(!isPacked(g))
        #expect(g["v"]?.storage == vector && g["w"]?.storage == vector && g.count == 4)
    }
}

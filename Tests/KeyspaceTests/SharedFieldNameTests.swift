// Shared field names: the id table itself, and packed hashes mixing id-form and byte-form fields (order, overwrites,
// removal, late ids, conversion to a table, external references), read back exactly as written.
import Testing
@testable import Keyspace

/// Serves one vector by label, as an index does.
private final class OneVectorSource: ExternalByteSource, @unchecked Sendable {
    var contents: [UInt64: [UInt8]] = [:]
    func externalBytes(label: UInt64) -> [UInt8]? { contents[label] }
}

private let vector = (0..<1536).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 5) }

/// Names only these tests intern (the shared table is process-wide and other suites run alongside).
private enum Names {
    static let vector: Bytes = "sfn:v"
    static let year: Bytes = "sfn:year"
    static let popular: Bytes = "sfn:popular"
    static let binary = Bytes([0, 0xff, 0x0d, 0x0a, 0, 0x80])
    static let all = [vector, year, popular, binary]
}

/// Interns the test names; a table filled by other suites would make the size checks meaningless, so that fails.
private func internTestNames() throws {
    for name in Names.all { try #require(FieldNameTable.shared.intern(name) != nil) }
}

/// The packed buffer's byte count (fails for a table).
private func packedBytes(_ h: HashValue) -> Int? { if case .compact(let c) = h.storage { return c.usedBytes }; return nil }

private func ordered(_ h: HashValue) -> [(Bytes, Bytes)] {
    var result: [(Bytes, Bytes)] = []
    h.forEach { result.append(($0, $1)) }
    return result
}

@Suite("Field name table")
struct FieldNameTableTests {
    @Test("ids are dense, stable and unique by content; a full table or a long name gets none")
    func capacity() {
        let table = FieldNameTable(capacity: 4)
        #expect(table.intern("year") == 0 && table.intern("popular") == 1 && table.intern("year") == 0)
        #expect(table.intern(Bytes([0, 1, 0])) == 2 && table.intern("") == 3)
        #expect(table.intern("one too many") == nil && table.count == 4)
        #expect(table.intern("popular") == 1)  // a full table still answers for names it has
        for (name, id) in [("year", 0), ("popular", 1)] {
            #expect(Array(name.utf8).withUnsafeBytes { table.id(of: $0) } == id)
            #expect(Array(table.name(id)) == Array(name.utf8))
        }
        #expect([UInt8]([0, 1, 0]).withUnsafeBytes { table.id(of: $0) } == 2)
        #expect([UInt8]([0, 1]).withUnsafeBytes { table.id(of: $0) } == nil)  // a prefix is another name
        #expect([UInt8]().withUnsafeBytes { table.id(of: $0) } == 3 && table.name(3).count == 0)
        #expect(Array("one too many".utf8).withUnsafeBytes { table.id(of: $0) } == nil)

        let roomy = FieldNameTable(capacity: FieldNameTable.maxCapacity)
        #expect(roomy.intern(Bytes(Array(repeating: 7, count: FieldNameTable.maxNameLength))) == 0)
        #expect(roomy.intern(Bytes(Array(repeating: 7, count: FieldNameTable.maxNameLength + 1))) == nil)
        for i in 1..<FieldNameTable.maxCapacity { #expect(roomy.intern(Bytes("name-\(i)")) == i) }
        #expect(roomy.intern("name-64") == nil && roomy.count == FieldNameTable.maxCapacity)
    }
}

@Suite("Packed hashes with shared field names")
struct SharedFieldNameHashTests {
    @Test("an id-form field costs one byte; values, order and lookups are unchanged")
    func smaller() throws {
        try internTestNames()
        var shared = HashValue(), plain = HashValue()
        shared.set(Names.year, "2019")
        shared.set(Names.popular, "no")
        plain.set("xxx:year", "2019")  // the same lengths, no ids
        plain.set("xxx:popular", "no")
        let savedPerField = Names.year.count + Names.popular.count  // the 1-byte length header stays as the id
        #expect(packedBytes(shared)! == packedBytes(plain)! - savedPerField)
        #expect(shared[Names.year] == "2019" && shared[Names.popular] == "no" && shared["sfn:none"] == nil)
        #expect(ordered(shared).map(\.0) == [Names.year, Names.popular])
        #expect(shared.contains(Names.year) && !shared.contains("sfn:yea") && !shared.contains("sfn:yearx"))
        #expect(shared.memoryUsage == 16 + 24 + packedBytes(shared)!)
    }

    @Test("mixed id and byte fields: overwrite with other lengths, insertion order, HDEL down to empty")
    func roundTrip() throws {
        try internTestNames()
        var h = HashValue()
        var model: [(Bytes, Bytes)] = []
        func set(_ f: Bytes, _ v: Bytes) {
            let isNew = h.set(f, v)
            if let i = model.firstIndex(where: { $0.0 == f }) { model[i].1 = v; #expect(!isNew) } else { model.append((f, v)); #expect(isNew) }
        }
        set("plain", "1")
        set(Names.year, "2024")
        set(Names.binary, Bytes([0, 1, 2]))
        set(Bytes([0xff, 0]), "binary, no id")
        set(Names.popular, "yes")
        set(Names.year, Bytes(Array(repeating: 9, count: 64)))  // grows in the middle
        set(Names.binary, "")                                    // shrinks to nothing
        set(Bytes(Array(repeating: 0x41, count: 64)), "longest byte-form field")
        set(Names.year, "1")
        #expect(h.isCompact && h.count == model.count)
        #expect(ordered(h).map(\.0) == model.map(\.0) && ordered(h).map(\.1) == model.map(\.1))
        #expect(h.pairs.map(\.field) == model.map(\.0))
        for (f, v) in model { #expect(h[f] == v) }
        var raw: [[UInt8]] = []
        h.forEachRaw { f, _ in raw.append(Array(f)) }
        #expect(raw == model.map { $0.0.storage })
        var scanned: [Bytes: Bytes] = [:]
        #expect(h.scan(cursor: 0, count: 1) { scanned[$0] = $1 } == 0 && scanned.count == model.count)
        var rng = SplitMix(seed: 3)
        var picked = Set<Bytes>()
        for _ in 0..<300 { if let p = h.randomPair(using: &rng) { picked.insert(p.field); #expect(h[p.field] == p.value) } }
        #expect(picked.count == model.count)

        for (f, _) in [model[1], model[0], model[4], model[2], model[3], model[5]] {
            let removals = [h.remove(f), h.remove(f)]
            #expect(removals == [true, false] && !h.contains(f))
        }
        #expect(h.isEmpty && h.count == 0 && h.isCompact)
        model.removeAll()
        set(Names.popular, "again")
        #expect(h.pairs.map(\.field) == [Names.popular])
    }

    @Test("a field written before its name got an id is found by name, and not duplicated")
    func lateId() {
        let name = Bytes("sfn:late-\(UInt64.random(in: 0...UInt64.max))")
        var before = HashValue()
        before.set("a", "1")
        before.set(name, "old")
        let bytesBefore = packedBytes(before)!
        guard FieldNameTable.shared.intern(name) != nil else { return }  // a full table: nothing to check
        #expect(before[name] == "old")
        let isNew = before.set(name, "new")
        #expect(!isNew && before.count == 2 && before[name] == "new")
        #expect(packedBytes(before)! == bytesBefore)  // the entry keeps its byte form
        let removed = before.remove(name)
        #expect(removed && !before.contains(name) && before.count == 1)

        var after = HashValue()
        after.set("a", "1")
        after.set(name, "old")
        #expect(packedBytes(after)! == bytesBefore - name.count)
        #expect(after.pairs.map(\.field) == ["a", name])
    }

    @Test("many distinct names, few with ids: conversion to a table keeps every field and value", arguments: [127, 128, 129, 300])
    func manyNames(fieldCount: Int) throws {
        try internTestNames()
        var h = HashValue()
        var model: [Bytes: Bytes] = [:]
        for i in 0..<fieldCount {
            let f: Bytes = i < Names.all.count ? Names.all[i] : Bytes("field:\(i)")
            let v = Bytes("value \(i)")
            h.set(f, v)
            model[f] = v
        }
        #expect(h.isCompact == (fieldCount <= 128) && h.count == fieldCount)
        var seen: [Bytes: Bytes] = [:]
        h.forEach { seen[$0] = $1 }
        #expect(seen == model)
        for (f, v) in model { #expect(h[f] == v) }
        for f in Names.all { let removed = h.remove(f); #expect(removed) }
        #expect(h.count == fieldCount - Names.all.count)
    }

    @Test("a long value converts a hash with id-form fields to a table with the same contents")
    func convertsOnLongValue() throws {
        try internTestNames()
        var h = HashValue()
        h.set(Names.year, "2020")
        h.set("other", "x")
        h.set(Names.popular, Bytes(Array(repeating: 1, count: 65)))
        #expect(!h.isCompact && packedBytes(h) == nil)
        #expect(ordered(h).count == 3 && h[Names.year] == "2020" && h["other"] == "x")
        #expect(h[Names.popular] == Bytes(Array(repeating: 1, count: 65)))
    }

    @Test("an indexed document with shared names is a 40-byte object (the 48-byte malloc chunk) and its reference works")
    func indexedDocument() throws {
        try internTestNames()
        let source = OneVectorSource()
        let store = ExternalStore(source: source, byteCount: vector.count)
        source.contents[1] = vector
        var h = HashValue()
        h.prepareForWrite(pairs: 3, longestArgument: vector.count, limits: HashEncodingLimits())
        h.set(Names.vector, Bytes(vector))
        h.set(Names.year, "2019")
        h.set(Names.popular, "yes")
        h.setExternal(Names.vector, store.reference(label: 1))
        // 8-byte reference + 1-byte field; year 1 + 1 + 4; popular 1 + 1 + 3.
        #expect(packedBytes(h) == 20 && store.isReferenced(label: 1))
        #expect(!h.isCompact && h.count == 3)
        #expect(Set(ordered(h).map(\.0)) == [Names.vector, Names.year, Names.popular])  // the table's order, kept
        #expect(h[Names.vector]?.storage == vector && h.externalReference(for: Names.vector) == store.reference(label: 1))

        var copy = h
        copy.set(Names.year, "2020")  // a written copy owns its bytes; the original keeps the reference
        #expect(copy.externalReference(for: Names.vector) == nil && copy[Names.vector]?.storage == vector)
        #expect(h.externalReference(for: Names.vector) != nil && h[Names.year] == "2019")

        store.detach(label: 1)
        source.contents[1] = nil
        #expect(h.externalReference(for: Names.vector) == nil && h[Names.vector]?.storage == vector)
        let removed = h.remove(Names.vector)
        #expect(removed && h.count == 2 && h[Names.popular] == "yes")

        source.contents[2] = vector
        var g = HashValue()
        g.set(Names.year, "1999")
        g.set(Names.vector, "placeholder")
        g.setExternal(Names.vector, store.reference(label: 2))
        g.set("long", Bytes(Array(repeating: 3, count: 100)))  // to a table: the reference moves with its name
        #expect(packedBytes(g) == nil && g.externalReference(for: Names.vector) == store.reference(label: 2))
        #expect(store.isReferenced(label: 2) && g[Names.vector]?.storage == vector && g[Names.year] == "1999")
    }
}

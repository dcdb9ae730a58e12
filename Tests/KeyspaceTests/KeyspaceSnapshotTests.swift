// The keyspace section of the node snapshot: round trips of strings, hashes, binary values and expiry times; values
// held in a store written as references or as bytes; truncated and damaged input refused.
import Testing
@testable import Keyspace

private final class FixedSource: ExternalByteSource, @unchecked Sendable {
    var contents: [UInt64: [UInt8]] = [:]
    func externalBytes(label: UInt64) -> [UInt8]? { contents[label] }
}

private let binary = Bytes((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31) })

/// A keyspace with a string, a binary string, a small and a large hash, and keys with expiry times (one past).
private func sample(now: Int64) -> Database {
    let db = Database(clock: { now })
    db.set("plain", .string("hello"))
    db.set("binary", .string(binary))
    db.set("empty", .string(Bytes()))
    db.set("soon", .string("x"), expireAt: now + 60_000)
    var small = HashValue()
    small.set("a", "1")
    small.set("b", binary)
    db.set("small", .hash(small), expireAt: now + 5_000)
    var large = HashValue()
    for i in 0..<300 { large.set(Bytes("f\(i)"), Bytes("value \(i)")) }
    db.set("large", .hash(large))
    return db
}

private func dump(_ db: Database) -> [UInt8] {
    var w = SnapshotWriter()
    KeyspaceSnapshot.write(db, into: &w, externalSource: { _ in nil })
    return w.bytes
}

private func load(_ bytes: [UInt8], now: Int64) throws(SnapshotError) -> Database {
    let db = Database(clock: { now })
    var r = SnapshotReader(bytes)
    try KeyspaceSnapshot.read(from: &r, into: db, resolve: { _, _ in nil })
    #expect(r.isAtEnd)
    return db
}

private func hashPairs(_ v: Value?) -> [Bytes: Bytes] {
    guard case .hash(let h)? = v else { return [:] }
    return Dictionary(uniqueKeysWithValues: h.pairs.map { ($0.field, $0.value) })
}

@Suite("Keyspace snapshot")
struct KeyspaceSnapshotTests {
    @Test("strings, hashes, binary values and absolute expiry times come back")
    func roundTrip() throws {
        let now: Int64 = 1_700_000_000_000
        let original = sample(now: now)
        let loaded = try load(dump(original), now: now + 1_000)
        #expect(loaded.count == original.count)
        for key: Bytes in ["plain", "binary", "empty", "soon"] {
            guard case .string(let a)? = original.peek(key), case .string(let b)? = loaded.peek(key) else {
                Issue.record("\(key.string) is not a string"); continue
            }
            #expect(a == b)
        }
        for key: Bytes in ["small", "large"] { #expect(hashPairs(loaded.peek(key)) == hashPairs(original.peek(key))) }
        #expect(hashPairs(loaded.peek("large")).count == 300)
        #expect(loaded.expireTime("soon") == now + 60_000)
        #expect(loaded.expireTime("small") == now + 5_000)
        #expect(loaded.expireTime("plain") == nil)
    }

    @Test("keys whose expiry time passed before the load are left out")
    func expiredSkipped() throws {
        let now: Int64 = 1_700_000_000_000
        let loaded = try load(dump(sample(now: now)), now: now + 10_000)
        #expect(loaded.peek("small") == nil)
        #expect(loaded.peek("soon") != nil)
        #expect(loaded.count == 5)
    }

    @Test("a value held in a store is written as a reference when its source is named, else as its bytes")
    func references() throws {
        let source = FixedSource()
        let vector = (0..<128).map { UInt8($0) }
        source.contents[7] = vector
        let store = ExternalStore(source: source, byteCount: vector.count)
        let db = Database()
        var h = HashValue()
        h.set("tag", "x")
        h.set("v", Bytes(vector))
        h.setExternal("v", store.reference(label: 7))
        db.set("doc", .hash(h))

        var asBytes = SnapshotWriter()
        KeyspaceSnapshot.write(db, into: &asBytes, externalSource: { _ in nil })
        var asReference = SnapshotWriter()
        KeyspaceSnapshot.write(db, into: &asReference, externalSource: { $0.store == store.id ? 3 : nil })
        #expect(asReference.bytes.count < asBytes.bytes.count - 100)

        var seen: [(UInt32, UInt32)] = []
        let loaded = Database()
        var r = SnapshotReader(asReference.bytes)
        try KeyspaceSnapshot.read(from: &r, into: loaded, resolve: { s, l in seen.append((s, l)); return store.reference(label: l) })
        #expect(seen.count == 1 && seen[0] == (3, 7))
        guard case .hash(let back)? = loaded.peek("doc") else { Issue.record("no hash"); return }
        #expect(back.externalReference(for: "v") == store.reference(label: 7))
        #expect(back["v"] == Bytes(vector))
        #expect(back["tag"] == "x")

        // A reference whose value is gone is left out; the rest of the hash stays.
        let partial = Database()
        var r2 = SnapshotReader(asReference.bytes)
        try KeyspaceSnapshot.read(from: &r2, into: partial, resolve: { _, _ in nil })
        #expect(hashPairs(partial.peek("doc")) == ["tag": "x"])
    }

    @Test("every truncation of a snapshot is refused, never trapped on")
    func truncated() {
        let bytes = dump(sample(now: 1_700_000_000_000))
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            #expect(throws: SnapshotError.self) { try load(Array(bytes[0..<cut]), now: 1_700_000_000_000) }
        }
    }

    @Test("an unknown value kind or a length past the end is refused")
    func damaged() {
        var bytes = dump(sample(now: 1_700_000_000_000))
        bytes[0] = 9
        #expect(throws: SnapshotError("unknown value kind 9")) { try load(bytes, now: 1_700_000_000_000) }
        var w = SnapshotWriter()
        w.byte(0)
        w.varint(1_000_000)
        #expect(throws: SnapshotError.self) { try load(w.bytes, now: 0) }
    }

    @Test("varints and fixed-width integers round-trip at their edges")
    func coding() throws {
        var w = SnapshotWriter()
        let values: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, UInt64(UInt32.max), .max]
        for v in values { w.varint(v) }
        w.varint(-5)
        w.fixed32(0xDEAD_BEEF)
        w.fixed64(0x0123_4567_89AB_CDEF)
        w.double(-2.5)
        w.string("héllo")
        var r = SnapshotReader(w.bytes)
        for v in values { #expect(try r.varint() == v) }
        #expect(try r.int() == -5)
        #expect(try r.fixed32() == 0xDEAD_BEEF)
        #expect(try r.fixed64() == 0x0123_4567_89AB_CDEF)
        #expect(try r.double() == -2.5)
        #expect(try r.string() == "héllo")
        #expect(r.isAtEnd)
    }
}

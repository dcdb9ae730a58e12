// One copy per vector: hashes point at the index's copy, and get their own again whenever the index lets go.
import Testing
@testable import Search
@testable import Keyspace

/// 32-d vectors (128 bytes): past hash-max-listpack-value, so the hash is a table as for real embeddings.
private func blob(_ values: [Float]) -> Bytes {
    let padded = values + [Float](repeating: 0.5, count: 32 - values.count)
    return Bytes(padded.withUnsafeBytes { Array($0) })
}

private func setup() throws -> (Database, SearchRegistry) {
    let db = Database()
    let registry = SearchRegistry(database: db)
    try registry.create(try CreateParser.parse(["idx", "PREFIX", "1", "d:", "SCHEMA", "v", "VECTOR", "HNSW", "6", "TYPE",
                                                "FLOAT32", "DIM", "32", "DISTANCE_METRIC", "COSINE", "n", "NUMERIC"]))
    return (db, registry)
}

private func hset(_ db: Database, _ key: String, _ pairs: [(String, Bytes)]) {
    _ = db.updateHash(Bytes(key), create: true) { h in for (f, v) in pairs { h.set(Bytes(f), v, limits: db.hashLimits) } }
}

private func field(_ db: Database, _ key: String, _ name: String) -> Bytes? {
    guard case .hash(let h)? = db.peek(Bytes(key)) else { return nil }
    return h[Bytes(name)]
}

/// The reference the hash keeps instead of the bytes, if it keeps one.
private func reference(_ db: Database, _ key: String, _ name: String) -> ExternalReference? {
    guard case .hash(let h)? = db.peek(Bytes(key)) else { return nil }
    return h.externalReference(for: Bytes(name))
}

@Suite("Store each vector once")
struct StoreOnceTests {
    @Test("an indexed vector is held by the index; the hash still reads the exact bytes")
    func externalized() throws {
        let (db, registry) = try setup()
        defer { withExtendedLifetime(registry) {} }
        let v = blob([3, 4, 0, 0])
        hset(db, "d:1", [("v", v), ("n", "1")])
        let stored = try #require(field(db, "d:1", "v"))
        #expect(reference(db, "d:1", "v") != nil)
        #expect(stored == v)
        #expect(stored.storage == v.storage)  // the original, not the normalised vector
    }

    @Test("an indexed document's hash is packed again, yet reports hashtable as in Redis")
    func packedDocument() throws {
        let (db, registry) = try setup()
        defer { withExtendedLifetime(registry) {} }
        let v = blob([1, 1, 0, 0])
        hset(db, "d:1", [("v", v), ("n", "7"), ("tag", "x")])
        guard case .hash(let h)? = db.peek(Bytes("d:1")) else { Issue.record("no hash"); return }
        #expect(h.isPacked)
        #expect(Value.hash(h).encodingName == "hashtable")
        #expect(h.externalReference(for: "v") != nil && h["v"] == v && h["n"] == "7" && h.count == 3)
        // A new vector goes through a table (HSET converts) and is packed again once indexed.
        hset(db, "d:1", [("v", blob([0, 0, 1, 1]))])
        guard case .hash(let again)? = db.peek(Bytes("d:1")) else { Issue.record("no hash"); return }
        #expect(again.isPacked && again["v"] == blob([0, 0, 1, 1]) && again.externalReference(for: "v") != nil)
        try registry.drop("idx", deleteDocuments: false)
        #expect(field(db, "d:1", "v") == blob([0, 0, 1, 1]))
    }

    @Test("updating another field keeps the reference; a new vector replaces it")
    func updates() throws {
        let (db, registry) = try setup()
        hset(db, "d:1", [("v", blob([1, 0, 0, 0]))])
        let first = try #require(reference(db, "d:1", "v"))
        hset(db, "d:1", [("n", "5")])
        #expect(reference(db, "d:1", "v") == first)
        hset(db, "d:1", [("v", blob([0, 1, 0, 0]))])
        #expect(field(db, "d:1", "v") == blob([0, 1, 0, 0]))
        let index = try #require(registry.index(named: "idx"))
        #expect(index.numDocs == 1)
    }

    @Test("rename, copy and a failing re-index keep the vector bytes")
    func detaches() throws {
        let (db, registry) = try setup()
        defer { withExtendedLifetime(registry) {} }
        let v = blob([1, 2, 3, 4])
        hset(db, "d:1", [("v", v)])
        #expect(db.copy(Bytes("d:1"), to: Bytes("other:1"), replace: false))
        #expect(db.rename(Bytes("d:1"), to: Bytes("elsewhere")))
        #expect(field(db, "elsewhere", "v") == v)
        #expect(field(db, "other:1", "v") == v)
        hset(db, "d:2", [("v", v)])
        hset(db, "d:2", [("n", "not a number")])
        #expect(field(db, "d:2", "v") == v)
    }

    @Test("a copied document keeps the old vector when the original gets a new one; deleting unregisters")
    func copyThenUpdate() throws {
        let (db, registry) = try setup()
        defer { withExtendedLifetime(registry) {} }
        let v = blob([1, 2, 3, 4]), w = blob([4, 3, 2, 1])
        hset(db, "d:1", [("v", v), ("n", "1")])
        #expect(db.copy(Bytes("d:1"), to: Bytes("other:1"), replace: false))
        hset(db, "d:1", [("v", w)])
        #expect(field(db, "other:1", "v") == v && field(db, "d:1", "v") == w)
        hset(db, "d:1", [("n", "2")])
        #expect(field(db, "other:1", "v") == v && field(db, "d:1", "v") == w && reference(db, "d:1", "v") != nil)
        let index = try #require(registry.index(named: "idx"))
        let id = try #require(index.docId(of: Bytes("d:1")))
        let store = try #require(index.vectorStores[0])
        #expect(store.isReferenced(label: id))
        db.delete(Bytes("d:1"))
        #expect(!store.isReferenced(label: id) && field(db, "other:1", "v") == v)
    }

    @Test("FT.DROPINDEX without DD leaves every hash whole")
    func dropKeepsBytes() throws {
        let (db, registry) = try setup()
        let v = blob([9, 8, 7, 6])
        hset(db, "d:1", [("v", v)])
        try registry.drop("idx", deleteDocuments: false)
        #expect(field(db, "d:1", "v") == v)
        #expect(reference(db, "d:1", "v") == nil)
    }
}

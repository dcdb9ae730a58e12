// The search section of the node snapshot: definitions round-trip with every option; a tiered index restored into a
// fresh registry reopens its page files (nothing re-added), documents take their labels back, and records deleted
// after the last seal stay deleted.
import Testing
@testable import Search
import Keyspace
import Tiering
import VectorIndex
#if canImport(Glibc)
import Glibc
#endif

/// A node's search side of its own: a tiering controller (limit 0) on a fresh directory, a keyspace, a registry.
private func freshNode() -> (base: String, tiering: TieringController, db: Database, registry: SearchRegistry) {
    let base = temporaryDirectory("search-snapshot")
    let tiering = TieringController()
    tiering.baseDirectory = base
    let db = Database()
    let registry = SearchRegistry(database: db)
    registry.tiering = tiering
    return (base, tiering, db, registry)
}

private func blob(_ i: Int) -> Bytes {
    let values = (0..<32).map { Float(($0 * 7 + i * 13) % 31) / 31 + Float(i) / 997 }
    return Bytes(values.withUnsafeBytes { Array($0) })
}

private func document(_ i: Int) -> Value {
    var h = HashValue()
    h.prepareForWrite(pairs: 2, longestArgument: 64, limits: HashEncodingLimits())
    h.set("v", blob(i))
    h.set("n", Bytes("\(i)"))
    return .hash(h)
}

/// Labels of the k nearest in the index's vector field.
private func nearestLabels(_ index: SearchIndex, _ query: Bytes, k: Int) throws -> [UInt64] {
    let store = index.lock.withReadLock { index.stores.compactMap { s -> (any VectorIndex)? in
        if case .vector(let v) = s { return v }; return nil
    }.first! }
    return try query.withUnsafeBytes { try store.search(query: $0, k: k, efRuntime: 200, filter: nil) }.map(\.label)
}

private func nearest(_ index: SearchIndex, _ query: Bytes, k: Int = 5) throws -> [Bytes?] {
    try nearestLabels(index, query, k: k).map { index.key(of: UInt32($0)) }
}

@Suite("Search snapshot")
struct SearchSnapshotTests {
    @Test("a definition with every option round-trips")
    func definitions() throws {
        let definition = try CreateParser.parse([
            "idx", "ON", "HASH", "PREFIX", "2", "a:", "b:", "LANGUAGE", "german", "LANGUAGE_FIELD", "lang", "SCORE", "0.5",
            "SCORE_FIELD", "s", "MAXTEXTFIELDS", "NOOFFSETS", "NOHL", "NOFIELDS", "NOFREQS", "STOPWORDS", "2", "x", "y",
            "TEMPORARY", "60", "SKIPINITIALSCAN", "SCHEMA",
            "title", "AS", "t", "TEXT", "WEIGHT", "2", "NOSTEM", "SORTABLE",
            "tags", "TAG", "SEPARATOR", ";", "CASESENSITIVE",
            "price", "NUMERIC", "SORTABLE", "NOINDEX",
            "v", "VECTOR", "HNSW", "14", "TYPE", "FLOAT16", "DIM", "8", "DISTANCE_METRIC", "COSINE", "M", "8",
            "EF_CONSTRUCTION", "50", "EF_RUNTIME", "20", "STORAGE", "TIERED",
            "w", "VECTOR", "FLAT", "6", "TYPE", "FLOAT64", "DIM", "3", "DISTANCE_METRIC", "IP",
        ])
        var w = SnapshotWriter()
        IndexDefinitionCoding.write(definition, into: &w)
        var r = SnapshotReader(w.bytes)
        #expect(try IndexDefinitionCoding.read(&r) == definition)
        #expect(r.isAtEnd)
        for cut in 0..<w.bytes.count {
            var short = SnapshotReader(Array(w.bytes[0..<cut]))
            #expect(throws: SnapshotError.self) { try IndexDefinitionCoding.read(&short) }
        }
    }

    @Test("an HNSW field without STORAGE keeps the kind it was created with, whatever the limit at the restart")
    func storageChoiceKept() throws {
        let (base, tiering, db, registry) = freshNode()  // limit 0: the field is created in RAM
        defer { removeTree(base) }
        try registry.create(try CreateParser.parse(["idx", "SCHEMA", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM",
                                                    "32", "DISTANCE_METRIC", "L2"]))
        for i in 0..<50 { db.set(Bytes("d:\(i)"), document(i)) }
        var w = SnapshotWriter()
        let sources = registry.writeSnapshot(into: &w)
        KeyspaceSnapshot.write(db, into: &w, externalSource: sources.source(of:))

        tiering.limit = 64 << 20  // a node restarted with a limit would make a new field tiered
        let restoredDB = Database()
        let restored = SearchRegistry(database: restoredDB)
        restored.tiering = tiering
        var r = SnapshotReader(w.bytes)
        let reopened = try restored.restoreSnapshot(from: &r)
        try KeyspaceSnapshot.read(from: &r, into: restoredDB, resolve: { s, l throws(SnapshotError) in
            try reopened.reference(source: s, label: l)
        })
        restored.finishRestore()
        let index = try #require(restored.index(named: "idx"))
        #expect(reopened.reopenedFields == 0)
        #expect(index.lock.withReadLock { index.stores.compactMap(SearchIndex.tieredGraph).isEmpty })
        #expect(index.numDocs == 50)
        #expect(try nearest(index, blob(7), k: 1) == ["d:7"])
    }

    @Test("a tiered index comes back from its page files: same labels, same vectors, deletes kept, nothing re-added")
    func tieredRestore() throws {
        let (base, tiering, db, registry) = freshNode()
        defer { removeTree(base) }
        try registry.create(try CreateParser.parse(["idx", "PREFIX", "1", "d:", "SCHEMA", "n", "NUMERIC", "v", "VECTOR",
                                                    "HNSW", "8", "TYPE", "FLOAT32", "DIM", "32", "DISTANCE_METRIC", "L2",
                                                    "STORAGE", "TIERED"]))
        try registry.addAlias("docs", to: "idx", replace: false)
        for i in 0..<400 { db.set(Bytes("d:\(i)"), document(i)) }
        let original = try #require(registry.index(named: "idx"))
        try registry.flushTieredIndexes()  // every vector in a segment
        db.set("d:30", document(1000))  // an update after the seal: the new vector is in the RAM graph until saved
        try registry.flushTieredIndexes()
        let deletedLabels = Set((0..<20).compactMap { original.docId(of: Bytes("d:\($0)")).map(UInt64.init) })
        #expect(deletedLabels.count == 20)
        for i in 0..<20 { db.delete(Bytes("d:\(i)")) }  // tombstones in RAM only: the document table must say so
        var w = SnapshotWriter()
        try registry.flushTieredIndexes()
        let sources = registry.writeSnapshot(into: &w)
        KeyspaceSnapshot.write(db, into: &w, externalSource: sources.source(of:))
        let expected = try nearest(original, blob(25))
        let label30 = try #require(original.docId(of: "d:30"))

        // What a process stopped mid-seal leaves behind: a segment file the manifest does not name.
        let directory = try #require(original.lock.withReadLock { original.stores.compactMap(SearchIndex.tieredGraph).first }).directory
        let orphan = directory + "/seg-999.vsp"
        close(open(orphan, O_WRONLY | O_CREAT, 0o644))

        let restoredDB = Database()
        let restored = SearchRegistry(database: restoredDB)
        restored.tiering = tiering
        var r = SnapshotReader(w.bytes)
        let reopened = try restored.restoreSnapshot(from: &r)
        #expect(reopened.directories.count == 1)
        #expect(access(orphan, F_OK) != 0)
        #expect(access(directory + "/MANIFEST", F_OK) == 0)
        try KeyspaceSnapshot.read(from: &r, into: restoredDB, resolve: { s, l throws(SnapshotError) in
            try reopened.reference(source: s, label: l)
        })
        #expect(r.isAtEnd)
        let cleaned = restored.finishRestore()
        #expect(cleaned.documents == 0)
        #expect(cleaned.records == 20)  // the deletes after the last seal

        let index = try #require(restored.index(named: "docs"))
        #expect(index.numDocs == 380)
        #expect(index.definition == original.definition)
        #expect(index.docId(of: "d:30") == label30)
        #expect(index.pendingVectors == 0)  // nothing went through the write buffer
        guard case .hash(let h)? = restoredDB.peek("d:30") else { Issue.record("d:30 is gone"); return }
        #expect(h["v"] == blob(1000))
        #expect(h.externalReference(for: "v") != nil)  // read from the page files, not a copy of its own
        #expect(try nearest(index, blob(25)) == expected)
        #expect(try nearestLabels(index, blob(5), k: 400).allSatisfy { !deletedLabels.contains($0) })
        #expect(try nearest(index, blob(5), k: 400).allSatisfy { $0 != nil })
        #expect(try nearest(index, blob(1000), k: 1) == ["d:30"])
        withExtendedLifetime(original) {}
    }
}

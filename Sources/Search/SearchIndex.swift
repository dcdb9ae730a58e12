// SearchIndex: one FT index — its document table and per-field structures (TAG, NUMERIC, TEXT, VECTOR).
// The loop thread writes under the write lock; searches on worker threads read under the read lock.
import Keyspace
import Synchronization
import Tiering
import VectorIndex

/// Why a document could not be indexed (counted in FT.INFO `hash_indexing_failures`).
public struct IndexingFailure: Sendable {
    public var message: String
    public var key: Bytes
}

/// Per-field indexed data.
enum FieldStore {
    /// Value per doc id (a GEO field's: its geohash); NaN when the doc has no value.
    case numeric(NumericColumn)
    /// Normalised tag → doc ids; and each doc's tags, for removal.
    case tag(postings: [Bytes: TagPosting], perDoc: TagAssignments)
    /// The field's bit in the index's TextIndex (which holds every TEXT field's terms).
    case text(TextFieldMask)
    case vector(any VectorIndex)
}

/// Lets hashes refer to the index's copy of a vector instead of keeping their own (one copy per vector).
final class VectorFieldSource: ExternalByteSource, @unchecked Sendable {
    let index: any VectorIndex
    init(_ index: any VectorIndex) { self.index = index }
    func externalBytes(label: UInt64) -> [UInt8]? { index.vectorBytes(label: label) }
}

/// A hash field whose value should now point at the index's copy (returned by `SearchIndex.index`).
public struct Externalization {
    public let field: Bytes
    public let reference: ExternalReference
}

/// What RediSearch's scorers read of each document besides its terms (RSDocumentMetadata's maxFreq and len), by doc id.
struct DocScoreStats {
    /// The largest weighted frequency of any token (stems included), plus one per vector field the document has.
    var maxFreq: [UInt32] = []
    /// Weighted count of the document's TEXT tokens (stems and stopwords excluded).
    var length: [UInt32] = []
    /// Every indexed version's length added up: RediSearch adds each (re)indexed document's and never subtracts, so
    /// its BM25 average document length drifts after updates and deletes; kept the same way here.
    var totalLength = 0

    mutating func record(_ id: UInt32, maxFreq m: UInt32, length l: UInt32) {
        let i = Int(id)
        if maxFreq.count <= i { maxFreq.append(contentsOf: repeatElement(0, count: i + 1 - maxFreq.count)) }
        maxFreq[i] = m
        if l > 0 || !length.isEmpty {
            if length.count <= i { length.append(contentsOf: repeatElement(0, count: i + 1 - length.count)) }
            length[i] = l
        }
        totalLength += Int(l)
    }

    func maxFreq(of id: UInt32) -> UInt32 { Int(id) < maxFreq.count ? maxFreq[Int(id)] : 0 }
    func length(of id: UInt32) -> UInt32 { Int(id) < length.count ? length[Int(id)] : 0 }
}

public final class SearchIndex: @unchecked Sendable {
    public private(set) var definition: IndexDefinition
    public let lock = ReadWriteLock()
    let analyzer: TextAnalyzer
    public let stopwords: Set<String>

    // Document table. Doc ids start at 1 and stay with a key until it leaves the index.
    var keys: [Bytes?] = [nil]
    var idByKey = DocIdTable()
    public internal(set) var live = DocSet(capacity: 1024)
    public private(set) var numDocs = 0
    var stores: [FieldStore]
    var text = TextIndex()
    /// Token → its `+stem` term (nil when the stem is the token), for indexing (write lock): stemming each occurrence
    /// again was a third of HSET's time on English text (perf). Bounded: cleared when full.
    private var stemKeys: [String: String?] = [:]
    var scoreStats = DocScoreStats()
    /// Per vector field: the store hashes resolve their vector through (labels are doc ids); it knows which hash
    /// buffer points at each label, so the index can hand that buffer a copy before it lets go of the vector.
    var vectorStores: [Int: ExternalStore] = [:]
    /// Per NUMERIC / GEO field: the shape of RediSearch's range tree over the values (a GEO field's: geohashes) as they
    /// were added; scoring reads it.
    var numericTrees: [Int: NumericTreeShape] = [:]
    /// Sortable/returnable raw values are read from the keyspace; only numeric values are kept here.

    // Statistics for FT.INFO.
    public internal(set) var failures = 0
    public internal(set) var lastFailure: IndexingFailure?
    public internal(set) var fieldFailures: [Int]
    public internal(set) var fieldLastFailure: [IndexingFailure?]
    /// Query counters, bumped by concurrent searches without taking the index lock.
    private let uses = Atomic<Int>(0)
    private let dialect1 = Atomic<Int>(0), dialect2 = Atomic<Int>(0), dialect3 = Atomic<Int>(0), dialect4 = Atomic<Int>(0)
    public var numberOfUses: Int { uses.load(ordering: .relaxed) }
    public var dialectUses: [Int] {
        [dialect1.load(ordering: .relaxed), dialect2.load(ordering: .relaxed),
         dialect3.load(ordering: .relaxed), dialect4.load(ordering: .relaxed)]
    }
    public internal(set) var totalIndexingMicros = 0
    public internal(set) var isIndexing = false
    public internal(set) var percentIndexed = 1.0
    /// Gives tiered vector fields their directory and share of `vector-memory-limit`.
    let tiering: TieringController
    /// Earlier parses of FT.SEARCH query texts against this index's stopwords (see `parseQuery`).
    private let queryCache = Mutex(QueryCache())
    /// Documents matched by recent tag / numeric filters, valid until the next write (see `FilterCache`).
    let filterCache = Mutex(FilterCache())
    /// The ordered vocabulary and tag values the pattern expansions walk (see `SortedTermsCache`).
    let sortedTerms = Mutex(SortedTermsCache())
    /// Recent execution times of query shapes (see `QueryCostMemory`).
    let costMemory = Mutex(QueryCostMemory())
    /// While a snapshot loads: the documents of reopened tiered fields, key → the doc id (label) their vectors have in
    /// the page files. Indexing such a key takes that id back instead of adding the vector again (SearchSnapshot.swift).
    var restoring: [Bytes: UInt32] = [:]
    /// Positions of the vector fields whose graph was reopened from page files, for the restore above.
    var reopenedFields: Set<Int> = []

    /// `reopening` (field position → directory) reopens tiered vector fields from their page files instead of creating
    /// them; any other HNSW field of such an index stays in RAM whatever the limit (see `RestoredVectorStorage`).
    public init(definition: IndexDefinition, tiering: TieringController = .node,
                reopening: [Int: String]? = nil) throws {
        self.definition = definition
        self.tiering = tiering
        stopwords = definition.stopwords.map(Set.init) ?? TextAnalyzer.defaultStopwords
        analyzer = TextAnalyzer(stopwords: stopwords)
        var made: [FieldStore] = []
        do {
            for (i, f) in definition.fields.enumerated() {
                let restored = reopening.map { r in r[i].map { RestoredVectorStorage.tiered(directory: $0) } ?? .ram }
                made.append(try Self.makeStore(f, index: definition.name, tiering: tiering, textOrdinal: Self.textFieldCount(made),
                                               restored: restored))
            }
        } catch {
            // A later field failed: fields already made may own directories on SSD. Reopened ones are another run's
            // persistence, not ours to delete.
            if reopening == nil { for store in made { Self.dropStorage(store) } }
            throw error
        }
        reopenedFields = Set(reopening.map { Array($0.keys) } ?? [])
        stores = made
        // Every document of the index repeats these names: packed hashes then store each as a 1-byte id.
        for f in definition.fields { FieldNameTable.shared.intern(Bytes(f.identifier)) }
        for (i, store) in stores.enumerated() {
            if case .vector(let v) = store { vectorStores[i] = Self.externalStore(v, definition.fields[i]) }
        }
        fieldFailures = Array(repeating: 0, count: definition.fields.count)
        fieldLastFailure = Array(repeating: nil, count: definition.fields.count)
    }

    static func externalStore(_ index: any VectorIndex, _ field: FieldSpec) -> ExternalStore {
        guard case .vector(let p) = field.kind else { preconditionFailure("a vector store for a vector field") }
        return ExternalStore(source: VectorFieldSource(index), byteCount: p.vectorByteCount)
    }

    /// Whatever path let go of the index (FT.DROPINDEX, a failed FT.CREATE, a test), its SSD files are orphans
    /// once it is gone: no later snapshot names them.
    deinit { for store in stores { Self.dropStorage(store) } }

    /// Where a restored index's vector field gets its graph: the choice made when the index was created is kept.
    enum RestoredVectorStorage {
        case ram
        case tiered(directory: String)
    }

    static func textFieldCount(_ stores: [FieldStore]) -> Int {
        stores.reduce(0) { n, s in if case .text = s { return n + 1 }; return n }
    }

    /// `textOrdinal`: how many TEXT fields come before this one (its bit in the field masks).
    static func makeStore(_ field: FieldSpec, index: String, tiering: TieringController, textOrdinal: Int,
                          restored: RestoredVectorStorage? = nil) throws -> FieldStore {
        switch field.kind {
        case .numeric, .geo: return .numeric(NumericColumn(count: 1))  // a GEO field's column holds geohashes
        case .tag: return .tag(postings: [:], perDoc: TagAssignments())
        case .text: return .text(TextFieldMask(ordinal: textOrdinal))
        case .vector(let p):
            guard p.algorithm == .hnsw else { return .vector(try makeVectorIndex(p)) }
            // HNSW inserts are slow (EF_CONSTRUCTION work): tier them behind an exact buffer linked in the background.
            // Without STORAGE, the limit in force now decides: a node that has one wants new indexes to respect it.
            var tiered = field.storage.map { $0 == .tiered } ?? (tiering.limit > 0)
            switch restored {
            case .tiered(let directory)?:
                return .vector(try TieredVectorIndex(p, graph: try TieredHNSWIndex(opening: directory, parameters: p, controller: tiering),
                                                     writeGate: tiering))
            case .ram?: tiered = false
            case nil: break
            }
            // All-RAM graphs walk per-vector codes and re-rank exactly: 4-bit, then 2-bit (with a beam a quarter
            // wider) once 20,000 vectors show the data allows it. On pypi-minilm-50k 2-bit codes give 2.6× FAISS's
            // queries at recall 0.96 for 108 B more per 384-d vector; tight synthetic clusters keep 4-bit codes
            // (bench/results/engine.md).
            var inRAM = p
            if inRAM.quantization == .none { inRAM.quantization = .lowBit }
            guard tiered else { return .vector(try TieredVectorIndex(inRAM, writeGate: tiering)) }
            let directory = tiering.newIndexDirectory(name: "\(index)-\(field.attribute)")
            return .vector(try TieredVectorIndex(p, graph: try TieredHNSWIndex(p, directory: directory, controller: tiering),
                                                 writeGate: tiering))
        }
    }

    /// The SSD-backed graph behind a vector store, if it has one.
    static func tieredGraph(_ store: FieldStore) -> TieredHNSWIndex? {
        guard case .vector(let v) = store, let buffered = v as? TieredVectorIndex else { return nil }
        return buffered.graph as? TieredHNSWIndex
    }

    private static func dropStorage(_ store: FieldStore) { tieredGraph(store)?.drop() }

    /// True when a search may wait on SSD reads (a tiered vector field): such searches never run on the loop thread.
    public var readsFromSSD: Bool {
        lock.withReadLock { stores.contains { Self.tieredGraph($0) != nil } }
    }

    /// Deletes the SSD files of every tiered vector field (FT.DROPINDEX). Call after `materializeAll`: hashes read
    /// their vectors back from those files. The index answers nothing useful afterwards.
    public func dropStorage() {
        let all = lock.withReadLock { stores }
        for store in all { Self.dropStorage(store) }
    }

    /// Each tiered vector field's attribute and report (FT.INFO), in schema order.
    public var tieringReports: [(attribute: String, report: TieringIndexReport)] {
        let graphs = lock.withReadLock { zip(definition.fields, stores).compactMap { f, s in Self.tieredGraph(s).map { (f.attribute, $0) } } }
        return graphs.map { (attribute: $0.0, report: $0.1.report) }
    }

    /// Loads up to `pages` pages of each tiered field's segments into its buffer pool (FT.WARMUP); pages read.
    /// The index lock is not held while reading: warming must not stall writers on the loop thread.
    public func warmUp(pages: Int) throws -> Int {
        let graphs = lock.withReadLock { stores.compactMap(Self.tieredGraph) }
        return try graphs.reduce(0) { $0 + (try $1.warmUp(pages: pages)) }
    }

    public var maxDocId: Int { keys.count - 1 }

    /// The TEXT fields among `attributes` as a field mask; every TEXT field when nil.
    func textFieldMask(_ attributes: [String]?) -> TextFieldMask {
        guard let attributes else { return .all }
        var mask = TextFieldMask()
        for (i, f) in definition.fields.enumerated() where attributes.contains(f.attribute) {
            if case .text(let m) = stores[i] { mask.formUnion(m) }
        }
        return mask
    }

    /// `QueryParser.parse` with this index's stopwords, reusing an earlier parse of the same text when the
    /// parameters it read are the same but for the KNN vector (`QueryCache`).
    public func parseQuery(_ query: [UInt8], params: [String: [UInt8]], dialect: Int) throws(QueryError) -> ParsedQuery {
        try queryCache.withLock { (cache) throws(QueryError) -> ParsedQuery in
            try cache.parse(query, params: params, dialect: dialect, stopwords: stopwords)
        }
    }

    public func key(of id: UInt32) -> Bytes? { Int(id) < keys.count ? keys[Int(id)] : nil }
    public func docId(of key: Bytes) -> UInt32? { lock.withReadLock { idByKey.id(of: key, keys: keys) } }
    /// Keys of the documents in the index (caller holds a lock).
    var liveKeys: [Bytes] { keys.compactMap { $0 } }

    /// Adds FT.ALTER fields; existing documents are re-indexed by the caller.
    public func addFields(_ fields: [FieldSpec]) throws {
        try lock.withWriteLock {
            for f in fields {
                definition.fields.append(f)
                let store = try Self.makeStore(f, index: definition.name, tiering: tiering, textOrdinal: Self.textFieldCount(stores))
                if case .vector(let v) = store { vectorStores[stores.count] = Self.externalStore(v, f) }
                stores.append(store)
                fieldFailures.append(0)
                fieldLastFailure.append(nil)
            }
        }
    }

    // MARK: writes (loop thread)

    /// Indexes (or re-indexes) a hash. A document with an invalid value is removed and counted as a failure.
    /// Returns the vector fields whose hash value should become a reference to the index's copy.
    @discardableResult
    public func index(key: Bytes, hash: HashValue) -> [Externalization] {
        // Validate and extract everything first so a failure leaves the index untouched.
        var numeric: [Int: Double] = [:]
        var vectors: [Int: Bytes] = [:]
        for (i, field) in definition.fields.enumerated() where !field.noIndex {
            let name = Bytes(field.identifier)
            // A value held in a vector store comes as its reference: counted, compared, and only read back when added
            // (for a tiered index that read is a page read).
            guard let raw = hash.externalReference(for: name).map({ Bytes(external: $0) }) ?? hash[name] else { continue }
            switch field.kind {
            case .numeric:
                guard let v = Self.parseNumeric(raw) else {
                    recordFailure(field: i, "Invalid numeric value: '\(raw.string)'", key)
                    return []
                }
                numeric[i] = v
            case .geo:
                switch GeoHash.indexValue(Array(raw.storage)) {
                case .success(let hash): numeric[i] = hash
                case .failure(let e):
                    recordFailure(field: i, e.message, key)
                    return []
                }
            case .vector(let p):
                guard raw.count == p.vectorByteCount else {
                    recordFailure(field: i, "Could not add vector with blob size \(raw.count) (expected size \(p.vectorByteCount))", key)
                    return []
                }
                vectors[i] = raw
            default:
                break
            }
        }
        return lock.withWriteLock { () -> [Externalization] in
            var externalized: [Externalization] = []
            let id: UInt32
            var restored = false
            if let existing = idByKey.id(of: key, keys: keys) {
                id = existing
                removeFieldData(id, keepingVectorsOf: vectors)
            } else if !restoring.isEmpty, let label = restoring.removeValue(forKey: key) {
                id = label
                keys[Int(id)] = key
                idByKey.insert(id, keys: keys)
                live.insert(id)
                numDocs += 1
                restored = true
            } else {
                id = UInt32(keys.count)
                keys.reserveGrowingByAnEighth(toHold: keys.count + 1)
                keys.append(key)
                idByKey.insert(id, keys: keys)
                live.insert(id)
                numDocs += 1
            }
            var forward = ForwardFrequencies()
            defer {
                text.add(id, forward)
                scoreStats.record(id, maxFreq: forward.maxFreq, length: forward.length)
            }
            for (i, field) in definition.fields.enumerated() where !field.noIndex {
                switch stores[i] {
                case .numeric(var values):
                    stores[i] = .numeric(NumericColumn())
                    values.set(numeric[i] ?? .nan, at: Int(id))
                    if let v = numeric[i] { addToTree(v, field: i, column: values) }  // NUMERIC and GEO
                    stores[i] = .numeric(values)
                case .tag(var postings, var perDoc):
                    stores[i] = .numeric(NumericColumn())
                    if case .tag(let sep, let cs) = field.kind, let raw = hash[Bytes(field.identifier)] {
                        let tags = Self.splitTags(raw, separator: sep, caseSensitive: cs)
                        for t in tags { postings[t, default: TagPosting()].insert(id) }
                        perDoc.assign(tags, to: id)
                    }
                    stores[i] = .tag(postings: postings, perDoc: perDoc)
                case .text(let mask):
                    if case .text(let weight, let noStem) = field.kind, let raw = hash[Bytes(field.identifier)] {
                        addText(raw.string, field: mask, noStem: noStem, weight: weight, to: &forward)
                    }
                case .vector(let vindex):
                    guard let blob = vectors[i], let store = vectorStores[i] else { break }
                    forward.maxFreq &+= 1  // RediSearch's vector preprocessor counts a vector as one more frequency
                    let reference = store.reference(label: id)
                    if blob.externalReference == reference { break }  // unchanged
                    if restored && reopenedFields.contains(i) {
                        // The reopened page files hold this document's vector under its label already.
                        externalized.append(Externalization(field: Bytes(field.identifier), reference: reference))
                        break
                    }
                    store.detach(label: id)
                    blob.withUnsafeBytes { _ = try? vindex.add(label: UInt64(id), vector: $0) }
                    externalized.append(Externalization(field: Bytes(field.identifier), reference: reference))
                }
            }
            return externalized
        }
    }

    /// Gives every hash that points into this index its own copy (FT.DROPINDEX without DD).
    public func materializeAll() {
        lock.withWriteLock { for store in vectorStores.values { store.detachAll() } }
    }

    /// Removes a document (key deleted, expired, renamed away or no longer matching).
    public func remove(key: Bytes) {
        lock.withWriteLock {
            guard let id = idByKey.remove(key, keys: keys) else { return }
            removeFieldData(id)
            keys[Int(id)] = nil
            live.remove(id)
            numDocs -= 1
        }
    }

    /// Drops everything (FLUSHALL).
    public func removeAll() {
        lock.withWriteLock {
            for id in idByKey.ids { removeFieldData(id) }
            idByKey.removeAll()
            for i in keys.indices { keys[i] = nil }
            live = DocSet(capacity: keys.count)
            text.removeAll()
            numDocs = 0
            scoreStats = DocScoreStats()
        }
    }

    private func recordFailure(field: Int, _ message: String, _ key: Bytes) {
        remove(key: key)
        let f = IndexingFailure(message: message, key: key)
        lock.withWriteLock {
            failures += 1
            lastFailure = f
            fieldFailures[field] += 1
            fieldLastFailure[field] = f
        }
    }

    /// Clears a doc's entries in every field store (caller holds the write lock). Vector fields listed in
    /// `keepingVectorsOf` are left alone: the caller replaces or keeps them.
    private func removeFieldData(_ id: UInt32, keepingVectorsOf kept: [Int: Bytes] = [:]) {
        text.remove(id)
        for i in stores.indices {
            switch stores[i] {
            case .numeric(var values):
                stores[i] = .numeric(NumericColumn())
                if Int(id) < values.count { values.set(.nan, at: Int(id)) }
                stores[i] = .numeric(values)
            case .tag(var postings, var perDoc):
                stores[i] = .numeric(NumericColumn())
                for t in perDoc.removeTags(of: id) {
                    postings[t]?.remove(id)
                    if postings[t]?.isEmpty == true { postings.removeValue(forKey: t) }
                }
                stores[i] = .tag(postings: postings, perDoc: perDoc)
            case .text:
                break
            case .vector(let v):
                if kept[i] != nil { continue }
                // Before the index forgets the vector, a hash that still points at it gets its own copy.
                vectorStores[i]?.detach(label: id)
                _ = v.remove(label: UInt64(id))
            }
        }
    }

    /// Adds a value to the field's tree shape. Replaced values stay in it, as in RediSearch until its GC runs; once
    /// they outnumber the live ones the shape is rebuilt from the column in doc-id order, as a collected tree would be.
    private func addToTree(_ value: Double, field i: Int, column: NumericColumn) {
        let tree: NumericTreeShape
        if let existing = numericTrees[i] { tree = existing } else { tree = NumericTreeShape(); numericTrees[i] = tree }
        tree.add(value)
        guard tree.entries > 2 * numDocs + 1024 else { return }  // numDocs bounds the live values without a count
        let rebuilt = NumericTreeShape()
        for doc in 0..<column.count where !column[doc].isNaN { rebuilt.add(column[doc]) }
        numericTrees[i] = rebuilt
    }

    /// How RediSearch's iterator reads a NUMERIC range or a GEO filter from its range trees: the ranges' total size
    /// (its estimate), and whether it is a union of them, which counts as having (empty) offsets.
    struct RangeRead {
        let estimate: Int
        let isUnion: Bool
    }

    /// [lo, hi] of a NUMERIC field: one leaf of the tree is a plain numeric iterator, several a union (caller holds a
    /// lock).
    func numericRead(attribute: String, _ lo: Double, _ hi: Double) -> RangeRead {
        guard let i = definition.fields.firstIndex(where: { $0.attribute == attribute }), case .numeric = definition.fields[i].kind,
              let sizes = numericTrees[i]?.rangeSizes(lo, hi) else { return RangeRead(estimate: 0, isUnion: false) }
        return RangeRead(estimate: sizes.reduce(0, +), isUnion: sizes.count > 1)
    }

    /// A GEO filter: per geohash cell range around the center, the leaves that meet it; a union of those iterators
    /// unless only one cell finds ranges, and then that cell's iterator, itself one range or a union (caller holds a
    /// lock).
    func geoRead(_ filter: GeoFilter) -> RangeRead {
        guard let i = definition.fields.firstIndex(where: { $0.attribute == filter.field }), case .geo = definition.fields[i].kind,
              let tree = numericTrees[i] else { return RangeRead(estimate: 0, isUnion: true) }
        let cells = filter.cellRanges().map { tree.rangeSizes($0.min, $0.max) }.filter { !$0.isEmpty }
        return RangeRead(estimate: cells.joined().reduce(0, +), isUnion: !(cells.count == 1 && cells[0].count == 1))
    }

    /// The `+stem` entry indexed beside a token: none below MINSTEMLEN (4) bytes, as RediSearch's tokenizer stems
    /// only longer tokens (`oed` would add `+o`).
    private func stemKey(_ token: String) -> String? {
        guard token.utf8.count >= TextAnalyzer.minStemLength else { return nil }
        if let known = stemKeys[token] { return known }
        let stem = analyzer.stem(token)
        let key = stem == token ? nil : "+" + stem
        if stemKeys.count >= 1 << 17 { stemKeys.removeAll(keepingCapacity: true) }
        stemKeys[token] = .some(key)
        return key
    }

    /// Adds one TEXT field's tokens to the document's forward index (its terms go to `text` once all fields are read).
    private func addText(_ content: String, field: TextFieldMask, noStem: Bool, weight: Double,
                         to forward: inout ForwardFrequencies) {
        let tokens = analyzer.tokens(content)
        let rawIncrement = ForwardFrequencies.increment(weight: weight, stem: false)
        let stemIncrement = ForwardFrequencies.increment(weight: weight, stem: true)
        for (pos, token) in tokens.enumerated() {
            let position = forward.positionBase &+ UInt32(pos + 1)
            forward.add(token, rawIncrement, raw: true, field: field, position: position)
            if !noStem {
                if let key = stemKey(token) { forward.add(key, stemIncrement, raw: false, field: field, position: position) }
            }
        }
        forward.positionBase &+= UInt32(truncatingIfNeeded: tokens.count)
    }

    /// RediSearch's numeric parsing: strtod over the whole value; "inf"/"-inf" accepted.
    static func parseNumeric(_ raw: Bytes) -> Double? {
        let s = raw.string.trimmingSpaces()
        switch s.lowercased() {
        case "inf", "+inf", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: break
        }
        guard !s.isEmpty, let v = Double(s), !v.isNaN else { return nil }
        return v
    }

    /// Splits a TAG value on its separator, trimming spaces; lowercased unless CASESENSITIVE.
    public static func splitTags(_ raw: Bytes, separator: UInt8, caseSensitive: Bool) -> [Bytes] {
        var out: [Bytes] = []
        for part in raw.storage.split(separator: separator, omittingEmptySubsequences: true) {
            var slice = part[...]
            while let f = slice.first, f == 32 || f == 9 { slice.removeFirst() }
            while let l = slice.last, l == 32 || l == 9 { slice.removeLast() }
            if slice.isEmpty { continue }
            let tag = caseSensitive ? Bytes(Array(slice)) : Bytes(Array(String(decoding: slice, as: UTF8.self).lowercased().utf8))
            if !out.contains(tag) { out.append(tag) }
        }
        return out
    }

    // MARK: statistics

    public var vectorIndexBytes: Int {
        lock.withReadLock {
            stores.reduce(0) { total, s in if case .vector(let v) = s { return total + v.memoryUsage }; return total }
        }
    }

    /// Distinct terms over all TEXT fields: RediSearch keeps one terms trie per index, not one per field.
    public var numTerms: Int {
        lock.withReadLock {
            text.postings.count
        }
    }

    public var numRecords: Int {
        lock.withReadLock {
            stores.reduce(text.records) { total, s in
                switch s {
                case .text: return total
                case .tag(_, let perDoc): return total + perDoc.totalTags
                case .numeric(let v): return total + v.valueCount
                case .vector(let v): return total + v.count
                }
            }
        }
    }

    /// Vectors written but not yet linked into their HNSW graph.
    public var pendingVectors: Int {
        lock.withReadLock {
            stores.reduce(0) { total, s in
                if case .vector(let v) = s, let tiered = v as? TieredVectorIndex { return total + tiered.pendingCount }
                return total
            }
        }
    }

    /// Distinct values of a TAG field, sorted (FT.TAGVALS).
    public func tagValues(field: String) -> [Bytes]? {
        lock.withReadLock {
            guard let i = definition.fields.firstIndex(where: { $0.attribute == field }),
                  case .tag(let postings, _) = stores[i] else { return nil }
            return postings.keys.sorted()
        }
    }

    func countUse(dialect: Int) {
        uses.wrappingAdd(1, ordering: .relaxed)
        switch dialect {
        case 1: dialect1.wrappingAdd(1, ordering: .relaxed)
        case 2: dialect2.wrappingAdd(1, ordering: .relaxed)
        case 3: dialect3.wrappingAdd(1, ordering: .relaxed)
        case 4: dialect4.wrappingAdd(1, ordering: .relaxed)
        default: break
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }
}

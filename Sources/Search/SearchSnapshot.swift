// The search part of the node snapshot: every index's definition (FT.ALTER additions included), aliases and FT.CONFIG
// values, and for tiered vector fields the directory of their page files and the document table (key → label).
// Tiered vectors are not copied into the snapshot: the page files are their persistence and are reopened as they are.
import Keyspace
import Tiering
import VectorIndex

/// What a written search section lets the keyspace section refer to: hash values held by a tiered vector field are
/// written as (source, label), the source numbering the tiered fields in the order the section lists them.
public struct SnapshotSources {
    var sourceByStore: [UInt32: UInt32] = [:]
    /// The source number of a reference into a tiered field, nil for any other store (its bytes are written).
    public func source(of reference: ExternalReference) -> UInt32? { sourceByStore[reference.store] }
}

/// The tiered fields a loaded search section reopened, for the keyspace section's references.
public struct RestoredSources {
    var fields: [(index: SearchIndex, field: Int)] = []
    /// How many tiered fields were reopened from their page files.
    public var reopenedFields: Int { fields.count }
    /// The directories under the tiering base directory (names) the snapshot uses: every other one is an orphan.
    public internal(set) var directories: Set<String> = []

    /// The reference to put in a hash for (source, label); nil when the reopened files no longer hold the label (its
    /// vector was deleted and compacted away after the snapshot was taken): the field is then left out.
    /// Throws when the source is not one the section declared (a damaged snapshot).
    public func reference(source: UInt32, label: UInt32) throws(SnapshotError) -> ExternalReference? {
        guard Int(source) < fields.count else { throw SnapshotError("hash field refers to unknown vector source \(source)") }
        let (index, field) = fields[Int(source)]
        return index.lock.withReadLock { () -> ExternalReference? in
            guard case .vector(let v) = index.stores[field], v.contains(label: UInt64(label)) else { return nil }
            return index.vectorStores[field]?.reference(label: label)
        }
    }
}

/// ### Layout
///     | indexes: varint | index* | aliases: varint | (alias: string, index: string)* | config: varint | (name, value)* |
///     index:  | definition | tiered fields: varint | (field position: varint, directory: string)* |   (a name under
///             the tiering base directory, or an absolute path for an index created under another `dir`)
///             | documents: varint | (doc id: varint, key: blob)* |   (documents only for an index with tiered fields)
extension SearchRegistry {
    /// Moves every acknowledged vector of every tiered field into page files named by its manifest (write buffer
    /// drained, active graph sealed), so a snapshot written next can refer to them. Blocks until done.
    public func flushTieredIndexes() throws {
        for name in order {
            guard let index = indexes[name] else { continue }
            let stores = index.lock.withReadLock { index.stores }
            for store in stores {
                guard case .vector(let v) = store, let buffered = v as? TieredVectorIndex,
                      let graph = buffered.graph as? TieredHNSWIndex else { continue }
                buffered.waitUntilDrained()
                try graph.flush(waitForCompaction: false)
            }
        }
    }

    /// Appends the search section. Call `flushTieredIndexes` first, with no write in between (the loop thread).
    public func writeSnapshot(into w: inout SnapshotWriter) -> SnapshotSources {
        var sources = SnapshotSources()
        w.varint(order.count)
        for name in order {
            guard let index = indexes[name] else { continue }
            index.lock.withReadLock {
                IndexDefinitionCoding.write(index.definition, into: &w)
                var tiered: [(Int, String)] = []
                for (i, store) in index.stores.enumerated() {
                    guard let graph = SearchIndex.tieredGraph(store) else { continue }
                    // Relative to the tiering base, so the whole `dir` can move; absolute when the index was created
                    // under another `dir` (CONFIG SET dir moves only indexes created afterwards).
                    let base = tiering.baseDirectory + "/"
                    tiered.append((i, graph.directory.hasPrefix(base) ? String(graph.directory.dropFirst(base.count)) : graph.directory))
                }
                w.varint(tiered.count)
                for (field, directory) in tiered {
                    w.varint(field)
                    w.string(directory)
                    if let store = index.vectorStores[field] { sources.sourceByStore[store.id] = UInt32(sources.sourceByStore.count) }
                }
                guard !tiered.isEmpty else { w.varint(0); return }
                let documents = index.idByKey.ids.sorted().compactMap { id in index.keys[Int(id)].map { (id, $0) } }
                w.varint(documents.count)
                for (id, key) in documents {
                    w.varint(Int(id))
                    w.blob(key)
                }
            }
        }
        w.varint(aliases.count)
        for (alias, target) in aliases.sorted(by: { $0.key < $1.key }) { w.string(alias); w.string(target) }
        w.varint(config.values.count)
        for (name, value) in config.values { w.string(name); w.string(value) }
        return sources
    }

    /// Recreates the indexes of a search section (the registry must have none): tiered fields reopen their page files
    /// under `tiering.baseDirectory`, nothing is rebuilt; documents of such fields take their labels back as the
    /// keyspace section loads (`SearchIndex.restoring`). Call `finishRestore` once the keyspace is loaded.
    public func restoreSnapshot(from r: inout SnapshotReader) throws(SnapshotError) -> RestoredSources {
        var restored = RestoredSources()
        let count = try r.count()
        for _ in 0..<count {
            let definition = try IndexDefinitionCoding.read(&r)
            guard indexes[definition.name] == nil else { throw SnapshotError("index \(definition.name) appears twice") }
            var reopening: [Int: String] = [:]
            var tieredOrder: [Int] = []
            for _ in 0..<(try r.count()) {
                let field = try r.count()
                let directory = try r.string()
                let absolute = directory.hasPrefix("/")
                guard field < definition.fields.count, case .vector = definition.fields[field].kind, !directory.isEmpty,
                      absolute || (!directory.contains("/") && directory != "." && directory != "..") else {
                    throw SnapshotError("bad tiered field \(field) (\(directory)) in index \(definition.name)")
                }
                reopening[field] = absolute ? directory : tiering.baseDirectory + "/" + directory
                tieredOrder.append(field)
                if !absolute { restored.directories.insert(directory) }
            }
            var documents: [Bytes: UInt32] = [:]
            var maxId: UInt32 = 0
            for _ in 0..<(try r.count()) {
                guard let id = UInt32(exactly: try r.varint()), id > 0 else { throw SnapshotError("bad document id") }
                documents[try r.bytesValue()] = id
                maxId = max(maxId, id)
            }
            let index: SearchIndex
            do {
                index = try SearchIndex(definition: definition, tiering: tiering, reopening: reopening)
            } catch {
                throw SnapshotError("cannot reopen index \(definition.name): \(error)")
            }
            // Before any write can start a seal whose new file is not in the manifest yet.
            for field in tieredOrder { SearchIndex.tieredGraph(index.stores[field])?.removeUnlistedFiles() }
            index.lock.withWriteLock {
                index.restoring = documents
                // Ids handed out from now on must not be labels the reopened files hold.
                if maxId > 0 { index.keys.append(contentsOf: repeatElement(nil, count: Int(maxId) + 1 - index.keys.count)) }
            }
            indexes[definition.name] = index
            order.append(definition.name)
            for field in tieredOrder { restored.fields.append((index, field)) }
        }
        for _ in 0..<(try r.count()) {
            let alias = try r.string(), target = try r.string()
            guard indexes[target] != nil else { throw SnapshotError("alias \(alias) names unknown index \(target)") }
            aliases[alias] = target
        }
        for _ in 0..<(try r.count()) {
            let name = try r.string(), value = try r.string()
            config[name] = value
        }
        return restored
    }

    /// Ends a restore: documents of the snapshot whose key did not come back (expired meanwhile) leave the index, and
    /// every record of the reopened files that is not a current document's vector is tombstoned. Returns
    /// (documents dropped, records tombstoned).
    @discardableResult
    public func finishRestore() -> (documents: Int, records: Int) {
        var documents = 0, records = 0
        for name in order {
            guard let index = indexes[name], !index.reopenedFields.isEmpty else { continue }
            let (graphs, current) = index.lock.withWriteLock { () -> ([TieredHNSWIndex], DocSet) in
                documents += index.restoring.count
                index.restoring = [:]
                return (index.reopenedFields.compactMap { SearchIndex.tieredGraph(index.stores[$0]) }, index.live)
            }
            for graph in graphs {
                records += graph.retainNewestRecords { $0 <= UInt64(UInt32.max) && current.contains(UInt32($0)) }
            }
        }
        return (documents, records)
    }
}

/// IndexDefinition ⇄ bytes.
///
/// ### Layout
///     | name | prefixes: varint, blob* | filter?, language, language field?, default score: double, score field? |
///     | stopwords?: (varint, string*) | temporary seconds?: varint | flags: byte | fields: varint, field* |
///     field: | identifier | attribute | kind: 0 text (weight, nostem) 1 tag (separator, casesensitive) 2 numeric 4 geo
///            3 vector (parameters) | sortable, unf, noindex: bool | storage: 0 unset, 1 RAM, 2 TIERED |
///     an optional value is | present: bool | value |
enum IndexDefinitionCoding {
    static func write(_ d: IndexDefinition, into w: inout SnapshotWriter) {
        w.string(d.name)
        w.varint(d.prefixes.count)
        for p in d.prefixes { w.blob(p) }
        writeOptional(d.filter, &w)
        w.string(d.language)
        writeOptional(d.languageField, &w)
        w.double(d.defaultScore)
        writeOptional(d.scoreField, &w)
        w.bool(d.stopwords != nil)
        if let stopwords = d.stopwords {
            w.varint(stopwords.count)
            for s in stopwords { w.string(s) }
        }
        w.bool(d.temporarySeconds != nil)
        if let t = d.temporarySeconds { w.varint(t) }
        let flags = [d.skipInitialScan, d.noOffsets, d.noFreqs, d.noFields, d.noHighlight, d.maxTextFields]
        w.byte(flags.enumerated().reduce(0) { $0 | ($1.element ? 1 << UInt8($1.offset) : 0) })
        w.varint(d.fields.count)
        for f in d.fields { write(f, into: &w) }
    }

    static func read(_ r: inout SnapshotReader) throws(SnapshotError) -> IndexDefinition {
        var d = IndexDefinition(name: try r.string())
        d.prefixes = try (0..<(try r.count())).map { (_) throws(SnapshotError) in try r.bytesValue() }
        d.filter = try readOptional(&r)
        d.language = try r.string()
        d.languageField = try readOptional(&r)
        d.defaultScore = try r.double()
        d.scoreField = try readOptional(&r)
        if try r.bool() { d.stopwords = try (0..<(try r.count())).map { (_) throws(SnapshotError) in try r.string() } }
        if try r.bool() { d.temporarySeconds = try r.int() }
        let flags = try r.byte()
        func flag(_ bit: Int) -> Bool { flags & (1 << UInt8(bit)) != 0 }
        (d.skipInitialScan, d.noOffsets, d.noFreqs, d.noFields, d.noHighlight, d.maxTextFields) =
            (flag(0), flag(1), flag(2), flag(3), flag(4), flag(5))
        d.fields = try (0..<(try r.count())).map { (_) throws(SnapshotError) in try readField(&r) }
        return d
    }

    private static func write(_ f: FieldSpec, into w: inout SnapshotWriter) {
        w.string(f.identifier)
        w.string(f.attribute)
        switch f.kind {
        case .text(let weight, let noStem):
            w.byte(0); w.double(weight); w.bool(noStem)
        case .tag(let separator, let caseSensitive):
            w.byte(1); w.byte(separator); w.bool(caseSensitive)
        case .numeric:
            w.byte(2)
        case .geo:
            w.byte(4)
        case .vector(let p):
            w.byte(3)
            w.byte(p.algorithm.rawValue); w.varint(p.dimension); w.byte(p.elementType.rawValue); w.byte(p.metric.rawValue)
            w.varint(p.initialCapacity); w.varint(p.blockSize); w.varint(p.m); w.varint(p.efConstruction)
            w.varint(p.efRuntime); w.double(p.epsilon); w.byte(p.quantization.rawValue)
        }
        w.bool(f.sortable); w.bool(f.unf); w.bool(f.noIndex)
        w.byte(f.storage == nil ? 0 : f.storage == .ram ? 1 : 2)
    }

    private static func readField(_ r: inout SnapshotReader) throws(SnapshotError) -> FieldSpec {
        let identifier = try r.string(), attribute = try r.string()
        let kind: FieldKind
        switch try r.byte() {
        case 0: kind = .text(weight: try r.double(), noStem: try r.bool())
        case 1: kind = .tag(separator: try r.byte(), caseSensitive: try r.bool())
        case 2: kind = .numeric
        case 4: kind = .geo
        case 3:
            guard let algorithm = VectorAlgorithm(rawValue: try r.byte()) else { throw SnapshotError("bad vector algorithm") }
            let dimension = try r.int()
            guard let type = VectorElementType(rawValue: try r.byte()), let metric = DistanceMetric(rawValue: try r.byte()),
                  dimension > 0 else { throw SnapshotError("bad vector field \(attribute)") }
            var p = VectorIndexParameters(algorithm: algorithm, dimension: dimension, elementType: type, metric: metric)
            p.initialCapacity = try r.int(); p.blockSize = try r.int(); p.m = try r.int(); p.efConstruction = try r.int()
            p.efRuntime = try r.int(); p.epsilon = try r.double()
            guard let q = VectorQuantization(rawValue: try r.byte()) else { throw SnapshotError("bad vector quantization") }
            p.quantization = q
            kind = .vector(p)
        case let k: throw SnapshotError("unknown field kind \(k)")
        }
        var f = FieldSpec(identifier: identifier, attribute: attribute, kind: kind)
        f.sortable = try r.bool(); f.unf = try r.bool(); f.noIndex = try r.bool()
        switch try r.byte() {
        case 0: f.storage = nil
        case 1: f.storage = .ram
        case 2: f.storage = .tiered
        case let s: throw SnapshotError("bad vector storage \(s)")
        }
        return f
    }

    private static func writeOptional(_ s: String?, _ w: inout SnapshotWriter) {
        w.bool(s != nil)
        if let s { w.string(s) }
    }

    private static func readOptional(_ r: inout SnapshotReader) throws(SnapshotError) -> String? {
        try r.bool() ? try r.string() : nil
    }
}

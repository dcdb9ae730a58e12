// The node's FT indexes: creation, aliases, FT.CONFIG, background backfill, and keeping every index in step with
// keyspace change events. Lives on the loop thread; searches reach the indexes from workers under their locks.
import Keyspace
import Tiering

/// FT.CONFIG parameters with RediSearch 2.10's defaults.
public struct SearchConfig: Sendable {
    public var values: [(name: String, value: String)] = [
        ("MINPREFIX", "2"), ("FORKGC_SLEEP_BEFORE_EXIT", "0"), ("MAXDOCTABLESIZE", "1000000"), ("MAXSEARCHRESULTS", "1000000"),
        ("MAXAGGREGATERESULTS", "unlimited"), ("MAXEXPANSIONS", "200"), ("MAXPREFIXEXPANSIONS", "200"), ("TIMEOUT", "500"),
        ("INDEX_THREADS", "8"), ("SEARCH_THREADS", "20"), ("FRISOINI", ""), ("ON_TIMEOUT", "return"), ("GCSCANSIZE", "100"),
        ("MIN_PHONETIC_TERM_LEN", "3"), ("GC_POLICY", "fork"), ("FORK_GC_RUN_INTERVAL", "30"), ("FORK_GC_CLEAN_THRESHOLD", "100"),
        ("FORK_GC_RETRY_INTERVAL", "5"), ("FORK_GC_CLEAN_NUMERIC_EMPTY_NODES", "true"), ("_FORK_GC_CLEAN_NUMERIC_EMPTY_NODES", "true"),
        ("_MAX_RESULTS_TO_UNSORTED_MODE", "1000"), ("UNION_ITERATOR_HEAP", "20"), ("CURSOR_MAX_IDLE", "300000"),
        ("NO_MEM_POOLS", "false"), ("PARTIAL_INDEXED_DOCS", "false"), ("UPGRADE_INDEX", "Upgrade config for upgrading"),
        ("_NUMERIC_COMPRESS", "false"), ("_FREE_RESOURCE_ON_THREAD", "true"), ("_PRINT_PROFILE_CLOCK", "true"),
        ("RAW_DOCID_ENCODING", "false"), ("_NUMERIC_RANGES_PARENTS", "0"), ("DEFAULT_DIALECT", "1"),
        ("VSS_MAX_RESIZE", "0"), ("WORKERS", "0"), ("MIN_OPERATION_WORKERS", "4"), ("TIERED_HNSW_BUFFER_LIMIT", "1024"),
        ("MULTI_TEXT_SLOP", "0"), ("_BG_INDEX_SLEEP_GAP", "100"), ("_PRIORITIZE_INTERSECT_UNION_CHILDREN", "false"),
    ]
    public init() {}

    /// Options FT.CONFIG SET accepts only as an integer of at least 1.
    public static let positiveIntegers: Set<String> = ["MINPREFIX", "MAXEXPANSIONS", "MAXPREFIXEXPANSIONS"]

    public subscript(name: String) -> String? {
        get { value(exactly: name.uppercased()) }
        set {
            let upper = name.uppercased()
            // RediSearch 2.10 keeps one setting under both names.
            let names = upper == "MAXEXPANSIONS" || upper == "MAXPREFIXEXPANSIONS" ? ["MAXEXPANSIONS", "MAXPREFIXEXPANSIONS"] : [upper]
            for n in names { if let i = values.firstIndex(where: { $0.name == n }) { values[i].value = newValue ?? "" } }
        }
    }
    /// Names are stored uppercase; the per-query readers below skip the case folding of the subscript.
    private func value(exactly name: String) -> String? { values.first { $0.name == name }?.value }
    public var defaultDialect: Int { Int(value(exactly: "DEFAULT_DIALECT") ?? "1") ?? 1 }
    public var timeoutMilliseconds: Int { Int(value(exactly: "TIMEOUT") ?? "500") ?? 500 }
    public var maxSearchResults: Int { Int(value(exactly: "MAXSEARCHRESULTS") ?? "1000000") ?? 1000000 }
    public var prefixExpansions: PrefixExpansion {
        PrefixExpansion(minimumLength: Int(value(exactly: "MINPREFIX") ?? "2") ?? 2,
                        maximumTerms: Int(value(exactly: "MAXPREFIXEXPANSIONS") ?? "200") ?? 200)
    }
}

public final class SearchRegistry {
    public internal(set) var indexes: [String: SearchIndex] = [:]
    public internal(set) var order: [String] = []
    public internal(set) var aliases: [String: String] = [:]
    /// FT.DICTADD's dictionaries: module state, not keys (FLUSHALL empties them, as RediSearch's flush callback does).
    public var dictionaries: [String: SpellDictionary] = [:]
    public var config = SearchConfig()
    unowned let database: Database
    /// Keep each vector only in its index; hashes refer to it (see ExternalBytes). On by default.
    public var storeVectorsOnce = true
    /// Gives tiered vector fields their directories (the node's; tests pass their own).
    public var tiering: TieringController = .node
    /// Indexes still scanning the keyspace: name → next slot cursor.
    private var backfills: [String: Int] = [:]

    public init(database: Database) {
        self.database = database
        database.subscribe { [unowned self] event in self.handle(event) }
    }

    public var hasPendingBackfill: Bool { !backfills.isEmpty }

    /// Resolves an index name or alias.
    public func index(named name: String) -> SearchIndex? {
        if let i = indexes[name] { return i }
        if let target = aliases[name] { return indexes[target] }
        return nil
    }

    public func create(_ definition: IndexDefinition) throws(QueryError) {
        guard indexes[definition.name] == nil else { throw QueryError("Index already exists") }
        let index: SearchIndex
        do { index = try SearchIndex(definition: definition, tiering: tiering) } catch {
            throw QueryError("Could not create index: \(error)")
        }
        indexes[definition.name] = index
        order.append(definition.name)
        if !definition.skipInitialScan && database.count > 0 {
            index.isIndexing = true
            index.percentIndexed = 0
            backfills[definition.name] = 0
        }
    }

    public func drop(_ name: String, deleteDocuments: Bool) throws(QueryError) {
        guard let index = indexes.removeValue(forKey: name) else { throw QueryError("Unknown Index name") }
        index.materializeAll()
        // Now, not when the last reference goes (a search in flight may hold one): the files go once it lets go.
        index.dropStorage()
        order.removeAll { $0 == name }
        backfills.removeValue(forKey: name)
        aliases = aliases.filter { $0.value != name }
        if deleteDocuments {
            let keys = index.lock.withReadLock { index.liveKeys }
            for k in keys { database.delete(k) }
        }
    }

    public func addAlias(_ alias: String, to name: String, replace: Bool) throws(QueryError) {
        guard indexes[name] != nil else { throw QueryError("Unknown index name (or name is an alias itself)") }
        if !replace && aliases[alias] != nil { throw QueryError("Alias already exists") }
        aliases[alias] = name
    }

    public func deleteAlias(_ alias: String) throws(QueryError) {
        guard aliases.removeValue(forKey: alias) != nil else { throw QueryError("Alias does not exist") }
    }

    /// FT.ALTER idx SCHEMA ADD ...: new fields, then (unless SKIPINITIALSCAN) re-index the index's documents.
    public func alter(_ name: String, adding fields: [FieldSpec], skipInitialScan: Bool) throws(QueryError) {
        guard let index = index(named: name) else { throw QueryError("Unknown index name") }
        for f in fields where index.definition.field(attribute: f.attribute) != nil {
            throw QueryError("Duplicate field in schema - \(f.attribute)")
        }
        if index.definition.fields.count + fields.count > IndexDefinition.maxFields {
            throw QueryError("Schema is limited to \(IndexDefinition.maxFields) fields")
        }
        let textFields = index.definition.textFieldCount + fields.count { if case .text = $0.kind { return true }; return false }
        if textFields > IndexDefinition.maxTextFields { throw QueryError("Schema is limited to \(IndexDefinition.maxTextFields) TEXT fields") }
        if textFields > IndexDefinition.narrowTextFields && !index.definition.maxTextFields {
            throw QueryError("Cannot add more fields. Declare index with wide fields to allow adding unlimited fields")
        }
        do { try index.addFields(fields) } catch { throw QueryError("Could not alter index: \(error)") }
        if !skipInitialScan {
            index.isIndexing = true
            index.percentIndexed = 0
            backfills[index.definition.name] = 0
        }
    }

    // MARK: keeping indexes current

    private func handle(_ event: KeyEvent) {
        if indexes.isEmpty { return }
        switch event.kind {
        case .written, .renamedTo:
            let value = database.peek(event.key)
            for name in order {
                guard let index = indexes[name], index.definition.matches(key: event.key) else { continue }
                if case .hash(let h)? = value { externalize(event.key, index.index(key: event.key, hash: h)) } else { index.remove(key: event.key) }
            }
        case .deleted, .expired, .renamedFrom:
            for name in order {
                guard let index = indexes[name], index.definition.matches(key: event.key) else { continue }
                index.remove(key: event.key)
            }
        case .ttlChanged:
            break
        }
    }

    /// Points the hash's vector fields at the index's copies, so each vector is held once (config `search-store-once`).
    private func externalize(_ key: Bytes, _ fields: [Externalization]) {
        guard storeVectorsOnce else { return }
        // Values within the compact limit stay inline: only long ones (which made the hash a table) are worth a reference.
        for f in fields where f.reference.count > database.hashLimits.maxCompactValueLength {
            database.replaceHashFieldSilently(key, field: f.field, with: Bytes(external: f.reference))
        }
    }

    /// Indexes up to `budget` keys of pending backfills; returns true while work remains.
    @discardableResult
    public func backfillStep(budget: Int = 2000) -> Bool {
        for (name, cursor) in backfills {
            guard let index = indexes[name] else { backfills.removeValue(forKey: name); continue }
            var batch: [(Bytes, HashValue)] = []
            let next = database.scan(cursor: cursor, count: budget) { key, value in
                if case .hash(let h) = value, index.definition.matches(key: key) { batch.append((key, h)) }
            }
            for (k, h) in batch { externalize(k, index.index(key: k, hash: h)) }
            if next == 0 {
                backfills.removeValue(forKey: name)
                index.isIndexing = false
                index.percentIndexed = 1
            } else {
                backfills[name] = next
                index.percentIndexed = Double(next) / Double(HashSlot.count)
            }
        }
        return !backfills.isEmpty
    }

    /// FLUSHALL / FLUSHDB after the keys are gone: RediSearch drops every index, alias and dictionary with them.
    public func dropEverything() {
        for name in order { try? drop(name, deleteDocuments: false) }
        aliases = [:]
        dictionaries = [:]
    }

    /// Empties every index but keeps it (tests and FT.DROPINDEX-like resets).
    public func clearAll() { for i in indexes.values { i.removeAll() } }
}

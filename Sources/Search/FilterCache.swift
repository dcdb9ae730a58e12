// The documents a tag / numeric filter matched, kept until the index's next write, for KNN queries that repeat it.

/// Applications send one filter (`@tenant:{acme}`, `@year:[2020 +inf]`) with a new vector each time; evaluating it
/// again scans the whole numeric column or unions postings into a fresh bitmap, which for a filter that keeps most of
/// the index costs about as much as the filtered HNSW walk itself (pypi-minilm-50k, `@year:[2020 +inf]`). An entry is
/// the bitmap and the index's write count when it was computed (`ReadWriteLock.writes`); any write makes every entry
/// stale. Only trees of tag, numeric, negation, union and intersection are kept: text terms and vector ranges carry
/// per-document scores or distances that a bitmap does not hold.
struct FilterCache {
    private var entries: [(filter: QueryNode, generation: UInt64, set: DocSet)] = []
    let capacity: Int

    init(capacity: Int = 8) { self.capacity = capacity }

    var count: Int { entries.count }

    /// True for filters whose result is a plain document set, and not `*` (the index's live set already is one).
    static func caches(_ filter: QueryNode) -> Bool {
        func plain(_ node: QueryNode) -> Bool {
            switch node {
            case .all, .numericRange, .geo: return true
            // A pattern's values depend on FT.CONFIG's expansion limits, which the cache's generation does not see.
            case .tag(_, let values): return values.allSatisfy { if case .exact = $0 { true } else { false } }
            case .not(let inner): return plain(inner)
            case .union(let children), .intersection(let children): return children.allSatisfy(plain)
            case .term, .expansion, .phrase, .proximity, .vectorRange, .optional: return false
            }
        }
        return filter != .all && plain(filter)
    }

    mutating func lookup(_ filter: QueryNode, generation: UInt64) -> DocSet? {
        guard let i = entries.firstIndex(where: { $0.filter == filter }) else { return nil }
        guard entries[i].generation == generation else { entries.remove(at: i); return nil }
        return entries[i].set
    }

    mutating func store(_ filter: QueryNode, generation: UInt64, set: DocSet) {
        entries.removeAll { $0.filter == filter || $0.generation != generation }
        if entries.count >= capacity { entries.removeFirst() }
        entries.append((filter, generation, set))
    }
}

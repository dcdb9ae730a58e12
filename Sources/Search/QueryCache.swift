// Parsed FT.SEARCH queries by text, so a KNN template sent again with a new vector skips the lexer and the parser.

/// An application usually sends one query text (`*=>[KNN $K @v $B EF_RUNTIME $EF]`) with a new `$B` every time;
/// lexing and parsing it again was ~25,000 instructions per query, about a tenth of the work outside the HNSW walk.
/// An entry keeps a parsed query and the values of the parameters its parse looked up. It is reused while the text,
/// the dialect and each of those values are the same, except the KNN vector's, which is put in place of the old one
/// when that parameter was looked up only for the vector (the parser reads nothing else of it). Queries that fail
/// to parse are not kept, so every error still comes from the parser. DIALECT 1 (no parameters) is not cached.
struct QueryCache {
    private struct Entry {
        var dialect: Int
        var fixed: [(name: String, value: [UInt8])]
        var vectorParam: String?
        var parsed: ParsedQuery
    }

    private var entries: [[UInt8]: Entry] = [:]
    let capacity: Int
    /// Longer texts are parsed every time (a cache of a few huge texts would hold much memory for little).
    let maxQueryBytes: Int

    init(capacity: Int = 64, maxQueryBytes: Int = 2048) {
        self.capacity = capacity
        self.maxQueryBytes = maxQueryBytes
    }

    var count: Int { entries.count }

    /// `QueryParser.parse(query, params:, dialect:, stopwords:)`; `stopwords` must be the same on every call (one
    /// cache per index).
    mutating func parse(_ query: [UInt8], params: [String: [UInt8]], dialect: Int,
                        stopwords: Set<String>?) throws(QueryError) -> ParsedQuery {
        guard dialect >= 2, query.count <= maxQueryBytes else {
            return try QueryParser.parse(query, params: params, dialect: dialect, stopwords: stopwords)
        }
        if let entry = entries[query], entry.dialect == dialect, entry.fixed.allSatisfy({ params[$0.name] == $0.value }) {
            guard let name = entry.vectorParam else { return entry.parsed }
            if let vector = params[name] {
                var parsed = entry.parsed
                parsed.knn?.blob = vector
                return parsed
            }
        }
        let (parsed, resolved, knnParam) = try QueryParser.parseTracked(query, params: params, stopwords: stopwords)
        // The vector's parameter is left out of the comparison only when the parse read it once, for the vector.
        let vectorParam = knnParam.flatMap { name in
            resolved.lazy.filter { $0 == name }.count == 1 && parsed.knn?.blob == params[name] ? name : nil
        }
        var fixed: [(name: String, value: [UInt8])] = []
        for name in resolved where name != vectorParam && !fixed.contains(where: { $0.name == name }) {
            guard let value = params[name] else { return parsed }  // a parse that read a missing parameter failed
            fixed.append((name, value))
        }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[query] = Entry(dialect: dialect, fixed: fixed, vectorParam: vectorParam, parsed: parsed)
        return parsed
    }
}

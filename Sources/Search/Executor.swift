// Query execution over one index: evaluates the filter tree to a DocSet with scores, runs KNN / range, sorts, pages.
import CNumberFormat
import Tiering
import Keyspace
import VectorIndex

public enum SortOrder: Sendable { case ascending, descending }

/// Everything FT.SEARCH asked for that the executor needs (reply shaping stays with the caller).
public struct SearchRequest: Sendable {
    public var query: ParsedQuery
    public var verbatim = false
    public var inKeys: [Bytes]?
    public var sortBy: (field: String, order: SortOrder)?
    public var offset = 0
    public var limit = 10
    public var dialect = 2
    /// The scoring function; scores decide the order unless SORTBY or KNN without a filter does.
    public var scorer = TextScorer.tfidf
    /// Scores are wanted in the reply (WITHSCORES, ADDSCORES) even when they do not decide the order.
    public var withScores = false
    /// FT.SEARCH orders by score; FT.AGGREGATE reads matches in doc-id order.
    public var ordersByScore = true
    /// FT.CONFIG MINPREFIX and MAXPREFIXEXPANSIONS.
    public var prefixExpansion = PrefixExpansion()
    public init(query: ParsedQuery) { self.query = query }

    /// Whether the executor must score the matches at all (not for an empty page: `LIMIT 0 0` counts).
    var needsScores: Bool { limit > 0 && (withScores || (ordersByScore && sortBy == nil)) }
}

public struct SearchHit: Sendable {
    public var key: Bytes
    public var docId: UInt32
    public var score: Double
    /// Extra fields produced by the query itself (KNN / VECTOR_RANGE distances), already formatted.
    public var yielded: [(name: String, value: String)]
    public var distance: Float?
}

public struct SearchOutcome: Sendable {
    public var total: Int
    public var hits: [SearchHit]
    /// When the sort key is a field whose values live only in the keyspace, the caller sorts and pages:
    /// `hits` then holds every match in index order.
    public var sortInCaller: (field: String, order: SortOrder)?
}

/// Distances are printed as RediSearch does: the Float32 value widened to double, 12 significant digits (%.12g).
public func formatDistance(_ d: Float) -> String { formatFloatG12(d) ?? formatG(Double(d), precision: 12) }

public func formatG(_ v: Double, precision: Int) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
        let n = Int(vs_format_g(v, Int32(min(max(precision, 0), 40)), buffer.baseAddress!, 64))
        return buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: n) {
            String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
        }
    }
}

extension SearchIndex {
    /// Runs a search. Call from any thread; takes the read lock for the duration.
    public func execute(_ request: SearchRequest) throws(QueryError) -> SearchOutcome {
        countUse(dialect: request.dialect)
        let started = monotonicNanoseconds()
        let outcome = try lock.withReadLock { () throws(QueryError) -> SearchOutcome in try self.executeLocked(request) }
        let micros = (monotonicNanoseconds() - started) / 1000
        costMemory.withLock { $0.note(request, micros: micros) }
        return outcome
    }

    /// How long this query's shape (filter, KNN k and ef) took the last time it ran here, if it did lately.
    public func recentMicros(_ request: SearchRequest) -> Int? { costMemory.withLock { $0.micros(of: request) } }

    private func executeLocked(_ request: SearchRequest) throws(QueryError) -> SearchOutcome {
        var evaluator = Evaluator(index: self, verbatim: request.verbatim, prefixExpansion: request.prefixExpansion)
        let filter = request.query.filter, cacheable = FilterCache.caches(filter), generation = lock.writes
        var matched: DocSet
        if cacheable, let cached = filterCache.withLock({ $0.lookup(filter, generation: generation) }) {
            matched = cached
        } else {
            matched = try evaluator.evaluate(filter) ?? DocSet(capacity: 0)
            if cacheable { filterCache.withLock { $0.store(filter, generation: generation, set: matched) } }
        }
        if let inKeys = request.inKeys {
            var allowed = DocSet(capacity: keys.count)
            for k in inKeys { if let id = idByKey.id(of: k, keys: keys) { allowed.insert(id) } }
            matched.formIntersection(allowed)
        }
        var hits: [SearchHit] = []
        var total: Int
        let hybrid = request.query.knn != nil && request.query.filter != .all
        let scorer = request.needsScores && (request.query.knn == nil || hybrid)
            ? DocumentScorer(index: self, scorer: request.scorer, tree: request.query.scoring.root, verbatim: request.verbatim,
                             hybrid: hybrid, evaluator: evaluator)
            : nil
        if request.query.filter.checksProximity {
            // Which offsets a union holds depends on how RediSearch's iterators reached the document: a replay decides.
            let plan = scorer ?? DocumentScorer(index: self, scorer: request.scorer, tree: request.query.scoring.root,
                                                verbatim: request.verbatim, hybrid: false, evaluator: evaluator)
            if let replayed = plan.replayedDocuments(maxDocId: maxDocId, numDocs: numDocs) { matched.formIntersection(replayed) }
        }
        if let knn = request.query.knn {
            hits = try runKNN(knn, filter: matched, isWildcard: request.query.filter == .all && request.inKeys == nil)
            // RediSearch 2.10 orders the k nearest by score: 0 for all without a filter (so doc-id order), the filter's
            // score in its hybrid result otherwise.
            if let scorer { for i in hits.indices { hits[i].score = scorer.score(hits[i].docId) } }
            hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.docId < $1.docId }
            total = hits.count
        } else {
            var allEqual = true
            var first: Double?
            let replayed = scorer?.replayedScores(maxDocId: maxDocId, numDocs: numDocs)
            var scored: [ScoredDocument] = []
            let page = request.offset.addingReportingOverflow(request.limit)
            if !request.ordersByScore && request.sortBy == nil && scorer == nil && !page.overflow {
                // Read order, nothing to score (FT.AGGREGATE with LIMIT first): only the page's documents are read.
                total = matched.count
                scored.reserveCapacity(min(total, page.partialValue))
                matched.forEachWhile { id in
                    if scored.count >= page.partialValue { return false }
                    if keys[Int(id)] != nil { scored.append(ScoredDocument(id: id, score: 0)) }
                    return true
                }
            } else {
                scored.reserveCapacity(matched.count)  // one allocation: growing by doubling faulted in fresh pages each time
                matched.forEach { id in
                    guard keys[Int(id)] != nil else { return }
                    let score = replayed?[id] ?? scorer?.score(id) ?? 0
                    if let f = first { if f != score && !(f.isNaN && score.isNaN) { allEqual = false } } else { first = score }
                    scored.append(ScoredDocument(id: id, score: score))
                }
                total = scored.count
            }
            // Without SORTBY only the requested page is returned: only its documents are kept, as in RediSearch's heap.
            // Unordered (FT.AGGREGATE's read order) the page is a prefix as well.
            let pageOnly = request.sortBy == nil && !page.overflow
            if request.ordersByScore && !allEqual {
                scored = pageOnly ? bestFirst(scored, count: page.partialValue, by: ScoredDocument.ranksBefore)
                                  : scored.sorted(by: ScoredDocument.ranksBefore)
            } else if pageOnly && scored.count > page.partialValue {
                scored.removeLast(scored.count - page.partialValue)  // equal scores: doc-id order, as matched
            }
            hits.reserveCapacity(scored.count)
            for d in scored {
                var hit = SearchHit(key: keys[Int(d.id)]!, docId: d.id, score: d.score, yielded: [], distance: nil)
                if let y = evaluator.yielded[d.id] { hit.yielded = y }
                hits.append(hit)
            }
        }
        if let sort = request.sortBy {
            if let numeric = numericValues(attribute: sort.field) {
                hits.sort { a, b in
                    let x = numeric[Int(a.docId)], y = numeric[Int(b.docId)]  // NaN past the end
                    if x.isNaN != y.isNaN { return !x.isNaN }  // missing values last
                    // RediSearch's sorter inverts the whole comparison for DESC, the doc-id tie-break included.
                    if x == y || (x.isNaN && y.isNaN) { return sort.order == .ascending ? a.docId < b.docId : a.docId > b.docId }
                    return sort.order == .ascending ? x < y : x > y
                }
            } else if let yieldIndex = hits.first?.yielded.firstIndex(where: { $0.name == sort.field }) {
                hits.sort { a, b in
                    let x = a.distance ?? Float(a.yielded[yieldIndex].value) ?? 0
                    let y = b.distance ?? Float(b.yielded[yieldIndex].value) ?? 0
                    if x == y { return sort.order == .ascending ? a.docId < b.docId : a.docId > b.docId }
                    return sort.order == .ascending ? x < y : x > y
                }
            } else if hits.isEmpty && request.query.knn?.scoreField == sort.field {
                // Nothing to sort.
            } else if definition.field(attribute: sort.field) != nil || request.query.knn?.scoreField != sort.field {
                return SearchOutcome(total: total, hits: hits, sortInCaller: sort)
            }
        }
        let start = min(request.offset, hits.count)
        let end = start + min(hits.count - start, request.limit)
        return SearchOutcome(total: total, hits: Array(hits[start..<end]), sortInCaller: nil)
    }

    /// A NUMERIC field's column (a GEO field's sorts by its text, as RediSearch's sorting vector holds the string).
    func numericValues(attribute: String) -> NumericColumn? {
        guard let i = definition.fields.firstIndex(where: { $0.attribute == attribute }), case .numeric = definition.fields[i].kind,
              case .numeric(let v) = stores[i] else { return nil }
        return v
    }

    /// A GEO field's geohash column.
    func geoValues(attribute: String) -> NumericColumn? {
        guard let i = definition.fields.firstIndex(where: { $0.attribute == attribute }), case .geo = definition.fields[i].kind,
              case .numeric(let v) = stores[i] else { return nil }
        return v
    }

    private func vectorIndex(_ attribute: String) throws(QueryError) -> (any VectorIndex, VectorIndexParameters) {
        guard let i = definition.fields.firstIndex(where: { $0.attribute == attribute }) ?? definition.fields.firstIndex(where: { $0.identifier == attribute }),
              case .vector(let v) = stores[i], case .vector(let p) = definition.fields[i].kind else {
            throw QueryError("Error parsing vector similarity query: field `\(attribute)` is not a vector field")
        }
        return (v, p)
    }

    private func runKNN(_ knn: KNNClause, filter: DocSet, isWildcard: Bool) throws(QueryError) -> [SearchHit] {
        // KNN over a field that is not a vector field finds nothing (RediSearch 2.10 replies an empty result).
        guard let (vindex, params) = try? vectorIndex(knn.field) else { return [] }
        guard knn.blob.count == params.vectorByteCount else {
            throw QueryError("Error parsing vector similarity query: query vector blob size (\(knn.blob.count)) does not match index's expected size (\(params.vectorByteCount)).")
        }
        if knn.k == 0 { return [] }
        var searchFilter: SearchFilter?
        if !isWildcard {
            let allowedCount = filter.count
            if allowedCount == 0 { return [] }
            let set = filter
            let allows: @Sendable (UInt64) -> Bool = { label in label <= UInt64(UInt32.max) && set.contains(UInt32(truncatingIfNeeded: label)) }
            if allowedCount <= 4096 || allowedCount * 20 < max(1, numDocs) {
                searchFilter = SearchFilter(labels: filter.ids.map { UInt64($0) }, allows: allows)
            } else {
                searchFilter = SearchFilter(allows: allows)
            }
        }
        let matches: [VectorMatch]
        do {
            matches = try knn.blob.withUnsafeBytes { raw in
                try vindex.search(query: raw, k: knn.k, efRuntime: knn.efRuntime, filter: searchFilter)
            }
        } catch {
            throw QueryError("Error parsing vector similarity query: \(error)")
        }
        var hits: [SearchHit] = []
        hits.reserveCapacity(matches.count)
        let scoreField = knn.scoreField  // built by interpolation: once, not per hit
        for m in matches {
            let id = UInt32(truncatingIfNeeded: m.label)
            guard Int(id) < keys.count, let key = keys[Int(id)] else { continue }
            hits.append(SearchHit(key: key, docId: id, score: 0,
                                  yielded: [(scoreField, formatDistance(m.distance))], distance: m.distance))
        }
        return hits
    }
}

/// Evaluates a query tree; collects text scores and yielded range distances on the way.
struct Evaluator {
    let index: SearchIndex
    let verbatim: Bool
    let prefixExpansion: PrefixExpansion
    var yielded: [UInt32: [(name: String, value: String)]] = [:]
    /// GEO radius matches already computed by this evaluator (or the one it was copied from): the scoring replay
    /// reads them again instead of testing every point a second time.
    var geoMatches: [GeoFilter: DocSet] = [:]
    /// Pattern expansions already computed, which the scorer asks for again (text; tag values by field).
    var expandedText: [TermPattern: [String]] = [:]
    var expandedTags: [String: [TermPattern: [Bytes]]] = [:]

    init(index: SearchIndex, verbatim: Bool, prefixExpansion: PrefixExpansion = PrefixExpansion()) {
        self.index = index
        self.verbatim = verbatim
        self.prefixExpansion = prefixExpansion
    }

    var universe: DocSet { index.live }

    /// The terms an affix, fuzzy or wildcard clause reads (SearchIndex.textExpansions), once per query.
    mutating func textExpansion(_ pattern: TermPattern) -> [String] {
        if let known = expandedText[pattern] { return known }
        let terms = index.textExpansions(pattern, prefixExpansion)
        expandedText[pattern] = terms
        return terms
    }

    /// The values a TAG pattern reads (SearchIndex.tagExpansions), once per query.
    mutating func tagExpansion(_ field: String, _ postings: [Bytes: TagPosting], _ pattern: TermPattern) -> [Bytes] {
        if let known = expandedTags[field]?[pattern] { return known }
        let values = index.tagExpansions(field, postings, pattern, prefixExpansion)
        expandedTags[field, default: [:]][pattern] = values
        return values
    }

    /// nil means "no constraint" (a query term that was a stopword); callers treat it as neutral.
    mutating func evaluate(_ node: QueryNode) throws(QueryError) -> DocSet? {
        switch node {
        case .all:
            return universe
        case .optional:
            return universe
        case .not(let inner):
            guard let set = try evaluate(inner) else { return universe }
            return set.complement(within: universe)
        case .union(let children):
            var result = DocSet(capacity: index.keys.count)
            var any = false
            for c in children { if let s = try evaluate(c) { result.formUnion(s); any = true } }
            return any ? result : nil
        case .intersection(let children):
            var result: DocSet?
            for c in children {
                guard let s = try evaluate(c) else { continue }
                if result == nil { result = s } else { result!.formIntersection(s) }
            }
            return result
        case .proximity(let children, let slop, let inOrder):
            return try proximity(children, slop: slop, inOrder: inOrder)
        case .numericRange(let field, let lo, let loEx, let hi, let hiEx):
            guard let values = index.numericValues(attribute: field) else { return try unknownField(field) }
            return values.matching { v in (loEx ? v > lo : v >= lo) && (hiEx ? v < hi : v <= hi) }  // NaN (no value) fails
        case .geo(let filter):
            if let known = geoMatches[filter] { return known }
            guard let values = index.geoValues(attribute: filter.field) else { return try unknownField(filter.field) }
            let matches = values.matching(filter.test())
            geoMatches[filter] = matches
            return matches
        case .tag(let field, let values):
            guard let i = index.definition.fields.firstIndex(where: { $0.attribute == field }),
                  case .tag(let postings, _) = index.stores[i], case .tag(_, let cs) = index.definition.fields[i].kind else {
                return try unknownField(field)
            }
            var set = DocSet(capacity: index.keys.count)
            for value in values {
                switch value.folded(caseSensitive: cs) {
                case .exact(let v):
                    postings[Bytes(v)]?.union(into: &set)
                case .pattern(let p):
                    for tag in tagExpansion(field, postings, p) { postings[tag]!.union(into: &set) }
                }
            }
            return set
        case .term(let fields, let text):
            return termSet(fields: fields, text: text, pattern: nil)
        case .expansion(let fields, let pattern):
            return termSet(fields: fields, text: "", pattern: pattern)
        case .phrase(let fields, let words):
            return phraseSet(fields: fields, words: words)
        case .vectorRange(let clause):
            return try vectorRange(clause)
        }
    }

    /// A tag or numeric clause on a field that is missing or of another type matches nothing (RediSearch 2.10).
    private func unknownField(_ field: String) throws(QueryError) -> DocSet {
        DocSet(capacity: 0)
    }

    private mutating func termSet(fields: [String]?, text: String, pattern: TermPattern?) -> DocSet? {
        let term = TextAnalyzer.asciiLowercased(text)
        if pattern == nil && index.stopwords.contains(term) { return nil }
        var set = DocSet(capacity: index.keys.count)
        let mask = index.textFieldMask(fields)
        if mask.isEmpty { return set }
        let postings = index.text.postings
        let variants = pattern.map { textExpansion($0) }
            ?? (verbatim ? [term] : [term] + index.analyzer.queryExpansions(of: term))
        for v in variants { postings[v]?.forEachLive(in: mask) { set.insert($0) } }
        return set
    }

    /// `"w1 w2 ..."`: the words at consecutive positions. RediSearch numbers a document's tokens across all its TEXT
    /// fields (schema order, no gap) and restricts a phrase to fields per term, so with `@f:` a phrase may still use
    /// a position of another field, and without it a phrase can span two fields; both are reproduced here.
    private mutating func phraseSet(fields: [String]?, words: [String]) -> DocSet? {
        let terms = words.map { TextAnalyzer.asciiLowercased($0) }.filter { !index.stopwords.contains($0) }
        guard !terms.isEmpty else { return nil }
        var set = DocSet(capacity: index.keys.count)
        let mask = index.textFieldMask(fields)
        let lists = terms.compactMap { index.text.postings[$0] }
        guard !mask.isEmpty, lists.count == terms.count else { return set }
        // The rarest word's documents are the candidates; the others are looked up by cursors moving forward.
        let driver = lists.indices.min { lists[$0].liveCount < lists[$1].liveCount }!
        var cursors = [Int](repeating: 0, count: lists.count)
        var found = [PostingList.Handle](repeating: 0, count: lists.count)
        var current: [UInt32] = [], next: [UInt32] = []
        let candidates = lists[driver]
        candidateLoop: for c in candidates.handles(in: mask) {
            let doc = candidates.entry(c).doc
            found[driver] = c
            for n in lists.indices where n != driver {
                guard let h = lists[n].handle(of: doc, cursor: &cursors[n]), lists[n].yields(h, in: mask) else {
                    continue candidateLoop
                }
                found[n] = h
            }
            // Without offsets (NOOFFSETS) RediSearch matches a phrase's words anywhere in the document.
            if index.definition.noOffsets { set.insert(doc); continue }
            // Positions are sorted: walked pairwise, the places where word n follows a run of the words before it.
            current.removeAll(keepingCapacity: true)
            lists[0].appendPositions(of: found[0], to: &current)
            for n in 1..<lists.count {
                next.removeAll(keepingCapacity: true)
                lists[n].withPositions(of: found[n]) { following in
                    var i = 0
                    for p in following {
                        while i < current.count && current[i] &+ 1 < p { i += 1 }
                        if i < current.count && current[i] &+ 1 == p { next.append(p) }
                    }
                }
                if next.isEmpty { continue candidateLoop }
                swap(&current, &next)
            }
            set.insert(doc)
        }
        return set
    }

    private mutating func vectorRange(_ clause: VectorRangeClause) throws(QueryError) -> DocSet {
        guard let i = index.definition.fields.firstIndex(where: { $0.attribute == clause.field }),
              case .vector(let v) = index.stores[i], case .vector(let p) = index.definition.fields[i].kind else {
            throw QueryError("Error parsing vector similarity query: field `\(clause.field)` is not a vector field")
        }
        guard clause.blob.count == p.vectorByteCount else {
            throw QueryError("Error parsing vector similarity query: query vector blob size (\(clause.blob.count)) does not match index's expected size (\(p.vectorByteCount)).")
        }
        let matches: [VectorMatch]
        do {
            matches = try clause.blob.withUnsafeBytes { try v.rangeSearch(query: $0, radius: Float(clause.radius), epsilon: clause.epsilon, filter: nil) }
        } catch {
            throw QueryError("Error parsing vector similarity query: \(error)")
        }
        var set = DocSet(capacity: index.keys.count)
        for m in matches {
            let id = UInt32(truncatingIfNeeded: m.label)
            set.insert(id)
            // Without $YIELD_DISTANCE_AS RediSearch returns no distance field.
            if let name = clause.yieldDistanceAs { yielded[id, default: []].append((name, formatDistance(m.distance))) }
        }
        return set
    }
}

/// The `count` best of `items` in order (`better(a, b)`: a comes first), without ordering the rest: a heap of the
/// kept ones whose root is the worst of them.
func bestFirst<T>(_ items: [T], count: Int, by better: (T, T) -> Bool) -> [T] {
    if count <= 0 { return [] }
    if count * 4 >= items.count { return Array(items.sorted(by: better).prefix(count)) }
    var heap: [T] = []
    heap.reserveCapacity(count)
    for item in items {
        if heap.count < count {
            heap.append(item)
            var i = heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard better(heap[parent], heap[i]) else { break }
                heap.swapAt(parent, i)
                i = parent
            }
        } else if better(item, heap[0]) {
            heap[0] = item
            var i = 0
            while true {
                var worst = i
                for child in (2 * i + 1)...(2 * i + 2) where child < heap.count && better(heap[worst], heap[child]) { worst = child }
                if worst == i { break }
                heap.swapAt(i, worst)
                i = worst
            }
        }
    }
    return heap.sorted(by: better)
}

/// A matched document and its score, before its hit is built (only the page's are).
struct ScoredDocument {
    var id: UInt32
    var score: Double

    /// Highest score first, ties by doc id; NaN (0 / 0: a document with no frequency at all) below every number.
    static func ranksBefore(_ a: ScoredDocument, _ b: ScoredDocument) -> Bool {
        if a.score != b.score {
            if a.score.isNaN || b.score.isNaN { return b.score.isNaN && !a.score.isNaN }
            return a.score > b.score
        }
        return a.id < b.id
    }
}

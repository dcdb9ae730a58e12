// RediSearch 2.10's scorers (TFIDF, TFIDF.DOCNORM, BM25, BM25STD, DISMAX, DOCSCORE, HAMMING) over per-document results
// shaped the way its query iterators shape them, so WITHSCORES, ADDSCORES and the default order by score agree with it.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Keyspace

/// FT.SEARCH / FT.AGGREGATE `SCORER name`. Names are case-sensitive, as in RediSearch's extension registry.
public enum TextScorer: String, Sendable, CaseIterable {
    case tfidf = "TFIDF"
    case tfidfDocNorm = "TFIDF.DOCNORM"
    case bm25 = "BM25"
    case bm25Standard = "BM25STD"
    case dismax = "DISMAX"
    case docScore = "DOCSCORE"
    case hamming = "HAMMING"

    /// The scorer called `name`, or RediSearch's error for an unknown one.
    public static func named(_ name: String) throws(QueryError) -> TextScorer {
        guard let scorer = TextScorer(rawValue: name) else { throw QueryError("No such scorer \(name)") }
        return scorer
    }
}

/// One term's inverted index as RediSearch would open it for a query: the documents that hold the term (a document's
/// frequency and offsets count all its TEXT fields; the field mask only decides whether it is read). Scoring asks for
/// documents mostly in increasing order, so the reader keeps a cursor; it belongs to one query on one thread.
final class ScoringTermReader {
    let list: PostingList
    let mask: TextFieldMask
    let weight: Double
    let idf: Double
    let bm25Idf: Double
    /// The inverted index's document count: RediSearch orders an intersection's children by it.
    var estimate: Int { list.liveCount }
    private var cursor = 0

    /// False for a NOOFFSETS index: RediSearch's term results then carry no offsets, which changes the slop.
    let hasOffsets: Bool

    init(list: PostingList, mask: TextFieldMask, weight: Double, idf: Double, bm25Idf: Double, hasOffsets: Bool) {
        self.hasOffsets = hasOffsets
        self.list = list
        self.mask = mask
        self.weight = weight
        self.idf = idf
        self.bm25Idf = bm25Idf
    }

    /// The document's entry when the reader yields it.
    func entry(_ doc: UInt32) -> PostingList.Handle? {
        guard let h = list.handle(of: doc, cursor: &cursor) else { return nil }
        return mask == .all || list.yields(h, in: mask) ? h : nil
    }

    func frequency(_ entry: PostingList.Handle) -> UInt32 { list.entry(entry).frequency }

    /// The term's positions in the document (numbered across its TEXT fields in schema order), sorted.
    /// (None in a NOOFFSETS index.)
    func withOffsets<R>(_ entry: PostingList.Handle, _ body: (UnsafeBufferPointer<UInt32>) -> R) -> R {
        hasOffsets ? list.withPositions(of: entry, body) : body(UnsafeBufferPointer(start: nil, count: 0))
    }
    func offsets(_ entry: PostingList.Handle) -> [UInt32] { withOffsets(entry) { Array($0) } }
    func appendOffsets(_ entry: PostingList.Handle, to out: inout [UInt32]) { withOffsets(entry) { out.append(contentsOf: $0) } }

    /// The entries the reader yields, in document order.
    var yieldedEntries: [PostingList.Handle] { list.handles(in: mask) }
}

/// RediSearch's iterator tree for one query, as far as scores can tell its iterators apart.
indirect enum ScoringIterator {
    case term(ScoringTermReader)
    /// A TAG value's inverted index: a term result with frequency 1 and no offsets.
    case tag(docs: TagPosting, weight: Double, idf: Double, bm25Idf: Double)
    /// `firstOnly`: a prefix expansion's union, which reports only its first matching child.
    case union([ScoringIterator], weight: Double, firstOnly: Bool)
    /// `exact`: a quoted phrase, whose children must sit at consecutive offsets in order. `proximity`: SLOP / INORDER.
    case intersection([ScoringIterator], weight: Double, exact: Bool, proximity: Proximity? = nil)
    case optional(ScoringIterator?, weight: Double)
    case not(ScoringIterator?, weight: Double)
    case wildcard
    /// `estimate`: NumEstimated when it is not the number of matches (a GEO range reads whole numeric-tree leaves).
    /// `matches`: the documents that pass `test`, when already known.
    case numeric(values: NumericColumn, test: (Double) -> Bool, estimate: Int? = nil, matches: DocSet? = nil)
    case vectorRange(DocSet)
    /// An iterator that exists but never matches (an intersection with a child that does not exist).
    case empty

    /// RediSearch's NumEstimated, which orders an intersection's children.
    func estimate(maxDocId: Int, numDocs: Int) -> Int {
        switch self {
        case .term(let r): return r.estimate
        case .tag(let docs, _, _, _): return docs.count
        case .union(let children, _, _): return children.reduce(0) { $0 + $1.estimate(maxDocId: maxDocId, numDocs: numDocs) }
        case .intersection(let children, _, _, _): return children.map { $0.estimate(maxDocId: maxDocId, numDocs: numDocs) }.min() ?? 0
        case .optional, .not: return maxDocId
        case .wildcard: return numDocs
        case .numeric(let values, let test, let estimate, let matches): return estimate ?? matches?.count ?? values.matching(test).count
        case .vectorRange(let docs): return docs.count
        case .empty: return 0
        }
    }
}

/// One result of one iterator for one document (RSIndexResult), reduced to what the scorers read.
struct ScoringResult {
    /// RSResultType's bits: an aggregate's `childKinds` is the OR of its children's.
    enum Kind: UInt8 {
        case union = 1, intersection = 2, term = 4, virtual = 8, numeric = 16, metric = 32, hybrid = 64
        var isAggregate: Bool { self == .union || self == .intersection || self == .hybrid }
        /// RSIndexResult_HasOffsets for a union or intersection whose children's kinds are `mask`: anything but purely
        /// virtual or purely numeric-and-metric results (C compares the masks for equality, so numeric alone counts).
        static func aggregateHasOffsets(_ mask: UInt8) -> Bool {
            mask != Kind.virtual.rawValue && mask != Kind.numeric.rawValue | Kind.metric.rawValue
        }
    }
    var kind: Kind
    var weight: Double
    var freq: UInt32 = 0
    var idf = 0.0
    var bm25Idf = 0.0
    /// Aggregates: the scorer's sum over the children (DISMAX: the maximum for a union, the second child for hybrid).
    var childTotal = 0.0
    var childKinds: UInt8 = 0
    /// Sorted positions, filled only where the slop is computed (the top result's children).
    /// A term result whose offsets were read (RediSearch's term results carry theirs; here only where the slop is
    /// measured). The offsets themselves live beside the result (`ScoringNode.offsets`): the result stays a plain value.
    var termHasOffsets = false

    /// RSIndexResult_HasOffsets.
    var hasOffsets: Bool {
        switch kind {
        case .term: return termHasOffsets
        case .union, .intersection:
            return Kind.aggregateHasOffsets(childKinds)
        default: return false
        }
    }
}

/// One iterator of the plan with its result for the document being scored, reused from one document to the next (the
/// offsets buffer keeps its capacity), as RediSearch's iterators reuse their result structs.
final class ScoringNode {
    /// The iterator's kind, its payload unpacked into the fields below once (a switch over the enum's payloads would
    /// retain and release them for every document).
    enum Operation { case term, tag, union, intersection, optional, not, wildcard, numeric, vectorRange, empty }
    let operation: Operation
    let weight: Double
    let firstOnly: Bool
    let reader: ScoringTermReader?
    /// A vector range's documents.
    let docs: DocSet
    /// A tag value's documents.
    let tagDocs: TagPosting
    let idf: Double, bm25Idf: Double
    let numericValues: NumericColumn?
    let numericTest: ((Double) -> Bool)?
    let children: [ScoringNode]
    var result = ScoringResult(kind: .virtual, weight: 0)
    /// The result's offsets, sorted, when they were asked for (a term's stay in its posting list: see `withOffsets`).
    var offsets: [UInt32] = []
    /// A term's entry for the document.
    var entry: PostingList.Handle = 0
    /// A union's children that matched the document, in order.
    var matched: [Int] = []
    /// A quick-exit union read through RediSearch's heap (above 20 children): which child it reports for each document
    /// (-1: none), from `HeapUnionSimulation`; nil for the others, which report their first matching child.
    var reportedChild: [Int32]?
    /// An optional's child matched the document.
    var optionalMatched = false

    init(_ iterator: ScoringIterator) {
        var weight = 0.0, firstOnly = false, reader: ScoringTermReader?, docs = DocSet(capacity: 0), idf = 0.0, bm25Idf = 0.0
        var tagDocs = TagPosting()
        var numericValues: NumericColumn?, numericTest: ((Double) -> Bool)?, children: [ScoringNode] = []
        switch iterator {
        case .term(let r): operation = .term; reader = r; weight = r.weight
        case .tag(let d, let w, let i, let b): operation = .tag; tagDocs = d; weight = w; idf = i; bm25Idf = b
        case .union(let cs, let w, let f): operation = .union; children = cs.map(ScoringNode.init); weight = w; firstOnly = f
        case .intersection(let cs, let w, _, _): operation = .intersection; children = cs.map(ScoringNode.init); weight = w
        case .optional(let c, let w): operation = .optional; children = c.map { [ScoringNode($0)] } ?? []; weight = w
        case .not(let c, let w): operation = .not; children = c.map { [ScoringNode($0)] } ?? []; weight = w
        case .wildcard: operation = .wildcard
        case .numeric(let values, let test, _, _): operation = .numeric; numericValues = values; numericTest = test
        case .vectorRange(let d): operation = .vectorRange; docs = d
        case .empty: operation = .empty
        }
        (self.weight, self.firstOnly, self.reader, self.docs, self.idf, self.bm25Idf) = (weight, firstOnly, reader, docs, idf, bm25Idf)
        (self.numericValues, self.numericTest, self.children, self.tagDocs) = (numericValues, numericTest, children, tagDocs)
    }

    /// Sets every field of the result but its offsets.
    @inline(__always)
    func set(kind: ScoringResult.Kind, weight: Double, freq: UInt32 = 0, idf: Double = 0, bm25Idf: Double = 0,
             childTotal: Double = 0, childKinds: UInt8 = 0) {
        result.kind = kind
        result.weight = weight
        result.freq = freq
        result.idf = idf
        result.bm25Idf = bm25Idf
        result.childTotal = childTotal
        result.childKinds = childKinds
        result.termHasOffsets = false
    }

    /// Appends the result's offsets (a term's from its posting list).
    func appendOffsets(to out: inout [UInt32]) {
        if operation == .term { reader!.appendOffsets(entry, to: &out) } else { out.append(contentsOf: offsets) }
    }

    /// The result's offsets in place.
    func withOffsets<R>(_ body: (UnsafeBufferPointer<UInt32>) -> R) -> R {
        operation == .term ? reader!.withOffsets(entry, body) : offsets.withUnsafeBufferPointer(body)
    }

    /// Whether the node's result can have children the slop is measured between.
    var measuresSlop: Bool {
        switch operation {
        case .union, .intersection: return true
        case .optional: return children.first?.measuresSlop ?? false
        default: return false
        }
    }

    /// The children the slop is measured between: a union's matched children, an intersection's children, or those
    /// of an optional's matched child.
    var slopChildCount: Int {
        switch operation {
        case .union: return matched.count
        case .intersection: return children.count
        case .optional: return optionalMatched ? children[0].slopChildCount : 0
        default: return 0
        }
    }
}

/// Scores the documents a query matched, one at a time, for one index under its read lock.
struct DocumentScorer {
    let scorer: TextScorer
    let root: ScoringIterator?
    /// The plan as nodes holding each iterator's result for the document being scored (`ScoringNode`).
    let rootNode: ScoringNode?
    /// The slop is measured (the scorer divides by it and the top result has children to measure it between).
    let rootNeedsOffsets: Bool
    /// KNN with a filter: the result is RediSearch's hybrid (the vector's metric, then the filter's result).
    let hybrid: Bool
    let stats: DocScoreStats
    let documentScore: Double
    let averageLength: Double

    /// `evaluator` evaluates VECTOR_RANGE clauses again (on a copy: its yielded distances stay the caller's).
    init(index: SearchIndex, scorer: TextScorer, tree: ParseNode?, verbatim: Bool, hybrid: Bool, evaluator: Evaluator) {
        self.scorer = scorer
        self.hybrid = hybrid
        stats = index.scoreStats
        documentScore = index.definition.defaultScore
        averageLength = index.numDocs > 0 ? Double(index.scoreStats.totalLength) / Double(index.numDocs) : 0
        if var tree {
            if !verbatim { QueryExplain.expand(&tree, index.analyzer) }
            var builder = ScoringPlanBuilder(index: index, evaluator: evaluator)
            root = builder.iterator(tree)
        } else {
            root = nil
        }
        rootNode = root.map(ScoringNode.init)
        if let root, let rootNode { HeapUnionSimulation.annotate(rootNode, root, maxDocId: index.maxDocId) }
        rootNeedsOffsets = Self.dividesBySlop(scorer) && rootNode.map(\.measuresSlop) == true
    }

    /// The document's score; 0 when the plan does not reach it.
    func score(_ doc: UInt32) -> Double {
        switch scorer {
        case .docScore: return documentScore
        case .hamming: return 0  // payloads are not kept: RediSearch scores a document without one 0
        default: break
        }
        if hybrid {
            // RediSearch's hybrid result: the vector's metric (frequency 0), then the filter's result. The metric has
            // no offsets, so the slop between the two is always 1.
            let metric = ScoringResult(kind: .metric, weight: 1)
            guard let rootNode, evaluate(rootNode, doc, offsets: false) else { return finalScore(metric, slop: 1, doc) }
            var top = ScoringResult(kind: .hybrid, weight: 1)
            top.childTotal = combine([metric, rootNode.result], kind: .hybrid, doc)
            top.childKinds = metric.kind.rawValue | rootNode.result.kind.rawValue
            return finalScore(top, slop: 1, doc)
        }
        guard let rootNode, evaluate(rootNode, doc, offsets: false, childOffsets: rootNeedsOffsets) else { return 0 }
        let slop = rootNeedsOffsets ? minOffsetDelta(rootNode) : 1
        return finalScore(rootNode.result, slop: slop, doc)
    }

    /// The documents the plan's SLOP / INORDER intersections let through when their words' offsets depend on how
    /// RediSearch's iterators reached a document (a union holding one child's offsets after a skip): nil when the
    /// per-document evaluation is exact (no proximity check, or none over a union or optional clause).
    func replayedDocuments(maxDocId: Int, numDocs: Int) -> DocSet? {
        guard let root, ReplayBuilder.needsReplay(root), ReplayBuilder.checksProximity(root) else { return nil }
        let top = ReplayBuilder(maxDocId: UInt32(maxDocId), numDocs: numDocs).iterator(root)
        var documents = DocSet(capacity: maxDocId + 1)
        for _ in 0..<(4 * (maxDocId + 2)) {
            let (status, record) = top.read()
            if status == .eof { break }
            if status == .ok, let record { documents.insert(record.docId) }
        }
        return documents
    }

    /// Scores taken from a replay of RediSearch's iterators (ScoringReplay.swift), for plans where the order of its
    /// reads changes what a result holds; nil for every other plan (`score` is exact there).
    func replayedScores(maxDocId: Int, numDocs: Int) -> [UInt32: Double]? {
        guard !hybrid, scorer != .docScore, scorer != .hamming, let root, ReplayBuilder.needsReplay(root) else { return nil }
        let top = ReplayBuilder(maxDocId: UInt32(maxDocId), numDocs: numDocs).iterator(root)
        var scores: [UInt32: Double] = [:]
        // Every read moves past at least one id; the bound only guards against a replay that would not.
        for _ in 0..<(4 * (maxDocId + 2)) {
            let (status, record) = top.read()
            if status == .eof { break }
            guard status == .ok, let record else { continue }
            let doc = record.docId
            let result = converted(record, doc, offsets: false)
            var slop: Int32 = 1
            if usesSlop && record.kind.isAggregate {
                let children = record.children.map { converted($0, doc, offsets: true) }
                let offsets = record.children.map(\.allOffsets)
                slop = Self.minOffsetDelta(count: children.count, hasOffsets: { children[$0].hasOffsets }) { a, b in
                    offsets[a].withUnsafeBufferPointer { v1 in offsets[b].withUnsafeBufferPointer { v2 in Self.closestDistance(v1, v2) } }
                }
            }
            scores[doc] = finalScore(result, slop: slop, doc)
        }
        return scores
    }

    private func converted(_ r: ReplayRecord, _ doc: UInt32, offsets: Bool) -> ScoringResult {
        var s = ScoringResult(kind: r.kind, weight: r.weight)
        s.freq = r.freq
        s.idf = r.idf
        s.bm25Idf = r.bm25Idf
        s.childKinds = r.typeMask
        if r.kind.isAggregate { s.childTotal = combine(r.children.map { converted($0, doc, offsets: false) }, kind: r.kind, doc) }
        if offsets && r.kind == .term { s.termHasOffsets = !r.allOffsets.isEmpty }
        return s
    }

    /// `slop`: IndexResult_MinOffsetDelta of the top result's children (TFIDF, TFIDF.DOCNORM and BM25 divide by it).
    private func finalScore(_ top: ScoringResult, slop: Int32, _ doc: UInt32) -> Double {
        let raw = contribution(top, doc)
        switch scorer {
        case .tfidf, .tfidfDocNorm:
            if documentScore == 0 { return 0 }
            let norm = scorer == .tfidf ? stats.maxFreq(of: doc) : stats.length(of: doc)
            return documentScore * raw / Double(norm) / Double(slop)
        case .bm25:
            return documentScore * raw / Double(slop)
        case .bm25Standard:
            return documentScore * raw
        default:
            return raw
        }
    }

    private var usesSlop: Bool { Self.dividesBySlop(scorer) }
    private static func dividesBySlop(_ scorer: TextScorer) -> Bool { scorer == .tfidf || scorer == .tfidfDocNorm || scorer == .bm25 }

    private func combine(_ children: [ScoringResult], kind: ScoringResult.Kind, _ doc: UInt32) -> Double {
        if scorer == .dismax {
            if kind == .hybrid { return children.count > 1 ? dismax(children[1]) : 0 }
            if kind == .union { return children.reduce(0.0) { max($0, dismax($1)) } }
        }
        var total = 0.0
        for c in children { total += contribution(c, doc) }
        return total
    }

    private func dismax(_ r: ScoringResult) -> Double {
        switch r.kind {
        case .hybrid: return r.childTotal
        case .union, .intersection: return r.weight * r.childTotal
        default: return r.weight * Double(r.freq)
        }
    }

    /// What a result adds to its parent (the scorer's recursive function); BM25STD reads the document's length.
    private func contribution(_ r: ScoringResult, _ doc: UInt32) -> Double {
        let f = Double(r.freq)
        switch scorer {
        case .tfidf, .tfidfDocNorm:
            switch r.kind {
            case .term: return r.weight * f * r.idf
            case .union, .intersection, .hybrid: return r.weight * r.childTotal
            default: return r.weight * f
            }
        case .bm25:
            let k1: Float = 1.2, b: Float = 0.5
            let denominator = f + Double(k1) * (Double(1 - b) + Double(b) * averageLength)
            switch r.kind {
            case .term: return r.idf * f / denominator
            case .union, .intersection, .hybrid: return r.childTotal * r.weight
            default: return r.freq != 0 ? r.weight * f / denominator : 0
            }
        case .bm25Standard:
            switch r.kind {
            case .term: return bm25Standard(idf: r.bm25Idf, f: f, doc: doc)
            case .union, .intersection, .hybrid: return r.childTotal * r.weight
            case .virtual where r.freq != 0 && r.weight != 0: return r.weight * bm25Standard(idf: 1, f: 1, doc: doc)
            default: return 0
            }
        case .dismax:
            return dismax(r)
        case .docScore, .hamming:
            return 0
        }
    }

    /// Okapi BM25 as RediSearch computes it (float constants, the document's length in float).
    private func bm25Standard(idf: Double, f: Double, doc: UInt32) -> Double {
        let k1: Float = 1.2, b: Float = 0.5
        let length = Float(stats.length(of: doc))
        return idf * f * Double(k1 + 1) / (f + Double(k1) * (Double(1 - b) + Double(b * length) / averageLength))
    }

    /// Fills `node.result` with the iterator's result for the document (offsets too when `wantOffsets`); false when
    /// the iterator does not match it. Children are evaluated into their own nodes: nothing is allocated per document.
    /// `childOffsets`: the children's offsets are wanted (the slop is measured between them) but not the node's own.
    private func evaluate(_ node: ScoringNode, _ doc: UInt32, offsets wantOffsets: Bool, childOffsets: Bool = false) -> Bool {
        if !node.offsets.isEmpty { node.offsets.removeAll(keepingCapacity: true) }
        switch node.operation {
        case .term:
            let reader = node.reader!
            guard let entry = reader.entry(doc) else { return false }
            node.set(kind: .term, weight: reader.weight, freq: reader.frequency(entry), idf: reader.idf, bm25Idf: reader.bm25Idf)
            node.entry = entry  // its offsets are read in place, from the posting list
            node.result.termHasOffsets = wantOffsets && reader.hasOffsets
            return true
        case .tag:
            guard node.tagDocs.contains(doc) else { return false }
            node.set(kind: .term, weight: node.weight, freq: 1, idf: node.idf, bm25Idf: node.bm25Idf)
            return true
        case .union:
            node.matched.removeAll(keepingCapacity: true)
            var kinds: UInt8 = 0, total = 0.0
            // A quick-exit union whose reported child is known reads only that one.
            var candidates = node.children.indices
            if let reported = node.reportedChild {
                let i = Int(doc) < reported.count ? Int(reported[Int(doc)]) : -1
                guard i >= 0 else { return false }
                candidates = i..<(i + 1)
            }
            for i in candidates {
                let c = node.children[i]
                guard evaluate(c, doc, offsets: wantOffsets || childOffsets) else { continue }
                node.matched.append(i)
                kinds |= c.result.kind.rawValue
                if scorer == .dismax { total = max(total, dismax(c.result)) } else { total += contribution(c.result, doc) }
                if wantOffsets { c.appendOffsets(to: &node.offsets) }
                if node.firstOnly { break }
            }
            guard !node.matched.isEmpty else { return false }
            node.set(kind: .union, weight: node.weight, childTotal: total, childKinds: kinds)
            if wantOffsets { node.offsets.sort() }
            return true
        case .intersection:
            var kinds: UInt8 = 0, total = 0.0
            for c in node.children {
                guard evaluate(c, doc, offsets: wantOffsets || childOffsets) else { return false }
                kinds |= c.result.kind.rawValue
                total += scorer == .dismax ? dismax(c.result) : contribution(c.result, doc)
                if wantOffsets { c.appendOffsets(to: &node.offsets) }
            }
            node.set(kind: .intersection, weight: node.weight, childTotal: total, childKinds: kinds)
            if wantOffsets { node.offsets.sort() }
            return true
        case .optional:
            if let child = node.children.first, evaluate(child, doc, offsets: wantOffsets, childOffsets: childOffsets) {
                // RediSearch's optional iterator puts its own weight on the child's result.
                node.result = child.result
                node.result.weight = node.weight
                node.optionalMatched = true
                if wantOffsets { child.appendOffsets(to: &node.offsets) }
                return true
            }
            node.optionalMatched = false
            node.set(kind: .virtual, weight: 0, freq: 1)
            return true
        case .not:
            if let child = node.children.first, evaluate(child, doc, offsets: false) { return false }
            node.set(kind: .virtual, weight: node.weight)
            return true
        case .wildcard:
            node.set(kind: .virtual, weight: 1, freq: 1)
            return true
        case .numeric:
            let v = node.numericValues![Int(doc)]  // NaN past the end and where the document has no value
            guard !v.isNaN, node.numericTest!(v) else { return false }
            node.set(kind: .numeric, weight: 1, freq: 1)
            return true
        case .vectorRange:
            guard node.docs.contains(doc) else { return false }
            node.set(kind: .metric, weight: 1)
            return true
        case .empty:
            return false
        }
    }

    /// IndexResult_MinOffsetDelta, C integer arithmetic included, over an aggregate's `n` children: the closest
    /// distance (`distance(i, j)`) between consecutive children that have offsets, root of the sum of squares; 1 when
    /// there is nothing to measure.
    private static func minOffsetDelta(count n: Int, hasOffsets: (Int) -> Bool, distance: (Int, Int) -> Int32) -> Int32 {
        guard n > 1 else { return 1 }
        var dist: Int32 = 0
        var i = 0
        while i < n {
            while i < n && !hasOffsets(i) { i += 1 }
            if i == n { break }
            let first = i
            i += 1
            while i < n && !hasOffsets(i) { i += 1 }
            if i == n { break }
            let cd = distance(first, i)
            dist = dist &+ cd &* cd
        }
        return slop(dist, children: n)
    }

    /// `minOffsetDelta` over the plan's top node and its slop children, reading their offsets in place. The same walk
    /// as above, written out: through the closures it cost ~10% of an intersection's scoring (same-run A/B).
    private func minOffsetDelta(_ top: ScoringNode) -> Int32 {
        guard top.result.kind.isAggregate else { return 1 }
        var parent = top
        while parent.operation == .optional {
            guard parent.optionalMatched else { return 1 }
            parent = parent.children[0]
        }
        let n = parent.slopChildCount
        guard n > 1 else { return 1 }
        let children = parent.children, matched = parent.matched, isUnion = parent.operation == .union
        var dist: Int32 = 0
        var i = 0
        while i < n {
            while i < n && !children[isUnion ? matched[i] : i].result.hasOffsets { i += 1 }
            if i == n { break }
            let first = children[isUnion ? matched[i] : i]
            i += 1
            while i < n && !children[isUnion ? matched[i] : i].result.hasOffsets { i += 1 }
            if i == n { break }
            let second = children[isUnion ? matched[i] : i]
            let cd = first.withOffsets { v1 in second.withOffsets { v2 in Self.closestDistance(v1, v2) } }
            dist = dist &+ cd &* cd
        }
        return Self.slop(dist, children: n)
    }

    /// The smallest distance between an offset of `v1` and one of `v2` (both sorted), as RediSearch's loop finds it:
    /// it stops at 1 and starts from the first offsets' distance.
    private static func closestDistance(_ v1: UnsafeBufferPointer<UInt32>, _ v2: UnsafeBufferPointer<UInt32>) -> Int32 {
        let end = UInt32.max
        var a = 0, b = 0
        var p1 = v1.first ?? end, p2 = v2.first ?? end
        var cd = Int32(truncatingIfNeeded: p1 > p2 ? p1 - p2 : p2 - p1)
        while cd > 1 && p1 != end && p2 != end {
            cd = min(Int32(truncatingIfNeeded: p1 > p2 ? p1 - p2 : p2 - p1), cd)
            if p2 > p1 { a += 1; p1 = a < v1.count ? v1[a] : end } else { b += 1; p2 = b < v2.count ? v2[b] : end }
        }
        return cd
    }

    /// The root of the summed squares (C's int conversion), or children - 1 when nothing was measured.
    private static func slop(_ dist: Int32, children n: Int) -> Int32 {
        if dist == 0 { return Int32(truncatingIfNeeded: n - 1) }
        let root = sqrt(Double(dist))
        return root.isNaN ? Int32.min : Int32(root)
    }
}

/// Turns the (expanded) parse tree into RediSearch's iterator tree: terms that do not exist drop out, unions of one
/// collapse into their child, intersections order their children by estimated size.
struct ScoringPlanBuilder {
    let index: SearchIndex
    var evaluator: Evaluator
    let docTableSize: Double

    init(index: SearchIndex, evaluator: Evaluator) {
        self.index = index
        self.evaluator = evaluator
        docTableSize = Double(index.numDocs + 1)  // RediSearch's doc table counts from 1
    }

    /// RediSearch's CalculateIDF: logb(1 + N / df), N being the doc table's size.
    func idf(_ df: Int) -> Double { logb(1 + docTableSize / Double(max(df, 1))) }

    /// CalculateIDF_BM25, in the float arithmetic RediSearch's mixed size_t / float expression ends up in.
    func bm25Idf(_ df: Int) -> Double {
        let total = UInt64(index.numDocs), term = UInt64(max(df, 0))
        let numerator = Float(total &- term) + Float(0.5)
        return log(Double(Float(1) + numerator / (Float(term) + Float(0.5))))
    }

    func termReader(_ term: String, fields: [String]?, weight: Double) -> ScoringTermReader? {
        guard let list = index.text.postings[term] else { return nil }
        let df = list.liveCount
        return ScoringTermReader(list: list, mask: index.textFieldMask(fields), weight: weight, idf: idf(df), bm25Idf: bm25Idf(df),
                                 hasOffsets: !index.definition.noOffsets)
    }

    mutating func iterator(_ n: ParseNode) -> ScoringIterator? {
        switch n.kind {
        case .token(let text):
            return termReader(TextAnalyzer.asciiLowercased(text), fields: n.fields, weight: n.weight).map { .term($0) }
        case .prefix, .fuzzy, .wildcardPattern:
            let terms = evaluator.textExpansion(n.termPattern!)
            let readers = terms.compactMap { termReader($0, fields: n.fields, weight: n.weight) }
            return readers.isEmpty ? nil : .union(readers.map { .term($0) }, weight: n.weight, firstOnly: true)
        case .phrase(let exact):
            if n.children.count == 1 { return iterator(n.children[0]) }
            var children: [ScoringIterator] = []
            for c in n.children {
                guard let it = iterator(c) else { return .empty }
                children.append(it)
            }
            if !exact && !n.inOrder { children = sortedByEstimate(children) }
            // Without offsets (NOOFFSETS) RediSearch cannot check a phrase's adjacency and matches its words anywhere.
            let slop = n.effectiveSlop
            return .intersection(children, weight: n.weight, exact: exact && !index.definition.noOffsets,
                                 proximity: !exact && slop >= 0 ? Proximity(slop: slop, inOrder: n.inOrder) : nil)
        case .union:
            if n.children.count == 1 { return iterator(n.children[0]) }
            let children = n.children.compactMap { iterator($0) }
            if children.isEmpty { return nil }
            if children.count == 1 { return children[0] }
            return .union(children, weight: n.weight, firstOnly: false)
        case .not:
            return .not(n.children.first.flatMap { iterator($0) }, weight: n.weight)
        case .optional:
            return .optional(n.children.first.flatMap { iterator($0) }, weight: n.weight)
        case .tag(let field):
            return tagIterator(n, field: field)
        case .numeric(let lo, let loInclusive, let hi, let hiInclusive, let field):
            guard let values = index.numericValues(attribute: field) else { return nil }
            let test: (Double) -> Bool = { v in (loInclusive ? v >= lo : v > lo) && (hiInclusive ? v <= hi : v < hi) }
            // RediSearch reads the leaves of its range tree that meet [lo, hi]: one is a plain numeric iterator,
            // several a union of them (which counts as having offsets); their sizes are its estimate.
            let read = index.numericRead(attribute: field, lo, hi)
            let numeric = ScoringIterator.numeric(values: values, test: test, estimate: read.estimate)
            return read.isUnion ? .union([numeric], weight: 1, firstOnly: true) : numeric
        case .geo(let filter):
            // A union (quick exit) of numeric ranges over the geohashes, usually (SearchIndex.geoRead): its empty
            // offsets change the slop of an intersection around it.
            guard let values = index.geoValues(attribute: filter.field) else { return nil }
            let read = index.geoRead(filter)
            let numeric = ScoringIterator.numeric(values: values, test: filter.test(), estimate: read.estimate,
                                                  matches: evaluator.geoMatches[filter])
            return read.isUnion ? .union([numeric], weight: 1, firstOnly: true) : numeric
        case .vector(let info):
            guard !info.isKNN, let clause = try? info.rangeClause(),
                  let set = try? evaluator.evaluate(.vectorRange(clause)) else { return nil }
            return .vectorRange(set)
        case .wildcard:
            return .wildcard
        case .missing, .null:
            return nil
        }
    }

    /// A TAG node: one reader per value (a prefix value: the union of the tags it matches); a single value stands
    /// alone, several make a union even when only one of them exists.
    private mutating func tagIterator(_ n: ParseNode, field: String) -> ScoringIterator? {
        guard let i = index.definition.fields.firstIndex(where: { $0.attribute == field }),
              case .tag(let postings, _) = index.stores[i], case .tag(_, let caseSensitive) = index.definition.fields[i].kind,
              let values = try? n.loweredTagValues() else { return nil }
        func reader(_ docs: TagPosting) -> ScoringIterator {
            .tag(docs: docs, weight: n.weight, idf: idf(docs.count), bm25Idf: bm25Idf(docs.count))
        }
        var readers: [ScoringIterator] = []
        for value in values {
            switch value.folded(caseSensitive: caseSensitive) {
            case .pattern(let p):
                // One matching value is read alone, several as a union (Query_EvalTagPrefixNode).
                let matching = evaluator.tagExpansion(field, postings, p).map { reader(postings[$0]!) }
                if matching.count == 1 { readers.append(matching[0]) }
                if matching.count > 1 { readers.append(.union(matching, weight: n.weight, firstOnly: true)) }
            case .exact(let v):
                if let docs = postings[Bytes(v)] {
                    readers.append(reader(docs))
                } else if values.count == 1 {
                    return nil
                }
            }
        }
        if values.count == 1 { return readers.first }
        return readers.isEmpty ? nil : .union(readers, weight: n.weight, firstOnly: false)
    }

    /// NewIntersectIterator's qsort by NumEstimated (stable here, as glibc's merge sort is); an intersection child
    /// counts as 0 (its estimate is multiplied by 1 / children in integer arithmetic).
    private func sortedByEstimate(_ children: [ScoringIterator]) -> [ScoringIterator] {
        let maxDocId = index.maxDocId, numDocs = index.numDocs
        let keyed = children.enumerated().map { (i, c) -> (Int, Int, ScoringIterator) in
            if case .intersection(let cs, _, _, _) = c, cs.count > 1 { return (0, i, c) }
            if case .empty = c { return (-1, i, c) }
            return (c.estimate(maxDocId: maxDocId, numDocs: numDocs), i, c)
        }
        return keyed.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map { $0.2 }
    }
}

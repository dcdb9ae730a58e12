// SLOP / INORDER: which documents of an intersection hold its words close enough (RediSearch's IndexResult_IsWithinRange).

/// An intersection's SLOP / INORDER check: offsets at most `slop` apart (Int32.max: order only), in order if `inOrder`.
struct Proximity {
    let slop: Int
    let inOrder: Bool
}

/// What RediSearch's iterator for a query node yields for one document, as far as the slop check reads it: the
/// result's type (RSResultType bits), whether it counts as having offsets, and its offsets merged in order.
struct OffsetResult {
    static let term: UInt8 = 1, virtual: UInt8 = 2, union: UInt8 = 4, intersection: UInt8 = 8, numeric: UInt8 = 16,
               metric: UInt8 = 32
    var type: UInt8
    var hasOffsets: Bool
    var offsets: [UInt32] = []

    /// An aggregate of `children` (intersection or union): RSIndexResult_HasOffsets is true unless every child is
    /// virtual or the children are exactly numeric and metric ones; the offsets are all the children's, merged.
    static func aggregate(_ type: UInt8, _ children: [OffsetResult]) -> OffsetResult {
        let mask = children.reduce(UInt8(0)) { $0 | $1.type }
        var offsets = children.flatMap(\.offsets)
        offsets.sort()
        return OffsetResult(type: type, hasOffsets: mask != virtual && mask != numeric | metric, offsets: offsets)
    }
}

/// A query node with the documents it matches, computed once for a whole slop check (nil: a stopword).
final class PreparedNode {
    let node: QueryNode
    let matches: DocSet?
    let children: [PreparedNode]
    init(node: QueryNode, matches: DocSet?, children: [PreparedNode]) { self.node = node; self.matches = matches; self.children = children }
    func contains(_ doc: UInt32) -> Bool { matches?.contains(doc) ?? false }
}

extension Evaluator {
    /// The documents of the intersection of `children` whose offsets pass the slop check.
    mutating func proximity(_ children: [QueryNode], slop: Int, inOrder: Bool) throws(QueryError) -> DocSet? {
        var present: [PreparedNode] = []
        var candidates: DocSet?
        for c in children {
            let prepared = try prepare(c)
            guard let s = prepared.matches else { continue }  // a stopword: not part of RediSearch's intersection
            present.append(prepared)
            if candidates == nil { candidates = s } else { candidates!.formIntersection(s) }
        }
        guard let candidates else { return nil }
        if present.count <= 1 { return candidates }
        var kept = DocSet(capacity: index.keys.count)
        for doc in candidates.ids {
            let lists = present.compactMap { offsetResult($0, doc) }.filter(\.hasOffsets).map(\.offsets)
            if Self.withinRange(lists, slop: slop, inOrder: inOrder) { kept.insert(doc) }
        }
        return kept
    }

    private mutating func prepare(_ node: QueryNode) throws(QueryError) -> PreparedNode {
        var children: [PreparedNode] = []
        switch node {
        case .optional(let inner), .not(let inner): children = [try prepare(inner)]
        case .union(let cs), .intersection(let cs), .proximity(let cs, _, _):
            for c in cs { children.append(try prepare(c)) }
        default: break
        }
        return PreparedNode(node: node, matches: try evaluate(node), children: children)
    }

    /// The node's result for `doc`, nil when it does not match the document (or is a stopword).
    private func offsetResult(_ p: PreparedNode, _ doc: UInt32) -> OffsetResult? {
        let virtual = OffsetResult(type: OffsetResult.virtual, hasOffsets: false)
        switch p.node {
        case .all, .not:
            return p.contains(doc) ? virtual : nil
        case .optional:
            return p.children.first.flatMap { offsetResult($0, doc) } ?? virtual
        case .term(let fields, let text):
            let term = TextAnalyzer.asciiLowercased(text)
            if index.stopwords.contains(term) { return nil }
            let variants = verbatim ? [term] : [term] + index.analyzer.queryExpansions(of: term)
            return termsResult(variants, fields: fields, doc: doc, firstOnly: false)
        case .prefix(let fields, let text):
            let expansions = index.text.expansions(ofPrefix: TextAnalyzer.asciiLowercased(text), prefixExpansion)
            return termsResult(expansions, fields: fields, doc: doc, firstOnly: true)
        case .phrase(let fields, let words):
            guard p.contains(doc) else { return nil }
            let terms = words.map { TextAnalyzer.asciiLowercased($0) }.filter { !index.stopwords.contains($0) }
            let results = terms.compactMap { termsResult([$0], fields: fields, doc: doc, firstOnly: false) }
            return results.count == 1 ? results[0] : OffsetResult.aggregate(OffsetResult.intersection, results)
        case .intersection, .proximity:
            guard p.contains(doc) else { return nil }
            let results = p.children.compactMap { offsetResult($0, doc) }
            return results.count == 1 ? results[0] : OffsetResult.aggregate(OffsetResult.intersection, results)
        case .union:
            let results = p.children.compactMap { offsetResult($0, doc) }
            if results.isEmpty { return nil }
            return p.children.count == 1 ? results[0] : OffsetResult.aggregate(OffsetResult.union, results)
        case .tag(_, let values):
            guard p.contains(doc) else { return nil }
            // One tag is a term result without offsets; several make a union, which counts as having (no) offsets.
            return values.count == 1 ? OffsetResult(type: OffsetResult.term, hasOffsets: false)
                : OffsetResult(type: OffsetResult.union, hasOffsets: true)
        case .numericRange:
            return p.contains(doc) ? OffsetResult(type: OffsetResult.numeric, hasOffsets: false) : nil
        case .geo:
            // A union of numeric ranges (see ScoringPlanBuilder): it counts as having offsets, and has none.
            return p.contains(doc) ? OffsetResult(type: OffsetResult.union, hasOffsets: true) : nil
        case .vectorRange:
            return p.contains(doc) ? OffsetResult(type: OffsetResult.metric, hasOffsets: false) : nil
        }
    }

    /// A term and its expansions (or a prefix's terms): RediSearch's union of the terms that exist, or the term alone
    /// when only one does. `firstOnly`: a prefix's union reports only the first term that matches.
    private func termsResult(_ terms: [String], fields: [String]?, doc: UInt32, firstOnly: Bool) -> OffsetResult? {
        let mask = index.textFieldMask(fields)
        if mask.isEmpty { return nil }
        let lists = terms.compactMap { index.text.postings[$0] }
        var matched: [OffsetResult] = []
        for list in lists {
            guard let h = list.handle(of: doc), list.yields(h, in: mask) else { continue }
            var offsets: [UInt32] = []
            // A NOOFFSETS index keeps positions for our own phrase checks; RediSearch's records have none.
            if !index.definition.noOffsets { list.appendPositions(of: h, to: &offsets) }
            matched.append(OffsetResult(type: OffsetResult.term, hasOffsets: !offsets.isEmpty, offsets: offsets))
            if firstOnly { break }
        }
        if matched.isEmpty { return nil }
        return lists.count == 1 ? matched[0] : OffsetResult.aggregate(OffsetResult.union, matched)
    }

    /// IndexResult_IsWithinRange over the offsets of the children that have them (each sorted).
    static func withinRange(_ lists: [[UInt32]], slop: Int, inOrder: Bool) -> Bool {
        let n = lists.count
        if n == 0 { return true }
        let end = UInt32.max
        var cursor = [Int](repeating: 0, count: n)
        func next(_ i: Int) -> UInt32 {
            guard cursor[i] < lists[i].count else { return end }
            defer { cursor[i] += 1 }
            return lists[i][cursor[i]]
        }
        var positions = [UInt32](repeating: 0, count: n)
        // C's (int) of an offset: the end marker is -1.
        func signed(_ p: UInt32) -> Int { Int(Int32(bitPattern: p)) }
        if inOrder {
            while true {
                var span = 0
                for i in 0..<n {
                    var pos = i > 0 ? positions[i] : next(0)
                    let last = i > 0 ? positions[i - 1] : 0
                    while pos != end && pos < last { pos = next(i) }
                    if pos == end { return false }
                    positions[i] = pos
                    if i > 0 {
                        span += signed(pos) - signed(last) - 1
                        if span > slop { break }
                    }
                }
                if span <= slop { return true }
            }
        }
        for i in 0..<n { positions[i] = next(i) }
        var maxIndex = 0
        for i in 1..<max(n, 1) where positions[i] >= positions[maxIndex] { maxIndex = i }
        var maximum = positions[maxIndex]
        while true {
            var minIndex = 0
            for i in 1..<max(n, 1) where positions[i] < positions[minIndex] { minIndex = i }
            let minimum = positions[minIndex]
            if minimum != maximum && signed(maximum) - signed(minimum) - (n - 1) <= slop { return true }
            positions[minIndex] = next(minIndex)
            if positions[minIndex] == end { return false }
            if positions[minIndex] > maximum { maxIndex = minIndex; maximum = positions[minIndex] }
        }
    }
}

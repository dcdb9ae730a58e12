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

/// A query node with the documents it matches, computed once for a whole slop check (nil: a stopword). Text nodes
/// also keep their terms' posting lists (a phrase: one group per word), read with cursors that only move forward, as
/// the candidate documents come in id order.
final class PreparedNode {
    let node: QueryNode
    let matches: DocSet?
    let children: [PreparedNode]
    /// Term, prefix: one group (the term's forms, or the prefix's terms); phrase: one group per word.
    var groups: [[PostingList]] = []
    var cursors: [[Int]] = []
    var mask = TextFieldMask.all
    /// A numeric range RediSearch reads from several leaves of its tree: a union, which counts as having offsets.
    var readsSeveralRanges = false
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
        var lists = OffsetLists()
        candidates.forEach { doc in
            lists.removeAll()
            for p in present {
                if case .term = p.node, p.groups[0].count == 1 {
                    // A word with one form (most words): its positions straight from the posting list, no copies.
                    let list = p.groups[0][0]
                    guard !index.definition.noOffsets, let h = list.handle(of: doc, cursor: &p.cursors[0][0]) else { continue }
                    list.withPositions(of: h) { lists.append($0) }
                } else if let r = offsetResult(p, doc), r.hasOffsets {
                    r.offsets.withUnsafeBufferPointer { lists.append($0) }
                }
            }
            if lists.withinRange(slop: slop, inOrder: inOrder) { kept.insert(doc) }
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
        let prepared = PreparedNode(node: node, matches: try evaluate(node), children: children)
        let postings = index.text.postings
        switch node {
        case .term(let fields, let text):
            let term = TextAnalyzer.asciiLowercased(text)
            let forms = verbatim ? [term] : [term] + index.analyzer.queryExpansions(of: term)
            prepared.groups = [forms.compactMap { postings[$0] }]
            prepared.mask = index.textFieldMask(fields)
        case .expansion(let fields, let pattern):
            let terms = textExpansion(pattern)
            prepared.groups = [terms.compactMap { postings[$0] }]
            prepared.mask = index.textFieldMask(fields)
        case .phrase(let fields, let words):
            let terms = words.map { TextAnalyzer.asciiLowercased($0) }.filter { !index.stopwords.contains($0) }
            prepared.groups = terms.compactMap { postings[$0].map { [$0] } }
            prepared.mask = index.textFieldMask(fields)
        case .numericRange(let field, let lo, _, let hi, _):
            prepared.readsSeveralRanges = index.numericRead(attribute: field, lo, hi).isUnion
        case .geo(let filter):
            prepared.readsSeveralRanges = index.geoRead(filter).isUnion
        default: break
        }
        prepared.cursors = prepared.groups.map { Array(repeating: 0, count: $0.count) }
        return prepared
    }

    /// The node's result for `doc`, nil when it does not match the document (or is a stopword).
    private func offsetResult(_ p: PreparedNode, _ doc: UInt32) -> OffsetResult? {
        let virtual = OffsetResult(type: OffsetResult.virtual, hasOffsets: false)
        switch p.node {
        case .all, .not:
            return p.contains(doc) ? virtual : nil
        case .optional:
            return p.children.first.flatMap { offsetResult($0, doc) } ?? virtual
        case .term:
            guard p.matches != nil else { return nil }
            return termsResult(p, group: 0, doc: doc, firstOnly: false)
        case .expansion:
            return termsResult(p, group: 0, doc: doc, firstOnly: true)
        case .phrase:
            guard p.contains(doc) else { return nil }
            let results = p.groups.indices.compactMap { termsResult(p, group: $0, doc: doc, firstOnly: false) }
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
        case .numericRange, .geo:
            // Several ranges of RediSearch's tree make a union, which counts as having offsets and has none.
            guard p.contains(doc) else { return nil }
            return p.readsSeveralRanges ? OffsetResult(type: OffsetResult.union, hasOffsets: true)
                : OffsetResult(type: OffsetResult.numeric, hasOffsets: false)
        case .vectorRange:
            return p.contains(doc) ? OffsetResult(type: OffsetResult.metric, hasOffsets: false) : nil
        }
    }

    /// One group of a text node's terms: RediSearch's union of the terms that exist, or the term alone when only one
    /// does. `firstOnly`: a prefix's union reports only the first term that matches.
    private func termsResult(_ p: PreparedNode, group g: Int, doc: UInt32, firstOnly: Bool) -> OffsetResult? {
        if p.mask.isEmpty { return nil }
        let lists = p.groups[g]
        var matched: [OffsetResult] = []
        for i in lists.indices {
            guard let h = lists[i].handle(of: doc, cursor: &p.cursors[g][i]), lists[i].yields(h, in: p.mask) else { continue }
            var offsets: [UInt32] = []
            // A NOOFFSETS index keeps positions for our own phrase checks; RediSearch's records have none.
            if !index.definition.noOffsets { lists[i].appendPositions(of: h, to: &offsets) }
            matched.append(OffsetResult(type: OffsetResult.term, hasOffsets: !offsets.isEmpty, offsets: offsets))
            if firstOnly { break }
        }
        if matched.isEmpty { return nil }
        return lists.count == 1 ? matched[0] : OffsetResult.aggregate(OffsetResult.union, matched)
    }

    /// IndexResult_IsWithinRange over the offsets of the children that have them (each sorted).
    static func withinRange(_ lists: [[UInt32]], slop: Int, inOrder: Bool) -> Bool {
        var all = OffsetLists()
        for l in lists { l.withUnsafeBufferPointer { all.append($0) } }
        return all.withinRange(slop: slop, inOrder: inOrder)
    }
}

/// The sorted offsets of an intersection's children, one list after another in one buffer (reused from document to
/// document), and RediSearch's two walks over them.
struct OffsetLists {
    private var flat: [UInt32] = []
    private var starts: [Int] = []
    private var cursor: [Int] = []
    private var positions: [UInt32] = []

    var count: Int { starts.count }

    mutating func removeAll() { flat.removeAll(keepingCapacity: true); starts.removeAll(keepingCapacity: true) }

    /// Adds a child's list (even empty: such a child counts as having offsets it does not have).
    mutating func append(_ offsets: UnsafeBufferPointer<UInt32>) {
        starts.append(flat.count)
        flat.append(contentsOf: offsets)
    }

    /// IndexResult_IsWithinRange: the in-order walk sums the gaps between consecutive children's positions; the
    /// unordered one looks for a window of one position per child, min == max skipped. C's (int) of the end marker
    /// (UINT32_MAX) is -1, which the unordered span reads.
    mutating func withinRange(slop: Int, inOrder: Bool) -> Bool {
        let n = starts.count
        if n == 0 { return true }
        let end = UInt32.max
        cursor.removeAll(keepingCapacity: true)
        cursor.append(contentsOf: starts)
        positions.removeAll(keepingCapacity: true)
        positions.append(contentsOf: repeatElement(0, count: n))
        return flat.withUnsafeBufferPointer { flat in
            let total = flat.count
            return starts.withUnsafeBufferPointer { starts in
                cursor.withUnsafeMutableBufferPointer { cursor in
                    positions.withUnsafeMutableBufferPointer { positions in
                        func next(_ i: Int) -> UInt32 {
                            let stop = i + 1 < n ? starts[i + 1] : total
                            guard cursor[i] < stop else { return end }
                            defer { cursor[i] += 1 }
                            return flat[cursor[i]]
                        }
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
            }
        }
    }
}

// A replay of RediSearch 2.10's query iterators (Read / SkipTo, their cached positions and shared result records) for
// queries whose intersections hold unions or optional clauses: there, what a document scores depends on how the
// iterators reached it (a union skipped past a document keeps one child's result), so the scores are taken from the
// replay rather than from a per-document evaluation.

enum ReplayStatus { case ok, notFound, eof }

/// RSIndexResult: mutable and shared, as aggregates point at their children's current records.
final class ReplayRecord {
    var kind: ScoringResult.Kind
    var docId: UInt32 = 0
    var weight: Double
    var freq: UInt32 = 0
    var idf = 0.0
    var bm25Idf = 0.0
    var offsets: [UInt32] = []
    var children: [ReplayRecord] = []
    var typeMask: UInt8 = 0

    init(kind: ScoringResult.Kind, weight: Double) { self.kind = kind; self.weight = weight }

    /// AggregateResult_Reset.
    func reset() { docId = 0; freq = 0; typeMask = 0; children.removeAll(keepingCapacity: true) }

    /// AggregateResult_AddChild.
    func add(_ child: ReplayRecord) {
        children.append(child)
        typeMask |= child.kind.rawValue
        freq &+= child.freq
        docId = child.docId
    }

    /// RSIndexResult_HasOffsets (an aggregate of anything but virtual or numeric results has offsets).
    var hasOffsets: Bool {
        switch kind {
        case .term: return !offsets.isEmpty
        case .union, .intersection:
            return ScoringResult.Kind.aggregateHasOffsets(typeMask)
        default: return false
        }
    }

    /// RSIndexResult_IterateOffsets: a term's offsets, an aggregate's children's merged.
    var allOffsets: [UInt32] {
        switch kind {
        case .term: return offsets
        case .union, .intersection, .hybrid:
            var out: [UInt32] = []
            for c in children { out.append(contentsOf: c.allOffsets) }
            out.sort()
            return out
        default: return []
        }
    }
}

class ReplayIterator {
    var current: ReplayRecord
    var isValid = true
    /// `it->minId`, kept by the unions that own this iterator.
    var minId: UInt32 = 0
    init(current: ReplayRecord) { self.current = current }
    func read() -> (ReplayStatus, ReplayRecord?) { (.eof, nil) }
    func skipTo(_ id: UInt32) -> (ReplayStatus, ReplayRecord?) { (.eof, nil) }
    /// LastDocId().
    var lastDocId: UInt32 { 0 }
    var estimate: Int { 0 }
}

/// An inverted index reader over the documents that pass its field mask (term, tag, numeric range, vector range).
final class ReplayReader: ReplayIterator {
    let docs: [UInt32]
    /// Fills the record for the i-th document.
    let fill: (ReplayRecord, Int) -> Void
    private var position = 0
    private var lastId: UInt32 = 0

    init(docs: [UInt32], record: ReplayRecord, fill: @escaping (ReplayRecord, Int) -> Void) {
        self.docs = docs
        self.fill = fill
        super.init(current: record)
        record.freq = 1
    }

    override var estimate: Int { docs.count }
    override var lastDocId: UInt32 { lastId }

    override func read() -> (ReplayStatus, ReplayRecord?) {
        guard isValid, position < docs.count else { isValid = false; return (.eof, nil) }
        take(position)
        return (.ok, current)
    }

    override func skipTo(_ id: UInt32) -> (ReplayStatus, ReplayRecord?) {
        if id == 0 { return read() }
        guard isValid, let last = docs.last, id <= last else { isValid = false; return (.eof, nil) }
        var lo = position, hi = docs.count
        while lo < hi { let mid = (lo + hi) / 2; if docs[mid] < id { lo = mid + 1 } else { hi = mid } }
        guard lo < docs.count else { return (.eof, nil) }
        take(lo)
        return (current.docId == id ? .ok : .notFound, current)
    }

    private func take(_ i: Int) {
        let doc = docs[i]
        position = i + 1
        lastId = doc
        current.docId = doc
        fill(current, i)
    }
}

final class ReplayEmpty: ReplayIterator {
    init() { super.init(current: ReplayRecord(kind: .virtual, weight: 0)); isValid = false }
}

/// NewWildcardIterator: every id up to the doc table's largest.
final class ReplayWildcard: ReplayIterator {
    let topId: UInt32
    let count: Int
    private var position: UInt32 = 0
    init(topId: UInt32, count: Int) {
        self.topId = topId
        self.count = count
        let r = ReplayRecord(kind: .virtual, weight: 1)
        r.freq = 1
        super.init(current: r)
    }
    override var estimate: Int { count }
    override var lastDocId: UInt32 { position }
    override func read() -> (ReplayStatus, ReplayRecord?) {
        position += 1
        current.docId = position
        if position > topId { isValid = false; return (.eof, nil) }
        return (.ok, current)
    }
    override func skipTo(_ id: UInt32) -> (ReplayStatus, ReplayRecord?) {
        if position > topId { return (.eof, nil) }
        if id == 0 { return read() }
        position = id
        current.docId = id
        return (.ok, current)
    }
}

/// UnionIterator: a list of children read in order, or above `heapAbove` children (UNION_ITERATOR_HEAP) a min-heap of
/// them by current id. The forms differ in which child a quick-exit union (a prefix's or pattern's terms) reports.
final class ReplayUnion: ReplayIterator {
    static let heapAbove = 20
    private var its: [ReplayIterator]
    let quickExit: Bool
    let weight: Double
    private var minDocId: UInt32 = 0
    private let expected: Int
    private var heap: MinIdHeap<ReplayIterator>?

    init(_ children: [ReplayIterator], weight: Double, quickExit: Bool) {
        its = children
        self.quickExit = quickExit
        self.weight = weight
        expected = children.reduce(0) { $0 + $1.estimate }
        super.init(current: ReplayRecord(kind: .union, weight: weight))
        if children.count > Self.heapAbove {
            var h = MinIdHeap<ReplayIterator>()
            for c in children { c.minId = 0; h.offer(c) }
            heap = h
        }
    }

    override var estimate: Int { expected }
    override var lastDocId: UInt32 { minDocId }

    override func read() -> (ReplayStatus, ReplayRecord?) {
        if heap != nil { return readHeap() }
        if its.isEmpty || !isValid { isValid = false; return (.eof, nil) }
        current.reset()
        var numActive = 0
        repeat {
            var minimum = UInt32.max
            var minIt: ReplayIterator?
            numActive = 0
            var i = 0
            while i < its.count {
                let it = its[i]
                var res: ReplayRecord? = it.current
                var rc = ReplayStatus.ok
                while it.minId <= minDocId && rc != .eof {
                    rc = .notFound
                    while rc == .notFound {
                        let (s, r) = it.read()
                        rc = s
                        if let r, s != .eof { res = r; it.minId = r.docId }
                    }
                }
                if rc == .eof { its.remove(at: i); continue }
                numActive += 1
                if rc == .ok, let res, res.docId <= minimum { minimum = res.docId; minIt = it }
                i += 1
            }
            if let minIt {
                _ = skipTo(minIt.minId)
                minDocId = minIt.minId
                return (.ok, current)
            }
        } while numActive > 0
        isValid = false
        return (.eof, nil)
    }

    override func skipTo(_ id: UInt32) -> (ReplayStatus, ReplayRecord?) {
        if id == 0 { return read() }
        if heap != nil { return skipToHeap(id) }
        if !isValid { return (.eof, nil) }
        current.reset()
        current.weight = weight
        var numActive = 0, found = 0
        var minimum = UInt32.max
        var minResult: ReplayRecord?
        var i = 0
        while i < its.count {
            let it = its[i]
            var res: ReplayRecord?
            var rc: ReplayStatus
            if it.minId < id {
                let (s, r) = it.skipTo(id)
                rc = s
                if s == .eof { its.remove(at: i); continue }
                res = r
                if let r { it.minId = r.docId }
            } else {
                rc = it.minId == id ? .ok : .notFound
                res = it.current
            }
            if it.minId != 0 && rc != .eof, it.minId < minimum || minResult == nil {
                minResult = res
                minimum = it.minId
            }
            if rc == .ok {
                current.add(res ?? it.current)
                minDocId = it.minId
                found += 1
            }
            numActive += 1
            i += 1
            if found > 0 && quickExit { break }
        }
        if numActive == 0 { isValid = false; return (.eof, nil) }
        if found > 0 { return (.ok, current) }
        var hit: ReplayRecord? = current
        if let minResult { hit = minResult; current.add(minResult) }
        minDocId = minimum
        return (.notFound, hit)
    }
}

extension ReplayUnion {
    /// UI_ReadSortedHigh: the heap's root is read until it sits past the last id; a quick exit stops at the first
    /// child that lands on the next id and reports it.
    private func readHeap() -> (ReplayStatus, ReplayRecord?) {
        guard isValid else { return (.eof, nil) }
        current.reset()
        let nextValidId = minDocId &+ 1
        var it: ReplayIterator?
        var res: ReplayRecord?
        while let root = heap!.peek {
            it = root
            res = root.current
            if root.minId >= nextValidId && root.minId != 0 { break }
            let (rc, r) = root.skipTo(nextValidId)
            if rc == .eof || r == nil {
                heap!.poll()
            } else {
                res = r
                root.minId = r!.docId
                heap!.replaceRoot(root)
                if quickExit && root.minId == nextValidId { break }
            }
        }
        guard heap!.count > 0, let it else { isValid = false; return (.eof, nil) }
        minDocId = it.minId
        if quickExit, let res { current.add(res) } else { heap!.forEachAtRoot { current.add($0.current) } }
        return (.ok, current)
    }

    /// UI_SkipToHigh.
    private func skipToHeap(_ id: UInt32) -> (ReplayStatus, ReplayRecord?) {
        guard isValid else { return (.eof, nil) }
        current.reset()
        current.weight = weight
        var it: ReplayIterator?
        while let root = heap!.peek {
            it = root
            if root.minId >= id { break }
            let (rc, r) = root.skipTo(id)
            guard rc != .eof, let r else { heap!.poll(); continue }
            root.minId = r.docId
            heap!.replaceRoot(root)
            if quickExit && root.minId == id { break }
        }
        guard heap!.count > 0, let it else { isValid = false; return (.eof, nil) }
        let rc: ReplayStatus = it.minId == id ? .ok : .notFound
        if quickExit { current.add(it.current) } else { heap!.forEachAtRoot { current.add($0.current) } }
        minDocId = it.minId
        return (rc, current)
    }
}

/// What MinIdHeap orders by: the child's current id (`it->minId`).
protocol MinIdKeyed {
    var minId: UInt32 { get }
}

extension ReplayIterator: MinIdKeyed {}

/// RediSearch's heap (util/heap.c) ordered by each item's current id, smallest first. Its quirks decide which child a
/// union reports: an offer moves up past equal ids, a push down stops at them.
struct MinIdHeap<Item: MinIdKeyed> {
    private(set) var items: [Item] = []
    var count: Int { items.count }
    var peek: Item? { items.first }

    /// cmpMinId: positive when `a` comes first.
    @inline(__always)
    private func compare(_ a: Item, _ b: Item) -> Int {
        a.minId < b.minId ? 1 : a.minId > b.minId ? -1 : 0
    }

    mutating func offer(_ it: Item) {
        items.append(it)
        var idx = items.count - 1
        while idx != 0 {
            let parent = (idx - 1) / 2
            if compare(items[idx], items[parent]) < 0 { return }
            items.swapAt(idx, parent)
            idx = parent
        }
    }

    mutating func poll() {
        guard !items.isEmpty else { return }
        items[0] = items[items.count - 1]
        items.removeLast()
        if items.count > 1 { pushDown(0) }
    }

    /// heap_replace: the root's id changed.
    mutating func replaceRoot(_ it: Item) {
        items[0] = it
        pushDown(0)
    }

    private mutating func pushDown(_ start: Int) {
        var idx = start
        while true {
            let left = idx * 2 + 1, right = idx * 2 + 2
            let child: Int
            if right >= items.count {
                if left >= items.count { return }
                child = left
            } else {
                child = compare(items[left], items[right]) < 0 ? right : left
            }
            guard compare(items[idx], items[child]) < 0 else { return }
            items.swapAt(idx, child)
            idx = child
        }
    }

    /// heap_cb_root: the root, then depth first every child holding the root's id.
    func forEachAtRoot(_ body: (Item) -> Void) {
        guard let root = items.first else { return }
        body(root)
        func visit(_ i: Int) {
            guard i < items.count, compare(root, items[i]) == 0 else { return }
            body(items[i])
            visit(i * 2 + 1)
            visit(i * 2 + 2)
        }
        visit(1)
        visit(2)
    }
}

/// IntersectIterator, without slop (an exact phrase checks adjacency).
final class ReplayIntersection: ReplayIterator {
    let its: [ReplayIterator]
    private var docIds: [UInt32]
    private var lastId: UInt32 = 0
    private var lastFoundId: UInt32 = 0
    let phrase: Bool
    let proximity: Proximity?
    private let expected: Int

    init(_ children: [ReplayIterator], weight: Double, phrase: Bool, proximity: Proximity?) {
        its = children
        docIds = Array(repeating: 0, count: children.count)
        self.phrase = phrase
        self.proximity = proximity
        expected = children.map(\.estimate).min() ?? 0
        super.init(current: ReplayRecord(kind: .intersection, weight: weight))
    }

    override var estimate: Int { expected }
    override var lastDocId: UInt32 { lastFoundId }

    /// An exact phrase: the children's offsets in order, one apart; with SLOP / INORDER, IndexResult_IsWithinRange.
    private func adjacent() -> Bool {
        if let proximity {
            guard current.children.count > 1 else { return true }
            let lists = current.children.filter(\.hasOffsets).map(\.allOffsets)
            return Evaluator.withinRange(lists, slop: proximity.slop, inOrder: proximity.inOrder)
        }
        guard phrase else { return true }
        let lists = current.children.map(\.allOffsets)
        guard let first = lists.first else { return true }
        return first.contains { p in lists.indices.allSatisfy { lists[$0].contains(p &+ UInt32($0)) } }
    }

    override func read() -> (ReplayStatus, ReplayRecord?) {
        if its.isEmpty { return (.eof, nil) }
        while true {
            var nh = 0
            current.reset()
            var i = 0
            while i < its.count {
                let it = its[i]
                var h = it.current
                var rc = ReplayStatus.ok
                if docIds[i] != lastId || lastId == 0 {
                    let (s, r): (ReplayStatus, ReplayRecord?)
                    if i == 0 && docIds[i] >= lastId { (s, r) = it.read() } else { (s, r) = it.skipTo(lastId) }
                    rc = s
                    if s == .eof { isValid = false; return (.eof, nil) }
                    if let r { h = r }
                    docIds[i] = h.docId
                }
                if docIds[i] > lastId { lastId = docIds[i]; break }
                if rc == .ok { nh += 1; current.add(h) } else { lastId += 1 }
                i += 1
            }
            if nh == its.count {
                lastFoundId = current.docId
                lastId += 1
                if !adjacent() { continue }
                return (.ok, current)
            }
        }
    }

    override func skipTo(_ target: UInt32) -> (ReplayStatus, ReplayRecord?) {
        if target == 0 { return read() }
        current.reset()
        var id = target
        var found = 0
        for i in its.indices {
            let it = its[i]
            guard it.isValid else { return (.eof, nil) }
            var res: ReplayRecord? = it.current
            var rc = ReplayStatus.ok
            if docIds[i] != id {
                let (s, r) = it.skipTo(id)
                rc = s
                if s != .eof, let r { res = r; id = r.docId; docIds[i] = r.docId }
            }
            if rc == .eof { isValid = false; return (.eof, nil) }
            if rc == .ok {
                if let res, res.docId == id { current.add(res) }
                lastId = id
                found += 1
            } else if docIds[i] > lastId {
                lastId = docIds[i]
                break
            }
        }
        if found == its.count && adjacent() {
            lastFoundId = current.docId
            lastId += 1
            return (.ok, current)
        }
        let (s, r) = read()
        return s == .eof ? (.eof, nil) : (.notFound, r)
    }
}

/// OptionalIterator: the child's result with the optional's weight put on it, or a weight-0 virtual result.
final class ReplayOptional: ReplayIterator {
    let child: ReplayIterator?
    let virt: ReplayRecord
    let weight: Double
    let maxDocId: UInt32
    private var lastId: UInt32 = 0
    private var nextRealId: UInt32 = 0

    init(_ child: ReplayIterator?, weight: Double, maxDocId: UInt32) {
        self.child = child
        virt = ReplayRecord(kind: .virtual, weight: weight)
        virt.freq = 1
        self.weight = weight
        self.maxDocId = maxDocId
        super.init(current: virt)
    }

    override var estimate: Int { Int(maxDocId) }
    override var lastDocId: UInt32 { lastId }

    override func read() -> (ReplayStatus, ReplayRecord?) {
        if lastId >= maxDocId { return (.eof, nil) }
        lastId += 1
        guard let child else { virt.docId = lastId; virt.weight = 0; current = virt; return (.ok, current) }
        if lastId > nextRealId {
            let (s, r) = child.read()
            if s == .eof { nextRealId = maxDocId + 1 } else if let r { current = r; nextRealId = r.docId }
        }
        if lastId != nextRealId {
            current = virt
            virt.weight = 0
        } else {
            current = child.current
            current.weight = weight
        }
        current.docId = lastId
        return (.ok, current)
    }

    override func skipTo(_ id: UInt32) -> (ReplayStatus, ReplayRecord?) {
        var found = false
        lastId = id
        if lastId > maxDocId { return (.eof, nil) }
        guard let child else { virt.docId = id; current = virt; return (.ok, current) }
        if id == 0 { return read() }
        if id == nextRealId {
            found = true
            current = child.current
        } else if id > nextRealId {
            let (s, r) = child.skipTo(id)
            if s == .ok { found = true }
            if let r { current = r; nextRealId = r.docId }
        }
        if found {
            current.weight = weight
        } else {
            virt.docId = id
            virt.weight = 0
            current = virt
        }
        return (.ok, current)
    }
}

/// NotIterator: a virtual result for every id its child lacks.
final class ReplayNot: ReplayIterator {
    let child: ReplayIterator
    let maxDocId: UInt32
    private var lastId: UInt32 = 0

    /// A missing child is RediSearch's empty iterator.
    init(_ child: ReplayIterator?, weight: Double, maxDocId: UInt32) {
        self.child = child ?? ReplayEmpty()
        self.maxDocId = maxDocId
        super.init(current: ReplayRecord(kind: .virtual, weight: weight))
    }

    override var estimate: Int { Int(maxDocId) }
    override var lastDocId: UInt32 { lastId }

    override func read() -> (ReplayStatus, ReplayRecord?) {
        if lastId > maxDocId { isValid = false; return (.eof, nil) }
        var record = child.current
        if record.docId == 0, let r = child.read().1 { record = r }
        current.docId += 1
        if !(record.docId > current.docId || !child.isValid) {
            while record.docId == current.docId {
                current.docId += 1
                let (s, r) = child.read()
                if s == .eof { break }
                if let r { record = r }
            }
        }
        if current.docId > maxDocId { isValid = false; return (.eof, nil) }
        lastId = current.docId
        return (.ok, current)
    }

    override func skipTo(_ id: UInt32) -> (ReplayStatus, ReplayRecord?) {
        if id > maxDocId { isValid = false; return (.eof, nil) }
        var childId: UInt32 = 0
        if lastId != 0 { childId = child.lastDocId }
        if !(childId > id || !child.isValid) {
            if childId == id { current.docId = id; lastId = id; return (.notFound, current) }
            if child.skipTo(id).0 == .ok { return (.notFound, current) }
        }
        current.docId = id
        lastId = id
        return (.ok, current)
    }
}

/// Builds the replay's iterators from a scoring plan.
struct ReplayBuilder {
    let maxDocId: UInt32
    let numDocs: Int

    func iterator(_ it: ScoringIterator) -> ReplayIterator {
        switch it {
        case .term(let reader):
            let record = ReplayRecord(kind: .term, weight: reader.weight)
            record.idf = reader.idf
            record.bm25Idf = reader.bm25Idf
            let entries = reader.yieldedEntries
            return ReplayReader(docs: entries.map { reader.list.entry($0).doc }, record: record) { r, i in
                r.freq = reader.frequency(entries[i])
                r.offsets = reader.offsets(entries[i])
            }
        case .tag(let docs, let weight, let idf, let bm25Idf):
            let record = ReplayRecord(kind: .term, weight: weight)
            record.idf = idf
            record.bm25Idf = bm25Idf
            return ReplayReader(docs: docs.ids, record: record) { r, _ in r.freq = 1 }
        case .union(let children, let weight, let firstOnly):
            return ReplayUnion(children.map(iterator), weight: weight, quickExit: firstOnly)
        case .intersection(let children, let weight, let exact, let proximity):
            return ReplayIntersection(children.map(iterator), weight: weight, phrase: exact, proximity: proximity)
        case .optional(let child, let weight):
            return ReplayOptional(child.map(iterator), weight: weight, maxDocId: maxDocId)
        case .not(let child, let weight):
            return ReplayNot(child.map(iterator), weight: weight, maxDocId: maxDocId)
        case .wildcard:
            return ReplayWildcard(topId: maxDocId, count: numDocs)
        case .numeric(let values, let test, _, let matches):
            return ReplayReader(docs: (matches ?? values.matching(test)).ids, record: ReplayRecord(kind: .numeric, weight: 1)) { r, _ in r.freq = 1 }
        case .vectorRange(let docs):
            return ReplayReader(docs: docs.ids, record: ReplayRecord(kind: .metric, weight: 1)) { r, _ in r.freq = 0 }
        case .empty:
            return ReplayEmpty()
        }
    }

    /// True when the plan holds an intersection over something other than plain readers: only there does the order
    /// of reads change what a result holds.
    static func needsReplay(_ it: ScoringIterator) -> Bool {
        switch it {
        case .intersection(let children, _, _, _):
            if children.contains(where: { if case .term = $0 { return false }; if case .tag = $0 { return false }; return true }) {
                return true
            }
            return children.contains(where: needsReplay)
        case .union(let children, _, _):
            // A quick-exit union above 20 children reports the child RediSearch's heap puts first: where only reads
            // reach it (not under an intersection), HeapUnionSimulation tells the per-document scorer which.
            return children.contains(where: needsReplay)
        case .optional(let child, _), .not(let child, _): return child.map(needsReplay) ?? false
        default: return false
        }
    }

    /// True when an intersection of the plan checks SLOP / INORDER.
    static func checksProximity(_ it: ScoringIterator) -> Bool {
        switch it {
        case .intersection(let children, _, _, let proximity): return proximity != nil || children.contains(where: checksProximity)
        case .union(let children, _, _): return children.contains(where: checksProximity)
        case .optional(let child, _), .not(let child, _): return child.map(checksProximity) ?? false
        default: return false
        }
    }
}

/// Which child a quick-exit union of plain readers reports for each document, when it is read from the start (a
/// query's root, or under other unions): UI_ReadSortedHigh's heap above 20 children (the same heap as `ReplayUnion`'s,
/// over integers), else the first child in order. Saves the per-document scorer asking every child.
enum HeapUnionSimulation {
    /// Annotates every such union of the plan (outside intersections, which the replay handles).
    static func annotate(_ node: ScoringNode, _ plan: ScoringIterator, maxDocId: Int) {
        guard case .union(let children, _, let firstOnly) = plan else {
            if case .optional(let c?, _) = plan, let n = node.children.first { annotate(n, c, maxDocId: maxDocId) }
            return
        }
        if firstOnly && children.count > 1 {
            var postings: [[UInt32]] = []
            for c in children {
                switch c {
                case .term(let reader): postings.append(reader.yieldedEntries.map { reader.list.entry($0).doc })
                case .tag(let docs, _, _, _): postings.append(docs.ids)
                default: return
                }
            }
            node.reportedChild = children.count > ReplayUnion.heapAbove ? reportedChildren(postings, maxDocId: maxDocId)
                                                                          : firstChildren(postings, maxDocId: maxDocId)
            return
        }
        for (n, c) in zip(node.children, children) { annotate(n, c, maxDocId: maxDocId) }
    }

    /// The list form (UI_ReadSorted): a quick exit reports the first child, in order, that holds the document.
    static func firstChildren(_ postings: [[UInt32]], maxDocId: Int) -> [Int32] {
        var reported = [Int32](repeating: -1, count: maxDocId + 1)
        for (i, docs) in postings.enumerated().reversed() {
            for d in docs where Int(d) < reported.count { reported[Int(d)] = Int32(i) }
        }
        return reported
    }

    /// For each document id, the index of the child the heap reports (-1 where none matches).
    static func reportedChildren(_ postings: [[UInt32]], maxDocId: Int) -> [Int32] {
        var reported = [Int32](repeating: -1, count: maxDocId + 1)
        let n = postings.count
        struct Child: MinIdKeyed { let index: Int; let minId: UInt32 }
        var position = [Int](repeating: 0, count: n)
        var heap = MinIdHeap<Child>()
        for i in 0..<n { heap.offer(Child(index: i, minId: 0)) }
        var minDocId: UInt32 = 0
        while heap.count > 0 {
            let nextValidId = minDocId &+ 1
            var it: Child?
            while let root = heap.peek {
                it = root
                if root.minId >= nextValidId && root.minId != 0 { break }
                // The reader's SkipTo: the first document at or past the id, or the end.
                let docs = postings[root.index]
                var lo = position[root.index], hi = docs.count
                while lo < hi { let mid = (lo + hi) >> 1; if docs[mid] < nextValidId { lo = mid + 1 } else { hi = mid } }
                if lo == docs.count {
                    heap.poll()
                    continue
                }
                position[root.index] = lo + 1
                let moved = Child(index: root.index, minId: docs[lo])
                it = moved
                heap.replaceRoot(moved)
                if moved.minId == nextValidId { break }
            }
            guard heap.count > 0, let it else { break }
            minDocId = it.minId
            if Int(minDocId) < reported.count { reported[Int(minDocId)] = Int32(it.index) }
        }
        return reported
    }
}

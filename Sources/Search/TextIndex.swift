// TextIndex: the inverted index of an index's TEXT fields — per term, its documents in id order, each with its weighted
// frequency, the fields holding it and its positions (RediSearch's layout: one list per term, merged by walking).

/// Which TEXT fields of a document hold a term, by each field's place among the schema's TEXT fields (RediSearch's
/// t_fieldMask; a schema has at most 128 TEXT fields).
struct TextFieldMask: Equatable, Sendable {
    var low: UInt64 = 0
    var high: UInt64 = 0

    static let all = TextFieldMask(low: .max, high: .max)

    init(low: UInt64 = 0, high: UInt64 = 0) { self.low = low; self.high = high }
    init(ordinal: Int) {
        if ordinal < 64 { low = 1 << UInt64(ordinal) } else { high = 1 << UInt64(min(ordinal - 64, 63)) }
    }

    @inline(__always) func intersects(_ other: TextFieldMask) -> Bool { low & other.low != 0 || high & other.high != 0 }
    mutating func formUnion(_ other: TextFieldMask) { low |= other.low; high |= other.high }
    var isEmpty: Bool { low == 0 && high == 0 }
}

/// One term's documents by increasing id. A document that leaves keeps its entry with frequency 0 until the list is
/// compacted; a document indexed again takes its entry back, so updates rarely move anything.
struct PostingList: Sendable {
    /// 24 bytes. Most documents hold a term once: their one position is kept in `start` instead of the arena.
    struct Entry: Sendable {
        var doc: UInt32
        /// What RediSearch's forward index counted: each occurrence adds its field's weight (a fifth of it for a stem).
        var frequency: UInt32
        var start: UInt32
        var positionCount: UInt32
        var lowMask: UInt64
    }

    private(set) var entries: [Entry] = []
    /// The high half of each entry's field mask, kept only once some document has the term past the 64th TEXT field.
    private var highMasks: [UInt64] = []
    private var hasHighMasks = false
    private var arena: [UInt32] = []
    private(set) var liveCount = 0
    private var removedEntries = 0
    private var unusedPositions = 0

    var isEmpty: Bool { liveCount == 0 }

    @inline(__always) func isLive(_ i: Int) -> Bool { entries[i].frequency != 0 }
    @inline(__always) func mask(_ i: Int) -> TextFieldMask {
        TextFieldMask(low: entries[i].lowMask, high: !hasHighMasks ? 0 : highMasks[i])
    }

    /// The position of the first entry whose document is `doc` or later, searching from `from` (a cursor that only
    /// moves forward gallops; one that goes back searches the whole list).
    func firstIndex(atOrAfter doc: UInt32, from: Int = 0) -> Int {
        var lo = from < entries.count && (from == 0 || entries[from - 1].doc < doc) ? from : 0
        if lo < entries.count && entries[lo].doc >= doc { return lo }
        // Gallop: the wanted entry is usually a few steps ahead of the last one read.
        var step = 1, hi = lo + 1
        while hi < entries.count && entries[hi].doc < doc { lo = hi; step &<<= 1; hi = lo + step }
        hi = min(hi, entries.count)
        while lo < hi {
            let mid = (lo + hi) >> 1
            if entries[mid].doc < doc { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The entry of `doc` if the document holds the term.
    func index(of doc: UInt32, from: Int = 0) -> Int? {
        let i = firstIndex(atOrAfter: doc, from: from)
        return i < entries.count && entries[i].doc == doc && entries[i].frequency != 0 ? i : nil
    }

    /// Appends entry `i`'s positions (sorted: numbered across the document's TEXT fields in schema order).
    func appendPositions(of i: Int, to out: inout [UInt32]) {
        let e = entries[i]
        if e.positionCount == 1 { out.append(e.start); return }
        out.append(contentsOf: arena[Int(e.start)..<Int(e.start) + Int(e.positionCount)])
    }

    func positions(of i: Int) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(Int(entries[i].positionCount))
        appendPositions(of: i, to: &out)
        return out
    }

    /// Live documents holding the term in a field of `mask`, in id order.
    func forEachLive(in mask: TextFieldMask = .all, _ body: (UInt32) -> Void) {
        if mask == .all || !hasHighMasks && mask.low == .max {
            entries.withUnsafeBufferPointer { all in for e in all where e.frequency != 0 { body(e.doc) } }
        } else {
            for i in entries.indices where entries[i].frequency != 0 && self.mask(i).intersects(mask) { body(entries[i].doc) }
        }
    }

    /// Entry `i` is a live document holding the term in a field of `mask`.
    @inline(__always) func yields(_ i: Int, in mask: TextFieldMask) -> Bool {
        entries[i].frequency != 0 && (mask == .all || self.mask(i).intersects(mask))
    }

    // MARK: writes

    mutating func add(_ doc: UInt32, frequency: UInt32, mask: TextFieldMask, positions: ArraySlice<UInt32>) {
        let frequency = max(frequency, 1)  // 0 means "left"
        let start: UInt32, count = UInt32(truncatingIfNeeded: positions.count)
        if positions.count == 1 {
            start = positions.first!
        } else {
            start = UInt32(truncatingIfNeeded: arena.count)
            arena.append(contentsOf: positions)
        }
        let entry = Entry(doc: doc, frequency: frequency, start: start, positionCount: count, lowMask: mask.low)
        if mask.high != 0 && !hasHighMasks {
            highMasks = Array(repeating: 0, count: entries.count)
            hasHighMasks = true
        }
        liveCount += 1
        if entries.last.map({ $0.doc < doc }) ?? true {
            entries.append(entry)
            if hasHighMasks { highMasks.append(mask.high) }
            return
        }
        let i = firstIndex(atOrAfter: doc)
        if i < entries.count && entries[i].doc == doc {
            if entries[i].frequency == 0 { removedEntries -= 1 } else { liveCount -= 1; release(entries[i]) }
            entries[i] = entry
            if hasHighMasks { highMasks[i] = mask.high }
        } else {
            entries.insert(entry, at: i)
            if hasHighMasks { highMasks.insert(mask.high, at: i) }
        }
        compactIfWasteful()
    }

    mutating func remove(_ doc: UInt32) {
        guard let i = index(of: doc) else { return }
        release(entries[i])
        entries[i].frequency = 0
        liveCount -= 1
        removedEntries += 1
        compactIfWasteful()
    }

    private mutating func release(_ e: Entry) {
        if e.positionCount != 1 { unusedPositions += Int(e.positionCount) }
    }

    /// Compacting once half the list is waste keeps writes amortised O(1) and the waste under half.
    private mutating func compactIfWasteful() {
        if (removedEntries > 16 && removedEntries * 2 > entries.count) || (unusedPositions > 64 && unusedPositions * 2 > arena.count) {
            compact()
        }
    }

    /// Drops the entries of documents that left and the positions nothing refers to.
    private mutating func compact() {
        var kept: [Entry] = [], keptHigh: [UInt64] = [], keptArena: [UInt32] = []
        kept.reserveCapacity(liveCount)
        keptArena.reserveCapacity(arena.count - unusedPositions)
        for (i, var e) in entries.enumerated() where e.frequency != 0 {
            if e.positionCount != 1 {
                let from = Int(e.start)
                e.start = UInt32(truncatingIfNeeded: keptArena.count)
                keptArena.append(contentsOf: arena[from..<from + Int(e.positionCount)])
            }
            kept.append(e)
            if hasHighMasks { keptHigh.append(highMasks[i]) }
        }
        entries = kept
        highMasks = keptHigh
        arena = keptArena
        removedEntries = 0
        unusedPositions = 0
    }
}

/// A document's terms while it is indexed, as RediSearch's ForwardIndex gathers them over all its TEXT fields.
struct ForwardFrequencies {
    struct Term {
        var frequency: UInt32 = 0
        var mask = TextFieldMask()
        var positions: [UInt32] = []

        mutating func record(_ by: UInt32, field: TextFieldMask, position: UInt32) -> UInt32 {
            frequency &+= by
            mask.formUnion(field)
            positions.append(position)
            return frequency
        }
    }
    var terms: [String: Term] = [:]
    var maxFreq: UInt32 = 0
    var length: UInt32 = 0
    /// Tokens of the document's earlier TEXT fields: RediSearch numbers positions across fields (schema order).
    var positionBase: UInt32 = 0

    /// RediSearch adds `max(1, (uint32)(fieldWeight × 0.2 for a stem))` per occurrence.
    static func increment(weight: Double, stem: Bool) -> UInt32 {
        var score = Float(weight)
        if stem { score = Float(Double(score) * 0.2) }
        guard score >= 1 else { return 1 }  // NaN too
        // 4294967040 is the largest Float below 2^32; C leaves larger values undefined, here they saturate.
        return score <= 4_294_967_040 ? UInt32(score) : UInt32.max
    }

    mutating func add(_ token: String, _ by: UInt32, raw: Bool, field: TextFieldMask, position: UInt32) {
        let f = terms[token, default: Term()].record(by, field: field, position: position)  // in place
        maxFreq = max(maxFreq, f)
        if raw { length &+= by }
    }
}

/// Every TEXT field's terms of one index.
struct TextIndex {
    var postings: [String: PostingList] = [:]
    /// Each document's terms, to take it out of their lists when it changes or leaves.
    private var docTerms: [UInt32: [String]] = [:]
    /// Documents over all terms (FT.INFO num_records counts one per term and document).
    private(set) var records = 0

    mutating func add(_ doc: UInt32, _ forward: ForwardFrequencies) {
        guard !forward.terms.isEmpty else { return }
        var terms: [String] = []
        terms.reserveCapacity(forward.terms.count)
        for (term, t) in forward.terms {
            postings[term, default: PostingList()].add(doc, frequency: t.frequency, mask: t.mask, positions: t.positions[...])
            terms.append(term)
        }
        records += terms.count
        docTerms[doc] = terms
    }

    mutating func remove(_ doc: UInt32) {
        guard let terms = docTerms.removeValue(forKey: doc) else { return }
        for term in terms {
            postings[term]?.remove(doc)
            if postings[term]?.isEmpty == true { postings.removeValue(forKey: term) }
        }
        records -= terms.count
    }

    mutating func removeAll() { self = TextIndex() }
}

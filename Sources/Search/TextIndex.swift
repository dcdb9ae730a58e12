// TextIndex: the inverted index of an index's TEXT fields — per term, its documents in id order, each with its weighted
// frequency, the fields holding it and its positions (RediSearch's layout: one list per term, merged by walking).
import Keyspace

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

/// One term's documents by increasing id. New documents (higher ids) append. A document indexed again with a term it
/// did not have (an update keeps its doc id) goes to a small sorted side list, merged in once it holds more than a
/// bounded share of the list, so an update never shifts a whole long list. A document that leaves keeps its entry with
/// frequency 0 until the list is compacted; indexed again, it takes the entry back.
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

    /// Where an entry is: below `entries.count` in the main list, above it in the side list. Valid until the list changes.
    typealias Handle = Int

    /// The side list is merged once it holds more than this share of the list, and never more than `maxLate` entries.
    static let lateShare = 32, minLate = 32, maxLate = 2048

    private(set) var entries: [Entry] = []
    /// Documents inserted behind the main list's last one, sorted; every one is below `entries.last`.
    private(set) var late: [Entry] = []
    /// The high half of the field mask of documents holding the term past the 64th TEXT field (a wide schema only).
    private var highMasks: [UInt32: UInt64] = [:]
    private var arena: [UInt32] = []
    private(set) var liveCount = 0
    private var removedEntries = 0
    private var unusedPositions = 0

    var isEmpty: Bool { liveCount == 0 }

    @inline(__always) func entry(_ h: Handle) -> Entry { h < entries.count ? entries[h] : late[h - entries.count] }
    func mask(_ h: Handle) -> TextFieldMask {
        let e = entry(h)
        return TextFieldMask(low: e.lowMask, high: highMasks.isEmpty ? 0 : highMasks[e.doc] ?? 0)
    }

    /// Entry `h` is a live document holding the term in a field of `mask`.
    @inline(__always) func yields(_ h: Handle, in mask: TextFieldMask) -> Bool {
        entry(h).frequency != 0 && (mask == .all || self.mask(h).intersects(mask))
    }

    /// The first place in the main list whose document is `doc` or later, searching from `from` (a cursor that only
    /// moves forward gallops; one that goes back searches the whole list).
    private func firstIndex(atOrAfter doc: UInt32, from: Int) -> Int {
        entries.withUnsafeBufferPointer { list in
            var lo = from < list.count && (from == 0 || list[from - 1].doc < doc) ? from : 0
            if lo < list.count && list[lo].doc >= doc { return lo }
            var step = 1, hi = lo + 1
            while hi < list.count && list[hi].doc < doc { lo = hi; step &<<= 1; hi = lo + step }
            hi = min(hi, list.count)
            while lo < hi {
                let mid = (lo + hi) >> 1
                if list[mid].doc < doc { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }

    private func lateIndex(of doc: UInt32) -> Int? {
        var lo = 0, hi = late.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if late[mid].doc < doc { lo = mid + 1 } else { hi = mid }
        }
        return lo < late.count && late[lo].doc == doc ? lo : nil
    }

    /// The entry of `doc`, live or not; `cursor` is a place in the main list that lookups in increasing document order
    /// keep moving forward.
    func anyHandle(of doc: UInt32, cursor: inout Int) -> Handle? {
        let i = firstIndex(atOrAfter: doc, from: cursor)
        cursor = i
        if i < entries.count && entries[i].doc == doc { return i }
        if !late.isEmpty, let j = lateIndex(of: doc) { return entries.count + j }
        return nil
    }

    /// The entry of `doc` if the document holds the term.
    func handle(of doc: UInt32, cursor: inout Int) -> Handle? {
        guard let h = anyHandle(of: doc, cursor: &cursor), entry(h).frequency != 0 else { return nil }
        return h
    }

    func handle(of doc: UInt32) -> Handle? {
        var cursor = 0
        return handle(of: doc, cursor: &cursor)
    }

    /// Appends entry `h`'s positions (sorted: numbered across the document's TEXT fields in schema order).
    func appendPositions(of h: Handle, to out: inout [UInt32]) { withPositions(of: h) { out.append(contentsOf: $0) } }

    /// Entry `h`'s positions in place, without a copy.
    func withPositions<R>(of h: Handle, _ body: (UnsafeBufferPointer<UInt32>) -> R) -> R {
        let e = entry(h)
        if e.positionCount == 1 { return withUnsafePointer(to: e.start) { body(UnsafeBufferPointer(start: $0, count: 1)) } }
        return arena.withUnsafeBufferPointer { all in
            body(UnsafeBufferPointer(rebasing: all[Int(e.start)..<Int(e.start) + Int(e.positionCount)]))
        }
    }

    func positions(of h: Handle) -> [UInt32] { withPositions(of: h) { Array($0) } }

    /// Live documents holding the term in a field of `mask` (the main list's, then the side list's).
    func forEachLive(in mask: TextFieldMask = .all, _ body: (UInt32) -> Void) {
        if mask == .all || highMasks.isEmpty && mask.low == .max {
            entries.withUnsafeBufferPointer { all in for e in all where e.frequency != 0 { body(e.doc) } }
            for e in late where e.frequency != 0 { body(e.doc) }
        } else {
            for h in 0..<(entries.count + late.count) where yields(h, in: mask) { body(entry(h).doc) }
        }
    }

    /// Whether some live document holds the term in a field of `mask` (stops at the first).
    func hasLive(in mask: TextFieldMask) -> Bool {
        if mask == .all { return liveCount > 0 }
        for h in 0..<(entries.count + late.count) where yields(h, in: mask) { return true }
        return false
    }

    /// The live entries holding the term in a field of `mask`, in document order.
    func handles(in mask: TextFieldMask) -> [Handle] {
        var out: [Handle] = []
        out.reserveCapacity(liveCount)
        var j = 0
        for i in entries.indices {
            while j < late.count && late[j].doc < entries[i].doc {
                if yields(entries.count + j, in: mask) { out.append(entries.count + j) }
                j += 1
            }
            if yields(i, in: mask) { out.append(i) }
        }
        while j < late.count {
            if yields(entries.count + j, in: mask) { out.append(entries.count + j) }
            j += 1
        }
        return out
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
        if mask.high != 0 { highMasks[doc] = mask.high } else if !highMasks.isEmpty { highMasks[doc] = nil }
        liveCount += 1
        if entries.last.map({ $0.doc < doc }) ?? true {
            entries.append(entry)
            return
        }
        var cursor = 0
        if let h = anyHandle(of: doc, cursor: &cursor) {
            let old = self.entry(h)
            if old.frequency == 0 { removedEntries -= 1 } else { liveCount -= 1; release(old) }
            if h < entries.count { entries[h] = entry } else { late[h - entries.count] = entry }
        } else {
            var lo = 0, hi = late.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if late[mid].doc < doc { lo = mid + 1 } else { hi = mid }
            }
            late.insert(entry, at: lo)
            if late.count > min(max(Self.minLate, entries.count / Self.lateShare), Self.maxLate) { compact() }
        }
        compactIfWasteful()
    }

    mutating func remove(_ doc: UInt32) {
        guard let h = handle(of: doc) else { return }
        release(entry(h))
        if h < entries.count { entries[h].frequency = 0 } else { late[h - entries.count].frequency = 0 }
        if !highMasks.isEmpty { highMasks[doc] = nil }
        liveCount -= 1
        removedEntries += 1
        compactIfWasteful()
    }

    private mutating func release(_ e: Entry) {
        if e.positionCount != 1 { unusedPositions += Int(e.positionCount) }
    }

    /// Compacting once half the list is waste keeps writes amortised O(1) and the waste under half.
    private mutating func compactIfWasteful() {
        if (removedEntries > 16 && removedEntries * 2 > entries.count + late.count)
            || (unusedPositions > 64 && unusedPositions * 2 > arena.count) {
            compact()
        }
    }

    /// Merges the side list in, drops the entries of documents that left and the positions nothing refers to.
    private mutating func compact() {
        var kept: [Entry] = [], keptArena: [UInt32] = []
        kept.reserveCapacity(liveCount)
        keptArena.reserveCapacity(arena.count - unusedPositions)
        func keep(_ e: Entry) {
            guard e.frequency != 0 else { return }
            var e = e
            if e.positionCount != 1 {
                let from = Int(e.start)
                e.start = UInt32(truncatingIfNeeded: keptArena.count)
                keptArena.append(contentsOf: arena[from..<from + Int(e.positionCount)])
            }
            kept.append(e)
        }
        var j = 0
        for e in entries {
            while j < late.count && late[j].doc < e.doc { keep(late[j]); j += 1 }
            keep(e)
        }
        while j < late.count { keep(late[j]); j += 1 }
        entries = kept
        late = []
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

/// FT.CONFIG MINPREFIX / MAXPREFIXEXPANSIONS: a `prefix*` shorter than the minimum matches nothing; a longer one
/// reads the first `maximumTerms` terms it expands to, in term order (RediSearch's trie order).
public struct PrefixExpansion: Sendable {
    public var minimumLength = 2
    public var maximumTerms = 200
    public init(minimumLength: Int = 2, maximumTerms: Int = 200) {
        self.minimumLength = minimumLength
        self.maximumTerms = maximumTerms
    }
}

/// The index's terms in byte order, for affix, fuzzy and wildcard queries: a sorted table plus the terms added since it
/// was last merged (at most `pendingLimit`, merged into a copy by a lookup that needs them in order). Removed terms
/// stay until the next merge and are skipped.
struct Vocabulary {
    static let pendingLimit = 4096
    private(set) var sorted = SortedTerms()
    private(set) var pending: [String] = []
    var count: Int { sorted.count + pending.count }

    mutating func added(_ term: String) {
        pending.append(term)
        if pending.count > Self.pendingLimit { merge(keeping: nil) }
    }

    /// Merges the pending terms in (one sort of the few, one linear merge), dropping the terms `keeping` rejects.
    mutating func merge(keeping exists: ((String) -> Bool)?) {
        sorted = merged(keeping: exists)
        pending = []
    }

    /// The sorted table with the pending terms merged in.
    func merged(keeping exists: ((String) -> Bool)? = nil) -> SortedTerms {
        if pending.isEmpty && exists == nil { return sorted }
        let late = pending.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        var out = SortedTerms()
        var i = 0, j = 0
        // The previous term taken, as a slice of its source: a slice of `out` would make each append copy it.
        var last: ArraySlice<UInt8>? = nil
        while i < sorted.count || j < late.count {
            let t: ArraySlice<UInt8>
            if j == late.count || (i < sorted.count && sorted.term(i).lexicographicallyPrecedes(late[j])) {
                t = sorted.term(i); i += 1
            } else {
                t = late[j][...]; j += 1
            }
            // A term removed and added again is in both lists (or twice in one): kept once.
            if let last, last.elementsEqual(t) { continue }
            last = t
            if let exists, !exists(String(decoding: t, as: UTF8.self)) { continue }
            out.append(t)
        }
        return out
    }

    /// Terms starting with `prefix`, in order, at most `limit` of them, among those `exists` accepts.
    func terms(withPrefix prefix: String, limit: Int, exists: (String) -> Bool) -> [String] {
        var found: [String] = []
        for i in sorted.range(withPrefix: prefix.utf8) where found.count < limit {
            let t = sorted.string(i)
            if exists(t) { found.append(t) }
        }
        let late = pending.filter { $0.utf8.starts(with: prefix.utf8) && exists($0) }
        if late.isEmpty { return found }
        var all: [String] = []
        // Pending may repeat a sorted term.
        for t in (found + late).sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where all.last != t { all.append(t) }
        return Array(all.prefix(limit))
    }
}

/// Every TEXT field's terms of one index.
struct TextIndex {
    var postings: [String: PostingList] = [:]
    /// The terms in byte order.
    private(set) var vocabulary = Vocabulary()
    /// Terms removed from `postings` since the vocabulary last dropped its removed terms.
    private var removedTerms = 0
    /// Each document's terms, to take it out of their lists when it changes or leaves.
    private var docTerms: [UInt32: [String]] = [:]
    /// Documents over all terms (FT.INFO num_records counts one per term and document).
    private(set) var records = 0

    mutating func add(_ doc: UInt32, _ forward: ForwardFrequencies) {
        guard !forward.terms.isEmpty else { return }
        var terms: [String] = []
        terms.reserveCapacity(forward.terms.count)
        for (term, t) in forward.terms {
            var isNew = false
            postings[term, default: { isNew = true; return PostingList() }()]
                .add(doc, frequency: t.frequency, mask: t.mask, positions: t.positions[...])
            // RediSearch's trie holds every term, `+stem` entries too (a contains query reaches them), up to 1,024
            // characters.
            if isNew && (term.utf8.count <= 1024 || term.unicodeScalars.count <= 1024) { vocabulary.added(term) }
            terms.append(term)
        }
        records += terms.count
        docTerms[doc] = terms
    }

    mutating func remove(_ doc: UInt32) {
        guard let terms = docTerms.removeValue(forKey: doc) else { return }
        for term in terms {
            postings[term]?.remove(doc)
            if postings[term]?.isEmpty == true {
                postings.removeValue(forKey: term)
                removedTerms += 1
            }
        }
        records -= terms.count
        // Removed terms are skipped by lookups; once they are half the vocabulary, they are dropped from it.
        if removedTerms > 64 && removedTerms * 2 > vocabulary.count {
            let live = postings
            vocabulary.merge { live[$0] != nil }
            removedTerms = 0
        }
    }

    mutating func removeAll() { self = TextIndex() }

    /// What an affix, fuzzy or wildcard clause expands to, in RediSearch's order (repeats included): nothing for an affix
    /// below MINPREFIX bytes or a fuzzy word past the trie's 100 characters, else the first MAXPREFIXEXPANSIONS terms
    /// that have documents.
    /// `table`: the vocabulary in order (`vocabulary.merged()`, which callers cache); prefixes do without it.
    func expansions(of pattern: TermPattern, _ limits: PrefixExpansion, table: @autoclosure () -> SortedTerms) -> [String] {
        if let affix = pattern.affix, affix.utf8.count < limits.minimumLength { return [] }
        let limit = max(limits.maximumTerms, 0)
        if case .prefix(let p) = pattern {
            return vocabulary.terms(withPrefix: TextAnalyzer.asciiLowercased(p), limit: limit) { postings[$0] != nil }
        }
        let table = table()
        let live = postings
        var out = ExpansionCollector(limit: limit) { live[table.string($0)] != nil }
        switch pattern {
        case .prefix:
            break
        case .suffix(let s):
            TermExpansion.textContains(table, Array(TextAnalyzer.asciiLowercased(s).utf8), suffixOnly: true, into: &out)
        case .contains(let s):
            TermExpansion.textContains(table, Array(TextAnalyzer.asciiLowercased(s).utf8), suffixOnly: false, into: &out)
        case .fuzzy(let word, let distance):
            // The word is folded whole, as strToFoldedRunes does (the query tokenizer lowercases ASCII only: `%ÁO%`).
            let runes = TermExpansion.runes(Array(word.utf8)).map { RuneText.foldPoint($0) }
            guard runes.count <= 100 else { return [] }
            TermExpansion.fuzzy(table, runes, maxEdits: distance, into: &out)
        case .wildcard(let w):
            TermExpansion.textWildcard(table, TermExpansion.runes(TermExpansion.removingEscapes(Array(w.utf8))), into: &out)
        }
        return out.found.map { table.string($0) }
    }
}

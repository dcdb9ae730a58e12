// Which terms an affix, fuzzy or wildcard clause reads, replaying the walks of RediSearch's term trie and tag trie map:
// their order and repeats decide the 200-term limit and which term a union's result reports.

import Keyspace
#if canImport(Glibc)
import Glibc
#endif

/// A clause that reads every term it expands to, as a union.
public enum TermPattern: Hashable, Sendable {
    /// `word*`
    case prefix(String)
    /// `*word`
    case suffix(String)
    /// `*word*`
    case contains(String)
    /// `%word%`, `%%word%%`, `%%%word%%%`: within 1 to 3 edits (insert, delete, substitute).
    case fuzzy(String, distance: Int)
    /// `w'pattern'`: `*` for any run of characters, `?` for one.
    case wildcard(String)

    /// The affix a MINPREFIX applies to (prefix, suffix, contains); nil for the others.
    var affix: String? {
        switch self {
        case .prefix(let s), .suffix(let s), .contains(let s): return s
        case .fuzzy, .wildcard: return nil
        }
    }
}

/// Distinct byte strings in byte order, in one buffer. The strings sharing their first `depth` bytes are a contiguous
/// range: a node of the character trie RediSearch walks, so its walks replay here without building the trie.
struct SortedTerms: Sendable {
    private(set) var bytes: [UInt8] = []
    private(set) var starts: [Int] = [0]

    init() {}

    init(_ terms: some Sequence<some Collection<UInt8>>) {
        for t in terms { append(t) }
    }

    /// Appends a string that sorts after every string already held.
    mutating func append(_ term: some Collection<UInt8>) {
        bytes.append(contentsOf: term)
        starts.append(bytes.count)
    }

    var count: Int { starts.count - 1 }
    func length(_ i: Int) -> Int { starts[i + 1] - starts[i] }
    func byte(_ i: Int, _ depth: Int) -> UInt8 { bytes[starts[i] + depth] }
    func term(_ i: Int) -> ArraySlice<UInt8> { bytes[starts[i]..<starts[i + 1]] }
    func string(_ i: Int) -> String { String(decoding: term(i), as: UTF8.self) }

    /// The strings that start with `prefix`.
    func range(withPrefix prefix: some Collection<UInt8>) -> Range<Int> {
        let p = Array(prefix)
        return bytes.withUnsafeBufferPointer { b in
            p.withUnsafeBufferPointer { q in
                // order(i): how string i compares with the prefix, a string that starts with it counting as equal.
                func order(_ i: Int) -> Int {
                    let start = starts[i], length = starts[i + 1] - start
                    let n = min(length, q.count)
                    if n > 0 {
                        let c = memcmp(b.baseAddress! + start, q.baseAddress!, n)
                        if c != 0 { return c < 0 ? -1 : 1 }
                    }
                    return length < q.count ? -1 : 0
                }
                var lo = 0, hi = count
                while lo < hi { let mid = (lo + hi) >> 1; if order(mid) < 0 { lo = mid + 1 } else { hi = mid } }
                let first = lo
                hi = count
                while lo < hi { let mid = (lo + hi) >> 1; if order(mid) == 0 { lo = mid + 1 } else { hi = mid } }
                return first..<lo
            }
        }
    }

    /// Where the run of strings from `i` that share string i's first `length` bytes ends (galloping forward: the runs
    /// a walk skips are mostly short).
    func endOfRun(from i: Int, sharing length: Int) -> Int {
        bytes.withUnsafeBufferPointer { b in
            let base = b.baseAddress!, mine = starts[i]
            func shares(_ j: Int) -> Bool {
                starts[j + 1] - starts[j] >= length && (length == 0 || memcmp(base + starts[j], base + mine, length) == 0)
            }
            var step = 1, last = i  // last: known to share
            while last + step < count && shares(last + step) { last += step; step *= 2 }
            var lo = last + 1, hi = min(last + step, count)
            while lo < hi { let mid = (lo + hi) >> 1; if shares(mid) { lo = mid + 1 } else { hi = mid } }
            return lo
        }
    }

    /// Strings `lo..<hi` share their first `depth` bytes and are longer: where the run that also shares byte `depth`
    /// with string `lo` ends (a child of the trie node).
    func childEnd(_ lo: Int, _ hi: Int, depth: Int) -> Int {
        let c = byte(lo, depth)
        var a = lo + 1, b = hi
        while a < b {
            let mid = (a + b) >> 1
            if byte(mid, depth) == c { a = mid + 1 } else { b = mid }
        }
        return a
    }

    /// The children of the node `lo..<hi` at `depth` (its own string, if it holds one, left out).
    func forEachChild(_ lo: Int, _ hi: Int, depth: Int, while proceed: () -> Bool, _ body: (Int, Int) -> Void) {
        var s = lo
        if s < hi && length(s) == depth { s += 1 }
        while s < hi && proceed() {
            let e = childEnd(s, hi, depth: depth)
            body(s, e)
            s = e
        }
    }
}

/// What an expansion yields: indices into the terms, in RediSearch's order, repeats included, at most `limit` that
/// `accept` takes (RediSearch's callback opens a reader per term and stops at MAXPREFIXEXPANSIONS; a term without
/// documents opens none and is not counted).
struct ExpansionCollector {
    let limit: Int
    let accept: (Int) -> Bool
    private(set) var found: [Int] = []
    private(set) var stopped = false
    /// Yields counted against the limit (repeats included, kept or not).
    private var yielded = 0
    /// Past `repeatsKept` yields a repeat of a term already found is counted but not kept: a walk can repeat a term
    /// exponentially often (a text suffix over `abab…ab`), and a union's result never differs between two readers of
    /// the same term, only its size would grow without bound.
    static let repeatsKept = 4096
    private var seen = Set<Int>()
    /// Walks that repeat work per occurrence (suffixes, below) are cut off here, where RediSearch's timeout would.
    private var steps = 0
    static let stepBudget = 5_000_000

    init(limit: Int, accept: @escaping (Int) -> Bool) {
        self.limit = limit
        self.accept = accept
        if limit <= 0 { stopped = true }
    }

    mutating func emit(_ i: Int) {
        guard !stopped else { return }
        guard yielded < limit else { stopped = true; return }
        guard accept(i) else { return }
        yielded += 1
        if found.count < Self.repeatsKept {
            found.append(i)
            if found.count == Self.repeatsKept { seen = Set(found) }
        } else if seen.insert(i).inserted {
            found.append(i)
        }
    }

    /// Counts one step of a walk; false once the walk must stop.
    mutating func step() -> Bool {
        steps += 1
        if steps > Self.stepBudget { stopped = true }
        return !stopped
    }
}

enum TermExpansion {
    // MARK: Text terms (RediSearch's rune trie, children in lexical order)

    /// `*word*` and `*word` over the term trie: TrieNode_IterateContains. Every start position is tried in the trie's
    /// depth-first order; a contains match yields the whole subtree below it (so a term holding the affix twice comes
    /// twice); a suffix match yields the term that ends there, and the walk then restarts below it as well as from the
    /// next start position (so a term ending with repeats of the suffix comes more than once).
    static func textContains(_ terms: SortedTerms, _ affix: [UInt8], suffixOnly: Bool, into out: inout ExpansionCollector) {
        guard !affix.isEmpty else { return }
        // One byte: a match at a position returns before the walk tries later start positions below it, so each
        // path yields once (only the walk itself reproduces that).
        if !suffixOnly && affix.count > 1 { return occurrencesInPathOrder(terms, affix, exactEnd: false, into: &out) }
        var walk = ContainsWalk(terms: terms, affix: affix, suffixOnly: suffixOnly, out: out)
        terms.forEachChild(0, terms.count, depth: 0, while: { !walk.out.stopped }) { walk.visit($0, $1, depth: 1, matched: 0) }
        out = walk.out
    }

    private struct ContainsWalk {
        let terms: SortedTerms
        let affix: [UInt8]
        let suffixOnly: Bool
        var out: ExpansionCollector

        /// The trie node `lo..<hi` whose last character is byte `depth - 1`; `matched` affix bytes lead up to it.
        mutating func visit(_ lo: Int, _ hi: Int, depth: Int, matched: Int) {
            guard out.step() else { return }
            if terms.byte(lo, depth - 1) == affix[matched] {
                if matched + 1 == affix.count {
                    if !suffixOnly {
                        for i in lo..<hi where !out.stopped { out.emit(i) }
                        return
                    }
                    if terms.length(lo) == depth { out.emit(lo) }
                    children(lo, hi, depth: depth, matched: 0)
                    return
                }
                children(lo, hi, depth: depth, matched: matched + 1)
            }
            if matched == 0 { children(lo, hi, depth: depth, matched: 0) }
        }

        mutating func children(_ lo: Int, _ hi: Int, depth: Int, matched: Int) {
            var s = lo
            if s < hi && terms.length(s) == depth { s += 1 }
            while s < hi && !out.stopped {
                let e = terms.childEnd(s, hi, depth: depth)
                visit(s, e, depth: depth + 1, matched: matched)
                s = e
            }
        }
    }

    /// `%word%`: the trie walked in order through RediSearch's Levenshtein automaton (no transpositions), a subtree
    /// skipped once no prefix of the word is within reach. A term is yielded when the automaton can still go on after
    /// its last character and either that state or the one before it matches: so `ba` is one edit from `ab` here,
    /// as in RediSearch's FilterFunc.
    static func fuzzy(_ terms: SortedTerms, _ word: [UInt32], maxEdits: Int, into out: inout ExpansionCollector) {
        let n = word.count
        let width = n + 1
        let unreachable = maxEdits + 1
        // rows[d * width + j]: edits between the term's first d runes and the word's first j (capped).
        var rows = [Int](repeating: 0, count: width)
        for j in 0...n { rows[j] = min(j, unreachable) }
        var current = RuneDecoder(), previous = RuneDecoder()
        var validDepth = 0       // rows 0...validDepth hold the previous term's states
        func reachable(_ d: Int) -> Bool {
            for j in 0...n where rows[d * width + j] <= maxEdits { return true }
            return false
        }
        var i = 0
        while i < terms.count && !out.stopped {
            current.decode(terms, i)
            let runes = current.runes
            let length = current.count
            var common = 0
            while common < length && common < previous.count && runes[common] == previous.runes[common] { common += 1 }
            var depth = min(common, validDepth)
            // A state reused from the previous term is dead only where that term's walk stopped.
            var deadAt = depth > 0 && !reachable(depth) ? depth : -1
            if deadAt < 0 {
                if rows.count < (length + 1) * width { rows += [Int](repeating: 0, count: (length + 1) * width - rows.count) }
                while depth < length {
                    let c = runes[depth], base = depth * width, next = base + width
                    rows[next] = min(rows[base] + 1, unreachable)
                    var j = 1
                    while j <= n {
                        let substitute = rows[base + j - 1] + (word[j - 1] == c ? 0 : 1)
                        rows[next + j] = min(substitute, rows[base + j] + 1, rows[next + j - 1] + 1, unreachable)
                        j += 1
                    }
                    depth += 1
                    if !reachable(depth) { deadAt = depth; break }
                }
            }
            swap(&current, &previous)
            if deadAt >= 0 {
                validDepth = deadAt
                // Every term below the dead prefix is skipped, as the trie walk pops that node.
                i = max(terms.endOfRun(from: i, sharing: previous.byteLength(runes: deadAt)), i + 1)
                continue
            }
            validDepth = length
            if length > 0 && (rows[length * width + n] <= maxEdits || rows[(length - 1) * width + n] <= maxEdits) {
                out.emit(i)
            }
            i += 1
        }
    }

    /// `w'pattern'` over the term trie (TrieNode_IterateWildcard): the terms in order that Wildcard_MatchRune matches
    /// whole. Its pruning never drops a match, so a filter in order yields the same list; the terms that the
    /// pattern's literal start rules out (a subtree RediSearch leaves at the first mismatch) are not read.
    static func textWildcard(_ terms: SortedTerms, _ pattern: [UInt32], into out: inout ExpansionCollector) {
        guard !pattern.isEmpty else { return }
        var literal: [UInt8] = []
        for c in pattern {
            if c == 0x2A || c == 0x3F || c >= 0x80 { break }
            literal.append(UInt8(c))
        }
        var decoder = RuneDecoder()
        pattern.withUnsafeBufferPointer { p in
            for i in terms.range(withPrefix: literal) where !out.stopped {
                decoder.decode(terms, i)
                let whole = decoder.runes.withUnsafeBufferPointer {
                    wildcardMatch(p, UnsafeBufferPointer(rebasing: $0[0..<decoder.count])) == .full
                }
                if whole { out.emit(i) }
            }
        }
    }

    // MARK: Tag values (RediSearch's byte trie map, children by first byte)

    /// `*word*` and `*word` over a tag trie map (TrieMapIterator_NextContains): every position in depth-first order
    /// where the affix's first byte is; if the rest follows, a contains match yields the subtree there, a suffix match
    /// the value ending exactly there. So contains repeats a value per occurrence, suffix never does.
    static func tagContains(_ values: SortedTerms, _ affix: [UInt8], suffixOnly: Bool, into out: inout ExpansionCollector) {
        guard !affix.isEmpty else { return }
        occurrencesInPathOrder(values, affix, exactEnd: suffixOnly, into: &out)
    }

    /// The contains walks (the text trie's, the tag trie map's) and the tag suffix walk visit every trie position
    /// depth first and, where the affix starts there and its rest follows, yield the subtree below its end (or, for
    /// `exactEnd`, the value ending exactly there). So the yields come in the order of those start positions' paths
    /// (a trie's preorder: byte order, a path before its extensions), one group per path. Found here by scanning
    /// each string for the affix and sorting the distinct paths, instead of visiting every position.
    static func occurrencesInPathOrder(_ terms: SortedTerms, _ affix: [UInt8], exactEnd: Bool,
                                       into out: inout ExpansionCollector) {
        let n = affix.count
        // (string, path length up to and including the affix's first byte)
        var paths: [(term: Int, length: Int)] = []
        terms.bytes.withUnsafeBufferPointer { b in
            affix.withUnsafeBufferPointer { a in
                let first = a[0]
                for i in 0..<terms.count {
                    let start = terms.starts[i], end = terms.starts[i + 1]
                    var p = start
                    while p + n <= end {
                        if b[p] == first && (n == 1 || memcmp(b.baseAddress! + p + 1, a.baseAddress! + 1, n - 1) == 0) {
                            paths.append((i, p - start + 1))
                        }
                        p += 1
                    }
                }
            }
        }
        guard !paths.isEmpty else { return }
        terms.bytes.withUnsafeBufferPointer { b in
            let base = b.baseAddress!
            func precedes(_ x: (term: Int, length: Int), _ y: (term: Int, length: Int)) -> Bool {
                let m = min(x.length, y.length)
                let c = memcmp(base + terms.starts[x.term], base + terms.starts[y.term], m)
                return c != 0 ? c < 0 : x.length < y.length
            }
            // Paths from different strings can be the same trie position: sorted, equal ones are neighbours.
            paths.sort(by: precedes)
        }
        var previous: (term: Int, length: Int)? = nil
        for path in paths where !out.stopped {
            if let previous, previous.length == path.length,
               terms.term(previous.term).prefix(path.length).elementsEqual(terms.term(path.term).prefix(path.length)) { continue }
            previous = path
            // The strings below the affix's end: those sharing this string's first length + n - 1 bytes.
            let end = path.length + n - 1
            let below = terms.range(withPrefix: terms.term(path.term).prefix(end))
            if exactEnd {
                if terms.length(below.lowerBound) == end { out.emit(below.lowerBound) }
            } else {
                for i in below where !out.stopped { out.emit(i) }
            }
        }
    }

    /// `w'pattern'` over a tag trie map: the values in order that Wildcard_MatchChar (bytes) matches whole (those the
    /// literal start rules out are not read).
    static func tagWildcard(_ values: SortedTerms, _ pattern: [UInt8], into out: inout ExpansionCollector) {
        guard !pattern.isEmpty else { return }
        let literal = pattern.prefix { $0 != 0x2A && $0 != 0x3F }
        let range = values.range(withPrefix: literal)
        values.bytes.withUnsafeBufferPointer { b in
            pattern.withUnsafeBufferPointer { p in
                for i in range where !out.stopped {
                    let value = UnsafeBufferPointer(rebasing: b[values.starts[i]..<values.starts[i + 1]])
                    if wildcardMatch(p, value) == .full { out.emit(i) }
                }
            }
        }
    }

    // MARK: Matching

    enum WildcardResult { case none, partial, full }

    /// RediSearch's Wildcard_Match: `?` any one character, `*` any run, backtracking to the last star only.
    /// Over code points (text) or bytes (tags).
    static func wildcardMatch<C: FixedWidthInteger>(_ pattern: UnsafeBufferPointer<C>, _ s: UnsafeBufferPointer<C>) -> WildcardResult {
        let star = C(0x2A), any = C(0x3F)
        let pe = pattern.count, se = s.count
        var p = 0, t = 0
        var starAt = -1, resumeAt = -1
        while true {
            if p != pe {
                let c = pattern[p]
                if t != se && (c == s[t] || c == any) {
                    t += 1; p += 1
                    continue
                } else if c == star {
                    while p != pe && pattern[p] == star { p += 1 }
                    let d: C = p < pe ? pattern[p] : 0  // C reads the terminating zero
                    while t != se && !(d == s[t] || d == any) { t += 1 }
                    starAt = p - 1
                    resumeAt = t + 1
                    continue
                }
            } else if t == se {
                return .full
            }
            if t == se { return .partial }
            if resumeAt < 0 { return .none }
            p = starAt
            t = resumeAt
        }
    }

    /// Wildcard_RemoveEscape: every backslash drops out and keeps the character after it.
    static func removingEscapes(_ s: [UInt8]) -> [UInt8] {
        guard s.contains(UInt8(ascii: "\\")) else { return s }
        var out: [UInt8] = []
        var i = 0
        while i < s.count {
            if s[i] == UInt8(ascii: "\\") { i += 1; if i == s.count { break } }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// UTF-8 to code points, ASCII folded to lower case (RediSearch folds its runes; terms are stored lower case).
    static func runes(_ bytes: [UInt8]) -> [UInt32] {
        var d = RuneDecoder()
        bytes.withUnsafeBufferPointer { d.decode($0) }
        return Array(d.runes[0..<d.count])
    }
}

/// Decodes terms of a SortedTerms into a reused buffer of code points (ASCII folded to lower case; a malformed byte
/// stands for itself), without allocating per term.
struct RuneDecoder {
    private(set) var runes: [UInt32] = []
    private(set) var count = 0
    /// Byte length of the first k + 1 runes, kept only for a term that is not ASCII.
    private var ends: [Int] = []
    private var ascii = true

    func byteLength(runes k: Int) -> Int { k == 0 ? 0 : ascii ? k : ends[k - 1] }

    mutating func decode(_ terms: SortedTerms, _ i: Int) {
        terms.bytes.withUnsafeBufferPointer { decode(UnsafeBufferPointer(rebasing: $0[terms.starts[i]..<terms.starts[i + 1]])) }
    }

    mutating func decode(_ b: UnsafeBufferPointer<UInt8>) {
        if runes.count < b.count { runes = [UInt32](repeating: 0, count: b.count * 2) }
        var k = 0, j = 0
        ascii = true
        while j < b.count {
            let byte = b[j]
            if byte < 0x80 {
                runes[k] = UInt32(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
                j += 1
            } else {
                if ascii {
                    // The byte offsets are kept from the first other character on (before it, rune k ends at k + 1).
                    ascii = false
                    if ends.count < b.count { ends = [Int](repeating: 0, count: b.count * 2) }
                    for m in 0..<k { ends[m] = m + 1 }
                }
                var width = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                var v = UInt32(byte)
                if width > 1 && j + width <= b.count {
                    v = UInt32(byte) & (0xFF >> (width + 1))
                    for m in 1..<width {
                        let cb = b[j + m]
                        if cb & 0xC0 != 0x80 { width = 1; v = UInt32(byte); break }
                        v = v << 6 | UInt32(cb & 0x3F)
                    }
                } else {
                    width = 1
                }
                runes[k] = v
                j += width
            }
            if !ascii { ends[k] = j }
            k += 1
        }
        count = k
    }
}

extension TagValue {
    /// The value as a field without CASESENSITIVE reads it: lower case, patterns too (tag_strtolower).
    func folded(caseSensitive: Bool) -> TagValue {
        guard !caseSensitive else { return self }
        switch self {
        case .exact(let v): return .exact(v.lowercased())
        case .pattern(.prefix(let p)): return .pattern(.prefix(p.lowercased()))
        case .pattern(.suffix(let p)): return .pattern(.suffix(p.lowercased()))
        case .pattern(.contains(let p)): return .pattern(.contains(p.lowercased()))
        case .pattern(.wildcard(let p)): return .pattern(.wildcard(p.lowercased()))
        case .pattern(.fuzzy(let p, let d)): return .pattern(.fuzzy(p.lowercased(), distance: d))
        }
    }
}

/// The vocabulary and tag values in order, as the expansions walk them, kept until the index's next write: building
/// them costs a sort or a merge of every term, which a query repeated between writes should not pay again.
struct SortedTermsCache {
    var textWrites: UInt64 = .max
    var text = SortedTerms()
    var tags: [String: (writes: UInt64, values: [Bytes], table: SortedTerms)] = [:]
}

extension SearchIndex {
    /// The text terms a pattern reads (TextIndex.expansions), the ordered vocabulary taken from the cache.
    func textExpansions(_ pattern: TermPattern, _ limits: PrefixExpansion) -> [String] {
        text.expansions(of: pattern, limits, table: orderedVocabulary())
    }

    /// The text vocabulary in byte order, from the cache while the index has not been written since (caller holds a
    /// lock).
    func orderedVocabulary() -> SortedTerms {
        sortedTerms.withLock { cache in
            let writes = lock.writes
            if cache.textWrites != writes {
                cache.text = text.vocabulary.merged()
                cache.textWrites = writes
            }
            return cache.text
        }
    }

    /// The tag values a pattern reads, in the order of RediSearch's tag trie map (repeats included), at most
    /// MAXPREFIXEXPANSIONS of them; an affix shorter than MINPREFIX bytes reads none (Query_EvalTagPrefixNode).
    func tagExpansions(_ field: String, _ postings: [Bytes: TagPosting], _ pattern: TermPattern,
                       _ limits: PrefixExpansion) -> [Bytes] {
        if let affix = pattern.affix, affix.utf8.count < limits.minimumLength { return [] }
        let (keys, table) = sortedTerms.withLock { cache in
            let writes = lock.writes
            if let known = cache.tags[field], known.writes == writes { return (known.values, known.table) }
            let pairs = postings.keys.map { ($0, $0.storage) }.sorted { $0.1.lexicographicallyPrecedes($1.1) }
            let entry = (writes: writes, values: pairs.map(\.0), table: SortedTerms(pairs.map(\.1)))
            cache.tags[field] = entry
            return (entry.values, entry.table)
        }
        var out = ExpansionCollector(limit: max(limits.maximumTerms, 0)) { _ in true }
        switch pattern {
        case .prefix(let p):
            for i in table.range(withPrefix: Array(p.utf8)) where !out.stopped { out.emit(i) }
        case .suffix(let s):
            TermExpansion.tagContains(table, Array(s.utf8), suffixOnly: true, into: &out)
        case .contains(let s):
            TermExpansion.tagContains(table, Array(s.utf8), suffixOnly: false, into: &out)
        case .wildcard(let w):
            TermExpansion.tagWildcard(table, TermExpansion.removingEscapes(Array(w.utf8)), into: &out)
        case .fuzzy:
            break
        }
        return out.found.map { keys[$0] }
    }
}

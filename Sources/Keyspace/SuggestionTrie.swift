// An autocomplete dictionary (FT.SUGADD / FT.SUGGET): RediSearch 2.10's score-sorted rune trie, so lookups return
// the same entries in the same order, ties and quirks included.
import Glibc

/// The value of a key written by FT.SUGADD (`TYPE` reports `trietype0`, RediSearch's module type).
///
/// Strings are kept as 16-bit runes, as RediSearch's trie keeps them (a code point above U+FFFF keeps its low 16
/// bits). Each node holds a run of runes; children are ordered by the highest score below them, which is the order
/// a lookup visits them in: that order, not only the scores, decides which entries a `MAX n` lookup keeps when
/// scores tie, so the insertion and deletion rules below (and their quirks) follow trie.c step by step.
public struct SuggestionTrie: Sendable {
    struct Node: Sendable {
        var runes: [UInt16]
        var children: [Int32] = []
        var isTerminal: Bool
        var isDeleted = false
        var score: Float
        /// The highest score added at or below this node (only ever raised by adds; recomputed on deletes).
        var maxChildScore: Float
        var payload: [UInt8]?

        init(runes: [UInt16], score: Float, isTerminal: Bool, payload: [UInt8]?) {
            self.runes = runes
            self.isTerminal = isTerminal
            self.score = score
            self.maxChildScore = score
            self.payload = payload
        }
    }

    /// One reference, so a key's value stays as small as a hash's (KeyTable entries are 32 bytes); copied on write.
    final class Storage: @unchecked Sendable {
        var nodes: [Node] = [Node(runes: [], score: 0, isTerminal: false, payload: nil)]
        var freeNodes: [Int32] = []
        var count = 0
        init() {}
        init(copying other: Storage) { nodes = other.nodes; freeNodes = other.freeNodes; count = other.count }
    }
    private var storage = Storage()

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
    }

    var nodes: [Node] {
        get { storage.nodes }
        _modify { makeUnique(); yield &storage.nodes }
    }
    var freeNodes: [Int32] {
        get { storage.freeNodes }
        _modify { makeUnique(); yield &storage.freeNodes }
    }
    /// Entries (FT.SUGLEN).
    public private(set) var count: Int {
        get { storage.count }
        _modify { makeUnique(); yield &storage.count }
    }

    public init() {}

    /// Longest string FT.SUGADD stores, in bytes (RediSearch's TRIE_INITIAL_STRING_LEN runes × 2); longer ones are
    /// silently not added.
    public static let maxEntryBytes = 512
    static let maxEntryRunes = 256
    /// Longest lookup prefix, in bytes and in runes; longer prefixes find nothing.
    public static let maxPrefixBytes = 200
    static let maxPrefixRunes = 100

    /// Adds `string` with `score`, or replaces (or with `increment`, adds to) its score; a non-nil `payload`
    /// replaces the entry's payload, nil keeps it. A zero score or an empty string changes nothing. Returns whether
    /// the entry is new.
    @discardableResult
    public mutating func add(_ string: [UInt8], score: Float, increment: Bool, payload: [UInt8]?) -> Bool {
        guard string.count <= Self.maxEntryBytes else { return false }
        let runes = RuneText.runes(string, folded: false)
        guard !runes.isEmpty, runes.count < Self.maxEntryRunes else { return false }
        let added = add(node: 0, runes[...], score: score, payload: payload.flatMap { $0.isEmpty ? nil : $0 },
                        increment: increment)
        if added { count += 1 }
        return added
    }

    /// Removes `string` (exact runes, no folding); returns whether it was there.
    @discardableResult
    public mutating func delete(_ string: [UInt8]) -> Bool {
        let runes = RuneText.runes(string, folded: false)
        guard runes.count <= Self.maxEntryRunes else { return false }
        var path: [Int32] = []
        var node: Int32? = 0
        var offset = 0
        var removed = false
        while let n = node, offset < runes.count {
            path.append(n)
            let nodeRunes = nodes[Int(n)].runes
            var local = 0
            while offset < runes.count && local < nodeRunes.count && runes[offset] == nodeRunes[local] {
                offset += 1
                local += 1
            }
            if offset == runes.count {
                if local == nodeRunes.count && !nodes[Int(n)].isDeleted && nodes[Int(n)].isTerminal {
                    nodes[Int(n)].isDeleted = true
                    nodes[Int(n)].isTerminal = false
                    nodes[Int(n)].score = 0
                    removed = true
                }
                break
            } else if local == nodeRunes.count {
                node = nodes[Int(n)].children.first { nodes[Int($0)].runes[0] == runes[offset] }
            } else {
                break
            }
        }
        for n in path.reversed() { optimize(n) }
        if removed { count -= 1 }
        return removed
    }

    /// Every entry in the trie's own order (children by descending max score), as RediSearch saves it.
    public func forEachEntry(_ body: ([UInt8], Float, [UInt8]?) -> Void) {
        var text: [UInt16] = []
        func visit(_ n: Int32) {
            let node = nodes[Int(n)]
            text.append(contentsOf: node.runes)
            if node.isTerminal && !node.isDeleted { body(RuneText.utf8(text), node.score, node.payload) }
            for child in node.children { visit(child) }
            text.removeLast(node.runes.count)
        }
        visit(0)
    }

    /// The score of the first live entry, in the trie's order, whose folded runes equal `string`'s (FT.SPELLCHECK's
    /// SpellCheck_IsTermExistsInTrie); nil when there is none.
    public func firstFoldedMatch(_ string: [UInt8]) -> Float? {
        let query = RuneText.runes(string, folded: true)
        func visit(_ n: Int32, depth: Int) -> Float? {
            let node = nodes[Int(n)]
            var d = depth
            for r in node.runes {
                guard d < query.count, RuneText.fold(r) == query[d] else { return nil }
                d += 1
            }
            if d == query.count && !node.runes.isEmpty && node.isTerminal && !node.isDeleted { return node.score }
            for child in node.children { if let found = visit(child, depth: d) { return found } }
            return nil
        }
        return visit(0, depth: 0)
    }

    /// Rough bytes held, for MEMORY USAGE.
    public var memoryUsage: Int {
        nodes.reduce(64) { $0 + 48 + $1.runes.count * 2 + $1.children.count * 4 + ($1.payload?.count ?? 0) }
    }

    // MARK: adding (TrieNode_Add)

    private mutating func newNode(_ node: Node) -> Int32 {
        if let reused = freeNodes.popLast() {
            nodes[Int(reused)] = node
            return reused
        }
        nodes.append(node)
        return Int32(nodes.count - 1)
    }

    private mutating func raiseMax(_ n: Int32, _ score: Float) {
        if score > nodes[Int(n)].maxChildScore { nodes[Int(n)].maxChildScore = score }
    }

    /// Moves the node's runes from `offset` on into a new only child, leaving `n` a non-terminal prefix.
    private mutating func split(_ n: Int32, at offset: Int) {
        let old = nodes[Int(n)]
        var tail = Node(runes: Array(old.runes[offset...]), score: old.score, isTerminal: old.isTerminal, payload: old.payload)
        tail.maxChildScore = old.maxChildScore
        tail.isDeleted = old.isDeleted
        tail.children = old.children
        let t = newNode(tail)
        nodes[Int(n)].runes.removeSubrange(offset...)
        nodes[Int(n)].children = [t]
        nodes[Int(n)].payload = nil
        nodes[Int(n)].score = 0
        nodes[Int(n)].isTerminal = false
        nodes[Int(n)].isDeleted = false
        raiseMax(n, tail.score)
    }

    private mutating func add(node n: Int32, _ runes: ArraySlice<UInt16>, score: Float, payload: [UInt8]?,
                              increment: Bool) -> Bool {
        if score == 0 || runes.isEmpty { return false }
        let nodeRunes = nodes[Int(n)].runes
        var offset = 0
        while offset < runes.count && offset < nodeRunes.count && runes[runes.startIndex + offset] == nodeRunes[offset] {
            offset += 1
        }
        if offset < nodeRunes.count {
            split(n, at: offset)
            if offset == runes.count {
                nodes[Int(n)].score = score
                nodes[Int(n)].isTerminal = true
                nodes[Int(n)].payload = payload
            } else {
                let next = runes[runes.startIndex + offset]
                let leaf = newNode(Node(runes: Array(runes.dropFirst(offset)), score: score, isTerminal: true, payload: payload))
                // The split left one child: the new one goes before or after it by its first rune.
                let first = nodes[Int(nodes[Int(n)].children[0])].runes[0]
                nodes[Int(n)].children.insert(leaf, at: next > first ? 1 : 0)
                raiseMax(n, score)
            }
            return true
        }
        raiseMax(n, score)
        if offset == runes.count {
            let wasLive = nodes[Int(n)].isTerminal && !nodes[Int(n)].isDeleted
            nodes[Int(n)].score = increment ? nodes[Int(n)].score + score : score
            if let payload { nodes[Int(n)].payload = payload }
            nodes[Int(n)].isTerminal = true
            nodes[Int(n)].isDeleted = false
            return !wasLive
        }
        let next = runes[runes.startIndex + offset]
        var scoreIndex: Int?
        let children = nodes[Int(n)].children
        for (i, child) in children.enumerated() {
            if nodes[Int(child)].runes[0] == next {
                let added = add(node: child, runes.dropFirst(offset), score: score, payload: payload, increment: increment)
                let k = children.count
                // trie.c re-sorts only when the child now outranks its left neighbour or trails its right one (its
                // right-neighbour test stops two short of the end; kept, as it decides the order).
                if k > 1 {
                    let m = nodes[Int(child)].maxChildScore
                    if (i > 0 && m > nodes[Int(children[i - 1])].maxChildScore)
                        || (i < k - 2 && m < nodes[Int(children[i + 1])].maxChildScore) {
                        sortChildren(n)
                    }
                }
                return added
            }
            if scoreIndex == nil && nodes[Int(child)].maxChildScore < score { scoreIndex = i }
        }
        let leaf = newNode(Node(runes: Array(runes.dropFirst(offset)), score: score, isTerminal: true, payload: payload))
        nodes[Int(n)].children.insert(leaf, at: scoreIndex ?? children.count)
        return true
    }

    /// Children by descending max score, then by runes (siblings differ in their first rune, so the order is total).
    private mutating func sortChildren(_ n: Int32) {
        // Keyed first: a closure reading `nodes` while one of its elements is sorted in place would copy the array.
        let keyed = nodes[Int(n)].children.map { (child: $0, max: nodes[Int($0)].maxChildScore, first: nodes[Int($0)].runes) }
        nodes[Int(n)].children = keyed.sorted { x, y in
            if x.max != y.max { return x.max > y.max }
            return x.first.lexicographicallyPrecedes(y.first)
        }.map(\.child)
    }

    // MARK: deleting (TrieNode_Delete's optimizeChildren)

    /// Drops a deleted leaf child, merges single-child chains, recomputes the max score and re-sorts. As in trie.c,
    /// the pass stops right after removing a child (only the children after it are counted again).
    private mutating func optimize(_ n: Int32) {
        nodes[Int(n)].maxChildScore = nodes[Int(n)].score
        var i = 0
        while i < nodes[Int(n)].children.count {
            let child = nodes[Int(n)].children[i]
            if nodes[Int(child)].children.isEmpty && nodes[Int(child)].isDeleted {
                nodes[Int(n)].children.remove(at: i)
                release(child)
                for later in nodes[Int(n)].children[i...] { raiseMax(n, nodes[Int(later)].maxChildScore) }
                break
            }
            if nodes[Int(child)].children.count == 1 { mergeWithOnlyChild(child) }
            raiseMax(n, nodes[Int(child)].maxChildScore)
            i += 1
        }
        sortChildren(n)
    }

    /// A non-terminal node with one child takes the child's runes, flags, score, payload and children.
    private mutating func mergeWithOnlyChild(_ n: Int32) {
        let node = nodes[Int(n)]
        guard !node.isTerminal, node.children.count == 1 else { return }
        let only = node.children[0]
        var merged = nodes[Int(only)]
        merged.runes = node.runes + merged.runes
        nodes[Int(n)] = merged
        freeNodes.append(only)
        nodes[Int(only)] = Node(runes: [], score: 0, isTerminal: false, payload: nil)
    }

    private mutating func release(_ n: Int32) {
        var stack = [n]
        while let m = stack.popLast() {
            stack.append(contentsOf: nodes[Int(m)].children)
            nodes[Int(m)] = Node(runes: [], score: 0, isTerminal: false, payload: nil)
            freeNodes.append(m)
        }
    }
}

// MARK: - lookup (Trie_Search)

extension SuggestionTrie {
    public struct Suggestion: Sendable, Equatable {
        public var string: [UInt8]
        public var score: Float
        public var payload: [UInt8]?
    }

    /// The best `limit` entries that start with `prefix` (folded), or, with `maxDistance` 1, whose start is within
    /// one edit of it; highest adjusted score first. Scores are adjusted as RediSearch adjusts them: an entry equal to
    /// the prefix scores 2^31, a fuzzy match loses e^(-2·distance), and every score is divided by
    /// √(1 + |runes of the entry − bytes of the prefix|) (runes against bytes, as trie_type.c compares them). With
    /// `trim`, entries scoring under a tenth of a better one are cut. Nil for a prefix of more than 200 bytes or
    /// 99 runes (RediSearch's "Invalid query").
    public func suggestions(prefix: [UInt8], limit: Int, maxDistance: Int, trim: Bool = false) -> [Suggestion]? {
        guard prefix.count <= Self.maxPrefixBytes else { return nil }
        let query = RuneText.runes(prefix, folded: true)
        guard query.count < Self.maxPrefixRunes else { return nil }
        var search = SuggestionSearch(trie: self, query: query, queryBytes: prefix.count, limit: limit, maxDistance: maxDistance)
        search.visit(0)
        var out = search.heap.drainDescending()
        if trim {
            var best: Float = 0
            for (i, s) in out.enumerated() {
                if best != 0 && Double(s.score) < Double(best) / 10 { out.removeSubrange(i...); break }
                best = max(best, s.score)
            }
        }
        return out
    }
}

/// One lookup's walk: the trie in child order, runes filtered by the Levenshtein automaton, matches kept in a
/// bounded min-heap whose smallest score prunes subtrees that cannot beat it.
struct SuggestionSearch {
    /// The trie's nodes, read once (each read through the trie's storage would retain the array again).
    let nodes: [SuggestionTrie.Node]
    let query: [UInt16]
    let queryBytes: Int
    let limit: Int
    let maxDistance: Int
    var automaton: LevenshteinAutomaton
    var heap: SuggestionHeap
    var minScore = Float(Int32.min)
    /// The distance of the latest match (filter state shared by the walk, as levenshtein.c's FilterFunc keeps it).
    var lastDistance: Int
    var states: [Int32?]
    var distances: [Int]
    var text: [UInt16] = []

    init(trie: SuggestionTrie, query: [UInt16], queryBytes: Int, limit: Int, maxDistance: Int) {
        nodes = trie.nodes
        self.query = query
        self.queryBytes = queryBytes
        self.limit = limit
        self.maxDistance = maxDistance
        automaton = LevenshteinAutomaton(query: query, maxDistance: maxDistance)
        heap = SuggestionHeap(capacity: limit)
        lastDistance = maxDistance + 1
        states = [automaton.start]
        distances = [maxDistance + 1]
    }

    /// Steps the automaton over one rune: whether the walk goes on below it and whether the text so far matches.
    mutating func step(_ rune: UInt16) -> (proceed: Bool, matched: Bool) {
        let smallest = distances[distances.count - 1]
        guard let state = states[states.count - 1] else {
            // Past a complete match: everything below matches.
            states.append(nil)
            distances.append(smallest)
            return (true, true)
        }
        var matched = automaton.accepts(state)
        if matched { lastDistance = min(automaton.distance(state), smallest) }
        if let next = automaton.next(state, RuneText.fold(rune)) {
            if automaton.accepts(next) {
                matched = true
                lastDistance = min(automaton.distance(next), smallest)
            }
            states.append(next)
            distances.append(min(automaton.distance(next), smallest))
            return (true, matched)
        }
        if matched {
            states.append(nil)
            distances.append(smallest)
            return (true, true)
        }
        return (false, matched)
    }

    mutating func visit(_ n: Int32) {
        let runes = nodes[Int(n)].runes
        let isLive = nodes[Int(n)].isTerminal && !nodes[Int(n)].isDeleted
        var consumed = 0
        var completed = true
        for (k, rune) in runes.enumerated() {
            let (proceed, matched) = step(rune)
            if !proceed { completed = false; break }
            text.append(rune)
            consumed += 1
            if matched && k == runes.count - 1 && isLive { offer(nodes[Int(n)].score, nodes[Int(n)].payload) }
        }
        if completed {
            for child in nodes[Int(n)].children {
                if nodes[Int(child)].maxChildScore >= minScore || nodes[Int(child)].score >= minScore { visit(child) }
            }
        }
        states.removeLast(consumed)
        distances.removeLast(consumed)
        text.removeLast(consumed)
    }

    mutating func offer(_ nodeScore: Float, _ payload: [UInt8]?) {
        let length = text.count
        // trie_type.c compares the first `length` BYTES of the two rune arrays (half the runes): kept.
        var exact = false
        if length > 0 && length == query.count {
            let bytes = length
            exact = query.withUnsafeBytes { q in text.withUnsafeBytes { t in memcmpPrefix(q, t, bytes) } }
        }
        var score: Float = exact ? Float(Int32.max) : nodeScore
        if maxDistance > 0 { score = Float(Double(score) * exp(-Double(2 * lastDistance))) }
        score = Float(Double(score) / (1 + Double(abs(length - queryBytes))).squareRoot())
        if heap.count < limit {
            heap.push(SuggestionTrie.Suggestion(string: RuneText.utf8(text), score: score, payload: payload))
            if heap.count == limit { minScore = heap.minimum.score }
        } else if score > minScore {
            _ = heap.popMinimum()
            heap.push(SuggestionTrie.Suggestion(string: RuneText.utf8(text), score: score, payload: payload))
            if heap.minimum.score > minScore { minScore = heap.minimum.score }
        }
    }

    private func memcmpPrefix(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ n: Int) -> Bool {
        for i in 0..<n where a[i] != b[i] { return false }
        return true
    }
}

/// RediSearch's util/heap.c min-heap on score (ties keep heap order), bounded by the caller.
struct SuggestionHeap {
    var items: [SuggestionTrie.Suggestion] = []
    init(capacity: Int) { items.reserveCapacity(min(capacity, 1024)) }
    var count: Int { items.count }
    var minimum: SuggestionTrie.Suggestion { items[0] }

    /// heap.c's comparator: positive when `a` ranks below `b` (a higher score sinks, so the root is the minimum).
    private func compare(_ a: Int, _ b: Int) -> Int {
        if items[a].score < items[b].score { return 1 }
        if items[a].score > items[b].score { return -1 }
        return 0
    }

    mutating func push(_ item: SuggestionTrie.Suggestion) {
        items.append(item)
        var i = items.count - 1
        while i != 0 {
            let parent = (i - 1) / 2
            if compare(i, parent) < 0 { return }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func popMinimum() -> SuggestionTrie.Suggestion {
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            if items.count > 1 { siftDown(0) }
        }
        return top
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = 2 * i + 2
            let c: Int
            if r >= items.count {
                if l >= items.count { return }
                c = l
            } else {
                c = compare(l, r) < 0 ? r : l
            }
            if compare(i, c) < 0 {
                items.swapAt(i, c)
                i = c
            } else {
                return
            }
        }
    }

    /// Pops everything, best first.
    mutating func drainDescending() -> [SuggestionTrie.Suggestion] {
        var out: [SuggestionTrie.Suggestion] = []
        out.reserveCapacity(items.count)
        while !items.isEmpty { out.append(popMinimum()) }
        return out.reversed()
    }
}

/// levenshtein.c's sparse Levenshtein automaton over folded runes, states cached by their vector (a state equal to
/// the start keeps the start's distance 0, as the cache returns it).
public struct LevenshteinAutomaton {
    struct State {
        var vector: [(index: Int32, value: Int32)]
        var distance: Int
        var isMatch: Bool
    }
    let query: [UInt16]
    let maxDistance: Int
    var states: [State] = []
    var cache: [[Int32]: Int32] = [:]
    /// Transitions already computed: state << 16 | rune → next state, -1 for none.
    var edges: [UInt64: Int32] = [:]
    var asciiEdges: [Int32] = []

    public private(set) var start: Int32 = 0

    let querySetsRuneOne: Bool

    public init(query: [UInt16], maxDistance: Int) {
        self.query = query
        self.maxDistance = maxDistance
        querySetsRuneOne = query.contains(1)
        let vector = (0...maxDistance).map { (index: Int32($0), value: Int32($0)) }
        start = intern(vector, distance: 0)
    }

    /// A whole word's match as RediSearch's non-prefix walks take it (FT.SPELLCHECK's candidates): the automaton
    /// must go on through every rune of `word` (folded here), and the state before or after its last rune accepts.
    public mutating func matchesWhole(_ word: [UInt16]) -> Bool {
        var state = start
        var matched = false
        for rune in word {
            matched = accepts(state)
            guard let next = next(state, RuneText.fold(rune)) else { return false }
            if accepts(next) { matched = true }
            state = next
        }
        return matched
    }

    public func accepts(_ s: Int32) -> Bool { states[Int(s)].isMatch }
    func distance(_ s: Int32) -> Int { states[Int(s)].distance }

    private mutating func intern(_ vector: [(index: Int32, value: Int32)], distance: Int? = nil) -> Int32 {
        let key = vector.flatMap { [$0.index, $0.value] }
        if let known = cache[key] { return known }
        let state = State(vector: vector, distance: distance ?? Int(vector[vector.count - 1].value),
                          isMatch: !vector.isEmpty && Int(vector[vector.count - 1].index) == query.count)
        states.append(state)
        cache[key] = Int32(states.count - 1)
        return Int32(states.count - 1)
    }

    /// The state after `rune`, nil when no prefix of the query is within reach any more. A rune that equals none of
    /// the query runes the state looks at steps as rune 1 (the automaton's "any other" edge).
    public mutating func next(_ s: Int32, _ rune: UInt16) -> Int32? {
        // ASCII runes: a flat table per state (-2 not computed yet, -1 no state).
        if rune < 128 {
            let slot = Int(s) << 7 | Int(rune)
            if slot < asciiEdges.count, asciiEdges[slot] != -2 { return asciiEdges[slot] < 0 ? nil : asciiEdges[slot] }
            let found = step(s, rune)
            if asciiEdges.count < states.count << 7 { asciiEdges += repeatElement(-2, count: (states.count << 7) - asciiEdges.count) }
            asciiEdges[slot] = found ?? -1
            return found
        }
        // A rune the query does not hold steps as rune 1 from every state: one cached edge serves them all (unless the
        // query holds U+0001 itself).
        let key = query.contains(rune) || querySetsRuneOne ? rune : 1
        let edge = UInt64(UInt32(bitPattern: s)) << 16 | UInt64(key)
        if let known = edges[edge] { return known < 0 ? nil : known }
        let found = step(s, rune)
        edges[edge] = found ?? -1
        return found
    }

    private mutating func step(_ s: Int32, _ rune: UInt16) -> Int32? {
        let vector = states[Int(s)].vector
        var c: UInt16 = 1
        for entry in vector where Int(entry.index) < query.count && query[Int(entry.index)] == rune { c = rune; break }
        var out: [(index: Int32, value: Int32)] = []
        if let first = vector.first, first.index == 0, first.value < Int32(maxDistance) {
            out.append((0, first.value + 1))
        }
        for (j, entry) in vector.enumerated() {
            if Int(entry.index) == query.count { break }
            var value = entry.value
            if query[Int(entry.index)] != c { value += 1 }
            if let last = out.last, last.index == entry.index { value = min(value, last.value + 1) }
            if j + 1 < vector.count && vector[j + 1].index == entry.index + 1 { value = min(value, vector[j + 1].value + 1) }
            if value <= Int32(maxDistance) { out.append((entry.index + 1, value)) }
        }
        if out.isEmpty { return nil }
        return intern(out)
    }
}

/// RediSearch's runes: UTF-8 read as libnu's nu_utf8_read reads it (the lead byte alone decides the length; no
/// validation), each code point truncated to 16 bits, a NUL ending the text; folded for lookups.
public enum RuneText {
    public static func runes(_ bytes: [UInt8], folded: Bool) -> [UInt16] {
        var out: [UInt16] = []
        out.reserveCapacity(bytes.count)
        // Folding sees the whole code point; the rune keeps its low 16 bits.
        decode(bytes) { point, _ in out.append(UInt16(truncatingIfNeeded: folded ? foldPoint(point) : point)) }
        return out
    }

    /// Each code point (not yet cut to 16 bits) with the byte offset just past it.
    public static func decode(_ bytes: [UInt8], _ body: (UInt32, Int) -> Void) {
        var i = 0
        while i < bytes.count {
            let (point, length) = codePoint(bytes[...], at: i)
            if point == 0 { break }
            i += length
            body(point, min(i, bytes.count))
        }
    }

    /// The code point starting at `offset` (relative to the slice's start) and its length as the lead byte gives it.
    /// A cut-off character reads zeros for its missing bytes: Redis ends every argument with a NUL, which is what
    /// libnu reads for the first one (`q\xc3` is stored as `q\xc3\x80`).
    @inline(__always)
    public static func codePoint(_ bytes: ArraySlice<UInt8>, at offset: Int) -> (point: UInt32, length: Int) {
        let base = bytes.startIndex + offset
        let lead = UInt32(bytes[base])
        let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        func continuation(_ k: Int) -> UInt32 { offset + k < bytes.count ? UInt32(bytes[base + k] & 0x3F) : 0 }
        switch length {
        case 1: return (lead, 1)
        case 2: return ((lead & 0x1F) << 6 | continuation(1), 2)
        case 3: return ((lead & 0x0F) << 12 | continuation(1) << 6 | continuation(2), 3)
        default: return ((lead & 0x07) << 18 | continuation(1) << 12 | continuation(2) << 6 | continuation(3), 4)
        }
    }

    /// Case folding of one stored rune.
    public static func fold(_ rune: UInt16) -> UInt16 { UInt16(truncatingIfNeeded: foldPoint(UInt32(rune))) }

    /// The first code point of the full case folding (libnu's nu_tofold, as RediSearch's runeFold keeps it).
    public static func foldPoint(_ point: UInt32) -> UInt32 {
        if point < 0x80 { return point >= 65 && point <= 90 ? point + 32 : point }
        if let special = foldingUnlikeLowercase[point] { return special }
        guard let scalar = Unicode.Scalar(point), let first = scalar.properties.lowercaseMapping.unicodeScalars.first else {
            return point
        }
        return first.value
    }

    /// BMP characters whose full case folding starts with another code point than their lowercase mapping
    /// (`ß` folds to "ss", `ς` to `σ`, Cherokee small letters to capitals ...), from Unicode's CaseFolding.txt.
    static let foldingUnlikeLowercase: [UInt32: UInt32] = [
        0x00B5: 0x03BC, 0x00DF: 0x0073, 0x0149: 0x02BC, 0x017F: 0x0073, 0x01F0: 0x006A, 0x0345: 0x03B9,
        0x0390: 0x03B9, 0x03B0: 0x03C5, 0x03C2: 0x03C3, 0x03D0: 0x03B2, 0x03D1: 0x03B8, 0x03D5: 0x03C6,
        0x03D6: 0x03C0, 0x03F0: 0x03BA, 0x03F1: 0x03C1, 0x03F5: 0x03B5, 0x0587: 0x0565, 0x13A0: 0x13A0,
        0x13A1: 0x13A1, 0x13A2: 0x13A2, 0x13A3: 0x13A3, 0x13A4: 0x13A4, 0x13A5: 0x13A5, 0x13A6: 0x13A6,
        0x13A7: 0x13A7, 0x13A8: 0x13A8, 0x13A9: 0x13A9, 0x13AA: 0x13AA, 0x13AB: 0x13AB, 0x13AC: 0x13AC,
        0x13AD: 0x13AD, 0x13AE: 0x13AE, 0x13AF: 0x13AF, 0x13B0: 0x13B0, 0x13B1: 0x13B1, 0x13B2: 0x13B2,
        0x13B3: 0x13B3, 0x13B4: 0x13B4, 0x13B5: 0x13B5, 0x13B6: 0x13B6, 0x13B7: 0x13B7, 0x13B8: 0x13B8,
        0x13B9: 0x13B9, 0x13BA: 0x13BA, 0x13BB: 0x13BB, 0x13BC: 0x13BC, 0x13BD: 0x13BD, 0x13BE: 0x13BE,
        0x13BF: 0x13BF, 0x13C0: 0x13C0, 0x13C1: 0x13C1, 0x13C2: 0x13C2, 0x13C3: 0x13C3, 0x13C4: 0x13C4,
        0x13C5: 0x13C5, 0x13C6: 0x13C6, 0x13C7: 0x13C7, 0x13C8: 0x13C8, 0x13C9: 0x13C9, 0x13CA: 0x13CA,
        0x13CB: 0x13CB, 0x13CC: 0x13CC, 0x13CD: 0x13CD, 0x13CE: 0x13CE, 0x13CF: 0x13CF, 0x13D0: 0x13D0,
        0x13D1: 0x13D1, 0x13D2: 0x13D2, 0x13D3: 0x13D3, 0x13D4: 0x13D4, 0x13D5: 0x13D5, 0x13D6: 0x13D6,
        0x13D7: 0x13D7, 0x13D8: 0x13D8, 0x13D9: 0x13D9, 0x13DA: 0x13DA, 0x13DB: 0x13DB, 0x13DC: 0x13DC,
        0x13DD: 0x13DD, 0x13DE: 0x13DE, 0x13DF: 0x13DF, 0x13E0: 0x13E0, 0x13E1: 0x13E1, 0x13E2: 0x13E2,
        0x13E3: 0x13E3, 0x13E4: 0x13E4, 0x13E5: 0x13E5, 0x13E6: 0x13E6, 0x13E7: 0x13E7, 0x13E8: 0x13E8,
        0x13E9: 0x13E9, 0x13EA: 0x13EA, 0x13EB: 0x13EB, 0x13EC: 0x13EC, 0x13ED: 0x13ED, 0x13EE: 0x13EE,
        0x13EF: 0x13EF, 0x13F0: 0x13F0, 0x13F1: 0x13F1, 0x13F2: 0x13F2, 0x13F3: 0x13F3, 0x13F4: 0x13F4,
        0x13F5: 0x13F5, 0x13F8: 0x13F0, 0x13F9: 0x13F1, 0x13FA: 0x13F2, 0x13FB: 0x13F3, 0x13FC: 0x13F4,
        0x13FD: 0x13F5, 0x1C80: 0x0432, 0x1C81: 0x0434, 0x1C82: 0x043E, 0x1C83: 0x0441, 0x1C84: 0x0442,
        0x1C85: 0x0442, 0x1C86: 0x044A, 0x1C87: 0x0463, 0x1C88: 0xA64B, 0x1E96: 0x0068, 0x1E97: 0x0074,
        0x1E98: 0x0077, 0x1E99: 0x0079, 0x1E9A: 0x0061, 0x1E9B: 0x1E61, 0x1E9E: 0x0073, 0x1F50: 0x03C5,
        0x1F52: 0x03C5, 0x1F54: 0x03C5, 0x1F56: 0x03C5, 0x1F80: 0x1F00, 0x1F81: 0x1F01, 0x1F82: 0x1F02,
        0x1F83: 0x1F03, 0x1F84: 0x1F04, 0x1F85: 0x1F05, 0x1F86: 0x1F06, 0x1F87: 0x1F07, 0x1F88: 0x1F00,
        0x1F89: 0x1F01, 0x1F8A: 0x1F02, 0x1F8B: 0x1F03, 0x1F8C: 0x1F04, 0x1F8D: 0x1F05, 0x1F8E: 0x1F06,
        0x1F8F: 0x1F07, 0x1F90: 0x1F20, 0x1F91: 0x1F21, 0x1F92: 0x1F22, 0x1F93: 0x1F23, 0x1F94: 0x1F24,
        0x1F95: 0x1F25, 0x1F96: 0x1F26, 0x1F97: 0x1F27, 0x1F98: 0x1F20, 0x1F99: 0x1F21, 0x1F9A: 0x1F22,
        0x1F9B: 0x1F23, 0x1F9C: 0x1F24, 0x1F9D: 0x1F25, 0x1F9E: 0x1F26, 0x1F9F: 0x1F27, 0x1FA0: 0x1F60,
        0x1FA1: 0x1F61, 0x1FA2: 0x1F62, 0x1FA3: 0x1F63, 0x1FA4: 0x1F64, 0x1FA5: 0x1F65, 0x1FA6: 0x1F66,
        0x1FA7: 0x1F67, 0x1FA8: 0x1F60, 0x1FA9: 0x1F61, 0x1FAA: 0x1F62, 0x1FAB: 0x1F63, 0x1FAC: 0x1F64,
        0x1FAD: 0x1F65, 0x1FAE: 0x1F66, 0x1FAF: 0x1F67, 0x1FB2: 0x1F70, 0x1FB3: 0x03B1, 0x1FB4: 0x03AC,
        0x1FB6: 0x03B1, 0x1FB7: 0x03B1, 0x1FBC: 0x03B1, 0x1FBE: 0x03B9, 0x1FC2: 0x1F74, 0x1FC3: 0x03B7,
        0x1FC4: 0x03AE, 0x1FC6: 0x03B7, 0x1FC7: 0x03B7, 0x1FCC: 0x03B7, 0x1FD2: 0x03B9, 0x1FD3: 0x03B9,
        0x1FD6: 0x03B9, 0x1FD7: 0x03B9, 0x1FE2: 0x03C5, 0x1FE3: 0x03C5, 0x1FE4: 0x03C1, 0x1FE6: 0x03C5,
        0x1FE7: 0x03C5, 0x1FF2: 0x1F7C, 0x1FF3: 0x03C9, 0x1FF4: 0x03CE, 0x1FF6: 0x03C9, 0x1FF7: 0x03C9,
        0x1FFC: 0x03C9, 0xAB70: 0x13A0, 0xAB71: 0x13A1, 0xAB72: 0x13A2, 0xAB73: 0x13A3, 0xAB74: 0x13A4,
        0xAB75: 0x13A5, 0xAB76: 0x13A6, 0xAB77: 0x13A7, 0xAB78: 0x13A8, 0xAB79: 0x13A9, 0xAB7A: 0x13AA,
        0xAB7B: 0x13AB, 0xAB7C: 0x13AC, 0xAB7D: 0x13AD, 0xAB7E: 0x13AE, 0xAB7F: 0x13AF, 0xAB80: 0x13B0,
        0xAB81: 0x13B1, 0xAB82: 0x13B2, 0xAB83: 0x13B3, 0xAB84: 0x13B4, 0xAB85: 0x13B5, 0xAB86: 0x13B6,
        0xAB87: 0x13B7, 0xAB88: 0x13B8, 0xAB89: 0x13B9, 0xAB8A: 0x13BA, 0xAB8B: 0x13BB, 0xAB8C: 0x13BC,
        0xAB8D: 0x13BD, 0xAB8E: 0x13BE, 0xAB8F: 0x13BF, 0xAB90: 0x13C0, 0xAB91: 0x13C1, 0xAB92: 0x13C2,
        0xAB93: 0x13C3, 0xAB94: 0x13C4, 0xAB95: 0x13C5, 0xAB96: 0x13C6, 0xAB97: 0x13C7, 0xAB98: 0x13C8,
        0xAB99: 0x13C9, 0xAB9A: 0x13CA, 0xAB9B: 0x13CB, 0xAB9C: 0x13CC, 0xAB9D: 0x13CD, 0xAB9E: 0x13CE,
        0xAB9F: 0x13CF, 0xABA0: 0x13D0, 0xABA1: 0x13D1, 0xABA2: 0x13D2, 0xABA3: 0x13D3, 0xABA4: 0x13D4,
        0xABA5: 0x13D5, 0xABA6: 0x13D6, 0xABA7: 0x13D7, 0xABA8: 0x13D8, 0xABA9: 0x13D9, 0xABAA: 0x13DA,
        0xABAB: 0x13DB, 0xABAC: 0x13DC, 0xABAD: 0x13DD, 0xABAE: 0x13DE, 0xABAF: 0x13DF, 0xABB0: 0x13E0,
        0xABB1: 0x13E1, 0xABB2: 0x13E2, 0xABB3: 0x13E3, 0xABB4: 0x13E4, 0xABB5: 0x13E5, 0xABB6: 0x13E6,
        0xABB7: 0x13E7, 0xABB8: 0x13E8, 0xABB9: 0x13E9, 0xABBA: 0x13EA, 0xABBB: 0x13EB, 0xABBC: 0x13EC,
        0xABBD: 0x13ED, 0xABBE: 0x13EE, 0xABBF: 0x13EF, 0xFB00: 0x0066, 0xFB01: 0x0066, 0xFB02: 0x0066,
        0xFB03: 0x0066, 0xFB04: 0x0066, 0xFB05: 0x0073, 0xFB06: 0x0073, 0xFB13: 0x0574, 0xFB14: 0x0574,
        0xFB15: 0x0574, 0xFB16: 0x057E, 0xFB17: 0x0574
    ]

    /// Runes back to UTF-8 (a lone surrogate value as its 3-byte form, as RediSearch writes it).
    public static func utf8(_ runes: [UInt16]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(runes.count)
        for r in runes {
            switch r {
            case 0..<0x80: out.append(UInt8(r))
            case 0x80..<0x800:
                out.append(0xC0 | UInt8(r >> 6)); out.append(0x80 | UInt8(r & 0x3F))
            default:
                out.append(0xE0 | UInt8(r >> 12)); out.append(0x80 | UInt8((r >> 6) & 0x3F)); out.append(0x80 | UInt8(r & 0x3F))
            }
        }
        return out
    }
}

// FT.SPELLCHECK and its dictionaries (FT.DICTADD / FT.DICTDEL / FT.DICTDUMP): RediSearch 2.10's spell_check.c rules.
import Keyspace

/// A custom dictionary: distinct strings as given (16-bit runes, as RediSearch's lexicographic trie keeps them),
/// in rune order, a prefix before its extensions.
public struct SpellDictionary: Sendable {
    public private(set) var entries: [[UInt16]] = []

    public init() {}

    private func position(_ runes: [UInt16]) -> (index: Int, found: Bool) {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].lexicographicallyPrecedes(runes) { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < entries.count && entries[lo] == runes)
    }

    /// RediSearch's trie rules: empty, over 512 bytes or 256 runes or more is not stored. Returns whether it is new.
    public mutating func add(_ string: [UInt8]) -> Bool {
        guard string.count <= 512 else { return false }
        let runes = RuneText.runes(string, folded: false)
        guard !runes.isEmpty, runes.count < 256 else { return false }
        let (i, found) = position(runes)
        if found { return false }
        entries.insert(runes, at: i)
        return true
    }

    public mutating func delete(_ string: [UInt8]) -> Bool {
        let runes = RuneText.runes(string, folded: false)
        guard runes.count <= 256 else { return false }
        let (i, found) = position(runes)
        if found { entries.remove(at: i) }
        return found
    }

    public var strings: [[UInt8]] { entries.map(RuneText.utf8) }

    /// Whether an entry equals `runes` once both are folded (an EXCLUDE dictionary's test).
    func containsFolded(_ folded: [UInt16]) -> Bool {
        entries.contains { $0.count == folded.count && $0.map(RuneText.fold) == folded }
    }
}

/// One checked query term and what FT.SPELLCHECK answers for it.
public struct SpellCheckResult: Sendable {
    public enum Outcome: Sendable {
        /// The term is in the index (only reported with FULLSCOREINFO).
        case exists
        /// Suggestions, best first: the string and its score (already divided by the document count).
        case suggestions([(string: [UInt8], score: Double)])
    }
    public var term: String
    public var outcome: Outcome
}

public struct SpellCheckRequest: Sendable {
    public var query: [UInt8]
    public var dialect: Int
    public var distance: Int
    public var include: [SpellDictionary]
    public var exclude: [SpellDictionary]
    public var fullScoreInfo: Bool
    public init(query: [UInt8], dialect: Int, distance: Int, include: [SpellDictionary], exclude: [SpellDictionary],
                fullScoreInfo: Bool) {
        self.query = query; self.dialect = dialect; self.distance = distance
        self.include = include; self.exclude = exclude; self.fullScoreInfo = fullScoreInfo
    }
}

extension SearchIndex {
    /// The terms of `table` in order that `automaton` accepts as whole words (LevenshteinAutomaton.matchesWhole), as
    /// RediSearch's trie walk finds them: states are shared along common prefixes, and once no state follows a
    /// prefix, every term under it is skipped.
    static func walkWithin(_ table: SortedTerms, _ automaton: inout LevenshteinAutomaton, _ found: (Int) -> Void) {
        var states: [Int32] = [automaton.start]   // states[k]: after the first k runes of the current prefix
        var ends: [Int] = []                        // ends[k]: byte length of the first k + 1 runes of the previous term
        var previous = ArraySlice<UInt8>()
        var i = 0
        while i < table.count {
            let bytes = table.term(i)
            // Runes shared with the previous term: those whose bytes lie inside the common byte prefix.
            var common = 0
            let limit = min(bytes.count, previous.count)
            while common < limit && bytes[bytes.startIndex + common] == previous[previous.startIndex + common] { common += 1 }
            var depth = 0
            while depth < ends.count && depth + 1 < states.count && ends[depth] <= common { depth += 1 }
            states.removeLast(states.count - depth - 1)
            ends.removeLast(ends.count - depth)
            var offset = depth == 0 ? 0 : ends[depth - 1]
            var dead = false
            while offset < bytes.count {
                let (point, length) = RuneText.codePoint(bytes, at: offset)
                if point == 0 { break }
                offset = min(offset + length, bytes.count)
                ends.append(offset)
                guard let next = automaton.next(states[depth], RuneText.fold(UInt16(truncatingIfNeeded: point))) else {
                    dead = true
                    break
                }
                states.append(next)
                depth += 1
            }
            previous = bytes
            if dead {
                // Every term that starts with the runes up to the one no state follows is dead too.
                i = max(table.endOfRun(from: i, sharing: offset), i + 1)
                continue
            }
            if depth > 0 && (automaton.accepts(states[depth]) || automaton.accepts(states[depth - 1])) { found(i) }
            i += 1
        }
    }

    /// The query's words in text order (duplicates, stopwords, negated, optional, phrase and tag words included; not
    /// prefixes, patterns, ranges or vectors), each with the fields it is restricted to (nil: all).
    /// Tag values come as written (case kept).
    func spellCheckTerms(_ query: [UInt8], dialect: Int) throws(QueryError) -> [(text: String, fields: [String]?)] {
        let tree = dialect == 1 ? try QueryParser.parseTreeDialect1(query, stopwords: [])
                                : try QueryParser.parseTree(query, params: [:], stopwords: [])
        var out: [(String, [String]?)] = []
        func walk(_ n: ParseNode, _ inherited: [String]?) {
            var fields = inherited
            if let own = n.fields { fields = inherited.map { $0.filter(own.contains) } ?? own }
            if case .token(let text) = n.kind { out.append((text, fields)) }
            for child in n.children { walk(child, fields) }
        }
        if let root = tree.root { walk(root, nil) }
        return out
    }

    /// FT.SPELLCHECK on this index: for each word not in the index (nor, folded, in an EXCLUDE dictionary), the
    /// index terms and INCLUDE dictionary entries within `distance` edits (RediSearch's automaton), scored by how many
    /// documents hold them in the word's fields over the index's documents; ties in RediSearch's suggestion-trie order.
    /// Returns the results and the index's document count (FULLSCOREINFO's total; scores divide by at least 1).
    public func spellCheck(_ request: SpellCheckRequest) throws(QueryError) -> (results: [SpellCheckResult], documents: Int) {
        let words = try spellCheckTerms(request.query, dialect: request.dialect)
        return lock.withReadLock {
            let table = orderedVocabulary()
            let documents = numDocs == 0 ? 1 : numDocs
            let divisor = request.fullScoreInfo ? 1.0 : Double(documents)
            var results: [SpellCheckResult] = []
            for (word, fields) in words {
                let folded = RuneText.runes(Array(word.utf8), folded: true)
                let tooLong = folded.count > 100
                // SpellCheck_IsTermExistsInTrie compares folded runes (a tag value keeps its case).
                if !tooLong && (text.postings[word] != nil || text.postings[String(decoding: RuneText.utf8(folded), as: UTF8.self)] != nil) {
                    if request.fullScoreInfo { results.append(SpellCheckResult(term: word, outcome: .exists)) }
                    continue
                }
                if !tooLong && request.exclude.contains(where: { $0.containsFolded(folded) }) { continue }
                if tooLong {
                    results.append(SpellCheckResult(term: word, outcome: .suggestions([])))
                    continue
                }
                let mask = textFieldMask(fields)
                func score(_ term: String) -> Float {
                    guard let list = text.postings[term] else { return 0 }
                    return list.hasLive(in: mask) ? Float(list.liveCount) : -1
                }
                var found = SuggestionTrie()
                func offer(_ term: String, _ raw: Float, increment: Bool) {
                    let bytes = Array(term.utf8)
                    let current = found.firstFoldedMatch(bytes)
                    let value: Float = raw == 0 ? -1 : raw
                    if !increment {
                        if current == nil { found.add(bytes, score: value, increment: false, payload: nil) }
                        return
                    }
                    if current != nil && value == -1 { return }
                    found.add(bytes, score: value, increment: current != nil && current != -1, payload: nil)
                }
                // The index's terms in order through RediSearch's automaton (the query folded by full case folding,
                // as strToFoldedRunes does: the query tokenizer lowercases ASCII only).
                var automaton = LevenshteinAutomaton(query: folded, maxDistance: request.distance)
                Self.walkWithin(table, &automaton) { i in
                    let term = table.string(i)
                    guard text.postings[term] != nil else { return }
                    let s = score(term)
                    if s != -1 { offer(term, s, increment: true) }
                }
                for dictionary in request.include {
                    for entry in dictionary.entries where automaton.matchesWhole(entry) {
                        let term = String(decoding: RuneText.utf8(entry), as: UTF8.self)
                        let s = score(term)
                        if s != -1 { offer(term, s, increment: false) }
                    }
                }
                var ordered: [(string: [UInt8], score: Float)] = []
                found.forEachEntry { s, score, _ in ordered.append((s, score)) }
                // A stable sort, as glibc's qsort behaves on these lists.
                let sorted = ordered.enumerated().sorted { a, b in
                    a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
                }.map(\.element)
                let suggestions = sorted.map { (string: $0.string, score: $0.score == -1 ? 0 : Double($0.score) / divisor) }
                results.append(SpellCheckResult(term: word, outcome: .suggestions(suggestions)))
            }
            return (results, numDocs)
        }
    }
}

// Suffix, contains, fuzzy and wildcard expansions: RediSearch's trie walks (orders and repeats taken from Redis Stack's
// FT.PROFILE), the wildcard matcher, the union heap, and what the queries match end to end.
import Testing
@testable import Search
import Keyspace

private func table(_ words: [String]) -> SortedTerms {
    SortedTerms(Set(words).map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
}

private func walk(_ words: [String], limit: Int = 200, _ body: (SortedTerms, inout ExpansionCollector) -> Void) -> [String] {
    let t = table(words)
    var out = ExpansionCollector(limit: limit) { _ in true }
    body(t, &out)
    return out.found.map { t.string($0) }
}

private func textContains(_ words: [String], _ affix: String, suffix: Bool = false, limit: Int = 200) -> [String] {
    walk(words, limit: limit) { TermExpansion.textContains($0, Array(affix.utf8), suffixOnly: suffix, into: &$1) }
}

private func fuzzy(_ words: [String], _ word: String, _ edits: Int) -> [String] {
    walk(words) { TermExpansion.fuzzy($0, word.unicodeScalars.map(\.value), maxEdits: edits, into: &$1) }
}

private let sample = ["banana", "ab", "ba", "aab", "abab", "xyba", "xyab", "hello", "hallo", "helo", "hellxz", "helloa",
                      "abc", "abcd", "bca", "cab", "xab", "ana", "anana", "bananas", "+banana", "abba", "ababab", "aa",
                      "b", "c", "zab", "zba"]

@Suite("TermExpansion")
struct TermExpansionTests {
    @Test func sortedTermsFindPrefixRangesAndChildren() {
        let t = table(["ab", "abc", "abd", "b", "ba"])
        #expect(t.range(withPrefix: Array("ab".utf8)) == 0..<3)
        #expect(t.range(withPrefix: Array("b".utf8)) == 3..<5)
        #expect(t.range(withPrefix: Array("c".utf8)).isEmpty)
        #expect(t.range(withPrefix: []) == 0..<5)
        // Below "ab" (depth 2): the node's own term, then the children "abc" and "abd".
        var children: [Range<Int>] = []
        t.forEachChild(0, 3, depth: 2, while: { true }) { children.append($0..<$1) }
        #expect(children == [1..<2, 2..<3])
    }

    @Test func containsYieldsTheSubtreeOncePerOccurrence() {
        // Redis Stack's FT.PROFILE for `*ana*` and `*ab*` over the same terms.
        #expect(textContains(sample, "ana") == ["+banana", "+banana", "ana", "anana", "anana", "banana", "bananas",
                                                 "banana", "bananas"])
        #expect(textContains(sample, "ab") == ["ab", "abab", "ababab", "abba", "abc", "abcd", "aab", "abab", "ababab",
                                                "ababab", "cab", "xab", "xyab", "zab"])
        #expect(textContains(["abababababab"], "ab").count == 6)
    }

    @Test func suffixRestartsBelowAMatchToo() {
        #expect(textContains(sample, "ba", suffix: true) == ["abba", "ba", "xyba", "zba"])
        #expect(textContains(sample, "ab", suffix: true) == ["ab", "abab", "ababab", "ababab", "aab", "abab", "ababab",
                                                              "ababab", "cab", "xab", "xyab", "zab"])
    }

    @Test func theLimitCountsRepeatsAndSkipsTermsWithoutDocuments() {
        #expect(textContains(sample, "ab", limit: 3) == ["ab", "abab", "ababab"])
        let t = table(sample)
        var out = ExpansionCollector(limit: 2) { t.string($0) != "abab" }
        TermExpansion.textContains(t, Array("ab".utf8), suffixOnly: false, into: &out)
        #expect(out.found.map { t.string($0) } == ["ab", "ababab"])
    }

    @Test func repeatsPastAThresholdAreCountedButNotKept() {
        var out = ExpansionCollector(limit: 10_000) { _ in true }
        for k in 0..<(ExpansionCollector.repeatsKept + 500) { out.emit(k % 3) }
        out.emit(7)
        #expect(out.found.count == ExpansionCollector.repeatsKept + 1)
        #expect(out.found.last == 7)
        // The limit still counts every yield.
        for _ in 0..<10_000 { out.emit(1) }
        out.emit(8)
        #expect(out.stopped)
        #expect(!out.found.contains(8))
    }

    @Test func fuzzyTakesATermWhoseLastCharacterIsOneEditTooMany() {
        // `ba` is two edits from `ab` (no transpositions), yet RediSearch's filter yields it: its prefix `b` matches
        // and the automaton can still go on after `a`.
        #expect(fuzzy(sample, "ab", 1) == ["aa", "aab", "ab", "abc", "b", "ba", "cab", "xab", "zab"])
        #expect(fuzzy(sample, "hello", 2) == ["hallo", "hello", "helloa", "hellxz", "helo"])
        #expect(fuzzy(sample, "hello", 1) == ["hallo", "hello", "helloa", "helo"])
        #expect(fuzzy(["abc", "abd", "xbc", "zzz"], "abc", 0) == ["abc"])
    }

    @Test func wildcardMatchesLikeRediSearch() {
        func match(_ p: String, _ s: String) -> TermExpansion.WildcardResult {
            let (pattern, string) = (p.unicodeScalars.map(\.value), s.unicodeScalars.map(\.value))
            return pattern.withUnsafeBufferPointer { a in string.withUnsafeBufferPointer { TermExpansion.wildcardMatch(a, $0) } }
        }
        #expect(match("ab*", "abcd") == .full)
        #expect(match("*ab", "xxab") == .full)
        #expect(match("a?a*", "anana") == .full)
        #expect(match("a?a*", "abc") == .none)
        #expect(match("h*o", "hel") == .partial)
        #expect(match("h*o", "hello") == .full)
        #expect(match("*a*b*", "zzazzbzz") == .full)
        #expect(match("??", "é!") == .full)  // one character each, not one byte
        #expect(walk(sample) { TermExpansion.textWildcard($0, Array("a?a*".unicodeScalars.map(\.value)), into: &$1) }
            == ["abab", "ababab", "ana", "anana"])
        #expect(TermExpansion.removingEscapes(Array("a\\*b\\\\".utf8)) == Array("a*b\\".utf8))
    }

    @Test func tagContainsNeverRepeatsASuffix() {
        let tags = ["ab", "aab", "abab", "ababab", "cab", "xab", "xyab", "zab zba", "abba", "abc", "abcd", "ba"]
        #expect(walk(tags) { TermExpansion.tagContains($0, Array("ab".utf8), suffixOnly: true, into: &$1) }
            == ["ab", "aab", "abab", "ababab", "cab", "xab", "xyab"])
        #expect(walk(tags) { TermExpansion.tagContains($0, Array("ab".utf8), suffixOnly: false, into: &$1) }
            == ["ab", "abab", "ababab", "abba", "abc", "abcd", "aab", "abab", "ababab", "ababab", "cab", "xab", "xyab",
                "zab zba"])
        #expect(walk(tags) { TermExpansion.tagWildcard($0, Array("a*b".utf8), into: &$1) } == ["aab", "ab", "abab", "ababab"])
    }

    @Test func unionHeapOffersMoveUpPastEqualIdsAndPushDownStopsAtThem() {
        let its = (0..<5).map { _ in ReplayEmpty() }
        var heap = MinIdHeap<ReplayIterator>()
        for it in its { heap.offer(it) }
        // All ids equal: every offer climbs to the root.
        #expect(heap.peek === its[4])
        its[4].minId = 7
        heap.replaceRoot(its[4])
        #expect(heap.peek!.minId == 0)
        var atRoot = 0
        heap.forEachAtRoot { _ in atRoot += 1 }
        #expect(atRoot == 4)
        heap.poll()
        #expect(heap.count == 4)
    }

    @Test func queriesMatchTheExpandedTerms() throws {
        let def = try CreateParser.parse(["p", "PREFIX", "1", "p:", "SCHEMA", "t", "TEXT", "g", "TAG"])
        let index = try SearchIndex(definition: def)
        let docs = [("banana split", "Yellow,fruit"), ("cabana", "blue"), ("abacus", "yellowish"), ("helo world", "x")]
        for (i, (t, g)) in docs.enumerated() {
            var h = HashValue()
            h.set(Bytes("t"), Bytes(t))
            h.set(Bytes("g"), Bytes(g))
            index.index(key: Bytes("p:\(i)"), hash: h)
        }
        func keys(_ q: String) throws -> [String] {
            var request = SearchRequest(query: try QueryParser.parse(Array(q.utf8), params: [:], dialect: 2))
            request.limit = 100
            return try index.execute(request).hits.map(\.key.string).sorted()
        }
        #expect(try keys("*ana*") == ["p:0", "p:1"])
        #expect(try keys("*na") == ["p:0", "p:1"])
        #expect(try keys("%hello%") == ["p:3"])
        #expect(try keys("w'?ba*'") == ["p:2"])
        #expect(try keys("@g:{*ello*}") == ["p:0", "p:2"])
        #expect(try keys("@g:{*LOW}") == ["p:0"])
        #expect(try keys("@g:{w'*u*'}") == ["p:0", "p:1"])
        #expect(try keys("*a") == [])  // shorter than MINPREFIX
    }
}

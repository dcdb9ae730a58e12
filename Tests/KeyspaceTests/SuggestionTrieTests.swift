// SuggestionTrie against replies recorded from Redis Stack 7.4.1 / RediSearch 2.10.5 (scores, order, ties, quirks).
import Testing
@testable import Keyspace

@Suite("SuggestionTrie")
struct SuggestionTrieTests {
    /// The dictionary of the recorded transcripts, added in the same order.
    static func sample() -> SuggestionTrie {
        var t = SuggestionTrie()
        t.add(Array("hello".utf8), score: 1, increment: false, payload: nil)
        t.add(Array("hell".utf8), score: 2, increment: false, payload: Array("p-hell".utf8))
        t.add(Array("help".utf8), score: 3, increment: false, payload: nil)
        t.add(Array("Hello World".utf8), score: 4, increment: false, payload: Array("p-hw".utf8))
        t.add(Array("héllo".utf8), score: 1, increment: false, payload: nil)
        t.add(Array("helicopter".utf8), score: 5, increment: false, payload: Array("p-heli".utf8))
        return t
    }

    static func lookup(_ t: SuggestionTrie, _ prefix: String, max: Int = 5, fuzzy: Bool = false) -> [(String, String)] {
        (t.suggestions(prefix: Array(prefix.utf8), limit: max, maxDistance: fuzzy ? 1 : 0) ?? []).map {
            (String(decoding: $0.string, as: UTF8.self), text($0.score))
        }
    }

    /// The score as Redis prints a double (integral values without a fraction; shortest round-trip digits otherwise).
    static func text(_ score: Float) -> String {
        let d = Double(score)
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return d.description
    }

    static func same(_ a: [(String, String)], _ b: [(String, String)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    @Test("prefix scores: entry score over sqrt(1 + |runes - prefix bytes|), the case folded on the query only")
    func prefixScores() {
        let t = Self.sample()
        #expect(t.count == 6)
        let got = Self.lookup(t, "HEL")
        #expect(Self.same(got, [("help", "2.1213202476501465"), ("helicopter", "1.7677669525146484"),
                                ("hell", "1.4142135381698608"), ("Hello World", "1.3333333730697632"),
                                ("hello", "0.5773502588272095")]), "\(got)")
        // One rune, bytes of the prefix: `hé` is 3 bytes, `héllo` 5 runes.
        let accented = Self.lookup(t, "hé")
        #expect(Self.same(accented, [("héllo", "0.5773502588272095")]), "\(accented)")
    }

    @Test("fuzzy: e^-2 per edit, the exact-match bonus compares half the runes, heap order decides ties")
    func fuzzyTiesFollowTheHeap() {
        let t = Self.sample()
        let five = Self.lookup(t, "helo", fuzzy: true)
        #expect(Self.same(five, [("help", "290630304"), ("hell", "290630304"), ("helicopter", "0.2557596266269684"),
                                 ("Hello World", "0.19139298796653748"), ("hello", "0.09569649398326874")]), "\(five)")
        let two = Self.lookup(t, "helo", max: 2, fuzzy: true)
        #expect(Self.same(two, [("hell", "290630304"), ("help", "290630304")]), "\(two)")
        // A one-rune fuzzy query accepts every entry from the start state.
        let any = Self.lookup(t, "x", max: 10, fuzzy: true)
        #expect(any.map(\.0) == ["helicopter", "help", "Hello World", "hell", "hello", "héllo"], "\(any)")
        #expect(any.first?.1 == "0.21398386359214783")
    }

    @Test("exact entry scores 2^31; INCR and replace; zero scores and empty strings change nothing")
    func scoreUpdates() {
        var t = SuggestionTrie()
        let r1 = t.add(Array("abc".utf8), score: 0, increment: false, payload: nil)

        #expect(!r1)
        #expect(t.count == 0)
        let r2 = t.add(Array("abc".utf8), score: 2, increment: false, payload: Array("pa".utf8))

        #expect(r2)
        let r3 = t.add(Array("abc".utf8), score: 3, increment: true, payload: nil)

        #expect(!r3)
        #expect(Self.lookup(t, "ABC").first?.1 == "2147483648")
        #expect(Self.lookup(t, "ab").first?.1 == Self.text(Float(5 / 2.0.squareRoot())))
        t.add(Array("abc".utf8), score: -1, increment: false, payload: Array("".utf8))
        let negative = t.suggestions(prefix: Array("ab".utf8), limit: 5, maxDistance: 0)!
        #expect(Self.text(negative[0].score) == "-0.7071067690849304")
        #expect(negative[0].payload == Array("pa".utf8), "an empty payload keeps the old one")
        let r4 = t.add([], score: 1, increment: false, payload: nil)

        #expect(!r4)
        let r5 = t.add(Array(repeating: UInt8(ascii: "a"), count: 256), score: 1, increment: false, payload: nil)

        #expect(!r5)
        let r6 = t.add(Array(repeating: UInt8(ascii: "a"), count: 255), score: 1, increment: false, payload: nil)

        #expect(r6)
    }

    @Test("delete is exact and case-sensitive; the trie stays consistent through deletes and re-adds")
    func deletes() {
        var t = Self.sample()
        let r7 = t.delete(Array("hello world".utf8))

        #expect(!r7)
        let r8 = t.delete(Array("hell".utf8))

        #expect(r8)
        let r9 = t.delete(Array("hell".utf8))

        #expect(!r9)
        #expect(t.count == 5)
        let after = Self.lookup(t, "helo", max: 2, fuzzy: true)
        #expect(Self.same(after, [("help", "290630304"), ("helicopter", "0.2557596266269684")]), "\(after)")
        for s in ["hello", "help", "Hello World", "héllo", "helicopter"] {
            let removed = t.delete(Array(s.utf8))
            #expect(removed, "\(s)")
        }
        #expect(t.count == 0)
        #expect(Self.lookup(t, "").isEmpty)
        t.add(Array("x".utf8), score: 1, increment: false, payload: nil)
        #expect(Self.lookup(t, "").map(\.0) == ["x"])
    }

    @Test("text stops at NUL; 16-bit runes; folding is full case folding's first code point")
    func runes() {
        #expect(RuneText.runes([0x61, 0x62, 0x00, 0x63], folded: false) == [0x61, 0x62])
        #expect(RuneText.runes(Array("😀".utf8), folded: false) == [0xF600])
        #expect(RuneText.utf8([0xF600]) == [0xEF, 0x98, 0x80])
        #expect(RuneText.runes(Array("ßÉς".utf8), folded: true) == [0x73, 0xE9, 0x03C3])
        var t = SuggestionTrie()
        t.add(Array("strasse".utf8), score: 1, increment: false, payload: nil)
        #expect(Self.lookup(t, "ß").map(\.0) == ["strasse"])
    }

    @Test("prefixes of 100 runes or 200 bytes are refused")
    func prefixLimits() {
        let t = Self.sample()
        #expect(t.suggestions(prefix: Array(repeating: UInt8(ascii: "a"), count: 99), limit: 5, maxDistance: 0) != nil)
        #expect(t.suggestions(prefix: Array(repeating: UInt8(ascii: "a"), count: 100), limit: 5, maxDistance: 0) == nil)
        #expect(t.suggestions(prefix: Array(repeating: UInt8(ascii: "a"), count: 201), limit: 5, maxDistance: 0) == nil)
    }

    @Test("TRIM cuts after the first score under a tenth of the best so far")
    func trim() {
        var t = SuggestionTrie()
        for (s, score) in [("aa", Float(100)), ("ab", 50), ("ac", 4), ("ad", 3)] {
            t.add(Array(s.utf8), score: score, increment: false, payload: nil)
        }
        let all = t.suggestions(prefix: Array("a".utf8), limit: 5, maxDistance: 0)!
        #expect(all.count == 4)
        let trimmed = t.suggestions(prefix: Array("a".utf8), limit: 5, maxDistance: 0, trim: true)!
        #expect(trimmed.map { String(decoding: $0.string, as: UTF8.self) } == ["aa", "ab"])
    }

    @Test("snapshot round trip keeps entries, scores and payloads")
    func snapshotRoundTrip() throws {
        let db = Database()
        db.set(Bytes("sug"), .suggestions(Self.sample()))
        var w = SnapshotWriter()
        KeyspaceSnapshot.write(db, into: &w, externalSource: { _ in nil })
        let copy = Database()
        var r = SnapshotReader(w.bytes)
        try KeyspaceSnapshot.read(from: &r, into: copy, resolve: { _, _ in nil })
        guard case .suggestions(let loaded)? = copy.get(Bytes("sug")) else { Issue.record("not loaded"); return }
        #expect(loaded.count == 6)
        var before: [String] = [], after: [String] = []
        Self.sample().forEachEntry { s, score, p in before.append("\(s) \(score) \(p ?? [])") }
        loaded.forEachEntry { s, score, p in after.append("\(s) \(score) \(p ?? [])") }
        #expect(before.sorted() == after.sorted())
        #expect(copy.get(Bytes("sug"))?.type.rawValue == "trietype0")
    }
}

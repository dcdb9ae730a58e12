// Tests of the text inverted index: posting lists against a dictionary model through adds, updates, removals, compaction.
import Testing
@testable import Search

@Suite("TextIndex")
struct TextIndexTests {
    /// What a posting list must answer for one document.
    struct Expected: Equatable {
        var frequency: UInt32
        var mask: TextFieldMask
        var positions: [UInt32]
    }

    static func check(_ list: PostingList, against model: [UInt32: Expected]) {
        #expect(list.liveCount == model.count)
        var seen: [UInt32] = []
        list.forEachLive { seen.append($0) }
        #expect(seen.sorted() == model.keys.sorted())
        var cursor = 0
        #expect(list.handles(in: .all).map { list.entry($0).doc } == model.keys.sorted())
        for doc in model.keys.sorted() {
            guard let h = list.handle(of: doc, cursor: &cursor) else { Issue.record("doc \(doc) missing"); continue }
            let e = model[doc]!
            #expect(list.entry(h).frequency == e.frequency)
            #expect(list.mask(h) == e.mask)
            #expect(list.positions(of: h) == e.positions)
        }
    }

    @Test("random adds, re-adds and removals agree with a dictionary, through compactions")
    func agreesWithModel() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var list = PostingList()
            var model: [UInt32: Expected] = [:]
            let span = UInt32(round % 2 == 0 ? 50 : 2000)
            for _ in 0..<3000 {
                let doc = UInt32.random(in: 1...span, using: &rng)
                if Bool.random(using: &rng) || model[doc] == nil {
                    let count = Int.random(in: 1...4, using: &rng)
                    var positions: [UInt32] = []
                    var p = UInt32.random(in: 1...5, using: &rng)
                    for _ in 0..<count { positions.append(p); p += UInt32.random(in: 1...9, using: &rng) }
                    let mask = TextFieldMask(ordinal: Int.random(in: 0..<(round < 10 ? 3 : 128), using: &rng))
                    let frequency = UInt32.random(in: 1...20, using: &rng)
                    list.remove(doc)  // an update removes the document first, as SearchIndex does
                    list.add(doc, frequency: frequency, mask: mask, positions: positions[...])
                    model[doc] = Expected(frequency: frequency, mask: mask, positions: positions)
                } else {
                    list.remove(doc)
                    model[doc] = nil
                }
            }
            Self.check(list, against: model)
            for doc in model.keys { list.remove(doc) }
            #expect(list.isEmpty)
            #expect(list.entries.count + list.late.count < 64, "removals compact the list")
        }
    }

    @Test("cursors: forward gallops and backward seeks find the same entries as a fresh search, side list included")
    func cursors() {
        var list = PostingList()
        for doc in stride(from: UInt32(3), to: 3000, by: 3) { list.add(doc, frequency: 1, mask: TextFieldMask(ordinal: 0), positions: [doc][...]) }
        for doc in [UInt32(7), 1501, 11] { list.add(doc, frequency: 2, mask: TextFieldMask(ordinal: 0), positions: [doc][...]) }
        #expect(list.late.count == 3, "documents behind the last one wait in the side list")
        var cursor = 0
        for doc in [UInt32(2), 3, 4, 300, 299, 2999, 5, 6, 1, 2997, 1500, 1501, 4000, 7, 11, 12] {
            let h = list.handle(of: doc, cursor: &cursor)
            #expect(h == list.handle(of: doc))
            #expect(h.map { list.entry($0).doc } == (doc % 3 == 0 || [7, 1501, 11].contains(doc) ? doc : nil))
        }
    }

    @Test("documents added in decreasing id order merge from the side list and come back in increasing order")
    func insertsSplitBlocks() {
        var list = PostingList()
        for doc in stride(from: UInt32(3000), through: 1, by: -1) {
            list.add(doc, frequency: doc % 7 + 1, mask: TextFieldMask(ordinal: 0), positions: doc % 2 == 0 ? [doc][...] : [doc, doc + 1][...])
        }
        #expect(list.late.count <= PostingList.maxLate)
        #expect(list.entries.count > 2000, "the side list was merged in")
        var seen: [UInt32] = []
        list.forEachLive { seen.append($0) }
        #expect(seen.sorted() == Array(1...3000))
        #expect(list.handles(in: .all).map { list.entry($0).doc } == Array(1...3000))
        for doc in stride(from: UInt32(1), through: 3000, by: 97) {
            let h = list.handle(of: doc)!
            #expect(list.entry(h).frequency == doc % 7 + 1)
            #expect(list.positions(of: h) == (doc % 2 == 0 ? [doc] : [doc, doc + 1]))
        }
    }

    @Test("masks past the 64th TEXT field")
    func wideMasks() {
        var list = PostingList()
        list.add(1, frequency: 1, mask: TextFieldMask(ordinal: 2), positions: [4][...])
        list.add(2, frequency: 1, mask: TextFieldMask(ordinal: 100), positions: [4][...])
        list.add(3, frequency: 2, mask: TextFieldMask(ordinal: 3), positions: [1, 9][...])
        var seen: [UInt32] = []
        list.forEachLive(in: TextFieldMask(ordinal: 100)) { seen.append($0) }
        #expect(seen == [2])
        seen = []
        list.forEachLive(in: TextFieldMask(ordinal: 2)) { seen.append($0) }
        #expect(seen == [1])
        #expect(list.positions(of: list.handle(of: 3)!) == [1, 9])

        var highFirst = PostingList()  // the first document already needs the high half
        highFirst.add(5, frequency: 1, mask: TextFieldMask(ordinal: 70), positions: [1][...])
        highFirst.add(6, frequency: 1, mask: TextFieldMask(ordinal: 1), positions: [1][...])
        #expect(highFirst.mask(0) == TextFieldMask(ordinal: 70))
        seen = []
        highFirst.forEachLive(in: TextFieldMask(ordinal: 70)) { seen.append($0) }
        #expect(seen == [5])
    }

    @Test("the index counts records, drops empty terms and forgets a removed document")
    func textIndex() {
        var index = TextIndex()
        var forward = ForwardFrequencies()
        forward.add("hello", 2, raw: true, field: TextFieldMask(ordinal: 0), position: 1)
        forward.add("world", 1, raw: true, field: TextFieldMask(ordinal: 1), position: 2)
        forward.add("hello", 1, raw: true, field: TextFieldMask(ordinal: 1), position: 3)
        #expect(forward.maxFreq == 3)
        #expect(forward.length == 4)
        index.add(7, forward)
        #expect(index.records == 2)
        let hello = index.postings["hello"]!
        let i = hello.handle(of: 7)!
        #expect(hello.entry(i).frequency == 3)
        #expect(hello.positions(of: i) == [1, 3])
        #expect(hello.mask(i) == TextFieldMask(low: 3))
        index.remove(7)
        #expect(index.postings.isEmpty)
        #expect(index.records == 0)
    }

    @Test("prefix expansions: the first terms in order, across merged and pending terms, without removed ones")
    func vocabulary() {
        var vocabulary = Vocabulary()
        var live = Set<String>()
        var rng = SystemRandomNumberGenerator()
        for i in 0..<(Vocabulary.pendingLimit * 2 + 500) {
            let term = "t" + String(UInt32.random(in: 0..<100_000, using: &rng), radix: 36) + "x\(i)"
            vocabulary.added(term)
            live.insert(term)
        }
        #expect(vocabulary.pending.count <= Vocabulary.pendingLimit, "merged once the pending terms passed the limit")
        for removed in live.prefix(3000) { live.remove(removed) }
        for prefix in ["t", "t1", "t2z", "ta", "x"] {
            let want = Array(live.filter { $0.hasPrefix(prefix) }.sorted().prefix(200))
            #expect(vocabulary.terms(withPrefix: prefix, limit: 200) { live.contains($0) } == want)
        }
        vocabulary.merge { live.contains($0) }
        #expect((0..<vocabulary.sorted.count).map(vocabulary.sorted.string) == live.sorted())
        var index = TextIndex()
        var forward = ForwardFrequencies()
        for (i, word) in ["apple", "apply", "ape", "b"].enumerated() {
            forward.add(word, 1, raw: true, field: TextFieldMask(ordinal: 0), position: UInt32(i + 1))
        }
        forward.add("+appl", 1, raw: false, field: TextFieldMask(ordinal: 0), position: 1)
        index.add(1, forward)
        #expect(index.expansions(of: .prefix("ap"), PrefixExpansion(), table: index.vocabulary.merged()) == ["ape", "apple", "apply"])
        #expect(index.expansions(of: .prefix("ap"), PrefixExpansion(minimumLength: 2, maximumTerms: 2), table: index.vocabulary.merged()) == ["ape", "apple"])
        #expect(index.expansions(of: .prefix("a"), PrefixExpansion(), table: index.vocabulary.merged()).isEmpty, "shorter than MINPREFIX")
        // RediSearch's trie holds the `+stem` entries too: a contains query reaches them (first, as `+` sorts first).
        #expect(index.expansions(of: .prefix("+ap"), PrefixExpansion(), table: index.vocabulary.merged()) == ["+appl"])
        #expect(index.expansions(of: .contains("ppl"), PrefixExpansion(), table: index.vocabulary.merged()) == ["+appl", "apple", "apply"])
        #expect(index.expansions(of: .suffix("ly"), PrefixExpansion(), table: index.vocabulary.merged()) == ["apply"])
        #expect(index.expansions(of: .fuzzy("aple", distance: 1), PrefixExpansion(), table: index.vocabulary.merged()) == ["ape", "apple"])
        #expect(index.expansions(of: .wildcard("A?P*"), PrefixExpansion(), table: index.vocabulary.merged()) == ["apple", "apply"])

        // A term whose last document leaves, then comes back, is one term (not one per time it was added).
        var again = ForwardFrequencies()
        again.add("apple", 1, raw: true, field: TextFieldMask(ordinal: 0), position: 1)
        for round in 0..<3 {
            index.remove(1)
            index.add(1, again)
            #expect(index.expansions(of: .prefix("app"), PrefixExpansion(), table: index.vocabulary.merged()) == ["apple"], "round \(round)")
        }
        var twice = Vocabulary()
        for t in ["b", "a", "b", "c", "a"] { twice.added(t) }
        twice.merge(keeping: nil)
        #expect((0..<twice.sorted.count).map(twice.sorted.string) == ["a", "b", "c"])
    }
}

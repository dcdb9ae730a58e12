// RediSearch's scorers: the scores and orders Redis Stack 7.4 (RediSearch 2.10.5) gave for the same seven documents.
import Testing
@testable import Search
import Keyspace

private let texts = ["the quick brown fox jumps", "a lazy dog sleeps all day", "quick quick fox and dog", "brown bear eats honey",
                     "fox and bear are friends in the quick forest", "nothing here matters", "dog dog dog fox"]

/// The seven documents with a TEXT, a TAG and a 4-d vector field (schema order matters: a vector adds one to maxFreq
/// after the text's tokens), inserted as doc:0 … doc:6.
private func sevenDocuments() throws -> SearchIndex {
    let def = try CreateParser.parse(["docs", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "body", "TEXT", "tag", "TAG",
                                      "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "COSINE"])
    let index = try SearchIndex(definition: def)
    for (i, t) in texts.enumerated() {
        var h = HashValue()
        h.set(Bytes("body"), Bytes(t))
        h.set(Bytes("tag"), Bytes(i % 2 == 1 ? "a" : "b"))
        let v: [Float] = [Float(i) + 1, 1, 0.5, 0.25]
        h.set(Bytes("v"), Bytes(v.withUnsafeBytes { Array($0) }))
        index.index(key: Bytes("doc:\(i)"), hash: h)
    }
    return index
}

private func scored(_ index: SearchIndex, _ query: String, _ scorer: TextScorer = .tfidf) throws -> [(String, Double)] {
    var request = SearchRequest(query: try QueryParser.parse(query))
    request.scorer = scorer
    request.withScores = true
    request.limit = 100
    return try index.execute(request).hits.map { (String(decoding: $0.key.storage, as: UTF8.self), $0.score) }
}

private func expectScores(_ got: [(String, Double)], _ expected: [(String, Double)],
                          sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.map(\.0) == expected.map(\.0), sourceLocation: sourceLocation)
    for (g, e) in zip(got, expected) {
        #expect(abs(g.1 - e.1) <= 1e-12 * max(1, abs(e.1)), "\(g.0): \(g.1) vs \(e.1)", sourceLocation: sourceLocation)
    }
}

@Suite("Scoring")
struct ScoringTests {
    @Test("each scorer on a three-term union, as Redis Stack scored it")
    func unionUnderEveryScorer() throws {
        let index = try sevenDocuments()
        let q = "@body:(quick | fox | dog)"
        // TFIDF: Σ TF × IDF (IDF = logb(1 + 8 / df) = 1 here) ÷ maxFreq (the vector adds 1) ÷ slop (√Σ gaps², int).
        expectScores(try scored(index, q), [("doc:2", 4.0 / 3), ("doc:6", 1), ("doc:0", 0.5), ("doc:1", 0.5), ("doc:4", 1.0 / 3)])
        expectScores(try scored(index, q, .tfidfDocNorm),
                     [("doc:2", 1), ("doc:6", 1), ("doc:0", 0.25), ("doc:1", 0.2), ("doc:4", 2.0 / 15)])
        let bm25std = try scored(index, q, .bm25Standard)
        #expect(bm25std.map(\.0) == ["doc:2", "doc:6", "doc:0", "doc:4", "doc:1"])
        #expect(abs(bm25std[0].1 - 2.559433231050682) < 1e-12 && abs(bm25std[1].1 - 1.8863237406073818) < 1e-12)
        #expect(abs(bm25std[2].1 - 1.415353) < 1e-6 && abs(bm25std[3].1 - 1.327156) < 1e-6 && abs(bm25std[4].1 - 0.782524) < 1e-6)
        let bm25 = try scored(index, q, .bm25)
        #expect(bm25.map(\.0) == ["doc:2", "doc:6", "doc:0", "doc:1", "doc:4"])
        #expect(abs(bm25[0].1 - 0.882769) < 1e-6 && abs(bm25[4].1 - 0.16317) < 1e-6)
        expectScores(try scored(index, q, .dismax), [("doc:6", 3), ("doc:2", 2), ("doc:0", 1), ("doc:1", 1), ("doc:4", 1)])
        expectScores(try scored(index, q, .docScore), [("doc:0", 1), ("doc:1", 1), ("doc:2", 1), ("doc:4", 1), ("doc:6", 1)])
    }

    @Test("slop: the closest offsets of the matched children, rounded down after the square root")
    func slopDividesTFIDF() throws {
        let index = try sevenDocuments()
        // doc:2 "quick quick fox and dog": quick(1,2)…dog(4) are 2 apart, so 3 / 3 / 2.
        expectScores(try scored(index, "quick|dog"),
                     [("doc:6", 0.75), ("doc:0", 0.5), ("doc:1", 0.5), ("doc:2", 0.5), ("doc:4", 0.5)])
    }

    @Test("wildcard and tag queries are ordered by 1 / maxFreq, so documents with more repeated words come last")
    func wildcardOrder() throws {
        let index = try sevenDocuments()
        expectScores(try scored(index, "*"), [("doc:0", 0.5), ("doc:1", 0.5), ("doc:3", 0.5), ("doc:4", 0.5), ("doc:5", 0.5),
                                              ("doc:2", 1.0 / 3), ("doc:6", 0.25)])
        expectScores(try scored(index, "@tag:{a}"), [("doc:1", 0.5), ("doc:3", 0.5), ("doc:5", 0.5)])
        expectScores(try scored(index, "-fox"), [("doc:1", 0), ("doc:3", 0), ("doc:5", 0)])
    }

    @Test("stems and weights: a word and its +stem both count, the node's weight scales its own term only")
    func stemsAndWeights() throws {
        let index = try sevenDocuments()
        // jumps (IDF logb(1 + 8/1) = 3) weighted 3, +jump weighted 1: (9 + 3) / maxFreq 2.
        expectScores(try scored(index, "jumps=>{$weight:3}"), [("doc:0", 6)])
        // An optional clause that misses adds a virtual result of weight 0.
        expectScores(try scored(index, "~fox dog"), [("doc:6", 1), ("doc:2", 2.0 / 3), ("doc:1", 0.5)])
    }

    @Test("intersections: scores from a replay of RediSearch's iterators")
    func intersectionsReplayed() throws {
        let index = try sevenDocuments()
        // [jumps | +jump] (IDF 3 each) beside [quick (IDF 1) | brown (IDF 2)]: 9 / maxFreq 2 / slop 2 (offsets 4; 1, 2).
        expectScores(try scored(index, "jumps (quick|brown)"), [("doc:0", 2.25)])
        expectScores(try scored(index, "fox (dogs | jumping)"), [("doc:0", 2), ("doc:6", 1), ("doc:2", 2.0 / 3)])
        expectScores(try scored(index, "(sleeps|friends) (dog|bear|fox)"), [("doc:4", 4.5), ("doc:1", 3.5)])
    }

    @Test("a union that the intersection skipped past a document keeps one child there, as in RediSearch")
    func staleUnionInsideAnIntersection() throws {
        let def = try CreateParser.parse(["g", "ON", "HASH", "PREFIX", "1", "g:", "SCHEMA", "t", "TEXT"])
        let index = try SearchIndex(definition: def)
        for (i, t) in ["alpha", "delta", "alpha beta gamma", "beta"].enumerated() {
            var h = HashValue()
            h.set(Bytes("t"), Bytes(t))
            index.index(key: Bytes("g:\(i)"), hash: h)
        }
        // alpha reads doc 1; [beta | gamma] skips to 1, lands on doc 3 with neither there and records only beta; the
        // intersection then reaches doc 3 through alpha and takes that record: 1 + 1, not 1 + 1 + gamma's IDF 2.
        // Redis Stack 7.4 answers 2 as well (EXPLAINSCORE lists alpha and beta only).
        expectScores(try scored(index, "alpha (beta|gamma)"), [("g:2", 2)])
        // At the top, a union collects every child: 1 + 1 + 2, slop √(1² + 1²) → 1.
        expectScores(try scored(index, "alpha|beta|gamma"), [("g:2", 4), ("g:0", 1), ("g:3", 1)])
    }

    @Test("field weights become frequency increments as RediSearch truncates them, huge and NaN weights included")
    func weightIncrements() throws {
        #expect(ForwardFrequencies.increment(weight: 1, stem: false) == 1)
        #expect(ForwardFrequencies.increment(weight: 2.7, stem: false) == 2)
        #expect(ForwardFrequencies.increment(weight: 2.7, stem: true) == 1)
        #expect(ForwardFrequencies.increment(weight: 10, stem: true) == 2)
        #expect(ForwardFrequencies.increment(weight: 0.5, stem: false) == 1)
        #expect(ForwardFrequencies.increment(weight: .nan, stem: false) == 1)
        #expect(ForwardFrequencies.increment(weight: 1e30, stem: false) == UInt32.max)
        #expect(ForwardFrequencies.increment(weight: .infinity, stem: true) == UInt32.max)
        // A document in a field weighted 1e30 is indexed and scored, not a crash.
        let def = try CreateParser.parse(["w", "ON", "HASH", "PREFIX", "1", "w:", "SCHEMA", "t", "TEXT", "WEIGHT", "1e30"])
        let index = try SearchIndex(definition: def)
        var h = HashValue()
        h.set(Bytes("t"), Bytes("heavy heavy words"))
        index.index(key: Bytes("w:1"), hash: h)
        #expect(try scored(index, "heavy").map(\.0) == ["w:1"])
    }

    @Test("unknown scorer names are refused with RediSearch's text")
    func unknownScorer() {
        #expect(throws: QueryError("No such scorer bm25std")) { try TextScorer.named("bm25std") }
        #expect(TextScorer.allCases.count == 7)
    }
}

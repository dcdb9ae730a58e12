// QueryCache: every answer equals a fresh parse (result or error), whatever came before it through the cache.
import Testing
@testable import Search

private func vector(_ seed: Float) -> [UInt8] { [seed, seed + 1, -seed].withUnsafeBytes { Array($0) } }

private func outcome(_ body: () throws(QueryError) -> ParsedQuery) -> Result<ParsedQuery, QueryError> {
    do throws(QueryError) { return .success(try body()) } catch { return .failure(error) }
}

@Suite("Query cache")
struct QueryCacheTests {
    /// (query, params, dialect) sent one after another through one cache.
    static let sequence: [(String, [String: [UInt8]], Int)] = [
        ("*=>[KNN $K @v $B EF_RUNTIME $EF]", ["K": Array("10".utf8), "B": vector(1), "EF": Array("40".utf8)], 2),
        ("*=>[KNN $K @v $B EF_RUNTIME $EF]", ["K": Array("10".utf8), "B": vector(2), "EF": Array("40".utf8)], 2),
        ("*=>[KNN $K @v $B EF_RUNTIME $EF]", ["K": Array("5".utf8), "B": vector(3), "EF": Array("40".utf8)], 2),
        ("*=>[KNN $K @v $B EF_RUNTIME $EF]", ["K": Array("5".utf8), "B": vector(3), "EF": Array("x".utf8)], 2),
        ("*=>[KNN $K @v $B EF_RUNTIME $EF]", ["K": Array("5".utf8), "B": vector(4)], 2),
        ("*=>[KNN $K @v $B EF_RUNTIME $EF]", ["K": Array("5".utf8), "EF": Array("40".utf8)], 2),
        ("*=>[KNN $K @v $B EF_RUNTIME $EF]", ["K": Array("5".utf8), "B": vector(5), "EF": Array("40".utf8), "X": [1]], 3),
        ("(@t:$B)=>[KNN 3 @v $B]", ["B": Array("hello".utf8)], 2),
        ("(@t:$B)=>[KNN 3 @v $B]", ["B": Array("world".utf8)], 2),
        ("@t:$w =>[KNN 3 @v $B AS $name]", ["w": Array("a".utf8), "B": vector(1), "name": Array("d".utf8)], 2),
        ("@t:$w =>[KNN 3 @v $B AS $name]", ["w": Array("b".utf8), "B": vector(2), "name": Array("d".utf8)], 2),
        ("@t:$w =>[KNN 3 @v $B AS $name]", ["w": Array("b".utf8), "B": vector(3), "name": Array("e".utf8)], 2),
        ("@n:[$lo $hi]", ["lo": Array("1".utf8), "hi": Array("5".utf8)], 2),
        ("@n:[$lo $hi]", ["lo": Array("2".utf8), "hi": Array("5".utf8)], 2),
        ("@v:[VECTOR_RANGE 0.5 $B]=>{$YIELD_DISTANCE_AS: $d}", ["B": vector(1), "d": Array("dist".utf8)], 2),
        ("@v:[VECTOR_RANGE 0.5 $B]=>{$YIELD_DISTANCE_AS: $d}", ["B": vector(2), "d": Array("dist".utf8)], 2),
        ("@v:[VECTOR_RANGE 0.5 $B]=>{$YIELD_DISTANCE_AS: $d}", ["B": vector(2)], 2),
        ("(@v:[VECTOR_RANGE 0.5 $B])=>[KNN 2 @v $B]", ["B": vector(1)], 2),
        ("(@v:[VECTOR_RANGE 0.5 $B])=>[KNN 2 @v $B]", ["B": vector(2)], 2),
        ("hello world", [:], 1),
        ("hello world", [:], 2),
        ("*=>[KNN 2 @v $B]=>{$YIELD_DISTANCE_AS: $d}", ["B": vector(1), "d": Array("x".utf8)], 2),
        ("*=>[KNN 2 @v $B]=>{$YIELD_DISTANCE_AS: $d}", ["B": vector(2), "d": Array("y".utf8)], 2),
        ("*=>[KNN 2 @v $B]=>{$YIELD_DISTANCE_AS: $d}", ["B": vector(2)], 2),
        ("*=>[KNN 2 @v $B", ["B": vector(1)], 2),
    ]

    @Test("each answer is the parser's, in a sequence that hits, misses and errs")
    func sameAsParser() {
        var cache = QueryCache()
        for _ in 0..<2 {
            for (query, params, dialect) in Self.sequence {
                let cached = outcome { () throws(QueryError) in
                    try cache.parse(Array(query.utf8), params: params, dialect: dialect, stopwords: nil)
                }
                let fresh = outcome { () throws(QueryError) in
                    try QueryParser.parse(Array(query.utf8), params: params, dialect: dialect, stopwords: nil)
                }
                #expect(cached == fresh, "\(query) \(params.keys.sorted())")
            }
        }
    }

    @Test("a repeated KNN text with a new vector is served from the cache")
    func reused() throws {
        var cache = QueryCache()
        let query = Array("*=>[KNN 10 @v $B]".utf8)
        _ = try cache.parse(query, params: ["B": vector(1)], dialect: 2, stopwords: nil)
        let second = try cache.parse(query, params: ["B": vector(7)], dialect: 2, stopwords: nil)
        #expect(second.knn?.blob == vector(7))
        #expect(cache.count == 1)
    }

    @Test("the cache holds at most its capacity")
    func bounded() throws {
        var cache = QueryCache(capacity: 4)
        for i in 0..<10 { _ = try cache.parse(Array("@n:[\(i) 100]".utf8), params: [:], dialect: 2, stopwords: nil) }
        #expect(cache.count <= 4)
    }
}

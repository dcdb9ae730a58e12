// QueryCostMemory: the last execution time of a query shape (filter, KNN k and ef), bounded, updated in place.
import Testing
@testable import Search

@Suite("QueryCostMemory")
struct QueryCostMemoryTests {
    private static func request(_ filter: QueryNode, k: Int? = nil, ef: Int? = nil) -> SearchRequest {
        var query = ParsedQuery(filter: filter)
        if let k { query.knn = KNNClause(k: k, field: "v", blob: [0, 0, 0, 0], efRuntime: ef) }
        return SearchRequest(query: query)
    }

    @Test("a shape is its filter, k and ef; the vector does not matter; the latest time wins")
    func shapes() {
        var memory = QueryCostMemory()
        let popular = QueryNode.tag(field: "popular", values: ["yes"])
        #expect(memory.micros(of: Self.request(popular, k: 10, ef: 40)) == nil)
        memory.note(Self.request(popular, k: 10, ef: 40), micros: 50)
        var sameShape = Self.request(popular, k: 10, ef: 40)
        sameShape.query.knn?.blob = [1, 2, 3, 4]
        #expect(memory.micros(of: sameShape) == 50)
        #expect(memory.micros(of: Self.request(popular, k: 10, ef: 80)) == nil)
        #expect(memory.micros(of: Self.request(popular, k: 5, ef: 40)) == nil)
        #expect(memory.micros(of: Self.request(.all, k: 10, ef: 40)) == nil)
        memory.note(sameShape, micros: 400)
        #expect(memory.micros(of: Self.request(popular, k: 10, ef: 40)) == 400)
    }

    @Test("at most `capacity` shapes, the oldest forgotten first")
    func bounded() {
        var memory = QueryCostMemory(capacity: 2)
        let shapes = (0..<3).map { Self.request(.tag(field: "t", values: [.exact("\($0)")])) }
        for (i, s) in shapes.enumerated() { memory.note(s, micros: i) }
        #expect(memory.micros(of: shapes[0]) == nil && memory.micros(of: shapes[1]) == 1 && memory.micros(of: shapes[2]) == 2)
    }

    @Test("SearchIndex.execute records its own time for the shape")
    func executeRecords() throws {
        let def = try CreateParser.parse(["idx", "SCHEMA", "tag", "TAG"])
        let index = try SearchIndex(definition: def)
        let request = Self.request(.tag(field: "tag", values: ["a"]))
        #expect(index.recentMicros(request) == nil)
        _ = try index.execute(request)
        #expect((index.recentMicros(request) ?? -1) >= 0)
    }
}

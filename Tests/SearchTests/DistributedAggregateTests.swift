// Distributed FT.AGGREGATE: the plan split, the shard wire format, combining shards' rows, and the end-to-end rule
// that shards + coordinator reply what one node holding every document replies.
import Testing
import RESP
@testable import Search
import Keyspace

/// 30 documents: n is unique (so sorts on it are deterministic), tag cycles through four values, d:7 has no n.
private func allDocs() -> [AggDocument] {
    (1...30).map { i in
        var fields: [(Bytes, Bytes)] = [(Bytes("tag"), Bytes(["red", "blue", "green", "red,blue"][i % 4])),
                                        (Bytes("t"), Bytes(i % 3 == 0 ? "hello world" : "other"))]
        if i != 7 { fields.append((Bytes("n"), Bytes(String(Double(i * 7 % 31) / 2)))) }
        return AggDocument(key: Bytes("d:\(i)"), docId: UInt32(i), yielded: [], fields: fields.map { (name: $0.0, value: $0.1) })
    }
}

private func schema() throws -> IndexDefinition {
    try CreateParser.parse(["idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "n", "NUMERIC", "SORTABLE", "tag", "TAG",
                            "t", "TEXT"])
}

private func plan(_ args: [String]) throws -> AggregatePlan {
    try AggregatePlan.parse(args, raw: args.map { Array($0.utf8) })
}

private func render(_ v: AggValue) -> String {
    switch v {
    case .null: return "nil"
    // TOLIST's order follows insertion order, which differs between one node and shards: compare as sets.
    case .array(let a): return "[" + a.map(render).sorted().joined(separator: ",") + "]"
    default: return v.textValue!
    }
}

private func rendered(_ chunk: AggregateChunk) -> [String] {
    chunk.rows.map { row in row.map { "\($0.0)=\(render($0.1))" }.joined(separator: " ") }
}

/// What one node holding every document replies.
private func single(_ args: [String]) throws -> AggregateChunk {
    let p = try AggregatePipeline.build(plan: try plan(args), docs: allDocs(), schema: try schema(), yieldedNames: [])
    return try p.chunk(limit: Int.max)
}

/// The same over three shards (documents dealt round-robin, each shard numbering its own documents from 1), shipped
/// through the wire format, combined and finished by a coordinator.
private func distributed(_ args: [String]) throws -> AggregateChunk {
    let p = try plan(args)
    let split = p.distributedSplit(knn: nil)
    var shards: [AggShardRows] = []
    for s in 0..<3 {
        let docs = allDocs().enumerated().filter { $0.offset % 3 == s }.enumerated().map { local, d in
            var doc = d.element
            doc.docId = UInt32(local + 1)
            return doc
        }
        let pipeline = try AggregatePipeline.buildShard(plan: p, split: split, docs: docs, schema: try schema(), yieldedNames: [])
        shards.append(try #require(roundTrip(pipeline.shardRows())))
    }
    let rows = AggShardRows.combine(shards, split: split)
    let coordinator = try AggregatePipeline.buildCoordinator(plan: p, split: split, rows: rows, schema: try schema())
    return try coordinator.chunk(limit: Int.max)
}

private func roundTrip(_ rows: AggShardRows) -> AggShardRows? {
    var w = ReplyWriter()
    rows.encode(into: &w)
    var parser = ReplyParser()
    guard let parsed = try? parser.parse(w.buffer, from: 0) else { return nil }
    return AggShardRows.decode(parsed.value)
}

private func number(_ d: Double) -> AggValue { .number(d) }

@Suite("Distributed FT.AGGREGATE")
struct DistributedAggregateTests {
    @Test("the split: leading row steps on shards, a following SORTBY / LIMIT pre-run there, KNN ships everything")
    func split() throws {
        #expect(try plan(["LOAD", "1", "@t", "APPLY", "@n*2", "AS", "x", "FILTER", "@x>3", "GROUPBY", "1", "@tag"])
            .distributedSplit(knn: nil) == AggregateSplit(shardSteps: 3, shardArrange: false))
        #expect(try plan(["APPLY", "@n*2", "AS", "x", "SORTBY", "2", "@x", "DESC", "LIMIT", "0", "5"])
            .distributedSplit(knn: nil) == AggregateSplit(shardSteps: 1, shardArrange: true))
        #expect(try plan(["FILTER", "@n>1"]).distributedSplit(knn: nil) == AggregateSplit(shardSteps: 1, shardArrange: false))
        #expect(try plan([]).distributedSplit(knn: nil) == AggregateSplit(shardSteps: 0, shardArrange: false))
        let knn = KNNClause(k: 4, field: "v", blob: [], scoreAlias: "dist")
        #expect(try plan(["FILTER", "@dist<1"]).distributedSplit(knn: knn)
            == AggregateSplit(shardSteps: 0, shardArrange: false, knnField: "dist", knnK: 4))
    }

    @Test("shard rows survive the wire: absent, null, numbers, binary strings, arrays, reads, errors")
    func wireFormat() {
        let rows = AggShardRows(columns: ["a", "b", "c"], rows: [
            AggShardRow(reads: 3, docId: 9, values: [number(1.5), nil, .string([0, 255, 13, 10])]),
            AggShardRow(reads: 0, docId: 4_000_000_000, values: [.null, .array([number(-0.1), .text("x"), .array([])]), number(1e300)]),
        ], trailingReads: 7, error: "n: has no value, consider using EXISTS if applicable")
        #expect(roundTrip(rows) == rows)
        let empty = AggShardRows(columns: [], rows: [])
        #expect(roundTrip(empty) == empty)
        #expect(AggShardRows.decode(.array([.integer(1)])) == nil)
        #expect(AggShardRows.decode(.array([.array([.bulk(Array("a".utf8))]), .array([.array([.integer(1), .integer(1), .bulk(Array("q".utf8))])]),
                                            .integer(0), .null])) == nil)
    }

    @Test("combining: columns unioned, trailing reads carried to the next row, an error ends the stream")
    func combine() {
        let a = AggShardRows(columns: ["x", "y"], rows: [AggShardRow(reads: 2, docId: 1, values: [number(1), number(2)])],
                             trailingReads: 3)
        let b = AggShardRows(columns: ["y", "z"], rows: [], trailingReads: 4)
        let c = AggShardRows(columns: ["x"], rows: [AggShardRow(reads: 1, docId: 1, values: [number(5)])], trailingReads: 2,
                             error: "boom")
        let d = AggShardRows(columns: ["x"], rows: [AggShardRow(reads: 1, docId: 2, values: [number(6)])])
        let out = AggShardRows.combine([a, b, c, d], split: AggregateSplit(shardSteps: 0, shardArrange: false))
        #expect(out.columns == ["x", "y", "z"])
        #expect(out.rows == [AggShardRow(reads: 2, docId: 1, values: [number(1), number(2), nil]),
                             AggShardRow(reads: 8, docId: 1, values: [number(5), nil, nil])])
        #expect(out.trailingReads == 2 && out.error == "boom")
    }

    @Test("KNN: the global k nearest, nearest first, ties in shard order")
    func knnCombine() {
        func shard(_ ds: [Double]) -> AggShardRows {
            AggShardRows(columns: ["dist", "n"], rows: ds.enumerated().map { i, d in
                AggShardRow(reads: 1, docId: UInt32(i + 1), values: [number(d), number(d * 10)])
            })
        }
        let split = AggregateSplit(shardSteps: 0, shardArrange: false, knnField: "dist", knnK: 4)
        let out = AggShardRows.combine([shard([0.1, 0.5, 0.9]), shard([0.2, 0.5]), shard([0.05])], split: split)
        #expect(out.rows.map { $0.values[0]! } == [number(0.05), number(0.1), number(0.2), number(0.5)])
        #expect(out.rows[3].values[1] == number(5) && out.rows[3].docId == 2)
        #expect(out.rows.map(\.reads) == [1, 1, 1, 1])
    }

    /// Plans whose rows come out in a defined order: compared row by row, with `total`.
    @Test("shards + coordinator reply what one node replies (defined order)", arguments: [
        ["SORTBY", "2", "@n", "DESC", "MAX", "5"],
        ["SORTBY", "2", "@n", "ASC", "LIMIT", "3", "4"],
        ["SORTBY", "2", "@n", "ASC"],
        ["FILTER", "exists(@n) && @n > 4", "SORTBY", "2", "@n", "DESC", "LIMIT", "0", "6"],
        ["FILTER", "exists(@n)", "APPLY", "@n * 2 + 1", "AS", "m", "FILTER", "@m > 10", "SORTBY", "2", "@m", "ASC", "MAX", "4"],
        ["LOAD", "2", "@t", "@tag", "APPLY", "upper(@t)", "AS", "u", "SORTBY", "2", "@n", "DESC", "LIMIT", "2", "5"],
        ["LIMIT", "0", "0"],
        ["FILTER", "exists(@n) && @n > 3", "LIMIT", "0", "0"],
        ["GROUPBY", "0", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "SUM", "1", "@n", "AS", "s", "REDUCE", "MAX", "1", "@n", "AS", "mx"],
        ["GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "4", "@c", "DESC", "@tag", "ASC", "MAX", "3"],
        ["FILTER", "exists(@n)", "APPLY", "floor(@n)", "AS", "f", "GROUPBY", "1", "@f", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "2", "@f", "ASC", "LIMIT", "1", "3"],
    ])
    func orderedEqual(_ args: [String]) throws {
        let want = try single(args), got = try distributed(args)
        #expect(got.total == want.total)
        #expect(rendered(got) == rendered(want))
        #expect(got.warning == want.warning)
    }

    /// Plans whose row order (or `total`, which counts the documents read before the first row) depends on the order
    /// documents are read in: the same rows, compared as sets.
    @Test("shards + coordinator give one node's rows (order not defined)", arguments: [
        ["GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "SUM", "1", "@n", "AS", "s",
         "REDUCE", "AVG", "1", "@n", "AS", "a", "REDUCE", "MIN", "1", "@n", "AS", "lo", "REDUCE", "MAX", "1", "@n", "AS", "hi",
         "REDUCE", "COUNT_DISTINCT", "1", "@t", "AS", "cd", "REDUCE", "TOLIST", "1", "@t", "AS", "tl"],
        ["LOAD", "1", "@t", "GROUPBY", "2", "@t", "@tag", "REDUCE", "COUNT", "0", "AS", "c"],
        ["FILTER", "exists(@n) && @n > 10", "APPLY", "@n / 2", "AS", "h"],
        ["LOAD", "1", "@tag"],
    ])
    func sameRows(_ args: [String]) throws {
        let want = try single(args), got = try distributed(args)
        if args.contains("GROUPBY") { #expect(got.total == want.total) }
        #expect(rendered(got).sorted() == rendered(want).sorted())
    }

    @Test("an APPLY / FILTER error surfaces as on one node: before any row it is the reply")
    func errors() throws {
        // d:7 has no n: a blocking step reads it before the first row, so the error is the reply.
        let args = ["APPLY", "@n + 1", "AS", "m", "SORTBY", "2", "@m", "DESC"]
        #expect(throws: AggregateError.self) { try single(args) }
        #expect(throws: AggregateError.self) { try distributed(args) }
        // Without a blocking step rows come first and the error ends them as a warning.
        let streaming = ["APPLY", "@n + 1", "AS", "m"]
        let want = try single(streaming), got = try distributed(streaming)
        #expect(want.warning != nil && got.warning == want.warning)
    }

    @Test("cursor reads page through the coordinator's pipeline like a single node's")
    func cursorChunks() throws {
        let args = ["SORTBY", "2", "@n", "ASC", "MAX", "25"]
        let p = try plan(args)
        let singlePipeline = try AggregatePipeline.build(plan: p, docs: allDocs(), schema: try schema(), yieldedNames: [])
        var want: [[String]] = []
        while !singlePipeline.exhausted { want.append(rendered(try singlePipeline.chunk(limit: 10))) }
        let split = p.distributedSplit(knn: nil)
        let shards = try (0..<2).map { s in
            let docs = allDocs().enumerated().filter { $0.offset % 2 == s }.map(\.element)
            return try AggregatePipeline.buildShard(plan: p, split: split, docs: docs, schema: try schema(), yieldedNames: []).shardRows()
        }
        let coordinator = try AggregatePipeline.buildCoordinator(plan: p, split: split, rows: AggShardRows.combine(shards, split: split),
                                                                 schema: try schema())
        var got: [[String]] = []
        while !coordinator.exhausted { got.append(rendered(try coordinator.chunk(limit: 10))) }
        #expect(got == want)
        #expect(want.map(\.count) == [10, 10, 5])
    }
}

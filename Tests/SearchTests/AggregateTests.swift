// FT.AGGREGATE pipeline: expressions, reducers, group order (khash emulation) and `total` quirks, checked against
// replies captured from Redis Stack 7.4.1 / RediSearch 2.10.5 on the same six documents.
import Testing
@testable import Search
import Keyspace

/// The oracle data set: `FT.CREATE idx ON HASH PREFIX 1 d: SCHEMA n NUMERIC SORTABLE tag TAG t TEXT s TAG SORTABLE
/// v VECTOR FLAT 6 TYPE FLOAT32 DIM 2 DISTANCE_METRIC L2` and d:1..d:6 (d:4 has no s, d:5 has no n and no v).
private let rows: [[(String, String)]] = [
    [("n", "1"), ("tag", "a"), ("t", "hello"), ("s", "x")],
    [("n", "2"), ("tag", "a,b"), ("t", "world"), ("s", "y")],
    [("n", "3"), ("tag", "b"), ("t", "hello"), ("s", "x")],
    [("n", "4.5"), ("tag", "c"), ("t", "foo")],
    [("tag", "c"), ("t", "bar"), ("s", "z")],
    [("n", "10"), ("tag", "a"), ("t", "hello world"), ("s", "y")],
]

private func docs() -> [AggDocument] {
    rows.enumerated().map { i, fields in
        AggDocument(key: Bytes("d:\(i + 1)"), docId: UInt32(i + 1), yielded: [],
                    fields: fields.map { (Bytes($0.0), Bytes($0.1)) })
    }
}

private func schema() throws -> IndexDefinition {
    try CreateParser.parse(["idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "n", "NUMERIC", "SORTABLE", "tag", "TAG",
                            "t", "TEXT", "s", "TAG", "SORTABLE"])
}

/// Runs `args` (everything after the query) and renders like redis-cli's flat view: total, then `k=v` rows.
private func run(_ args: [String]) throws -> (Int, [String]) {
    let plan = try AggregatePlan.parse(args, raw: args.map { Array($0.utf8) })
    let p = try AggregatePipeline.build(plan: plan, docs: docs(), schema: try schema(), yieldedNames: [])
    let chunk = try p.chunk(limit: Int.max)
    return (chunk.total, chunk.rows.map { row in
        row.map { k, v in "\(k)=\(render(v))" }.joined(separator: " ")
    })
}

private func render(_ v: AggValue) -> String {
    switch v {
    case .null: return "nil"
    case .array(let a): return "[" + a.map(render).joined(separator: ",") + "]"
    default: return v.textValue!
    }
}

private func error(_ args: [String]) -> String? {
    do { _ = try run(args); return nil } catch let e as AggregateError { return e.message } catch { return "\(error)" }
}

@Suite("FT.AGGREGATE pipeline")
struct AggregateTests {
    @Test("numbers print as RediSearch's RSValue_NumToString", arguments: [
        (2.0, "2"), (3.5, "3.5"), (2.25, "2.25"), (-4.0, "-4"), (2.0.squareRoot(), "1.41421356237"),
        (0.69314718055994529, "0.69314718056"), (6.363961030678928, "6.36396103068"), (1e20, "1e+20"),
    ])
    func numberFormat(_ value: Double, _ text: String) {
        #expect(AggValue.formatNumber(value) == text)
    }

    @Test("expression precedence: * / % ^ bind tighter than + -, comparisons, then && || !")
    func precedence() throws {
        let e = AggEvaluator(slots: [:])
        func eval(_ s: String) throws -> String { try e.eval(try AggExprParser.parse(s), AggRow(count: 0)).textValue ?? "nil" }
        #expect(try eval("1 + 2 * 3") == "7")
        #expect(try eval("2 ^ 3 * 2") == "16")
        #expect(try eval("(1 + 2) * 3") == "9")
        #expect(try eval("1 + 1 == 2") == "1")
        #expect(try eval("!(1 > 2)") == "1")
        #expect(try eval("1 > 2 || 3 > 2") == "1")
        #expect(try eval("7 % 3") == "1")
        #expect(try eval("-2 + 5") == "3")
        #expect(try eval("upper(\"ab\")") == "AB")
        #expect(try eval("lower('AB')") == "ab")
        #expect(try eval("substr(\"hello\", 1, 3)") == "ell")
        #expect(try eval("format(\"%s-%s\", \"a\", 2)") == "a-2")
        #expect(try eval("sqrt(2)") == "1.41421356237")
        #expect(try eval("floor(4.5) + ceil(4.5) + abs(-1)") == "10")
    }

    // Oracle: FT.AGGREGATE idx * GROUPBY 1 @tag REDUCE COUNT 0 AS c
    //   → [4, [tag, c, c, 2], [tag, a, c, 2], [tag, "a,b", c, 1], [tag, b, c, 1]]
    @Test("groups come out in RediSearch's khash bucket order")
    func groupOrder() throws {
        let (total, out) = try run(["GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c"])
        #expect(total == 4)
        #expect(out == ["tag=c c=2", "tag=a c=2", "tag=a,b c=1", "tag=b c=1"])
        // Oracle: GROUPBY 1 @n REDUCE COUNT 0 AS c → 2, 3, 4.5, nil, 1, 10 (numbers hash as doubles).
        let (_, byN) = try run(["GROUPBY", "1", "@n", "REDUCE", "COUNT", "0", "AS", "c"])
        #expect(byN.map { $0.split(separator: " ")[0] } == ["n=2", "n=3", "n=4.5", "n=nil", "n=1", "n=10"])
        // Oracle: LOAD 1 @t GROUPBY 1 @t → foo, "hello world", hello, world, bar.
        let (_, byT) = try run(["LOAD", "1", "@t", "GROUPBY", "1", "@t"])
        #expect(byT == ["t=foo", "t=hello world", "t=hello", "t=world", "t=bar"])
        // Oracle: GROUPBY 2 @tag @s REDUCE COUNT 0 AS c
        let (_, two) = try run(["GROUPBY", "2", "@tag", "@s", "REDUCE", "COUNT", "0", "AS", "c"])
        #expect(two == ["tag=a,b s=y c=1", "tag=a s=x c=1", "tag=b s=x c=1", "tag=c s=nil c=1", "tag=c s=z c=1", "tag=a s=y c=1"])
    }

    // Oracle: GROUPBY 1 @tag REDUCE COUNT 0 AS c REDUCE SUM 1 @n AS s REDUCE AVG 1 @n AS a REDUCE MIN 1 @n REDUCE MAX 1 @n
    @Test("COUNT SUM AVG MIN MAX with generated aliases")
    func basicReducers() throws {
        let (_, out) = try run(["GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "SUM", "1", "@n", "AS", "s",
                                "REDUCE", "AVG", "1", "@n", "AS", "a", "REDUCE", "MIN", "1", "@n", "REDUCE", "MAX", "1", "@n"])
        #expect(out[0] == "tag=c c=2 s=4.5 a=2.25 __generated_aliasminn=4.5 __generated_aliasmaxn=4.5")
        #expect(out[1] == "tag=a c=2 s=11 a=5.5 __generated_aliasminn=1 __generated_aliasmaxn=10")
        let (total, all) = try run(["GROUPBY", "0", "REDUCE", "COUNT", "0"])
        #expect(total == 1 && all == ["__generated_aliascount=6"])
    }

    // Oracle: GROUPBY 1 @tag REDUCE COUNT_DISTINCT 1 @s AS cd REDUCE TOLIST 1 @s AS tl REDUCE FIRST_VALUE 1 @n AS fv
    //   REDUCE STDDEV 1 @n AS sd REDUCE QUANTILE 2 @n 0.5 AS q REDUCE COUNT_DISTINCTISH 1 @s AS cdi
    @Test("COUNT_DISTINCT TOLIST FIRST_VALUE STDDEV QUANTILE COUNT_DISTINCTISH")
    func otherReducers() throws {
        let (_, out) = try run(["GROUPBY", "1", "@tag", "REDUCE", "COUNT_DISTINCT", "1", "@s", "AS", "cd",
                                "REDUCE", "TOLIST", "1", "@s", "AS", "tl", "REDUCE", "FIRST_VALUE", "1", "@n", "AS", "fv",
                                "REDUCE", "STDDEV", "1", "@n", "AS", "sd", "REDUCE", "QUANTILE", "2", "@n", "0.5", "AS", "q",
                                "REDUCE", "COUNT_DISTINCTISH", "1", "@s", "AS", "cdi"])
        #expect(out == ["tag=c cd=1 tl=[z] fv=4.5 sd=0 q=4.5 cdi=1",
                        "tag=a cd=2 tl=[x,y] fv=1 sd=6.36396103068 q=1 cdi=1",
                        "tag=a,b cd=1 tl=[y] fv=2 sd=0 q=2 cdi=1",
                        "tag=b cd=1 tl=[x] fv=3 sd=0 q=3 cdi=1"])
    }

    @Test("total is the number of documents read when the first row is emitted")
    func totals() throws {
        // Oracle: * → [1, [], [], [], [], [], []]; LIMIT 1 2 → [2, [], []]; FILTER '@n > 2' → [3, n=3, n=4.5] (stops
        // at d:5, whose n is missing); SORTBY 2 @n DESC → total 6 with the missing value last.
        let (t1, r1) = try run([])
        #expect(t1 == 1 && r1 == ["", "", "", "", "", ""])
        let (t2, r2) = try run(["LIMIT", "1", "2"])
        #expect(t2 == 2 && r2.count == 2)
        let (t3, r3) = try run(["FILTER", "@n > 2"])
        #expect(t3 == 3 && r3 == ["n=3", "n=4.5"])
        let (t4, r4) = try run(["SORTBY", "2", "@n", "DESC"])
        #expect(t4 == 6 && r4 == ["n=10", "n=4.5", "n=3", "n=2", "n=1", ""])
        let (t5, r5) = try run(["SORTBY", "2", "@n", "ASC"])
        #expect(t5 == 6 && r5 == ["n=1", "n=2", "n=3", "n=4.5", "n=10", ""])
        let (t6, r6) = try run(["SORTBY", "1", "@n", "MAX", "2"])
        #expect(t6 == 6 && r6 == ["n=1", "n=2"])
    }

    // Oracle: APPLY 'sqrt(@n)' AS q APPLY 'log(@n)' AS l APPLY 'floor(@n)' AS f APPLY 'exists(@s)' AS e
    @Test("APPLY adds columns in creation order; sortable fields are readable without LOAD")
    func apply() throws {
        let (total, out) = try run(["APPLY", "sqrt(@n)", "AS", "q", "APPLY", "log(@n)", "AS", "l", "APPLY", "floor(@n)", "AS", "f",
                                    "APPLY", "exists(@s)", "AS", "e"])
        #expect(total == 1)
        #expect(out == ["n=1 q=1 l=0 f=1 s=x e=1", "n=2 q=1.41421356237 l=0.69314718056 f=2 s=y e=1",
                        "n=3 q=1.73205080757 l=1.09861228867 f=3 s=x e=1", "n=4.5 q=2.12132034356 l=1.50407739678 f=4 e=0"])
        let (_, named) = try run(["APPLY", "@n*2"])
        #expect(named.first == "n=1 @n*2=2")
        let (_, loaded) = try run(["LOAD", "1", "@t", "APPLY", "upper(@t)", "AS", "u", "APPLY", "@n == 2", "AS", "eq",
                                   "APPLY", "@n != 2 && @n < 4", "AS", "ne", "APPLY", "!(@n > 1)", "AS", "nt"])
        #expect(loaded[1] == "t=world u=WORLD n=2 eq=1 ne=0 nt=0")
    }

    @Test("errors use RediSearch's texts", arguments: [
        (["GROUPBY", "1", "@foo"], "No such property `foo`"),
        (["GROUPBY", "1", "tag"], "Bad arguments for GROUPBY: Unknown property `tag`. Did you mean `@tag`?"),
        (["GROUPBY", "1", "@s", "REDUCE", "SUM", "1", "@foo"], "Property `foo` not present in document or pipeline"),
        (["GROUPBY", "1", "@tag", "REDUCE", "FOO", "0"], "No such reducer: FOO"),
        (["GROUPBY", "1", "@tag", "REDUCE", "COUNT", "1", "@n"], "Count accepts 0 values only"),
        (["GROUPBY", "1", "@tag", "REDUCE", "SUM", "2", "@n"], "Bad arguments for SUM: Expected an argument, but none provided"),
        (["GROUPBY", "1", "@tag", "REDUCE", "QUANTILE", "2", "@n", "2"], "Percentage must be between 0.0 and 1.0"),
        (["APPLY", "upper(@t)", "AS", "u"], "Property `t` not loaded nor in pipeline"),
        (["APPLY", "foo(@n)", "AS", "x"], "Unknown function name 'foo'"),
        (["SORTBY", "1", "@foo"], "Property `foo` not loaded nor in schema"),
        (["SORTBY", "1", "n"], "MISSING ASC or DESC after sort field (n)"),
        (["SORTBY", "2", "@n"], "Bad arguments for SORTBY: Expected an argument, but none provided"),
        (["LIMIT", "0"], "LIMIT requires two arguments"),
        (["LOAD", "3", "@n"], "Bad arguments for LOAD: SUCCESS"),
        (["BLAH"], "Unknown argument `BLAH` at position 1 for <main>"),
        (["LIMIT", "0", "1", "BLAH"], "Unknown argument `BLAH` at position 4 for <main>"),
    ])
    func errors(_ args: [String], _ message: String) {
        #expect(error(args) == message)
    }

    @Test("an expression error before the first row is the reply; after it, rows just stop")
    func evaluationErrors() throws {
        let plan = try AggregatePlan.parse(["APPLY", "@n*2", "AS", "d"], raw: [])
        var only5 = docs()
        only5 = [only5[4], only5[5]]
        let p = try AggregatePipeline.build(plan: plan, docs: only5, schema: try schema(), yieldedNames: [])
        #expect(throws: AggregateError("n: has no value, consider using EXISTS if applicable")) { try p.chunk(limit: 10) }
        let (_, out) = try run(["APPLY", "@n*2", "AS", "d"])
        #expect(out.count == 4)
    }

    @Test("cursor chunks: total per chunk, 0 after a blocking step, exhausted only when the end is seen")
    func chunks() throws {
        let plan = try AggregatePlan.parse(["LOAD", "1", "@n"], raw: [])
        let p = try AggregatePipeline.build(plan: plan, docs: docs(), schema: try schema(), yieldedNames: [])
        let sizes = try (0..<4).map { _ in try p.chunk(limit: 2) }.map { ($0.total, $0.rows.count) }
        #expect(sizes.map { $0.0 } == [1, 1, 1, 0] && sizes.map { $0.1 } == [2, 2, 2, 0])
        #expect(p.exhausted)
        let g = try AggregatePipeline.build(plan: try AggregatePlan.parse(["GROUPBY", "1", "@tag"], raw: []), docs: docs(),
                                            schema: try schema(), yieldedNames: [])
        #expect(try g.chunk(limit: 2).total == 4)
        #expect(try g.chunk(limit: 2).total == 0)
    }

    @Test("khash emulation keeps every key through resizes")
    func khash() {
        var h = KHashOrder()
        for i in 0..<1000 { h.put(UInt64(i) &* 0x9E3779B97F4A7C15, i) }
        #expect(h.size == 1000)
        #expect(Set(h.ordered) == Set(0..<1000))
        for i in 0..<1000 { #expect(h.get(UInt64(i) &* 0x9E3779B97F4A7C15) == i) }
    }
}

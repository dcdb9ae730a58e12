// FT.AGGREGATE / FT.CURSOR / FT.PROFILE through the command table. Every expected reply below was captured from
// Redis Stack 7.4.1 (RediSearch 2.10.5) on the same index and documents (raw RESP, RESP2 and RESP3).
import Testing
@testable import Server
import Keyspace

private func fresh(_ proto: Int = 2) throws -> (Server, Client) {
    var config = Config()
    try config.set("search-workers", "0")
    let server = Server(config: config)
    let c = server.detachedClient(protocolVersion: proto)
    server.execute("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "n", "NUMERIC", "SORTABLE", "tag", "TAG",
                   "t", "TEXT", "s", "TAG", "SORTABLE", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "2",
                   "DISTANCE_METRIC", "L2", on: c)
    let docs: [[String]] = [
        ["d:1", "n", "1", "tag", "a", "t", "hello", "s", "x"],
        ["d:2", "n", "2", "tag", "a,b", "t", "world", "s", "y"],
        ["d:3", "n", "3", "tag", "b", "t", "hello", "s", "x"],
        ["d:4", "n", "4.5", "tag", "c", "t", "foo"],
        ["d:5", "tag", "c", "t", "bar", "s", "z"],
        ["d:6", "n", "10", "tag", "a", "t", "hello world", "s", "y"],
    ]
    let vectors: [String: [Float]] = ["d:1": [1, 0], "d:2": [2, 0], "d:3": [3, 0], "d:4": [4, 0], "d:6": [5, 0]]
    for d in docs {
        var argv = [Bytes("HSET")] + d.map { Bytes($0) }
        if let v = vectors[d[0]] { argv += [Bytes("v"), Bytes(v.withUnsafeBytes { Array($0) })] }
        server.execute(argv, on: c)
    }
    return (server, c)
}

/// A compact rendering of RESP replies (as the oracle capture script printed them): `[a, b]`, `{k, v}`, `$bulk`,
/// `:int`, `+simple`, `-error`, `$-1` / `_` for nulls.
private func show(_ bytes: [UInt8]) -> String {
    var i = 0
    func line() -> String {
        var s: [UInt8] = []
        while !(bytes[i] == 13 && bytes[i + 1] == 10) { s.append(bytes[i]); i += 1 }
        i += 2
        return String(decoding: s, as: UTF8.self)
    }
    func value() -> String {
        let l = line()
        let t = l.first!, body = String(l.dropFirst())
        switch t {
        case "$":
            let n = Int(body)!
            if n < 0 { return l }
            let s = String(decoding: bytes[i..<(i + n)], as: UTF8.self)
            i += n + 2
            return "$" + s
        case "*", "%", "~":
            let n = Int(body)!
            if n < 0 { return l }
            let items = (0..<(t == "%" ? 2 * n : n)).map { _ in value() }
            return (t == "%" ? "{" : "[") + items.joined(separator: ", ") + (t == "%" ? "}" : "]")
        default: return l
        }
    }
    return value()
}

private func agg(_ s: Server, _ c: Client, _ args: String...) -> String {
    show(s.execute(args.map { Bytes($0) }, on: c))
}

@Suite("FT.AGGREGATE commands", .serialized)
struct AggregateCommandTests {
    /// (arguments after `FT.AGGREGATE idx`, the oracle's RESP2 reply).
    static let resp2: [([String], String)] = [
        (["*"], "[:1, [], [], [], [], [], []]"),
        (["*", "LOAD", "1", "@n"], "[:1, [$n, $1], [$n, $2], [$n, $3], [$n, $4.5], [], [$n, $10]]"),
        (["*", "GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c"],
         "[:4, [$tag, $c, $c, $2], [$tag, $a, $c, $2], [$tag, $a,b, $c, $1], [$tag, $b, $c, $1]]"),
        (["*", "GROUPBY", "0", "REDUCE", "COUNT", "0"], "[:1, [$__generated_aliascount, $6]]"),
        (["*", "SORTBY", "2", "@n", "DESC", "LIMIT", "1", "2"], "[:6, [$n, $4.5], [$n, $3]]"),
        (["*", "LIMIT", "1", "2"], "[:2, [], []]"),
        (["*", "LIMIT", "0", "0"], "[:6]"),
        (["@n:[2 5]", "LOAD", "1", "@n"], "[:1, [$n, $2], [$n, $3], [$n, $4.5]]"),
        (["*", "GROUPBY", "1", "@s", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "2", "@c", "DESC"],
         "[:4, [$s, $x, $c, $2], [$s, $y, $c, $2], [$s, $z, $c, $1], [$s, $-1, $c, $1]]"),
        (["*", "GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "2", "@c", "ASC"],
         "[:4, [$tag, $a,b, $c, $1], [$tag, $b, $c, $1], [$tag, $a, $c, $2], [$tag, $c, $c, $2]]"),
        (["*", "FILTER", "@n > 2"], "[:3, [$n, $3], [$n, $4.5]]"),
        (["*", "APPLY", "@n * 2", "AS", "d"], "[:1, [$n, $1, $d, $2], [$n, $2, $d, $4], [$n, $3, $d, $6], [$n, $4.5, $d, $9]]"),
        (["@s:{z}", "APPLY", "@n*2", "AS", "d"], "-n: has no value, consider using EXISTS if applicable"),
        (["*", "GROUPBY", "1", "@tag", "REDUCE", "TOLIST", "1", "@s", "AS", "tl", "LIMIT", "0", "1"], "[:4, [$tag, $c, $tl, [$z]]]"),
        (["*", "GROUPBY", "0", "REDUCE", "TOLIST", "1", "@t", "AS", "l", "REDUCE", "TOLIST", "1", "@n", "AS", "ln"],
         "[:1, [$l, [$foo, $world, $hello, $bar, $hello world], $ln, [$3, $2, $1, $4.5, $10]]]"),
        (["*=>[KNN 3 @v $B AS dist]", "PARAMS", "2", "B", "\u{0}\u{0}@@\u{0}\u{0}\u{0}\u{0}", "DIALECT", "2"],
         "[:1, [$dist, $0], [$dist, $1], [$dist, $1]]"),
        (["@tag:{a}=>[KNN 2 @v $B AS dist]", "PARAMS", "2", "B", "\u{0}\u{0}@@\u{0}\u{0}\u{0}\u{0}", "LOAD", "2", "@n", "@__key",
          "DIALECT", "2"], "[:1, [$dist, $1, $n, $2, $__key, $d:2], [$dist, $4, $n, $1, $__key, $d:1]]"),
        (["@v:[VECTOR_RANGE 2 $B]=>{$YIELD_DISTANCE_AS: d}", "PARAMS", "2", "B", "\u{0}\u{0}@@\u{0}\u{0}\u{0}\u{0}", "LOAD", "1", "@n",
          "DIALECT", "2"], "[:1, [$d, $1, $n, $2], [$d, $0, $n, $3], [$d, $1, $n, $4.5]]"),
        (["*=>[KNN 4 @v $B AS dist]", "PARAMS", "2", "B", "\u{0}\u{0}@@\u{0}\u{0}\u{0}\u{0}", "GROUPBY", "1", "@tag", "REDUCE", "MIN", "1",
          "@dist", "AS", "m", "SORTBY", "2", "@m", "ASC", "DIALECT", "2"],
         "[:4, [$tag, $b, $m, $0], [$tag, $a,b, $m, $1], [$tag, $c, $m, $1], [$tag, $a, $m, $4]]"),
        (["*", "GROUPBY", "1", "@foo"], "-No such property `foo`"),
        (["*", "BLAH"], "-Unknown argument `BLAH` at position 1 for <main>"),
        (["*", "SORTBY", "1", "@foo"], "-Property `foo` not loaded nor in schema"),
        (["*", "LIMIT", "a", "b"], "-LIMIT needs two numeric arguments"),
        (["*", "FILTER"], "-Bad arguments for APPLY/FILTER: Expected an argument, but none provided"),
        (["*", "GROUPBY", "1", "@tag", "REDUCE"], "-Bad arguments for REDUCE: SUCCESS"),
        (["*", "APPLY", "10 / 0", "AS", "x", "LIMIT", "0", "1"], "[:1, [$x, $nan]]"),
    ]

    @Test("RESP2 replies match Redis Stack", arguments: resp2)
    func resp2Replies(_ args: [String], _ expected: String) throws {
        let (s, c) = try fresh()
        #expect(show(s.execute([Bytes("FT.AGGREGATE"), Bytes("idx")] + args.map { Bytes($0) }, on: c)) == expected)
    }

    @Test("unknown index")
    func unknownIndex() throws {
        let (s, c) = try fresh()
        #expect(agg(s, c, "FT.AGGREGATE", "nope", "*") == "-nope: no such index")
        #expect(agg(s, c, "FT.AGGREGATE", "idx") == "-No query string provided")
    }

    @Test("RESP3: the map shape, nulls as _, and a mid-stream error as a warning")
    func resp3() throws {
        let (s, c) = try fresh(3)
        #expect(agg(s, c, "FT.AGGREGATE", "idx", "*", "LOAD", "1", "@n", "LIMIT", "0", "2") ==
                "{+attributes, [], +total_results, :1, +format, +STRING, +results, [{+extra_attributes, {$n, $1}, +values, []}, {+extra_attributes, {$n, $2}, +values, []}], +warning, []}")
        #expect(agg(s, c, "FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@s", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "2", "@c", "DESC") ==
                "{+attributes, [], +total_results, :4, +format, +STRING, +results, [{+extra_attributes, {$s, $x, $c, $2}, +values, []}, {+extra_attributes, {$s, $y, $c, $2}, +values, []}, {+extra_attributes, {$s, $z, $c, $1}, +values, []}, {+extra_attributes, {$s, _, $c, $1}, +values, []}], +warning, []}")
        #expect(agg(s, c, "FT.AGGREGATE", "idx", "*", "LOAD", "1", "@n", "FILTER", "@n > 4") ==
                "{+attributes, [], +total_results, :4, +format, +STRING, +results, [{+extra_attributes, {$n, $4.5}, +values, []}], +warning, [+n: has no value, consider using EXISTS if applicable]}")
        #expect(agg(s, c, "FT.AGGREGATE", "idx", "*", "LIMIT", "0", "0") ==
                "{+attributes, [], +total_results, :6, +format, +STRING, +results, [], +warning, []}")
    }

    @Test("WITHCURSOR: chunks, a final empty read, DEL and the errors")
    func cursors() throws {
        let (s, c) = try fresh()
        let first = agg(s, c, "FT.AGGREGATE", "idx", "*", "WITHCURSOR", "COUNT", "2", "LOAD", "1", "@n")
        // Oracle: [[:1, [$n, $1], [$n, $2]], :<id>] then [[:1, 3, 4.5], id], [[:1, [], 10], id], [[:0], :0].
        #expect(first.hasPrefix("[[:1, [$n, $1], [$n, $2]], :"))
        let id = String(first.dropFirst("[[:1, [$n, $1], [$n, $2]], :".count).dropLast())
        #expect(Int(id)! > 0)
        #expect(agg(s, c, "FT.CURSOR", "READ", "idx", id) == "[[:1, [$n, $3], [$n, $4.5]], :\(id)]")
        #expect(agg(s, c, "FT.CURSOR", "READ", "idx", id) == "[[:1, [], [$n, $10]], :\(id)]")
        #expect(agg(s, c, "FT.CURSOR", "READ", "idx", id) == "[[:0], :0]")
        #expect(agg(s, c, "FT.CURSOR", "READ", "idx", id) == "-Cursor not found")
        #expect(agg(s, c, "FT.CURSOR", "DEL", "idx", id) == "-Cursor does not exist")

        let second = agg(s, c, "FT.AGGREGATE", "idx", "*", "WITHCURSOR", "COUNT", "4", "LOAD", "1", "@n")
        let id2 = String(second.split(separator: ":").last!.dropLast())
        #expect(agg(s, c, "FT.CURSOR", "READ", "idx", id2, "COUNT", "1") == "[[:1, []], :\(id2)]")
        #expect(agg(s, c, "FT.CURSOR", "DEL", "idx", id2) == "+OK")
        #expect(agg(s, c, "FT.CURSOR", "READ", "idx", "123") == "-Cursor not found")
        // Oracle: a cursor is found whatever index name FT.CURSOR READ gives.
        let third = agg(s, c, "FT.AGGREGATE", "idx", "*", "WITHCURSOR", "COUNT", "1", "LOAD", "1", "@n")
        let id3 = String(third.split(separator: ":").last!.dropLast())
        #expect(agg(s, c, "FT.CURSOR", "READ", "other", id3) == "[[:1, [$n, $2]], :\(id3)]")
        // A result that fits in the first chunk closes the cursor at once: [[:4, ...groups], :0].
        #expect(agg(s, c, "FT.AGGREGATE", "idx", "*", "WITHCURSOR", "GROUPBY", "1", "@s") ==
                "[[:4, [$s, $x], [$s, $-1], [$s, $y], [$s, $z]], :0]")
        // Grouped chunks after the first report total 0.
        let g = agg(s, c, "FT.AGGREGATE", "idx", "*", "WITHCURSOR", "COUNT", "2", "GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c")
        let gid = String(g.split(separator: ":").last!.dropLast())
        #expect(g == "[[:4, [$tag, $c, $c, $2], [$tag, $a, $c, $2]], :\(gid)]")
        #expect(agg(s, c, "FT.CURSOR", "READ", "idx", gid) == "[[:0, [$tag, $a,b, $c, $1], [$tag, $b, $c, $1]], :\(gid)]")
    }

    @Test("FT.PROFILE AGGREGATE wraps the reply with a profile section")
    func profile() throws {
        let (s, c) = try fresh()
        let r = agg(s, c, "FT.PROFILE", "idx", "AGGREGATE", "QUERY", "*", "LOAD", "1", "@n", "LIMIT", "0", "1")
        #expect(r.hasPrefix("[[:1, [$n, $1]], [[+Total profile time, $0], [+Parsing time, $0], [+Pipeline creation time, $0], [+Warning]"))
    }
}

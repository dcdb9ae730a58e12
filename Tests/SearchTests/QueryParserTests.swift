// Query parser tests: the AST for every construct, RediSearch's error texts, and FT.EXPLAIN output captured
// from Redis Stack 7.4.1 / RediSearch 2.10.5 (index `FT.CREATE idx ON HASH PREFIX 1 d: SCHEMA t TEXT tag TAG
// n NUMERIC v VECTOR FLAT 6 TYPE FLOAT32 DIM 2 DISTANCE_METRIC L2`, holding one document, DIALECT 2).
import Testing
@testable import Search

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The PARAMS every oracle capture below was made with.
private let oracleParams: [String: [UInt8]] = [
    "p": b("Pv"), "lo": b("1"), "hi": b("5"), "K": b("3"), "B": b("12345678"), "r": b("0.2"), "n": b("(3"),
]

private func parse(_ q: String, _ params: [String: [UInt8]] = oracleParams) throws(QueryError) -> ParsedQuery {
    try QueryParser.parse(b(q), params: params, dialect: 2)
}

private func term(_ t: String, _ fields: [String]? = nil) -> QueryNode { .term(fields: fields, text: t) }

@Suite("QueryParser: AST")
struct QueryParserASTTests {
    static let cases: [(String, QueryNode)] = [
        ("*", .all),
        ("(*)", .all),
        ("hello", term("hello")),
        ("Hello", term("hello")),
        ("hello world", .intersection([term("hello"), term("world")])),
        ("hello | world", .union([term("hello"), term("world")])),
        ("a b | c d", .union([.intersection([term("a"), term("b")]), .intersection([term("c"), term("d")])])),
        ("a | b | c", .union([term("a"), term("b"), term("c")])),
        ("(a | b) c", .intersection([.union([term("a"), term("b")]), term("c")])),
        ("(a b) c", .intersection([term("a"), term("b"), term("c")])),
        ("-hello", .not(term("hello"))),
        ("hello -world", .intersection([term("hello"), .not(term("world"))])),
        ("hello-world", .intersection([term("hello"), .not(term("world"))])),
        (#"hello\-world"#, term("hello-world")),
        ("~hello", .optional(term("hello"))),
        ("-hello 2020", .not(.intersection([term("hello"), term("2020")]))),
        ("\"hello world\"", .phrase(fields: nil, words: ["hello", "world"])),
        ("@t:\"Hello World\"", .phrase(fields: ["t"], words: ["hello", "world"])),
        ("hel*", .expansion(fields: nil, pattern: .prefix("hel"))),
        ("@t:hel*", .expansion(fields: ["t"], pattern: .prefix("hel"))),
        ("*ell", .expansion(fields: nil, pattern: .suffix("ell"))),
        ("@t:*ell*", .expansion(fields: ["t"], pattern: .contains("ell"))),
        ("%%hello%%", .expansion(fields: nil, pattern: .fuzzy("hello", distance: 2))),
        ("w'h?l*'", .expansion(fields: nil, pattern: .wildcard("h?l*"))),
        ("@t:hello", term("hello", ["t"])),
        ("@t:(a b)", .intersection([term("a", ["t"]), term("b", ["t"])])),
        ("@t:hello world", .intersection([term("hello", ["t"]), term("world")])),
        ("@t|u:hello", term("hello", ["t", "u"])),
        ("@t:-hello", .not(term("hello", ["t"]))),
        ("$p", term("pv")),
        ("foo_bar", term("foo_bar")),
        ("@tag:{a | b}", .tag(field: "tag", values: ["a", "b"])),
        ("@tag:{Hello}", .tag(field: "tag", values: ["Hello"])),
        (#"@tag:{a\-b}"#, .tag(field: "tag", values: ["a-b"])),
        (#"@tag:{hello\ world}"#, .tag(field: "tag", values: ["hello world"])),
        ("@tag:{hello world}", .tag(field: "tag", values: ["hello world"])),
        ("@tag:{$p | x*}", .tag(field: "tag", values: ["Pv", .pattern(.prefix("x"))])),
        (#"@ta\-g:{x}"#, .tag(field: "ta-g", values: ["x"])),
        (#"@tag:{a\* | b*}"#, .tag(field: "tag", values: [#"a\*"#, .pattern(.prefix("b"))])),
        ("@n:[1 2]", .numericRange(field: "n", min: 1, minExclusive: false, max: 2, maxExclusive: false)),
        ("@n:[(1 +inf]", .numericRange(field: "n", min: 1, minExclusive: true, max: .infinity, maxExclusive: false)),
        ("@n:[-inf (5]", .numericRange(field: "n", min: -.infinity, minExclusive: false, max: 5, maxExclusive: true)),
        ("@n:[inf inf]", .numericRange(field: "n", min: .infinity, minExclusive: false, max: .infinity, maxExclusive: false)),
        ("@n:[1e3 2.5E-1]", .numericRange(field: "n", min: 1000, minExclusive: false, max: 0.25, maxExclusive: false)),
        ("@n:[- 5 6]", .numericRange(field: "n", min: -5, minExclusive: false, max: 6, maxExclusive: false)),
        ("@n:[7]", .numericRange(field: "n", min: 7, minExclusive: false, max: 7, maxExclusive: false)),
        ("@n:[$lo $hi]", .numericRange(field: "n", min: 1, minExclusive: false, max: 5, maxExclusive: false)),
        ("@n:[($lo (-$hi]", .numericRange(field: "n", min: 1, minExclusive: true, max: -5, maxExclusive: true)),
        ("@n==5", .numericRange(field: "n", min: 5, minExclusive: false, max: 5, maxExclusive: false)),
        ("@n!=5", .not(.numericRange(field: "n", min: 5, minExclusive: false, max: 5, maxExclusive: false))),
        ("@n>5", .numericRange(field: "n", min: 5, minExclusive: true, max: .infinity, maxExclusive: false)),
        ("@n<=$hi", .numericRange(field: "n", min: -.infinity, minExclusive: false, max: 5, maxExclusive: false)),
        ("@tag:{x} | @tag:{y}", .union([.tag(field: "tag", values: ["x"]), .tag(field: "tag", values: ["y"])])),
        ("@v:[VECTOR_RANGE 0.5 $B]", .vectorRange(VectorRangeClause(field: "v", radius: 0.5, blob: b("12345678")))),
        ("@v:[VECTOR_RANGE $r $B]=>{$EPSILON: 0.1; $YIELD_DISTANCE_AS: d}",
         .vectorRange(VectorRangeClause(field: "v", radius: 0.2, blob: b("12345678"), epsilon: 0.1, yieldDistanceAs: "d"))),
        ("hello=>{$weight: 2}", term("hello")),
        ("", .union([])),
    ]

    @Test("filter AST", arguments: cases)
    func filter(_ query: String, _ expected: QueryNode) throws {
        let parsed = try parse(query)
        #expect(parsed.filter == expected)
        #expect(parsed.knn == nil)
    }

    @Test func knnPlain() throws {
        let q = try parse("*=>[KNN 10 @v $B]")
        #expect(q.filter == .all)
        #expect(q.knn == KNNClause(k: 10, field: "v", blob: b("12345678")))
        #expect(q.knn?.scoreField == "__v_score")
    }

    @Test func knnParamsAndOptions() throws {
        let q = try parse("(@n:[2020 +inf])=>[KNN $K @v $B EF_RUNTIME 20 HYBRID_POLICY BATCHES BATCH_SIZE 50 AS dist]")
        #expect(q.filter == .numericRange(field: "n", min: 2020, minExclusive: false, max: .infinity, maxExclusive: false))
        #expect(q.knn == KNNClause(k: 3, field: "v", blob: b("12345678"), efRuntime: 20, hybridPolicy: .batches,
                                   batchSize: 50, scoreAlias: "dist"))
    }

    @Test func knnAttributeForm() throws {
        let q = try parse("@tag:{x}=>[KNN 5 @v $B]=>{$YIELD_DISTANCE_AS: d; $EF_RUNTIME: $K; $EPSILON: 0.5}")
        #expect(q.filter == .tag(field: "tag", values: ["x"]))
        #expect(q.knn == KNNClause(k: 5, field: "v", blob: b("12345678"), efRuntime: 3, epsilon: 0.5, scoreAlias: "d"))
    }

    @Test func knnAfterTextAtom() throws {
        let q = try parse("@t:hello=>[KNN 2 @v $B as score]")
        #expect(q.filter == term("hello", ["t"]))
        #expect(q.knn?.scoreAlias == "score")
    }

    @Test func stopwordsKeptUnlessAsked() throws {
        #expect(try parse("the cat").filter == .intersection([term("the"), term("cat")]))
        let dropped = try QueryParser.parse("the cat", stopwords: TextAnalyzer.defaultStopwords)
        #expect(dropped.filter == term("cat"))
        let empty = try QueryParser.parse("a | the", stopwords: TextAnalyzer.defaultStopwords)
        #expect(empty.filter == .union([]))
    }

    static let errors: [(String, [String: [UInt8]], String)] = [
        ("*=>[KNN 10 @v $B]", [:], "No such parameter `B`"),
        ("*=>[KNN $K @v $B]", ["B": b("x"), "K": b("-1")], "Invalid numeric value (-1) for parameter `K`"),
        ("*=>[KNN $K @v $B]", ["B": b("x"), "K": b("1.5")], "Invalid numeric value (1.5) for parameter `K`"),
        ("*=>[KNN 10 @v $B EF_RUNTIME x]", ["B": b("x")], "Error parsing vector similarity parameters: Invalid value was given"),
        ("*=>[KNN 10 @v $B EF_RUNTIME 0]", ["B": b("x")], "Error parsing vector similarity parameters: Invalid value was given"),
        ("*=>[KNN 10 @v $B EF_RUNTIME 5 EF_RUNTIME 6]", ["B": b("x")],
         "Error parsing vector similarity parameters: Parameter was specified twice"),
        ("*=>[KNN 10 @v $B FOO 1]", ["B": b("x")], "Error parsing vector similarity parameters: Invalid option"),
        ("@t:hello=>[KNN 10 @v $B HYBRID_POLICY FOO]", ["B": b("x")],
         "Error parsing vector similarity parameters: invalid hybrid policy was given"),
        ("*=>[KNN 10 @v $B HYBRID_POLICY BATCHES]", ["B": b("x")],
         "Error parsing vector similarity parameters: hybrid query attributes were sent for a non-hybrid query"),
        ("@n:[1 10]=>[KNN 10 @v $B HYBRID_POLICY ADHOC_BF BATCH_SIZE 5]", ["B": b("x")],
         "Error parsing vector similarity parameters: 'batch size' is irrelevant for 'ADHOC_BF' policy"),
        ("@v:[VECTOR_RANGE 1 $B]=>{$EPSILON: x}", ["B": b("x")],
         "Error parsing vector similarity parameters: Invalid value was given"),
        ("@v:[VECTOR_RANGE 1 $B]=>{$EF_RUNTIME: 3}", ["B": b("x")],
         "Error parsing vector similarity parameters: Invalid option"),
        ("@v:[VECTOR_RANGE -1 $B]", ["B": b("x")],
         "Error parsing vector similarity query: negative radius (-1) given in a range query"),
        ("@n:[1 x]", [:], "Syntax error at offset 6 near x"),
        ("hello=>{$yield_distance_as: x}", [:], "Invalid attribute yield_distance_as"),
        ("hello=>{$weight: x}", [:], "Invalid value (x) for `weight`"),
        ("'hello'", [:], "Syntax error at offset 0 near hello"),
        ("@n>=$n", ["n": b("(3")], "Invalid numeric value ((3) for parameter `n`"),
    ]

    @Test("error replies", arguments: errors)
    func error(_ query: String, _ params: [String: [UInt8]], _ message: String) {
        #expect(throws: QueryError(message)) { try parse(query, params) }
    }
}

@Suite("FT.EXPLAIN against Redis Stack 7.4.1")
struct QueryExplainOracleTests {
    /// (query, FT.EXPLAIN reply) pairs captured from the oracle.
    static let explained: [(String, String)] = [
        (#"*"#, "<WILDCARD>\n"),
        (#"hello"#, "UNION {\n  hello\n  +hello(expanded)\n}\n"),
        (#"hello world"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  UNION {\n    world\n    +world(expanded)\n  }\n}\n"),
        (#"running"#, "UNION {\n  running\n  +run(expanded)\n  run(expanded)\n}\n"),
        (#"@t:hello"#, "@t:UNION {\n  @t:hello\n  @t:+hello(expanded)\n}\n"),
        (#"@t:(a b)"#, "@t:UNION {\n  @t:b\n  @t:+b(expanded)\n}\n"),
        (#"hello | world"#, "UNION {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  UNION {\n    world\n    +world(expanded)\n  }\n}\n"),
        (#"a b | c d"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  INTERSECT {\n    UNION {\n      c\n      +c(expanded)\n    }\n    UNION {\n      d\n      +d(expanded)\n    }\n  }\n}\n"),
        (#"-hello"#, "NOT{\n  hello\n}\n"),
        (#"~hello"#, "OPTIONAL{\n  hello\n}\n"),
        (#""hello world""#, "EXACT {\n  hello\n  world\n}\n"),
        (#"hel*"#, "PREFIX{hel*}\n"),
        (#"@tag:{a | b}"#, "TAG:@tag {\n  a\n  b\n}\n"),
        (#"@tag:{hello world}"#, "TAG:@tag {\n  INTERSECT {\n    hello\n    world\n  }\n}\n"),
        (#"@tag:{a\-b}"#, "TAG:@tag {\n  a-b\n}\n"),
        (#"@n:[1 2]"#, "NUMERIC {1.000000 <= @n <= 2.000000}\n"),
        (#"@n:[(1 +inf]"#, "NUMERIC {1.000000 < @n <= inf}\n"),
        (#"@n:[-inf (5]"#, "NUMERIC {-inf <= @n < 5.000000}\n"),
        (#"@n:[inf inf]"#, "NUMERIC {inf <= @n <= inf}\n"),
        (#"@tag:{hello\ world}"#, "TAG:@tag {\n  hello world\n}\n"),
        (#"@tag:{a*}"#, "TAG:@tag {\n  PREFIX{a*}\n}\n"),
        (#"@tag:{$p}"#, "TAG:@tag {\n  pv\n}\n"),
        (#"@tag:{Hello}"#, "TAG:@tag {\n  hello\n}\n"),
        (#"@n:[$lo $hi]"#, "NUMERIC {1.000000 <= @n <= 5.000000}\n"),
        (#"@n:[($lo $hi]"#, "NUMERIC {1.000000 < @n <= 5.000000}\n"),
        (#"@n:[1]"#, "NUMERIC {1.000000 <= @n <= 1.000000}\n"),
        (#"hello world | foo"#, "UNION {\n  INTERSECT {\n    UNION {\n      hello\n      +hello(expanded)\n    }\n    UNION {\n      world\n      +world(expanded)\n    }\n  }\n  UNION {\n    foo\n    +foo(expanded)\n  }\n}\n"),
        (#"(a | b) c"#, "INTERSECT {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n}\n"),
        (#"hello -world"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  NOT{\n    world\n  }\n}\n"),
        (#"@t|tag:hello"#, "@t:UNION {\n  @t:hello\n  @t:+hello(expanded)\n}\n"),
        (#"@x:hello"#, "@NULL:UNION {\n  @NULL:hello\n  @NULL:+hello(expanded)\n}\n"),
        (#"@n:hello"#, "@NULL:UNION {\n  @NULL:hello\n  @NULL:+hello(expanded)\n}\n"),
        (#"@t:"hello world""#, "@t:EXACT {\n  @t:hello\n  @t:world\n}\n"),
        (#"hello-world"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  NOT{\n    world\n  }\n}\n"),
        (#"foo_bar"#, "UNION {\n  foo_bar\n  +foo_bar(expanded)\n}\n"),
        (#"Hello"#, "UNION {\n  hello\n  +hello(expanded)\n}\n"),
        (#"$p"#, "UNION {\n  pv\n  +pv(expanded)\n}\n"),
        (#""$p""#, "EXACT {\n  $p\n}\n"),
        (#"@t:$p"#, "@t:UNION {\n  @t:pv\n  @t:+pv(expanded)\n}\n"),
        (#"hel*|wor*"#, "UNION {\n  PREFIX{hel*}\n  PREFIX{wor*}\n}\n"),
        (#"-(a b)"#, "NOT{\n  b\n}\n"),
        (#"(hello)"#, "UNION {\n  hello\n  +hello(expanded)\n}\n"),
        (#"((*))"#, "<WILDCARD>\n"),
        (#"hello=>{$weight: 2}"#, "UNION {\n  hello => {$weight: 2;}\n  +hello(expanded)\n}\n"),
        (#"*=>[KNN 10 @v $B]"#, "VECTOR {K=10 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"*=>[KNN $K @v $B]"#, "VECTOR {K=3 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"(@n:[2020 +inf])=>[KNN 10 @v $B]"#, "VECTOR {\n  NUMERIC {2020.000000 <= @n <= inf}\n} => {K=10 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"@tag:{x}=>[KNN 10 @v $B AS d]"#, "VECTOR {\n  TAG:@tag {\n    x\n  }\n} => {K=10 nearest vectors to `$B` in vector index associated with field @v, yields distance as `d`}\n"),
        (#"@v:[VECTOR_RANGE 0.5 $B]"#, "VECTOR {Vectors that are within 0.5 distance radius from `$B` in vector index associated with field @v}\n"),
        (#"@v:[VECTOR_RANGE $r $B]"#, "VECTOR {Vectors that are within 0.2 distance radius from `$B` in vector index associated with field @v}\n"),
        (#"hello @v:[VECTOR_RANGE 0.5 $B]"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  VECTOR {Vectors that are within 0.5 distance radius from `$B` in vector index associated with field @v}\n}\n"),
        (#"*=>[KNN 0 @v $B]"#, "VECTOR {K=0 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"*=>[KNN 10 @v $B]=>{$yield_distance_as: d}"#, "VECTOR {K=10 nearest vectors to `$B` in vector index associated with field @v, yields distance as `d`}\n"),
        (#"@"#, "<empty>\n"),
        (#"@tag:{x} | @tag:{y}"#, "UNION {\n  TAG:@tag {\n    x\n  }\n  TAG:@tag {\n    y\n  }\n}\n"),
        (#"@v:[VECTOR_RANGE 0.5 $B] @n:[1 2]"#, "INTERSECT {\n  VECTOR {Vectors that are within 0.5 distance radius from `$B` in vector index associated with field @v}\n  NUMERIC {1.000000 <= @n <= 2.000000}\n}\n"),
        (#"@n:[(1 (2]"#, "NUMERIC {1.000000 < @n < 2.000000}\n"),
        (#"@n:[1e3 2.5E-1]"#, "NUMERIC {1000.000000 <= @n <= 0.250000}\n"),
        (#"@n:[-5 -2]"#, "NUMERIC {-5.000000 <= @n <= -2.000000}\n"),
        (#"@n:[- 5 6]"#, "NUMERIC {-5.000000 <= @n <= 6.000000}\n"),
        (#"@n:[+5 6]"#, "NUMERIC {5.000000 <= @n <= 6.000000}\n"),
        (#"Hel*"#, "PREFIX{Hel*}\n"),
        (#"@tag:{Hel*}"#, "TAG:@tag {\n  PREFIX{hel*}\n}\n"),
        (#"a"#, "<empty>\n"),
        (#"a | the"#, "<empty>\n"),
        (#"a | b | c"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"b | a | c"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"hello=>[KNN 10 @v $B]"#, "VECTOR {\n  hello\n} => {K=10 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"(a b) c"#, "INTERSECT {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n}\n"),
        (#"a (b c)"#, "INTERSECT {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n}\n"),
        (#"(b | c) | d"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n  UNION {\n    d\n    +d(expanded)\n  }\n}\n"),
        (#"b | (c | d)"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    UNION {\n      c\n      +c(expanded)\n    }\n    UNION {\n      d\n      +d(expanded)\n    }\n  }\n}\n"),
        (#"@t:(b c) d"#, "INTERSECT {\n  @t:INTERSECT {\n    @t:UNION {\n      @t:b\n      @t:+b(expanded)\n    }\n    @t:UNION {\n      @t:c\n      @t:+c(expanded)\n    }\n  }\n  UNION {\n    d\n    +d(expanded)\n  }\n}\n"),
        (#"@t:-hello"#, "@t:NOT{\n  @t:hello\n}\n"),
        (#"@t:(b|c)"#, "@t:UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n}\n"),
        (#"@tag:{Hello World}"#, "TAG:@tag {\n  INTERSECT {\n    hello\n    world\n  }\n}\n"),
        (#"@tag:{b c the d}"#, "TAG:@tag {\n  INTERSECT {\n    b\n    c\n    d\n  }\n}\n"),
        (#"@tag:{$p | x*}"#, "TAG:@tag {\n  pv\n  PREFIX{x*}\n}\n"),
        (#"$p*"#, "PREFIX{pv*}\n"),
        (#"@n:[$n 5]"#, "NUMERIC {3.000000 <= @n <= 5.000000}\n"),
        (#"@n:[-$n 5]"#, "NUMERIC {-3.000000 <= @n <= 5.000000}\n"),
        (#"hello=>{$weight: 2; $slop: 1; $inorder: true}"#, "UNION {\n  hello => {$weight: 2;}\n  +hello(expanded)\n}\n"),
        (#""b c"=>{$slop: 2}"#, "EXACT {\n  b\n  c\n} => { $slop: 2; $inorder: false; }\n"),
        (#"(b c)=>{$weight: 0.5}"#, "INTERSECT {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n} => { $weight: 0.5; }\n"),
        (#"@t:hello=>{$weight: 3}"#, "@t:UNION {\n  @t:hello => {$weight: 3;}\n  @t:+hello(expanded)\n}\n"),
        (#"2020"#, "2020\n"),
        (#"x 2020 1.5"#, "INTERSECT {\n  UNION {\n    x\n    +x(expanded)\n  }\n  INTERSECT {\n    2020\n    1.5\n  }\n}\n"),
        (#"-inf"#, "-inf\n"),
        (#"*foo"#, "SUFFIX{*foo}\n"),
        (#"*foo*"#, "INFIX{*foo*}\n"),
        (#"w'fo?'"#, "WILDCARD{fo?}\n"),
        (#"%foo%"#, "FUZZY{foo}\n"),
        (#"@n==5"#, "NUMERIC {5.000000 <= @n <= 5.000000}\n"),
        (#"@n!=5"#, "NOT{\n  NUMERIC {5.000000 <= @n <= 5.000000}\n}\n"),
        (#"hello world=>{$weight: 2}"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  UNION {\n    world => {$weight: 2;}\n    +world(expanded)\n  }\n}\n"),
        (#""hello" world"#, "INTERSECT {\n  EXACT {\n    hello\n  }\n  UNION {\n    world\n    +world(expanded)\n  }\n}\n"),
        (#"hello\-world"#, "UNION {\n  hello-world\n  +hello-world(expanded)\n}\n"),
        (#"abc\"#, "UNION {\n  abc\n  +abc(expanded)\n}\n"),
        (#"@t:hello @t:world"#, "INTERSECT {\n  @t:UNION {\n    @t:hello\n    @t:+hello(expanded)\n  }\n  @t:UNION {\n    @t:world\n    @t:+world(expanded)\n  }\n}\n"),
        (#"@t:hello|@t:world"#, "UNION {\n  @t:UNION {\n    @t:hello\n    @t:+hello(expanded)\n  }\n  @t:UNION {\n    @t:world\n    @t:+world(expanded)\n  }\n}\n"),
        (#"one, two"#, "INTERSECT {\n  UNION {\n    one\n    +one(expanded)\n  }\n  UNION {\n    two\n    +two(expanded)\n  }\n}\n"),
        (#"@ta\-g:{x}"#, "TAG:@ta-g {\n  x\n}\n"),
        (#"@t:hello wor*"#, "@t:INTERSECT {\n  @t:UNION {\n    @t:hello\n    @t:+hello(expanded)\n  }\n  @t:PREFIX{wor*}\n}\n"),
        (#"-hello 2020"#, "NOT{\n  INTERSECT {\n    hello\n    2020\n  }\n}\n"),
        (#"@t:hello 2020 world"#, "INTERSECT {\n  @t:INTERSECT {\n    @t:UNION {\n      @t:hello\n      @t:+hello(expanded)\n    }\n    @t:2020\n  }\n  UNION {\n    world\n    +world(expanded)\n  }\n}\n"),
        (#"hello 2020 world"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  2020\n  UNION {\n    world\n    +world(expanded)\n  }\n}\n"),
        (#"~hello $p"#, "OPTIONAL{\n  INTERSECT {\n    hello\n    pv\n  }\n}\n"),
        (#"@t:hello=>{$weight: 2} 2020"#, "INTERSECT {\n  @t:UNION {\n    @t:hello => {$weight: 2;}\n    @t:+hello(expanded)\n  }\n  2020\n}\n"),
        (#"hello | 2020"#, "UNION {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  2020\n}\n"),
        (#"b | c 2020 d"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  INTERSECT {\n    UNION {\n      c\n      +c(expanded)\n    }\n    2020\n    UNION {\n      d\n      +d(expanded)\n    }\n  }\n}\n"),
        (#"(b | c) d"#, "INTERSECT {\n  UNION {\n    UNION {\n      b\n      +b(expanded)\n    }\n    UNION {\n      c\n      +c(expanded)\n    }\n  }\n  UNION {\n    d\n    +d(expanded)\n  }\n}\n"),
        (#"@t:(b c)"#, "@t:INTERSECT {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n}\n"),
        (#"hello=>[KNN 10 @v $B]=>{$weight: 2}"#, "VECTOR {\n  hello\n} => {K=10 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`} => { $weight: 2; }\n"),
        (#"(*)=>[KNN 10 @v $B]"#, "VECTOR {K=10 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"@t:hello=>[KNN 10 @v $B]"#, "VECTOR {\n  @t:hello\n} => {K=10 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        // Mixed text/non-text unions and generated queries (RediSearch's LALR grouping quirks).
        (#"a | b @x:k"#, "INTERSECT {\n  UNION {\n    b\n    +b(expanded)\n  }\n  @NULL:UNION {\n    @NULL:k\n    @NULL:+k(expanded)\n  }\n}\n"),
        (#"b | c | d @x:k"#, "INTERSECT {\n  UNION {\n    UNION {\n      b\n      +b(expanded)\n    }\n    UNION {\n      c\n      +c(expanded)\n    }\n    UNION {\n      d\n      +d(expanded)\n    }\n  }\n  @NULL:UNION {\n    @NULL:k\n    @NULL:+k(expanded)\n  }\n}\n"),
        (#"(b | c) | @x:k"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n  @NULL:UNION {\n    @NULL:k\n    @NULL:+k(expanded)\n  }\n}\n"),
        (#"@t:b | c | @x:k"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n  @NULL:UNION {\n    @NULL:k\n    @NULL:+k(expanded)\n  }\n}\n"),
        (#"b | @x:k | c | @x:k"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  @NULL:UNION {\n    @NULL:k\n    @NULL:+k(expanded)\n  }\n  UNION {\n    UNION {\n      c\n      +c(expanded)\n    }\n    @NULL:UNION {\n      @NULL:k\n      @NULL:+k(expanded)\n    }\n  }\n}\n"),
        (#"@t:b | c | d"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n  UNION {\n    d\n    +d(expanded)\n  }\n}\n"),
        (#"@t:b | c d | e"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  INTERSECT {\n    UNION {\n      c\n      +c(expanded)\n    }\n    UNION {\n      d\n      +d(expanded)\n    }\n  }\n  UNION {\n    e\n    +e(expanded)\n  }\n}\n"),
        (#"b | @t:c | d | e"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n  UNION {\n    UNION {\n      d\n      +d(expanded)\n    }\n    UNION {\n      e\n      +e(expanded)\n    }\n  }\n}\n"),
        (#"b | @t:c | d @x:k | e"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n  INTERSECT {\n    UNION {\n      d\n      +d(expanded)\n    }\n    @NULL:UNION {\n      @NULL:k\n      @NULL:+k(expanded)\n    }\n  }\n  UNION {\n    e\n    +e(expanded)\n  }\n}\n"),
        (#"@tag:{x} | c | @tag:{y}"#, "UNION {\n  TAG:@tag {\n    x\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n  TAG:@tag {\n    y\n  }\n}\n"),
        (#"b | c | d @x:k | e"#, "UNION {\n  INTERSECT {\n    UNION {\n      UNION {\n        b\n        +b(expanded)\n      }\n      UNION {\n        c\n        +c(expanded)\n      }\n      UNION {\n        d\n        +d(expanded)\n      }\n    }\n    @NULL:UNION {\n      @NULL:k\n      @NULL:+k(expanded)\n    }\n  }\n  UNION {\n    e\n    +e(expanded)\n  }\n}\n"),
        (#"@t:b | c | d | e"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n  UNION {\n    UNION {\n      d\n      +d(expanded)\n    }\n    UNION {\n      e\n      +e(expanded)\n    }\n  }\n}\n"),
        (#"@t:b | @t:c | d | e | f"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n  UNION {\n    UNION {\n      d\n      +d(expanded)\n    }\n    UNION {\n      e\n      +e(expanded)\n    }\n    UNION {\n      f\n      +f(expanded)\n    }\n  }\n}\n"),
        (#"@t:b | @t:c | d | @t:e | f"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n  UNION {\n    UNION {\n      d\n      +d(expanded)\n    }\n    @t:UNION {\n      @t:e\n      @t:+e(expanded)\n    }\n    UNION {\n      f\n      +f(expanded)\n    }\n  }\n}\n"),
        (#"@t:b | @t:c | d | e @x:k"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n  UNION {\n    UNION {\n      d\n      +d(expanded)\n    }\n    INTERSECT {\n      UNION {\n        e\n        +e(expanded)\n      }\n      @NULL:UNION {\n        @NULL:k\n        @NULL:+k(expanded)\n      }\n    }\n  }\n}\n"),
        (#"@t:b | @t:c | (d) | e"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n  UNION {\n    UNION {\n      d\n      +d(expanded)\n    }\n    UNION {\n      e\n      +e(expanded)\n    }\n  }\n}\n"),
        (#"@t:b | @t:c | d e | f"#, "UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n  UNION {\n    INTERSECT {\n      UNION {\n        d\n        +d(expanded)\n      }\n      UNION {\n        e\n        +e(expanded)\n      }\n    }\n    UNION {\n      f\n      +f(expanded)\n    }\n  }\n}\n"),
        (#"Caps"#, "UNION {\n  caps\n  +cap(expanded)\n  cap(expanded)\n}\n"),
        (#"((@n>3|@t|tag:hCaps | %fuzz%) inf|(foo\-bar|hel* @n:[(1 +inf] %fuzz%)|@n>3)~e 1.5world"#, "INTERSECT {\n  UNION {\n    INTERSECT {\n      UNION {\n        NUMERIC {3.000000 < @n <= inf}\n        @t:UNION {\n          @t:hcaps\n          @t:+hcap(expanded)\n          @t:hcap(expanded)\n        }\n        FUZZY{fuzz}\n      }\n      inf\n    }\n    UNION {\n      UNION {\n        foo-bar\n        +foo-bar(expanded)\n      }\n      INTERSECT {\n        PREFIX{hel*}\n        INTERSECT {\n          NUMERIC {1.000000 < @n <= inf}\n          FUZZY{fuzz}\n        }\n      }\n    }\n    NUMERIC {3.000000 < @n <= inf}\n  }\n  OPTIONAL{\n    INTERSECT {\n      e\n      1.5\n    }\n  }\n  UNION {\n    world\n    +world(expanded)\n  }\n}\n"),
        (#"hel* -@tag:{x}"#, "INTERSECT {\n  PREFIX{hel*}\n  NOT{\n    TAG:@tag {\n      x\n    }\n  }\n}\n"),
        (#"@x:k|*foo"#, "UNION {\n  @NULL:UNION {\n    @NULL:k\n    @NULL:+k(expanded)\n  }\n  SUFFIX{*foo}\n}\n"),
        (#"@n:[1 2] ("x y" inf) ~e=>{$weight: 2}"#, "INTERSECT {\n  NUMERIC {1.000000 <= @n <= 2.000000}\n  INTERSECT {\n    EXACT {\n      x\n      y\n    }\n    inf\n  }\n  OPTIONAL{\n    e => {$weight: 2;}\n  }\n}\n"),
        (#"@tag:{x | y z} | Caps"#, "UNION {\n  TAG:@tag {\n    x\n    INTERSECT {\n      y\n      z\n    }\n  }\n  UNION {\n    caps\n    +cap(expanded)\n    cap(expanded)\n  }\n}\n"),
        (#"hel*"#, "PREFIX{hel*}\n"),
        (#"hel* (@x:k=>{$weight: 2} -d=>{$weight: 2} -@t:c ~@n:[1 2])"#, "INTERSECT {\n  PREFIX{hel*}\n  INTERSECT {\n    @NULL:UNION {\n      @NULL:k => {$weight: 2;}\n      @NULL:+k(expanded)\n    }\n    NOT{\n      d => {$weight: 2;}\n    }\n    NOT{\n      @t:c\n    }\n    OPTIONAL{\n      NUMERIC {1.000000 <= @n <= 2.000000}\n    }\n  }\n}\n"),
        (#"@t:(%fuzz% ($lo|b)) 2020"#, "@t:INTERSECT {\n  @t:FUZZY{fuzz}\n  @t:UNION {\n    @t:1\n    @t:UNION {\n      @t:b\n      @t:+b(expanded)\n    }\n  }\n  @t:2020\n}\n"),
        (#"@n:[1 2]"#, "NUMERIC {1.000000 <= @n <= 2.000000}\n"),
        (#""x y"=>{$weight: 2} ~foo\-bar"#, "INTERSECT {\n  EXACT {\n    x\n    y\n  } => { $weight: 2; }\n  OPTIONAL{\n    foo-bar\n  }\n}\n"),
        (#"@n:[1 2] (hello ~%fuzz% hello @n>3) | ~e ~hello"#, "UNION {\n  INTERSECT {\n    NUMERIC {1.000000 <= @n <= 2.000000}\n    INTERSECT {\n      UNION {\n        hello\n        +hello(expanded)\n      }\n      OPTIONAL{\n        FUZZY{fuzz}\n      }\n      UNION {\n        hello\n        +hello(expanded)\n      }\n      NUMERIC {3.000000 < @n <= inf}\n    }\n  }\n  INTERSECT {\n    OPTIONAL{\n      e\n    }\n    OPTIONAL{\n      hello\n    }\n  }\n}\n"),
        (#"1.5 (foo\-bar %fuzz%)"#, "INTERSECT {\n  1.5\n  INTERSECT {\n    UNION {\n      foo-bar\n      +foo-bar(expanded)\n    }\n    FUZZY{fuzz}\n  }\n}\n"),
        (#"(@tag:{x} *foo)=>[KNN 3 @v $B]"#, "VECTOR {\n  INTERSECT {\n    TAG:@tag {\n      x\n    }\n    SUFFIX{*foo}\n  }\n} => {K=3 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"(1.5)=>[KNN 3 @v $B]"#, "VECTOR {\n  1.5\n} => {K=3 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#""x y" | inf | $lo inf"#, "UNION {\n  EXACT {\n    x\n    y\n  }\n  inf\n  INTERSECT {\n    1\n    inf\n  }\n}\n"),
        (#"@tag:{x} @t:(f g)=>{$weight: 2} -d"#, "INTERSECT {\n  TAG:@tag {\n    x\n  }\n  @t:INTERSECT {\n    @t:UNION {\n      @t:f\n      @t:+f(expanded)\n    }\n    @t:UNION {\n      @t:g\n      @t:+g(expanded)\n    }\n  } => { $weight: 2; }\n  NOT{\n    d\n  }\n}\n"),
        (#"(foo\-bar)"#, "UNION {\n  foo-bar\n  +foo-bar(expanded)\n}\n"),
        (#"(hel* (2020 @n>3))running=>{$weight: 2} @tag:{x | y z}"#, "INTERSECT {\n  PREFIX{hel*}\n  INTERSECT {\n    2020\n    NUMERIC {3.000000 < @n <= inf}\n  }\n  UNION {\n    running => {$weight: 2;}\n    +run(expanded)\n    run(expanded)\n  }\n  TAG:@tag {\n    x\n    INTERSECT {\n      y\n      z\n    }\n  }\n}\n"),
        // Stopwords dropped by the parser, EXACT as a tag word, duplicate distance names, generated queries.
        (#"b | a | c | d"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"a b | c"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n}\n"),
        (#"the (b c)"#, "INTERSECT {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n}\n"),
        (#"-a b"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"@t:a b"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"@t:(a the) b"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"~a"#, "<empty>\n"),
        (#"a=>{$weight: 2}"#, "<empty>\n"),
        (#"@tag:{a}"#, "TAG:@tag {\n  a\n}\n"),
        (#"@tag:{a the}"#, "TAG:@tag {\n  INTERSECT {\n    a\n    the\n  }\n}\n"),
        (#"@tag:{x a the y}"#, "TAG:@tag {\n  INTERSECT {\n    x\n    a\n    y\n  }\n}\n"),
        (#"a*"#, "PREFIX{a*}\n"),
        (#"(a) | b"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"b | (a)"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"a | @t:b | c"#, "UNION {\n  b\n  +b(expanded)\n}\n"),
        (#"b c | a | d"#, "INTERSECT {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n  UNION {\n    d\n    +d(expanded)\n  }\n}\n"),
        (#"(a)=>[KNN 3 @v $B]"#, "VECTOR {K=3 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"the=>[KNN 3 @v $B]"#, "VECTOR {K=3 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"@tag:{"hello world"}"#, "TAG:@tag {\n  hello world\n}\n"),
        (#"@tag:{x "A b"}"#, "TAG:@tag {\n  INTERSECT {\n    x\n    a b\n  }\n}\n"),
        (#"@n>3x"#, "INTERSECT {\n  NUMERIC {3.000000 < @n <= inf}\n  UNION {\n    x\n    +x(expanded)\n  }\n}\n"),
        (#"1.5 1.5 | hel*hello"#, "UNION {\n  INTERSECT {\n    1.5\n    1.5\n  }\n  INTERSECT {\n    PREFIX{hel*}\n    UNION {\n      hello\n      +hello(expanded)\n    }\n  }\n}\n"),
        (#"world -@n<7"#, "INTERSECT {\n  UNION {\n    world\n    +world(expanded)\n  }\n  NOT{\n    NUMERIC {-inf <= @n < 7.000000}\n  }\n}\n"),
        (#"to=>{$weight: 0.5;}2020 | @t:(f g) | inf"#, "UNION {\n  2020\n  @t:INTERSECT {\n    @t:UNION {\n      @t:f\n      @t:+f(expanded)\n    }\n    @t:UNION {\n      @t:g\n      @t:+g(expanded)\n    }\n  }\n  inf\n}\n"),
        (#"@tag:{pre*|Q} -(@n>=$lo | @t:(f g) -inf) @n>=$lo"#, "INTERSECT {\n  TAG:@tag {\n    PREFIX{pre*}\n    q\n  }\n  NOT{\n    UNION {\n      NUMERIC {1.000000 <= @n <= inf}\n      @t:INTERSECT {\n        @t:f\n        @t:g\n        @t:-inf\n      }\n    }\n  }\n  NUMERIC {1.000000 <= @n <= inf}\n}\n"),
        (#"a -@x:k"#, "NOT{\n  @NULL:k\n}\n"),
        (#"2020"#, "2020\n"),
        (#"@n:[$lo (5] (@tag:{pre*|Q} | (the | b) ~@t:(f g) ~e)"#, "INTERSECT {\n  NUMERIC {1.000000 <= @n < 5.000000}\n  UNION {\n    TAG:@tag {\n      PREFIX{pre*}\n      q\n    }\n    INTERSECT {\n      UNION {\n        b\n        +b(expanded)\n      }\n      OPTIONAL{\n        @t:INTERSECT {\n          @t:f\n          @t:g\n        }\n      }\n      OPTIONAL{\n        e\n      }\n    }\n  }\n}\n"),
        (#"Runningworld ~@n!=2"#, "INTERSECT {\n  UNION {\n    runningworld\n    +runningworld(expanded)\n  }\n  OPTIONAL{\n    NOT{\n      NUMERIC {2.000000 <= @n <= 2.000000}\n    }\n  }\n}\n"),
        (#"@n:[$lo (5]"#, "NUMERIC {1.000000 <= @n < 5.000000}\n"),
        (#"1.5"#, "1.5\n"),
        (#"(hel* ~@t:c @v:[VECTOR_RANGE $r $B]=>{$YIELD_DISTANCE_AS: dd})=>[KNN 3 @v $B]"#, "VECTOR {\n  INTERSECT {\n    PREFIX{hel*}\n    OPTIONAL{\n      @t:c\n    }\n    VECTOR {Vectors that are within 0.2 distance radius from `$B` in vector index associated with field @v, yields distance as `dd`}\n  }\n} => {K=3 nearest vectors to `$B` in vector index associated with field @v, yields distance as `__v_score`}\n"),
        (#"1.5"#, "1.5\n"),
        (#"$lo @tag:{x | y z | $p}"#, "INTERSECT {\n  1\n  TAG:@tag {\n    x\n    INTERSECT {\n      y\n      z\n    }\n    pv\n  }\n}\n"),
        (#"1.5 @n:[(1 +inf]"#, "INTERSECT {\n  1.5\n  NUMERIC {1.000000 < @n <= inf}\n}\n"),
        (#"$lo"#, "1\n"),
        (#"@n<7@n>=$lo @tag:{x}|@n>=$lo"#, "UNION {\n  INTERSECT {\n    NUMERIC {-inf <= @n < 7.000000}\n    NUMERIC {1.000000 <= @n <= inf}\n    TAG:@tag {\n      x\n    }\n  }\n  NUMERIC {1.000000 <= @n <= inf}\n}\n"),
        (#"@n<7 | hel*"#, "UNION {\n  NUMERIC {-inf <= @n < 7.000000}\n  PREFIX{hel*}\n}\n"),
        (#"1.5"#, "1.5\n"),
        (#"1.5 @t:c | @tag:{x} -@v:[VECTOR_RANGE $r $B]=>{$YIELD_DISTANCE_AS: dd}"#, "UNION {\n  INTERSECT {\n    1.5\n    @t:UNION {\n      @t:c\n      @t:+c(expanded)\n    }\n  }\n  INTERSECT {\n    TAG:@tag {\n      x\n    }\n    NOT{\n      VECTOR {Vectors that are within 0.2 distance radius from `$B` in vector index associated with field @v, yields distance as `dd`}\n    }\n  }\n}\n"),
        (#"@tag:{pre*|Q}~e inf | $p"#, "UNION {\n  INTERSECT {\n    TAG:@tag {\n      PREFIX{pre*}\n      q\n    }\n    OPTIONAL{\n      INTERSECT {\n        e\n        inf\n      }\n    }\n  }\n  UNION {\n    pv\n    +pv(expanded)\n  }\n}\n"),
        (#"hel*"#, "PREFIX{hel*}\n"),
        (#"2020"#, "2020\n"),
        (#"(1.5) ~@v:[VECTOR_RANGE 0.5 $B] ~e hel*"#, "INTERSECT {\n  1.5\n  OPTIONAL{\n    VECTOR {Vectors that are within 0.5 distance radius from `$B` in vector index associated with field @v}\n  }\n  OPTIONAL{\n    INTERSECT {\n      e\n      PREFIX{hel*}\n    }\n  }\n}\n"),
        (#"(-5$lo @n:[$lo (5])"#, "INTERSECT {\n  -5\n  1\n  NUMERIC {1.000000 <= @n < 5.000000}\n}\n"),
        (#"hello | b Caps @tag:{x}"#, "UNION {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  INTERSECT {\n    UNION {\n      b\n      +b(expanded)\n    }\n    UNION {\n      caps\n      +cap(expanded)\n      cap(expanded)\n    }\n    TAG:@tag {\n      x\n    }\n  }\n}\n"),
        (#"@n!=2"#, "NOT{\n  NUMERIC {2.000000 <= @n <= 2.000000}\n}\n"),
        // Random character soup.
        (#"N="#, "UNION {\n  n\n  +n(expanded)\n}\n"),
        (#"<!+w"#, "UNION {\n  w\n  +w(expanded)\n}\n"),
        (#"."#, "<empty>\n"),
        (#"@"#, "<empty>\n"),
        (#"$B"#, "12345678\n"),
        (#"3asismissing"#, "UNION {\n  3asismissing\n  +3asismiss(expanded)\n  3asismiss(expanded)\n}\n"),
        (#"e AS "#, "UNION {\n  e\n  +e(expanded)\n}\n"),
    ]

    /// (query, error reply) pairs captured from the oracle.
    static let failed: [(String, String)] = [
        (#"]"#, #"Syntax error at offset 0 near "#),
        (#"'*6"$aismissing(eVECTOR_RANGE; :!$)inf=>[KNN 3 @v $B${>{"#, #"Syntax error at offset 15 near aismissing"#),
        (#"%*_N*-Ex"#, #"Syntax error at offset 1 near _N"#),
        (#"z3*N-{ew@8=+ AS N="#, #"Syntax error at offset 5 near N"#),
        (#"]_@K=>{$weight:@"#, #"Syntax error at offset 0 near "#),
        (#"(winfbN+"#, #"Syntax error at offset 1 near winfbN"#),
        (#"inf+_]$B4EF_RUNTIME.;N_$'1z"#, #"Syntax error at offset 5 near inf"#),
        (#"N,E;"#, #"Syntax error at offset 3 near E"#),
        (#"z7(a*!"#, #"Syntax error at offset 3 near a"#),
        (#".],[x"#, #"Syntax error at offset 1 near "#),
        (#">b$|zas;"#, #"Syntax error at offset 7 near zas"#),
        (#"K,y7 |N=>[KNN 3 @v $B.1=>{$weight:'N}@%Eismissing\8-"#, #"Syntax error at offset 9 near >["#),
        (#":>z (>3*_inf"#, #"Syntax error at offset 0 near "#),
        (#"N);"#, #"Syntax error at offset 1 near N"#),
        (#"=4;!=>{$weight:y"#, #"Syntax error at offset 2 near 4"#),
        (#"$}!.Eismissing->cVECTOR_RANGE)[VECTOR_RANGE"#, #"Syntax error at offset 1 near "#),
        (#"8z$B" AS b ismissing"#, #"Syntax error at offset 6 near AS"#),
        (#";1[( )5'VECTOR_RANGE|4EF_RUNTIME"#, #"Syntax error at offset 0 near "#),
        (#"42)z=>[KNN 3 @v $B"x"#, #"Syntax error at offset 2 near 42"#),
        (#"a)EF_RUNTIMEb, 4"#, #"Syntax error at offset 1 near a"#),
        (#";$VECTOR_RANGE|9_asc0K76!K"EF_RUNTIME"#, #"Syntax error at offset 0 near "#),
        (#"{=>[KNN 3 @v $B{_"2KKx=>{$weight:4344c)\E{,8|"#, #"Syntax error at offset 0 near "#),
        (#"a==>{$weight:<"#, #"Syntax error at offset 12 near weight"#),
        (#"*=>[KNN 3 @v $B "EF_RUNTIME" 5]"#, #"Error parsing vector similarity parameters: Invalid option"#),
        (#"@v:[VECTOR_RANGE 1 $B]=>{$YIELD_DISTANCE_AS: __v_score} @n:[1 2]=>[KNN 3 @v $B]"#, #"Syntax error at offset 66 near >["#),
        (#"(@v:[VECTOR_RANGE 1 $B]=>{$YIELD_DISTANCE_AS: __v_score})=>[KNN 3 @v $B]"#, #"Property `__v_score` specified more than once"#),
        (#"(@v:[VECTOR_RANGE 1 $B]=>{$YIELD_DISTANCE_AS: z})=>[KNN 3 @v $B AS z]"#, #"Property `z` specified more than once"#),
        (#"x @n!=2 "q"#, #"Syntax error at offset 9 near q"#),
        (#"-5 @t:(f g) @n:[-inf $hi] @t:((1.5 @v:[VECTOR_RANGE $r $B]=>{$YIELD_DISTANCE_AS: dd})|(1.5-5))"#, #"Syntax error at offset 35 near v"#),
        (#"(@t:($lo bw'x*'@n<7))=>[KNN 3 @v $B]"#, #"Syntax error at offset 11 near x*"#),
        (#"@t:(@t:(~e=>{$slop: 1; $inorder: true})) ~e @tag:{x}a"#, #"Syntax error at offset 4 near t"#),
        (#"@t:(hel*|@x:k -@t|tag:)h hello) | @t|tag:h~e"#, #"Syntax error at offset 9 near x"#),
        (#"@tag:{x} (@n!=2=>{$weight: 2 @n:[$lo (5] -("x y" -d@n:[1 2]))"#, #"Syntax error at offset 29 near n"#),
        (#"world | hello|@v:[VECTOR_RANGE 0.5 $B]"#, #"Syntax error at offset 14 near v"#),
        (#"=>Caps -@t:c"#, #"Syntax error at offset 0 near >C"#),
        (#"b | c | d | @x:k"#, #"Syntax error at offset 12 near x"#),
        (#"-b | c | @x:k"#, #"Syntax error at offset 9 near x"#),
        (#"b c | d | @tag:{x}"#, #"Syntax error at offset 10 near tag"#),
        (#"b | c d | @n:[1 2]"#, #"Syntax error at offset 10 near n"#),
        (#"b|c|-@x:k"#, #"Syntax error at offset 5 near x"#),
        (#"b|c|(@x:k)"#, #"Syntax error at offset 5 near x"#),
        (#"b|c|d (e @x:k)"#, #"Syntax error at offset 9 near x"#),
        (#"b | c | @tag:{y} d"#, #"Syntax error at offset 8 near tag"#),
        (#"b | c | d -@x:k"#, #"Syntax error at offset 11 near x"#),
        (#"inf ~@t:(@tag:{x}|@n>3 @x:k) ~hel*"#, #"Syntax error at offset 9 near tag"#),
        (#"Caps | ~e=>[KNN 3 @v $B AS d]"#, #"Syntax error at offset 11 near >["#),
        (#"(@n>3 | @n:[1 2] | 1.5 -b) @t:(@n:[(1 +inf])=>{$weight: 2} | @n>3"#, #"Syntax error at offset 31 near n"#),
        (#"@t:(@t:(*foo~e=>{$weight: 2} *foo) ~*foo)=>{$weight: 2}"#, #"Syntax error at offset 4 near t"#),
        (#"hel* | $lo | @t:c"#, #"Syntax error at offset 13 near t"#),
        (#"@v:[VECTOR_RANGE 0.5 $B]=>{$weight: 2}|@t:((foo\-bar|2020 2020) @t:(hello=>{$weight: 2}) -world *foo)|b @t:($p)"#, #"Syntax error at offset 64 near t"#),
        (#"@tag:{a-b}"#, #"Syntax error at offset 7 near a"#),
        (#"@n:[1 2 3]"#, #"Syntax error at offset 9 near 3"#),
        (#"@n:[a b]"#, #"Syntax error at offset 6 near b"#),
        (#"*=>[KNN 10 @v $B EF_RUNTIME 20 EPSILON 0.5 HYBRID_POLICY ADHOC_BF BATCH_SIZE 5 AS dist]"#, #"Error parsing vector similarity parameters: Invalid option"#),
        (#"*=>[KNN 10 @v $B]=>{$YIELD_DISTANCE_AS: d; $EF_RUNTIME: 30}"#, #"Error parsing vector similarity parameters: Invalid option"#),
        (#"@v:[VECTOR_RANGE 0.5 $B]=>{$EPSILON: 0.1; $YIELD_DISTANCE_AS: d}"#, #"Error parsing vector similarity parameters: Invalid option"#),
        (#"*=>[KNN 10 @v $Q]"#, #"No such parameter `Q`"#),
        (#"$zz"#, #"No such parameter `zz`"#),
        (#"@n:[$zz 5]"#, #"No such parameter `zz`"#),
        (#"@n:[$p 5]"#, #"Bad lower range: Pv"#),
        (#"*=>[KNN -1 @v $B]"#, #"Syntax error at offset 8 near -1"#),
        (#"*=>[KNN $p @v $B]"#, #"Invalid numeric value (Pv) for parameter `p`"#),
        (#"*=>[KNN 10 @v $B FOO 3]"#, #"Error parsing vector similarity parameters: Invalid option"#),
        (#"*=>[KNN 10 @v $B ef_runtime 5]"#, #"Error parsing vector similarity parameters: Invalid option"#),
        (#"*=>[KNN 10 @v $B EF_RUNTIME $K]"#, #"Error parsing vector similarity parameters: Invalid option"#),
        (#"*=>[KNN 10 @v $B]=>{$foo: 1}"#, #"Invalid attribute foo"#),
        (#"hello ("#, #"Syntax error at offset 6 near hello"#),
        (#"hello )"#, #"Syntax error at offset 6 near hello"#),
        (#"("#, #"Syntax error at offset 0 near "#),
        (#"@t:"#, #"Syntax error at offset 2 near t"#),
        (#"@t:("#, #"Syntax error at offset 3 near t"#),
        (#"a | "#, #"Syntax error at offset 2 near a"#),
        (#"| a"#, #"Syntax error at offset 0 near "#),
        (#"-"#, #"Syntax error at offset 0 near "#),
        (#"@n:[1 2"#, #"Syntax error at offset 6 near 2"#),
        (#"@n:[1"#, #"Syntax error at offset 4 near 1"#),
        (#"hello world=>[KNN 10 @v $B]"#, #"Syntax error at offset 13 near >["#),
        (#"@v:[VECTOR_RANGE x $B]"#, #"Syntax error at offset 17 near x"#),
        (#"@v:[VECTOR_RANGE -1 $B]"#, #"Error parsing vector similarity query: negative radius (-1) given in a range query"#),
        (#"@v:[VECTOR_RANGE 1 $Q]"#, #"No such parameter `Q`"#),
        (#"@n:[0x10 6]"#, #"Syntax error at offset 10 near 6"#),
        (#"@n:[1.5 $p]"#, #"Bad upper range: Pv"#),
        (#"hello=>{$yield_distance_as: x}"#, #"Invalid attribute yield_distance_as"#),
        (#"hello=>{$weight: x}"#, #"Invalid value (x) for `weight`"#),
        (#"hello=>{$weight: }"#, #"Syntax error at offset 17 near weight"#),
        (#"@n>=$n"#, #"Invalid numeric value ((3) for parameter `n`"#),
        (#"hello=>[KNN 10 @v $B] foo"#, #"Syntax error at offset 22 near foo"#),
        (#"(*"#, #"Syntax error at offset 1 near "#),
        (#"* hello"#, #"Syntax error at offset 2 near hello"#),
        (#"hello *"#, #"Syntax error at offset 6 near hello"#),
        (#"-hello=>[KNN 10 @v $B]"#, #"Syntax error at offset 8 near >["#),
        (#"@v:[FOO 1 $B]"#, #"Syntax error: expecting vector similarity range command at offset 4 near FOO"#),
        (#"*=>[FOO 10 @v $B]"#, #"Syntax error: Expecting Vector Similarity command at offset 4 near FOO"#),
        (#"'hello'"#, #"Syntax error at offset 0 near hello"#),
    ]

    static func explain(_ q: String) throws(QueryError) -> String {
        try QueryExplain.explain(q, params: oracleParams, textFields: ["t"], vectorFields: ["v": .flat])
    }

    @Test("explain output", arguments: explained)
    func output(_ query: String, _ expected: String) throws {
        #expect(try Self.explain(query) == expected)
    }

    @Test("explain errors", arguments: failed)
    func failure(_ query: String, _ message: String) {
        #expect(throws: QueryError(message)) { try Self.explain(query) }
    }

    @Test func verbatimSkipsExpansion() throws {
        #expect(try QueryExplain.explain("running fast", textFields: ["t"], verbatim: true)
                == "INTERSECT {\n  running\n  fast\n}\n")
    }

    @Test func caseSensitiveTagsKeepCase() throws {
        #expect(try QueryExplain.explain("@tag:{Hello}", textFields: [], caseSensitiveTags: ["tag"])
                == "TAG:@tag {\n  Hello\n}\n")
    }

    @Test func emptyStopwordListKeepsWords() throws {
        #expect(try QueryExplain.explain("a", textFields: [], stopwords: [])
                == "UNION {\n  a\n  +a(expanded)\n}\n")
    }
}

@Suite("DIALECT 1 against Redis Stack 7.4.1")
struct DialectOneOracleTests {
    /// (query, FT.EXPLAIN ... DIALECT 1 reply) pairs captured from the oracle.
    static let explained: [(String, String)] = [
        (#"cat dog the fish"#, "INTERSECT {\n  UNION {\n    cat\n    +cat(expanded)\n  }\n  UNION {\n    dog\n    +dog(expanded)\n  }\n  UNION {\n    fish\n    +fish(expanded)\n  }\n}\n"),
        (#"@t:cat dog the fish"#, "INTERSECT {\n  @t:INTERSECT {\n    @t:UNION {\n      @t:cat\n      @t:+cat(expanded)\n    }\n    @t:UNION {\n      @t:dog\n      @t:+dog(expanded)\n    }\n  }\n  UNION {\n    fish\n    +fish(expanded)\n  }\n}\n"),
        (#"hello 2020 world"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  UNION {\n    2020\n    +2020(expanded)\n  }\n  UNION {\n    world\n    +world(expanded)\n  }\n}\n"),
        (#"@t:a b 5 c"#, "INTERSECT {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    5\n    +5(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n}\n"),
        (#"x y z 5 6"#, "INTERSECT {\n  UNION {\n    x\n    +x(expanded)\n  }\n  UNION {\n    y\n    +y(expanded)\n  }\n  UNION {\n    z\n    +z(expanded)\n  }\n  INTERSECT {\n    UNION {\n      5\n      +5(expanded)\n    }\n    UNION {\n      6\n      +6(expanded)\n    }\n  }\n}\n"),
        (#"-a b c | d"#, "NOT{\n  UNION {\n    INTERSECT {\n      b\n      c\n    }\n    d\n  }\n}\n"),
        (#"~a b | c"#, "OPTIONAL{\n  UNION {\n    b\n    c\n  }\n}\n"),
        (#"@t:a | b c | d"#, "@t:UNION {\n  @t:INTERSECT {\n    @t:UNION {\n      @t:b\n      @t:+b(expanded)\n    }\n    @t:UNION {\n      @t:c\n      @t:+c(expanded)\n    }\n  }\n  @t:UNION {\n    @t:d\n    @t:+d(expanded)\n  }\n}\n"),
        (#"hello"#, "UNION {\n  hello\n  +hello(expanded)\n}\n"),
        (#"running"#, "UNION {\n  running\n  +run(expanded)\n  run(expanded)\n}\n"),
        (#"@t:(a b)"#, "@t:UNION {\n  @t:b\n  @t:+b(expanded)\n}\n"),
        (#"-hello"#, "NOT{\n  hello\n}\n"),
        (#"@n:[(1 +inf]"#, "NUMERIC {1.000000 < @n <= inf}\n"),
        (#"@tag:{hello\ world}"#, "TAG:@tag {\n  hello world\n}\n"),
        (#"@t|tag:hello"#, "@t:UNION {\n  @t:hello\n  @t:+hello(expanded)\n}\n"),
        (#"@x:hello"#, "@NULL:UNION {\n  @NULL:hello\n  @NULL:+hello(expanded)\n}\n"),
        (#"hello-world"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  NOT{\n    world\n  }\n}\n"),
        (#"foo_bar"#, "UNION {\n  foo_bar\n  +foo_bar(expanded)\n}\n"),
        (#"(hello)"#, "UNION {\n  hello\n  +hello(expanded)\n}\n"),
        (#"@n:[-5 -2]"#, "NUMERIC {-5.000000 <= @n <= -2.000000}\n"),
        (#"a"#, "<empty>\n"),
        (#"(b | c) | d"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  UNION {\n    c\n    +c(expanded)\n  }\n  UNION {\n    d\n    +d(expanded)\n  }\n}\n"),
        (#"@t:-hello"#, "@t:NOT{\n  @t:hello\n}\n"),
        (#"@t:(b|c)"#, "@t:UNION {\n  @t:UNION {\n    @t:b\n    @t:+b(expanded)\n  }\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n}\n"),
        (#"x 2020 1.5"#, "INTERSECT {\n  UNION {\n    x\n    +x(expanded)\n  }\n  UNION {\n    2020\n    +2020(expanded)\n  }\n  UNION {\n    1.5\n    +1.5(expanded)\n  }\n}\n"),
        (#"-inf"#, "UNION {\n  -inf\n  +-inf(expanded)\n}\n"),
        (#"*foo*"#, "INFIX{*foo*}\n"),
        (#"w'fo?'"#, "INTERSECT {\n  UNION {\n    w\n    +w(expanded)\n  }\n  UNION {\n    fo\n    +fo(expanded)\n  }\n}\n"),
        (#"%foo%"#, "FUZZY{foo}\n"),
        (#"hello\-world"#, "UNION {\n  hello-world\n  +hello-world(expanded)\n}\n"),
        (#"@t:hello @t:world"#, "INTERSECT {\n  @t:UNION {\n    @t:hello\n    @t:+hello(expanded)\n  }\n  @t:UNION {\n    @t:world\n    @t:+world(expanded)\n  }\n}\n"),
        (#"@t:hello|@t:world"#, "@t:UNION {\n  @t:UNION {\n    @t:hello\n    @t:+hello(expanded)\n  }\n  @t:UNION {\n    @t:world\n    @t:+world(expanded)\n  }\n}\n"),
        (#"@ta\-g:{x}"#, "TAG:@ta-g {\n  x\n}\n"),
        (#"@t:hello wor*"#, "INTERSECT {\n  @t:UNION {\n    @t:hello\n    @t:+hello(expanded)\n  }\n  PREFIX{wor*}\n}\n"),
        (#"@t:hello 2020 world"#, "@t:INTERSECT {\n  @t:UNION {\n    @t:hello\n    @t:+hello(expanded)\n  }\n  @t:UNION {\n    @t:2020\n    @t:+2020(expanded)\n  }\n  @t:UNION {\n    @t:world\n    @t:+world(expanded)\n  }\n}\n"),
        (#"hello 2020 world"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  UNION {\n    2020\n    +2020(expanded)\n  }\n  UNION {\n    world\n    +world(expanded)\n  }\n}\n"),
        (#"hello | 2020"#, "UNION {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  UNION {\n    2020\n    +2020(expanded)\n  }\n}\n"),
        (#"b | c 2020 d"#, "UNION {\n  UNION {\n    b\n    +b(expanded)\n  }\n  INTERSECT {\n    UNION {\n      c\n      +c(expanded)\n    }\n    UNION {\n      2020\n      +2020(expanded)\n    }\n    UNION {\n      d\n      +d(expanded)\n    }\n  }\n}\n"),
        (#"(b | c) d"#, "INTERSECT {\n  UNION {\n    UNION {\n      b\n      +b(expanded)\n    }\n    UNION {\n      c\n      +c(expanded)\n    }\n  }\n  UNION {\n    d\n    +d(expanded)\n  }\n}\n"),
        (#"Caps"#, "UNION {\n  caps\n  +cap(expanded)\n  cap(expanded)\n}\n"),
        (#"3"#, "UNION {\n  3\n  +3(expanded)\n}\n"),
        (#"hello foo\-bar"#, "INTERSECT {\n  UNION {\n    hello\n    +hello(expanded)\n  }\n  UNION {\n    foo-bar\n    +foo-bar(expanded)\n  }\n}\n"),
        (#"(pp) ~2020"#, "INTERSECT {\n  UNION {\n    pp\n    +pp(expanded)\n  }\n  OPTIONAL{\n    2020\n  }\n}\n"),
        (#"@t:c -Caps"#, "INTERSECT {\n  @t:UNION {\n    @t:c\n    @t:+c(expanded)\n  }\n  NOT{\n    caps\n  }\n}\n"),
        (#"@t:(@x:k @tag:{x}hello world) -a ~ppinf"#, "INTERSECT {\n  @t:INTERSECT {\n    @NULL:UNION {\n      @NULL:k\n      @NULL:+k(expanded)\n    }\n    @t:TAG:@tag {\n      @t:x\n    }\n    @t:INTERSECT {\n      @t:UNION {\n        @t:hello\n        @t:+hello(expanded)\n      }\n      @t:UNION {\n        @t:world\n        @t:+world(expanded)\n      }\n    }\n  }\n  OPTIONAL{\n    ppinf\n  }\n}\n"),
        (#"hel*"#, "PREFIX{hel*}\n"),
        (#"Caps|~e pp"#, "UNION {\n  UNION {\n    caps\n    +cap(expanded)\n    cap(expanded)\n  }\n  OPTIONAL{\n    INTERSECT {\n      e\n      pp\n    }\n  }\n}\n"),
        (#"(1.5 | 3 -d)"#, "INTERSECT {\n  UNION {\n    UNION {\n      1.5\n      +1.5(expanded)\n    }\n    UNION {\n      3\n      +3(expanded)\n    }\n  }\n  NOT{\n    d\n  }\n}\n"),
    ]

    static let failed: [(String, String)] = [
        (#"@tag:{a-b}"#, #"Syntax error at offset 9 near b"#),
        (#"@n:[1 2 3]"#, #"Syntax error at offset 9 near 3"#),
        (#"a | "#, #"Syntax error at offset 2 near a"#),
        (#"| a"#, #"Syntax error at offset 0 near "#),
        (#"@n:[1 2"#, #"Syntax error at offset 6 near 2"#),
        (#"@n:[1"#, #"Syntax error at offset 4 near 1"#),
        (#"@tag:{x} | @tag:{y}"#, #"Syntax error at offset 11 near tag"#),
        (#"@n==5"#, #"Syntax error at offset 4 near 5"#),
        (#"* hello"#, #"Syntax error at offset 2 near hello"#),
        (#"@n<7 | (Caps@n:[-inf 7]) ~e"#, #"Syntax error at offset 3 near 7"#),
        (#"@n>=3|-5"#, #"Syntax error at offset 4 near 3"#),
        (#"~e-d =>2020Running"#, #"Syntax error at offset 7 near 2020Running"#),
        (#"@n>=3 ~@tag:{x | y z | pp}"#, #"Syntax error at offset 4 near 3"#),
        (#"@t|tag:h ~@n!=2|~e"#, #"Syntax error at offset 14 near 2"#),
        (#"bhello -@t:((@n<7 --5Running) | -5 pp | Caps)"#, #"Syntax error at offset 16 near 7"#),
        (#"hell"unterminatedo -(hello) | @tag:{x} 1.5"#, #"Syntax error at offset 19 near unterminatedo"#),
        (#"@n>=3"#, #"Syntax error at offset 4 near 3"#),
        (#"((to @n!=2))"#, #"Syntax error at offset 9 near 2"#),
    ]

    static func explain(_ q: String) throws(QueryError) -> String {
        try QueryExplain.explain(q, textFields: ["t"], vectorFields: ["v": .flat], dialect: 1)
    }

    @Test("explain output", arguments: explained)
    func output(_ query: String, _ expected: String) throws {
        #expect(try Self.explain(query) == expected)
    }

    @Test("explain errors", arguments: failed)
    func failure(_ query: String, _ message: String) {
        #expect(throws: QueryError(message)) { try Self.explain(query) }
    }

    @Test func unionBindsTighterThanJuxtaposition() throws {
        // `@t:` reaches over the union, `-` over the juxtaposition (as FT.EXPLAIN ... DIALECT 1 shows).
        let q = try QueryParser.parse("@t:x @t:y | z", dialect: 1)
        #expect(q.filter == .intersection([.term(fields: ["t"], text: "x"),
                                           .union([.term(fields: ["t"], text: "y"), .term(fields: ["t"], text: "z")])]))
        #expect(try QueryParser.parse("-x y", dialect: 1).filter == .not(.intersection([.term(fields: nil, text: "x"),
                                                                                       .term(fields: nil, text: "y")])))
        #expect(try QueryParser.parse("the cat", dialect: 1).filter == .term(fields: nil, text: "cat"))
    }

    @Test func apostropheSignedInf() throws {
        // v1's `inf` pattern has `'` in its sign class: `'info` lexes as `'inf` and `o` (as FT.EXPLAIN shows).
        #expect(try Self.explain("'info") == "INTERSECT {\n  UNION {\n    'inf\n    +inf(expanded)\n    inf(expanded)\n  }\n  UNION {\n    o\n    +o(expanded)\n  }\n}\n")
    }

    @Test func noParametersOrVectors() {
        #expect(throws: QueryError("Syntax error at offset 1 near >[")) {
            try QueryParser.parse("*=>[KNN 3 @v $B]", params: ["B": [1]], dialect: 1)
        }
    }
}

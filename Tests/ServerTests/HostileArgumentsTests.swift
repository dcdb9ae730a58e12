// Out-of-range counts, limits, K values and casts: each of these used to trap and kill the node (found by fuzzing).
import Testing
@testable import Server
import Keyspace

private func node() throws -> (Server, Client) {
    var config = Config()
    try config.set("search-workers", "0")
    let server = Server(config: config)
    let c = server.detachedClient()
    server.execute("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "t", "TEXT", "n", "NUMERIC",
                   "g", "TAG", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2",
                   "f", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2", on: c)
    for i in 0..<5 {
        let blob = Bytes([Float(i), 1].withUnsafeBytes { Array($0) })
        server.execute([Bytes("HSET"), Bytes("d:\(i)"), Bytes("t"), Bytes("hello world \(i)"), Bytes("n"), Bytes("\(i)"),
                        Bytes("g"), Bytes("a"), Bytes("v"), blob, Bytes("f"), blob], on: c)
    }
    return (server, c)
}

private let huge = "9223372036854775806"
private let manyFields: [String] = ["FT.CREATE", "x", "SCHEMA"] + (0..<20_000).flatMap { (i: Int) -> [String] in ["f\(i)", "NUMERIC"] }
private let manyTerms: String = Array(repeating: "hello", count: 2_000).joined(separator: "|")  // small: debug builds stem every term
private let zeroVector = String(decoding: [UInt8](repeating: 0, count: 8), as: UTF8.self)

@Suite("Hostile numeric arguments")
struct HostileArgumentsTests {
    /// `expected` is the whole reply for errors, else a part that must appear in it.
    @Test("out-of-range numbers get RediSearch's reply, not a trap", arguments: [
        (["FT.AGGREGATE", "idx", "@t:hello", "LOAD", "1", "@t", "APPLY", "substr(@t, 1e300, 2)", "AS", "x", "LIMIT", "0", "1"],
         "$1\r\nx\r\n$0\r\n\r\n"),
        (["FT.AGGREGATE", "idx", "@t:hello", "LOAD", "1", "@n", "SORTBY", "2", "@n", "ASC", "APPLY", "1e300 % 3", "AS", "x",
          "LIMIT", "0", "1"], "$1\r\nx\r\n$2\r\n-2\r\n"),
        (["FT.AGGREGATE", "idx", "@t:hello", "LOAD", "1", "@n", "SORTBY", "2", "@n", "ASC", "APPLY", "sqrt(-1) % -1.5",
          "AS", "x", "LIMIT", "0", "1"], "$1\r\nx\r\n$1\r\n0\r\n"),
        (["FT.SEARCH", "idx", "*", "LIMIT", "1", "9223372036854775807"], "-LIMIT needs two numeric arguments\r\n"),
        (["FT.SEARCH", "idx", "*", "LIMIT", "1", huge], "-LIMIT exceeds maximum of 1000000\r\n"),
        (["FT.SEARCH", "idx", "*", "LIMIT", huge, "1"], "-OFFSET exceeds maximum of 1000000\r\n"),
        (["COMMAND", "INFO", "", "|get", "get|"], "*3\r\n*-1\r\n*-1\r\n*-1\r\n"),  // found by make fuzz: "" trapped
        (["FT.SEARCH", "idx", "hello", "SLOP", "99999999999999999999"], "-Bad arguments for SLOP: Value is outside acceptable bounds\r\n"),
        (["FT.SEARCH", "idx", "hello", "GEOFILTER", "n", "NaN", "2", "3", "km"], "*1\r\n:0\r\n"),
        (["FT.SEARCH", "idx", "hello", "GEOFILTER", "n", "1e400", "2", "3", "km"],
         "-Bad arguments for <lon>: Could not convert argument to expected type\r\n"),
        (["FT.SEARCH", "idx", "*", "LIMIT", huge, "0"], "*1\r\n:5\r\n"),
        (["FT.SEARCH", "idx", "*", "PARAMS", huge, "a", "b"], "-Bad arguments for PARAMS: Value is outside acceptable bounds\r\n"),
        (["FT.SEARCH", "idx", "*", "RETURN", "4294967295", "t"], "-Bad arguments for RETURN: Expected an argument, but none provided\r\n"),
        (["FT.AGGREGATE", "idx", "*", "LOAD", "9223372036854775807"], "-Bad arguments for LOAD: SUCCESS\r\n"),
        (["FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@g", "REDUCE", "COUNT", huge],
         "-Bad arguments for COUNT: Value is outside acceptable bounds\r\n"),
        (["FT.CREATE", "x", "PREFIX", huge, "a", "SCHEMA", "t", "TEXT"], "-Bad arguments for PREFIX: Value is outside acceptable bounds\r\n"),
        (["FT.CREATE", "x", "STOPWORDS", huge, "a", "SCHEMA", "t", "TEXT"],
         "-Bad arguments for STOPWORDS: Value is outside acceptable bounds\r\n"),
        (["FT.CREATE", "x", "SCHEMA", "v", "VECTOR", "HNSW", huge, "TYPE", "FLOAT32"], "-Expected -2 parameters but got 2\r\n"),
        (["FT.CREATE", "x", "SCHEMA", "v", "VECTOR", "HNSW", "-2", "TYPE", "FLOAT32"],
         "-Bad arguments for vector similarity number of parameters: Value is outside acceptable bounds\r\n"),
        (["FT.CREATE", "x", "SCHEMA", "v", "VECTOR", "HNSW", "8", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2",
          "INITIAL_CAP", "9223372036854775806"], "Vector index initial capacity 9223372036854775806 exceeded server limit ("),
        (["FT.SEARCH", "idx", "*=>[KNN 9223372036854775807 @f $B]", "PARAMS", "2", "B", zeroVector, "NOCONTENT", "DIALECT", "2"],
         "*6\r\n:5\r\n$3\r\nd:0\r\n"),
        (["FT.SEARCH", "idx", "*=>[KNN 9223372036854775807 @v $B]", "PARAMS", "2", "B", zeroVector, "NOCONTENT", "DIALECT", "2"],
         "*6\r\n:5\r\n$3\r\nd:0\r\n"),
        (["FT.SEARCH", "idx", "*=>[KNN 18446744073709551615 @v $B]", "PARAMS", "2", "B", zeroVector, "DIALECT", "2"], "*1\r\n:0\r\n"),
    ])
    func hostileNumbers(command: [String], expected: String) throws {
        try check(command, expected)
    }

    /// Each of the deep ones overflowed the stack (a 2 KiB query of 1,000 parentheses was enough).
    static let deepOrWide: [([String], String)] = [
        (["FT.SEARCH", "idx", String(repeating: "(", count: 1000) + "hello" + String(repeating: ")", count: 1000), "DIALECT", "2"],
         "-Parser stack overflow. Try moving nested parentheses more to the left\r\n"),
        (["FT.SEARCH", "idx", String(repeating: "(", count: 100_000) + "hello"],
         "-Parser stack overflow. Try moving nested parentheses more to the left\r\n"),
        (["FT.EXPLAIN", "idx", String(repeating: "-", count: 100_000) + "hello", "DIALECT", "2"],
         "-Parser stack overflow. Try moving nested parentheses more to the left\r\n"),
        (["FT.SEARCH", "idx", String(repeating: "(", count: 200) + "hello" + String(repeating: ")", count: 200), "NOCONTENT",
          "DIALECT", "2"], "*6\r\n:5\r\n"),
        (["FT.AGGREGATE", "idx", "*", "APPLY", String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000),
          "AS", "x"], "-Syntax error: the expression nests more than 256 levels or has more than 1024 operators\r\n"),
        (["FT.AGGREGATE", "idx", "*", "APPLY", "1" + String(repeating: "+1", count: 100_000), "AS", "x"],
         "-Syntax error: the expression nests more than 256 levels or has more than 1024 operators\r\n"),
        (["FT.AGGREGATE", "idx", "*", "FILTER", String(repeating: "!", count: 10_000) + "1"],
         "-Syntax error: the expression nests more than 256 levels or has more than 1024 operators\r\n"),
        (["FT.AGGREGATE", "idx", "*", "APPLY", "1" + String(repeating: "+1", count: 1000), "AS", "x", "LIMIT", "0", "1"],
         "$1\r\nx\r\n$4\r\n1001\r\n"),
        // Wide, not deep: these were quadratic (minutes for 20,000 fields or 100,000 terms; the differential test
        // runs a 20,000-term union against Redis Stack).
        (manyFields, "-Schema is limited to 1024 fields\r\n"),
        (["FT.SEARCH", "idx", manyTerms, "NOCONTENT"], "*6\r\n:5\r\n"),
    ]

    @Test("deep or wide requests get an answer or an error, not a stack overflow or minutes of work", arguments: deepOrWide)
    func deepNesting(command: [String], expected: String) throws {
        try check(command, expected)
    }

    private func check(_ command: [String], _ expected: String) throws {
        let (server, c) = try node()
        let reply = String(decoding: server.execute(command.map { Bytes($0) }, on: c), as: UTF8.self)
        if expected.hasPrefix("-") { #expect(reply == expected) } else { #expect(reply.contains(expected)) }
        #expect(server.execute("PING", on: c) == "+PONG\r\n")
    }
}

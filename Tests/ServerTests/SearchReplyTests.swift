// FT.SEARCH reply shaping: the direct hit writer against the ShardHit rows it replaced.
import Testing
@testable import Server
import Cluster
import Keyspace
import RESP
@testable import Search

private func server() throws -> (Server, Client) {
    var config = Config()
    try config.set("search-workers", "0")
    let server = Server(config: config)
    let c = server.detachedClient()
    server.execute("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "n", "NUMERIC", "SORTABLE", "tag", "TAG",
                   "t", "TEXT", "SORTABLE", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2",
                   on: c)
    let docs: [[String]] = [
        ["d:1", "n", "1", "tag", "a", "t", "hello"],
        ["d:2", "n", "2e1", "tag", "a,b", "t", "World"],
        ["d:3", "n", "3.25", "tag", "b"],
        ["d:4", "tag", "c", "t", "foo", "extra", "x"],
        ["d:5", "n", "-7", "t", "bar"],
    ]
    for (i, d) in docs.enumerated() {
        let v: [Float] = [Float(i) * 0.37 + 0.1, 1 / Float(i + 3)]
        server.execute([Bytes("HSET")] + d.map { Bytes($0) } + [Bytes("v"), Bytes(v.withUnsafeBytes { Array($0) })], on: c)
    }
    return (server, c)
}

/// The reply as the ShardHit path wrote it before `writeSearchHits` (kept for whole-document replies).
private func rowsReply(_ server: Server, _ outcome: SearchOutcome, _ parsed: ParsedSearch, protocolVersion: Int) -> [UInt8] {
    let options = parsed.options
    let showContent = Server.showsContent(options)
    var rows = outcome.hits.map { hit in
        ShardHit(key: hit.key.storage, sortValue: options.withSortKeys ? server.sortKey(hit, options: options) : .missing,
                 score: hit.score, fields: showContent ? server.loadFields(hit, options: options).map { ($0.0.storage, $0.1.storage) } : nil)
    }
    if options.returnFields == nil { rows = Server.lookupOrdered(rows) }
    var w = ReplyWriter(protocolVersion: protocolVersion)
    server.writeSearchRows(total: outcome.total, rows: rows, options: options, warnings: [], to: &w)
    return w.buffer
}

@Suite("FT.SEARCH replies")
struct SearchReplyTests {
    static let blob = [Float(0.5), 0.2].withUnsafeBytes { Array($0) }

    @Test("hits written directly are the bytes the ShardHit rows gave", arguments: [
        ["*=>[KNN 4 @v $B]", "RETURN", "1", "__v_score"],
        ["*=>[KNN 4 @v $B AS d]", "RETURN", "3", "n", "d", "t", "SORTBY", "d"],
        ["*=>[KNN 5 @v $B]", "RETURN", "6", "@n", "AS", "num", "missing", "__v_score", "tag", "WITHSCORES"],
        ["*=>[KNN 5 @v $B]", "NOCONTENT", "WITHSCORES"],
        ["*=>[KNN 5 @v $B]", "RETURN", "0"],
        ["*=>[KNN 5 @v $B]"],
        ["*=>[KNN 5 @v $B]", "SORTBY", "n", "DESC", "WITHSORTKEYS", "RETURN", "2", "n", "__v_score"],
        ["*=>[KNN 5 @v $B]", "SORTBY", "t", "WITHSORTKEYS", "LIMIT", "1", "2"],
        ["@tag:{a|c}", "RETURN", "2", "t", "extra", "SORTBY", "n"],
        ["*", "LIMIT", "0", "0"],
        ["@t:hello", "WITHSCORES", "RETURN", "1", "t"],
    ])
    func sameBytes(_ tail: [String]) throws {
        let (server, _) = try server()
        for proto in [2, 3] {
            let client = server.detachedClient(protocolVersion: proto)
            var argv = [Bytes("FT.SEARCH"), Bytes("idx"), Bytes(tail[0])] + tail.dropFirst().map { Bytes($0) }
            argv += [Bytes("PARAMS"), Bytes("2"), Bytes("B"), Bytes(Self.blob), Bytes("DIALECT"), Bytes("2")]
            let parsed = try Arguments.withOwned(argv) { try server.parseSearch($0) }
            var outcome = try parsed.index.execute(parsed.request)
            if let sort = outcome.sortInCaller {
                let all = server.sortedInCaller(outcome.hits, by: sort, fold: parsed.options.foldSortKey)
                let start = min(parsed.request.offset, all.count)
                outcome = SearchOutcome(total: outcome.total, hits: Array(all[start..<min(all.count, start + parsed.request.limit)]))
            }
            let expected = rowsReply(server, outcome, parsed, protocolVersion: proto)
            client.reply.buffer.removeAll()
            server.writeSearchReply(try parsed.index.execute(parsed.request), request: parsed.request, options: parsed.options, to: client)
            #expect(client.reply.buffer == expected, "\(tail) RESP\(proto): \(String(decoding: client.reply.buffer, as: UTF8.self))")
            #expect(client.reply.buffer == server.execute(argv, on: client))
        }
    }
}

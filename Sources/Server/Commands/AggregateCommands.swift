// FT.AGGREGATE, FT.CURSOR READ|DEL and FT.PROFILE: argument parsing, cursor table and RESP2/RESP3 reply shaping.
// The query runs on a worker; document snapshots and the pipeline (Search/Aggregate.swift) run on the loop thread.
import Dispatch
import Synchronization
import RESP
import Keyspace
import Search

/// Open aggregate cursors of every server in the process, keyed by server (tests run several servers at once).
final class AggregateCursorTable: @unchecked Sendable {
    struct Cursor {
        var index: String
        var pipeline: AggregatePipeline
        var count: Int
        var maxIdleMs: Int
        var lastUsedMs: Int64
    }
    static let shared = AggregateCursorTable()
    private let cursors = Mutex<[ObjectIdentifier: [Int: Cursor]]>([:])

    func add(_ cursor: Cursor, server: Server) -> Int {
        cursors.withLock { all in
            // Drop this server's cursors that idled past MAXIDLE (reads drop them too; this catches abandoned ones).
            all[ObjectIdentifier(server)] = all[ObjectIdentifier(server)]?.filter {
                cursor.lastUsedMs - $0.value.lastUsedMs <= Int64($0.value.maxIdleMs)
            }
            var id = 0
            repeat { id = Int.random(in: 1...Int(Int32.max)) } while all[ObjectIdentifier(server)]?[id] != nil
            all[ObjectIdentifier(server), default: [:]][id] = cursor
            return id
        }
    }

    /// The cursor if it exists. As in RediSearch, the index name given to FT.CURSOR is not checked against it, and
    /// an idle cursor lives until a later FT.AGGREGATE ... WITHCURSOR sweeps it (`add`), not until its next read.
    func take(_ id: Int, server: Server) -> Cursor? {
        cursors.withLock { $0[ObjectIdentifier(server)]?[id] }
    }

    func put(_ id: Int, _ cursor: Cursor?, server: Server) {
        cursors.withLock { $0[ObjectIdentifier(server), default: [:]][id] = cursor }
    }

    func remove(_ id: Int, server: Server) -> Bool {
        cursors.withLock { $0[ObjectIdentifier(server)]?.removeValue(forKey: id) != nil }
    }
}

/// FT.AGGREGATE's checked arguments.
struct ParsedAggregate: @unchecked Sendable {
    let index: SearchIndex
    let indexName: String
    let plan: AggregatePlan
    let request: SearchRequest
    /// The KNN score field when the query has KNN (its first column).
    let yieldedNames: [String]
}

/// What the worker found, handed back to the loop thread.
private struct AggregateMatches: Sendable {
    var hits: [SearchHit]
    var yieldedNames: [String]
    /// FT.PROFILE's name for the root iterator.
    var iteratorType = "WILDCARD"
}

extension Server {
    func aggregateCommands() -> [CommandSpec] {
        func ft(_ name: String, flags: String, keys: KeyPositions, _ handler: @escaping CommandHandler) -> CommandSpec {
            CommandSpec(name, arity: -1, flags: flags.split(separator: " ").map(String.init) + ["module"], categories: ["search"],
                        keys: keys, keySpecFlags: [], group: "module", since: "1.1.0", summary: "RediSearch command",
                        routesByKeys: false, handler: handler)
        }
        return [
            ft("FT.AGGREGATE", flags: "readonly", keys: .single) { ctx throws(CommandError) in
                try ctx.server.ftAggregate(ctx, profile: false)
            },
            ft("FT.CURSOR", flags: "readonly", keys: .none) { ctx throws(CommandError) in
                try ctx.server.ftCursor(ctx)
            },
            ft("FT.PROFILE", flags: "readonly", keys: .single) { ctx throws(CommandError) in
                try ctx.server.ftProfile(ctx)
            },
        ]
    }

    // MARK: FT.AGGREGATE

    /// `argv`: FT.PROFILE's rewritten arguments (default: the command's own).
    func ftAggregate(_ ctx: CommandContext, profile: Bool, argv: [[UInt8]]? = nil) throws(CommandError) {
        let raw: [[UInt8]] = argv ?? (0..<ctx.args.count).map { Array(ctx.args[$0]) }
        let parsed = try parseAggregate(raw)
        if config.int("search-workers") == 0 || ctx.client.denyBlocking {  // inside EXEC the reply must come now
            switch Self.matchAggregate(parsed) {
            case .success(let m): try finishAggregate(m, parsed, profile: profile, client: ctx.client)
            case .failure(let e): throw CommandError(e.message)
            }
            return
        }
        let clientID = ctx.client.id
        block(ctx.client)
        let mailbox = self.mailbox
        DispatchQueue.global().async {
            let result = Self.matchAggregate(parsed)
            mailbox.post { server in
                guard let client = server.client(id: clientID) else { return }
                switch result {
                case .success(let m):
                    do throws(CommandError) {
                        try server.finishAggregate(m, parsed, profile: profile, client: client)
                    } catch { server.replyError(client, error) }
                case .failure(let e): server.replyError(client, CommandError(e.message))
                }
                server.unblock(clientID: clientID) { _ in }
            }
        }
    }

    /// FT.AGGREGATE's arguments from argv[1] (the index name) on, checked before anything runs.
    func parseAggregate(_ raw: [[UInt8]]) throws(CommandError) -> ParsedAggregate {
        guard raw.count >= 2 else { throw .wrongArity("FT.AGGREGATE") }
        guard raw.count >= 3 else { throw CommandError("No query string provided") }
        let indexName = String(decoding: raw[1], as: UTF8.self)
        guard let index = search.index(named: indexName) else { throw CommandError("\(indexName): no such index") }
        let rest = Array(raw[3...])
        let plan: AggregatePlan
        do throws(AggregateError) {
            plan = try AggregatePlan.parse(rest.map { String(decoding: $0, as: UTF8.self) }, raw: rest)
        } catch { throw CommandError(error.message) }
        let dialect = plan.dialect ?? search.config.defaultDialect
        var query: ParsedQuery
        do throws(QueryError) {
            query = try QueryParser.parse(raw[2], params: plan.params, dialect: dialect)
            try query.apply(plan.scope)
        } catch {
            throw CommandError(error.message)
        }
        var request = SearchRequest(query: query)
        request.verbatim = plan.verbatim
        request.prefixExpansion = search.config.prefixExpansions
        request.offset = 0
        request.limit = Int.max
        request.dialect = dialect
        request.scorer = plan.scorer
        request.withScores = plan.addScores
        request.ordersByScore = false
        // LIMIT first: documents past offset + limit are never read (buildAggregatePipeline), so never made hits.
        if query.knn == nil, let wanted = plan.leadingLimit { request.limit = wanted }
        var yielded = query.knn.map { [$0.scoreField] } ?? []
        if plan.addScores { yielded.insert(Self.scoreProperty, at: 0) }
        return ParsedAggregate(index: index, indexName: indexName, plan: plan, request: request, yieldedNames: yielded)
    }

    /// ADDSCORES' row property.
    static let scoreProperty = "__score"

    /// Runs the query (any thread): the matches in the order the pipeline reads them.
    private static func matchAggregate(_ p: ParsedAggregate) -> Result<AggregateMatches, QueryError> {
        do throws(QueryError) {
            var hits = try p.index.execute(p.request).hits
            // FT.AGGREGATE yields KNN matches nearest first (FT.SEARCH orders them by score).
            if p.request.query.knn != nil {
                hits.sort { a, b in
                    let x = a.distance ?? 0, y = b.distance ?? 0
                    return x != y ? x < y : a.docId < b.docId
                }
            }
            // VECTOR_RANGE distances ($YIELD_DISTANCE_AS) are columns too, after the KNN score.
            var names = p.yieldedNames
            for h in hits { for y in h.yielded where !names.contains(y.name) { names.append(y.name) } }
            return .success(AggregateMatches(hits: hits, yieldedNames: names,
                                             iteratorType: p.request.query.filter == .all ? "WILDCARD" : "INTERSECT"))
        } catch { return .failure(error) }
    }

    /// A shard's part of a distributed FT.AGGREGATE (see AggregateSplit): the query runs on a worker when
    /// `search-workers` > 0; `completion` gets the rows on the loop thread.
    func runShardAggregate(_ parsed: ParsedAggregate, split: AggregateSplit,
                           _ completion: @escaping (Result<AggShardRows, CommandError>) -> Void) {
        let finish: (Server, Result<AggregateMatches, QueryError>) -> Void = { server, result in
            switch result {
            case .success(let m):
                do throws(CommandError) {
                    let pipeline = try server.buildAggregatePipeline(m, parsed, split: split)
                    completion(.success(pipeline.shardRows()))
                } catch { completion(.failure(error)) }
            case .failure(let e): completion(.failure(CommandError(e.message)))
            }
        }
        if config.int("search-workers") == 0 { finish(self, Self.matchAggregate(parsed)); return }
        let back = LoopBound(value: finish)
        let mailbox = self.mailbox
        DispatchQueue.global().async {
            let result = Self.matchAggregate(parsed)
            mailbox.post { server in back.value(server, result) }
        }
    }

    /// Snapshots the matched hashes and builds the pipeline: the whole plan, or a shard's part when `split` is given.
    private func buildAggregatePipeline(_ m: AggregateMatches, _ p: ParsedAggregate,
                                        split: AggregateSplit? = nil) throws(CommandError) -> AggregatePipeline {
        func build(_ docs: [AggDocument]) throws(AggregateError) -> AggregatePipeline {
            if let split {
                return try AggregatePipeline.buildShard(plan: p.plan, split: split, docs: docs, schema: p.index.definition,
                                                        yieldedNames: m.yieldedNames)
            }
            return try AggregatePipeline.build(plan: p.plan, docs: docs, schema: p.index.definition, yieldedNames: m.yieldedNames)
        }
        // Build first (with no documents) to learn which hash fields rows read; snapshot only those, so an
        // aggregate over vectors' documents does not copy every blob. LOAD * needs every field up front.
        do throws(AggregateError) {
            if p.plan.loadsAll { return try build(snapshot(m, fields: nil)) }
            let pipeline = try build([])
            // ADDSCORES + SORTBY @__score [MAX n] first: only the best n matches can come out of the sort, so only
            // they become rows (12,360 matches → 10 rows; building every row was most of such a query's time).
            if split == nil, m.yieldedNames.first == Self.scoreProperty,
               let (size, ascending) = p.plan.leadingSort(by: Self.scoreProperty),
               let best = Self.bestScored(m.hits, size: size, ascending: ascending) {
                var kept = m
                kept.hits = best
                pipeline.setDocuments(snapshot(kept, fields: pipeline.documentFields), uncounted: m.hits.count - best.count)
                return pipeline
            }
            // LIMIT first (after LOAD / APPLY at most): documents past offset + limit are never read, nor counted.
            if split == nil, let wanted = p.plan.leadingLimit, m.hits.count > wanted {
                var kept = m
                kept.hits = Array(m.hits.prefix(wanted))
                pipeline.setDocuments(snapshot(kept, fields: pipeline.documentFields))
                return pipeline
            }
            pipeline.setDocuments(snapshot(m, fields: pipeline.documentFields))
            return pipeline
        } catch { throw CommandError(error.message) }
    }

    /// Loop thread: builds the pipeline over the matched hashes and replies (or opens a cursor).
    private func finishAggregate(_ m: AggregateMatches, _ p: ParsedAggregate, profile: Bool, client: Client) throws(CommandError) {
        let pipeline = try buildAggregatePipeline(m, p)
        guard profile else { try replyAggregate(pipeline, p, client: client); return }
        let chunk: AggregateChunk
        do throws(AggregateError) { chunk = try pipeline.chunk(limit: Int.max) } catch { throw CommandError(error.message) }
        if client.protocolVersion < 3 { client.reply.array(2) }
        writeAggregateChunk(chunk, to: client, profileFollows: true)
        writeProfile(iterator: m.iteratorType, reads: m.hits.count, to: client)
    }

    /// Replies with the pipeline's rows, or with its first chunk and a cursor (WITHCURSOR). `warnings` are added to
    /// the first chunk's RESP3 `warning` list (a coordinator's partial-result notice).
    func replyAggregate(_ pipeline: AggregatePipeline, _ p: ParsedAggregate, warnings: [String] = [],
                        client: Client) throws(CommandError) {
        let plan = p.plan
        if plan.withCursor {
            let count = plan.cursorCount ?? 1000
            let chunk: AggregateChunk
            do throws(AggregateError) { chunk = try pipeline.chunk(limit: count) } catch { throw CommandError(error.message) }
            var id = 0
            if !pipeline.exhausted {
                let maxIdle = plan.maxIdle ?? Int(search.config["CURSOR_MAX_IDLE"] ?? "300000") ?? 300000
                id = AggregateCursorTable.shared.add(.init(index: p.indexName, pipeline: pipeline, count: count, maxIdleMs: maxIdle,
                                                           lastUsedMs: wallClockMilliseconds()), server: self)
            }
            client.reply.array(2)
            writeAggregateChunk(chunk, to: client, warnings: warnings)
            client.reply.integer(id)
            return
        }
        let chunk: AggregateChunk
        do throws(AggregateError) { chunk = try pipeline.chunk(limit: Int.max) } catch { throw CommandError(error.message) }
        writeAggregateChunk(chunk, to: client, warnings: warnings)
    }

    /// The `size` hits the pipeline's sorter would keep, in match order: by score, ties by doc id, both in the sort's
    /// direction (SorterProcessor.compare's total order). Nil when that saves nothing, or a NaN score (which the
    /// sorter orders its own way) is among them.
    static func bestScored(_ hits: [SearchHit], size: Int, ascending: Bool) -> [SearchHit]? {
        guard hits.count > size, !hits.contains(where: { $0.score.isNaN }) else { return nil }
        @inline(__always) func before(_ a: Int, _ b: Int) -> Bool {
            let x = hits[a], y = hits[b]
            if x.score != y.score { return ascending ? x.score < y.score : x.score > y.score }
            return ascending ? x.docId < y.docId : x.docId > y.docId
        }
        var best: [Int] = []  // indices into hits, best first
        best.reserveCapacity(size + 1)
        for i in hits.indices {
            if best.count == size && !before(i, best[size - 1]) { continue }
            var low = 0, high = best.count
            while low < high {
                let mid = (low + high) / 2
                if before(best[mid], i) { low = mid + 1 } else { high = mid }
            }
            best.insert(i, at: low)
            if best.count > size { best.removeLast() }
        }
        return best.sorted().map { hits[$0] }
    }

    /// The matched documents with the wanted hash fields (nil: all), read on the loop thread.
    private func snapshot(_ m: AggregateMatches, fields wanted: Set<String>?) -> [AggDocument] {
        let names = wanted.map { $0.map { Bytes($0) } }
        var docs: [AggDocument] = []
        docs.reserveCapacity(m.hits.count)
        let addsScores = m.yieldedNames.first == Self.scoreProperty  // ADDSCORES: the score is the first column
        let knnField = m.yieldedNames.first { $0 != Self.scoreProperty }
        for hit in m.hits {
            var fields: [(name: Bytes, value: Bytes)] = []
            // A pipeline that reads no hash field (ADDSCORES, KNN distances, GROUPBY on nothing loaded) skips the lookup.
            if names?.isEmpty != true, case .hash(let h)? = database.peek(hit.key) {
                if let names {
                    for n in names { if let v = h[n] { fields.append((n, v)) } }
                } else {
                    h.forEach { f, v in fields.append((f, v)) }
                }
            }
            var yielded: [(name: String, value: AggValue)] = addsScores ? [(Self.scoreProperty, .number(hit.score))] : []
            for y in hit.yielded {
                if let d = hit.distance, y.name == knnField { yielded.append((y.name, .number(Double(d)))) }
                else { yielded.append((y.name, Double(y.value).map { .number($0) } ?? .text(y.value))) }
            }
            docs.append(AggDocument(key: hit.key, docId: hit.docId, yielded: yielded, fields: fields))
        }
        return docs
    }

    /// RESP2 `[total, [k, v, ...], ...]`; RESP3 `{attributes, total_results, format, results, warning}`.
    /// `profileFollows`: FT.PROFILE adds a `profile` entry to the RESP3 map (RESP2 wraps both in an array).
    func writeAggregateChunk(_ chunk: AggregateChunk, to client: Client, profileFollows: Bool = false, warnings: [String] = []) {
        let r = client
        if r.protocolVersion >= 3 {
            r.reply.map(profileFollows ? 6 : 5)
            r.reply.simpleString("attributes"); r.reply.array(0)
            r.reply.simpleString("total_results"); r.reply.integer(chunk.total)
            r.reply.simpleString("format"); r.reply.simpleString("STRING")
            r.reply.simpleString("results"); r.reply.array(chunk.rows.count)
            for row in chunk.rows {
                r.reply.map(2)
                r.reply.simpleString("extra_attributes")
                r.reply.map(row.count)
                for (k, v) in row { r.reply.bulk(k); writeAggValue(v, to: r) }
                r.reply.simpleString("values"); r.reply.array(0)
            }
            r.reply.simpleString("warning")
            let all = warnings + (chunk.warning.map { [$0] } ?? [])
            r.reply.array(all.count)
            for w in all { r.reply.simpleString(w) }
            return
        }
        r.reply.array(1 + chunk.rows.count)
        r.reply.integer(chunk.total)
        for row in chunk.rows {
            r.reply.array(row.count * 2)
            for (k, v) in row { r.reply.bulk(k); writeAggValue(v, to: r) }
        }
    }

    func writeAggValue(_ v: AggValue, to r: Client) {
        switch v {
        case .null: r.reply.null()
        case .number(let d): r.reply.bulk(AggValue.formatNumber(d))
        case .string(let b): r.reply.bulk(b)
        case .array(let items):
            r.reply.array(items.count)
            for i in items { writeAggValue(i, to: r) }
        }
    }

    // MARK: FT.CURSOR

    func ftCursor(_ ctx: CommandContext) throws(CommandError) {
        let args = ctx.args
        guard args.count >= 4 else { throw .wrongArity("FT.CURSOR") }
        guard let id = Bytes.parseInteger(args[3]) else { throw CommandError("Bad cursor ID") }
        if args.is(1, "DEL") {
            guard AggregateCursorTable.shared.remove(id, server: self) else { throw CommandError("Cursor does not exist") }
            ctx.client.reply.ok()
            return
        }
        if args.is(1, "GC") { ctx.client.reply.integer(0); return }
        guard args.is(1, "READ") else { throw CommandError("Unknown subcommand") }
        var count: Int?
        if args.count >= 6 && args.is(4, "COUNT") {
            guard let n = Bytes.parseInteger(args[5]), n >= 0 else { throw CommandError("Bad value for COUNT") }
            count = n
        }
        guard var cursor = AggregateCursorTable.shared.take(id, server: self) else {
            throw CommandError("Cursor not found")
        }
        let chunk: AggregateChunk
        do throws(AggregateError) { chunk = try cursor.pipeline.chunk(limit: count ?? cursor.count) } catch {
            _ = AggregateCursorTable.shared.remove(id, server: self)
            throw CommandError(error.message)
        }
        let done = cursor.pipeline.exhausted
        cursor.lastUsedMs = wallClockMilliseconds()
        AggregateCursorTable.shared.put(id, done ? nil : cursor, server: self)
        ctx.client.reply.array(2)
        writeAggregateChunk(chunk, to: ctx.client)
        ctx.client.reply.integer(done ? 0 : id)
    }

    // MARK: FT.PROFILE (basic)

    /// `FT.PROFILE idx SEARCH|AGGREGATE [LIMITED] QUERY q ...`: the command's reply plus a simple profile section.
    func ftProfile(_ ctx: CommandContext) throws(CommandError) {
        let args = ctx.args
        guard args.count >= 5 else { throw .wrongArity("FT.PROFILE") }
        var i = 3
        if args.is(i, "LIMITED") { i += 1 }
        guard i < args.count, args.is(i, "QUERY") else { throw CommandError("The QUERY keyword is expected") }
        guard i + 1 < args.count else { throw .wrongArity("FT.PROFILE") }
        let isSearch = args.is(2, "SEARCH")
        guard isSearch || args.is(2, "AGGREGATE") else { throw CommandError("No `SEARCH` or `AGGREGATE` provided") }
        var argv: [[UInt8]] = [Array((isSearch ? "FT.SEARCH" : "FT.AGGREGATE").utf8), Array(args[1])]
        for j in (i + 1)..<args.count { argv.append(Array(args[j])) }
        if isSearch {
            // FT.SEARCH answers asynchronously when it runs on workers; the profile wrapper needs its reply inline.
            guard config.int("search-workers") == 0, ctx.client.protocolVersion < 3 else { throw CommandError("FT.PROFILE SEARCH is not supported; use FT.PROFILE AGGREGATE") }
            let inner = detachedClient(protocolVersion: 2)
            execute(argv.map { Bytes($0) }, on: inner)
            if inner.reply.buffer.first == UInt8(ascii: "-") { ctx.client.reply.raw(inner.reply.buffer); return }
            ctx.client.reply.array(2)
            ctx.client.reply.raw(inner.reply.buffer)
            writeProfile(iterator: "WILDCARD", reads: 0, to: ctx.client)
            return
        }
        try ftAggregate(ctx, profile: true, argv: argv)
    }

    /// The profile section with RediSearch's keys; times are reported as 0 (as Redis Stack prints them by default).
    func writeProfile(iterator: String, reads: Int, to client: Client) {
        let r = client
        let resp3 = r.protocolVersion >= 3
        func entry(_ name: String, _ body: () -> Void) {
            if resp3 { r.reply.simpleString(name) } else { r.reply.array(2); r.reply.simpleString(name) }
            body()
        }
        func time() { if resp3 { r.reply.double(0) } else { r.reply.bulk("0") } }
        func processor(_ type: String, _ counter: Int) {
            r.reply.map(3)
            r.reply.simpleString("Type"); r.reply.simpleString(type)
            r.reply.simpleString("Time"); time()
            r.reply.simpleString("Counter"); r.reply.integer(counter)
        }
        if resp3 { r.reply.simpleString("profile"); r.reply.map(6) } else { r.reply.array(6) }
        entry("Total profile time", time)
        entry("Parsing time", time)
        entry("Pipeline creation time", time)
        if resp3 { r.reply.simpleString("Warning"); r.reply.simpleString("None") } else { r.reply.array(1); r.reply.simpleString("Warning") }
        if resp3 { r.reply.simpleString("Iterators profile"); r.reply.array(1) } else { r.reply.array(2); r.reply.simpleString("Iterators profile") }
        processor(iterator, reads)
        if resp3 { r.reply.simpleString("Result processors profile"); r.reply.array(1) } else { r.reply.array(2); r.reply.simpleString("Result processors profile") }
        processor("Index", reads)
    }
}

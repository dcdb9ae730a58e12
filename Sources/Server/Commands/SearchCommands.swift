// FT.* commands: argument parsing and reply shaping for the Search module; queries run inline or on worker threads.
import CLibUV
import Dispatch
import RESP
import Keyspace
import Search
import Cluster

/// RediSearch 2.10.5's module version, reported in INFO modules / HELLO / MODULE LIST.
let searchModuleVersion = 21005

/// How FT.SEARCH replies are shaped (everything not needed by the executor).
struct SearchReplyOptions: Sendable {
    var noContent = false
    var withScores = false
    var withSortKeys = false
    /// nil: all fields; empty: ids only (RETURN 0). `source` is the hash field behind an attribute name.
    var returnFields: [(name: String, source: String, alias: String)]?
    var sortField: String?
    var countOnly = false
    /// RETURN names that are NUMERIC attributes: printed as numbers (`1e2` -> `100`), as RediSearch does.
    var numericFields: Set<String> = []
    /// SORTBY names a SORTABLE TEXT or TAG field without UNF: RediSearch sorts on its lowercased value.
    var foldSortKey = false
    /// WITHSORTKEYS: the hash field behind the SORTBY attribute, and whether it is NUMERIC.
    var sortSource: String?
    var sortNumeric = false
}

/// FT.SEARCH arguments, parsed and checked against the index (the same on a single node, a coordinator and a shard).
struct ParsedSearch: @unchecked Sendable {
    let index: SearchIndex
    var request: SearchRequest
    var options: SearchReplyOptions
    /// TIMEOUT argument (ms; 0: none); nil: FT.CONFIG TIMEOUT.
    var timeoutMilliseconds: Int?
}

extension Server {
    func searchCommands() -> [CommandSpec] {
        func ft(_ name: String, flags: String, keys: KeyPositions, _ handler: @escaping CommandHandler) -> CommandSpec {
            CommandSpec(name, arity: -1, flags: flags.split(separator: " ").map(String.init) + ["module"], categories: ["search"],
                        keys: keys, keySpecFlags: [], group: "module", since: "1.0.0", summary: "RediSearch command",
                        routesByKeys: false, handler: handler)
        }
        let indexKey = KeyPositions.single
        return [
            ft("FT.CREATE", flags: "write denyoom", keys: indexKey) { ctx throws(CommandError) in
                guard ctx.args.count >= 3 else { throw .wrongArity("FT.CREATE") }
                let args = (1..<ctx.args.count).map { ctx.args.string($0) }
                do throws(QueryError) {
                    let definition = try CreateParser.parse(args)
                    try ctx.server.search.create(definition)
                } catch { throw CommandError(error.message) }
                ctx.server.scheduleBackfill()
                ctx.client.reply.ok()
            },
            ft("FT.DROPINDEX", flags: "write", keys: indexKey) { ctx throws(CommandError) in
                guard ctx.args.count == 2 || ctx.args.count == 3 else { throw .wrongArity("FT.DROPINDEX") }
                do throws(QueryError) { try ctx.server.search.drop(ctx.args.string(1), deleteDocuments: ctx.args.count == 3 && ctx.args.is(2, "DD")) } catch { throw CommandError(error.message) }
                ctx.client.reply.ok()
            },
            ft("FT._LIST", flags: "readonly", keys: .none) { ctx in
                ctx.client.reply.set(ctx.server.search.order.count)
                for name in ctx.server.search.order { ctx.client.reply.simpleString(name) }
            },
            ft("FT.INFO", flags: "readonly", keys: indexKey) { ctx throws(CommandError) in
                guard ctx.args.count == 2 else { throw .wrongArity("FT.INFO") }
                guard let index = ctx.server.search.index(named: ctx.args.string(1)) else { throw CommandError("Unknown index name") }
                SearchInfoWriter.write(index, into: &ctx.client.reply)
            },
            ft("FT.SEARCH", flags: "readonly", keys: indexKey) { ctx throws(CommandError) in
                try ctx.server.ftSearch(ctx)
            },
            ft("FT.TAGVALS", flags: "readonly", keys: indexKey) { ctx throws(CommandError) in
                guard ctx.args.count == 3 else { throw .wrongArity("FT.TAGVALS") }
                guard let index = ctx.server.search.index(named: ctx.args.string(1)) else { throw CommandError("Unknown Index name") }
                guard let values = index.tagValues(field: ctx.args.string(2)) else {
                    throw CommandError(index.definition.field(attribute: ctx.args.string(2)) == nil ? "No such field" : "Not a tag field")
                }
                ctx.client.reply.set(values.count)
                for v in values { ctx.client.reply.bulk(v.storage) }
            },
            ft("FT.ALTER", flags: "write", keys: indexKey) { ctx throws(CommandError) in
                var i = 2
                var skip = false
                if i < ctx.args.count && ctx.args.is(i, "SKIPINITIALSCAN") { skip = true; i += 1 }
                guard i + 2 < ctx.args.count, ctx.args.is(i, "SCHEMA"), ctx.args.is(i + 1, "ADD") else { throw .wrongArity("FT.ALTER") }
                var j = 0
                let rest = ((i + 2)..<ctx.args.count).map { ctx.args.string($0) }
                do throws(QueryError) {
                    let fields = try CreateParser.parseFields(rest, from: &j)
                    try ctx.server.search.alter(ctx.args.string(1), adding: fields, skipInitialScan: skip)
                } catch { throw CommandError(error.message) }
                ctx.server.scheduleBackfill()
                ctx.client.reply.ok()
            },
            ft("FT.ALIASADD", flags: "readonly", keys: KeyPositions(first: 1, last: 2, step: 1)) { ctx throws(CommandError) in
                guard ctx.args.count == 3 else { throw .wrongArity("FT.ALIASADD") }
                do throws(QueryError) { try ctx.server.search.addAlias(ctx.args.string(1), to: ctx.args.string(2), replace: false) } catch { throw CommandError(error.message) }
                ctx.client.reply.ok()
            },
            ft("FT.ALIASUPDATE", flags: "readonly", keys: KeyPositions(first: 1, last: 2, step: 1)) { ctx throws(CommandError) in
                guard ctx.args.count == 3 else { throw .wrongArity("FT.ALIASUPDATE") }
                do throws(QueryError) { try ctx.server.search.addAlias(ctx.args.string(1), to: ctx.args.string(2), replace: true) } catch { throw CommandError(error.message) }
                ctx.client.reply.ok()
            },
            ft("FT.ALIASDEL", flags: "readonly", keys: indexKey) { ctx throws(CommandError) in
                guard ctx.args.count == 2 else { throw .wrongArity("FT.ALIASDEL") }
                do throws(QueryError) { try ctx.server.search.deleteAlias(ctx.args.string(1)) } catch { throw CommandError(error.message) }
                ctx.client.reply.ok()
            },
            ft("FT.CONFIG", flags: "readonly", keys: .none) { ctx throws(CommandError) in
                guard ctx.args.count >= 3 else { throw .wrongArity("FT.CONFIG") }
                if ctx.args.is(1, "GET") {
                    let pattern = ctx.args.string(2).uppercased()
                    let matches = ctx.server.search.config.values.filter { pattern == "*" || $0.name == pattern }
                    if ctx.client.protocolVersion >= 3 {
                        ctx.client.reply.map(matches.count)
                        for m in matches { ctx.client.reply.simpleString(m.name); ctx.client.reply.bulk(m.value) }
                    } else {
                        ctx.client.reply.array(matches.count)
                        for m in matches { ctx.client.reply.array(2); ctx.client.reply.simpleString(m.name); ctx.client.reply.bulk(m.value) }
                    }
                } else if ctx.args.is(1, "SET") {
                    guard ctx.args.count == 4 else { throw .wrongArity("FT.CONFIG") }
                    let name = ctx.args.string(2).uppercased()
                    guard ctx.server.search.config[name] != nil else { throw CommandError("Invalid option") }
                    let value = ctx.args.string(3)
                    if SearchConfig.positiveIntegers.contains(name) {
                        // Queries read these: RediSearch's checks, so a bad value never reaches them.
                        guard let n = Int64(value) else { throw CommandError("Could not convert argument to expected type") }
                        guard n >= 1 else { throw CommandError("Value is outside acceptable bounds") }
                    }
                    ctx.server.search.config[name] = value
                    ctx.client.reply.ok()
                } else if ctx.args.is(1, "HELP") {
                    ctx.client.reply.array(0)
                } else {
                    throw CommandError("No such configuration action")
                }
            },
            ft("FT.EXPLAIN", flags: "readonly", keys: indexKey) { ctx throws(CommandError) in
                let text = try ctx.server.ftExplain(ctx)
                ctx.client.reply.bulk(text)
            },
            ft("FT.EXPLAINCLI", flags: "readonly", keys: indexKey) { ctx throws(CommandError) in
                let text = try ctx.server.ftExplain(ctx)
                // RediSearch keeps the empty element after the final newline.
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                ctx.client.reply.array(lines.count)
                for l in lines { ctx.client.reply.simpleString(l) }
            },
            ft("FT.ADD", flags: "write denyoom", keys: KeyPositions(first: 1, last: 2, step: 1)) { ctx throws(CommandError) in
                try ctx.server.ftAdd(ctx)
            },
            // Ours: pre-loads tiered vector fields' pages into their buffer pools. This node only, also in a cluster.
            ft("FT.WARMUP", flags: "readonly", keys: .none) { ctx throws(CommandError) in
                try ctx.server.ftWarmUp(ctx)
            },
        ]
    }

    /// `FT.WARMUP idx [pages]`: reads up to `pages` (default 1024) pages of each segment of the index's tiered
    /// vector fields into their pools; replies the pages read (0 for an index without tiered fields). SSD reads run
    /// on a worker thread, never on the loop.
    func ftWarmUp(_ ctx: CommandContext) throws(CommandError) {
        guard ctx.args.count == 2 || ctx.args.count == 3 else { throw .wrongArity("FT.WARMUP") }
        guard let index = search.index(named: ctx.args.string(1)) else { throw CommandError("Unknown index name") }
        let pages = ctx.args.count == 3 ? try ctx.args.integer(2) : 1024
        guard pages > 0 else { throw CommandError("ERR value is out of range, must be positive") }
        if ctx.client.denyBlocking {  // inside EXEC: read here and answer now
            do { ctx.client.reply.integer(try index.warmUp(pages: pages)) } catch {
                throw CommandError("ERR warm-up failed: \(error)")
            }
            return
        }
        let clientID = ctx.client.id
        let mailbox = self.mailbox
        DispatchQueue.global().async {
            let result: Result<Int, CommandError>
            do { result = .success(try index.warmUp(pages: pages)) } catch {
                result = .failure(CommandError("ERR warm-up failed: \(error)"))
            }
            mailbox.post { server in
                guard let client = server.client(id: clientID) else { return }
                switch result {
                case .success(let n): client.reply.integer(n)
                case .failure(let e): server.replyError(client, e)
                }
                server.unblock(clientID: clientID) { _ in }
            }
        }
        block(ctx.client)
    }

    /// Runs pending FT.CREATE / FT.ALTER scans in slices between client requests.
    func scheduleBackfill() {
        guard search.hasPendingBackfill else { return }
        post { server in
            if server.search.backfillStep() { server.scheduleBackfill() }
        }
    }

    /// Legacy `FT.ADD idx doc score [REPLACE [PARTIAL]] [LANGUAGE l] [PAYLOAD p] FIELDS f v ...` = HSET doc f v ...
    func ftAdd(_ ctx: CommandContext) throws(CommandError) {
        let args = ctx.args
        guard args.count >= 6 else { throw .wrongArity("FT.ADD") }
        guard search.index(named: args.string(1)) != nil else { throw CommandError("Unknown index name") }
        var i = 4
        var replace = false
        while i < args.count && !args.is(i, "FIELDS") {
            if args.is(i, "REPLACE") || args.is(i, "PARTIAL") || args.is(i, "NOCREATE") { replace = true; i += 1 }
            else if args.is(i, "LANGUAGE") || args.is(i, "PAYLOAD") || args.is(i, "IF") { i += 2 }
            else { throw CommandError("Unknown keyword `\(args.string(i))` provided") }
        }
        guard i < args.count, (args.count - i - 1) % 2 == 0, args.count - i - 1 > 0 else { throw CommandError("Fields must be specified") }
        let key = args.bytes(2)
        if !replace && database.exists(key) { throw CommandError("Document already exists") }
        let limits = database.hashLimits
        let result = database.updateHash(key, create: true) { hash in
            for j in stride(from: i + 1, to: args.count, by: 2) { hash.set(args.bytes(j), args.bytes(j + 1), limits: limits) }
        }
        if case .failure? = result { throw .wrongType }
        ctx.client.reply.ok()
    }

    /// FT.EXPLAIN idx query [DIALECT d] [PARAMS n k v ...] [VERBATIM]
    func ftExplain(_ ctx: CommandContext) throws(CommandError) -> String {
        let args = ctx.args
        guard args.count >= 3 else { throw .wrongArity(args.string(0).uppercased()) }
        guard let index = search.index(named: args.string(1)) else { throw CommandError("\(args.string(1)): no such index") }
        var params: [String: [UInt8]] = [:]
        var verbatim = false
        var dialect = search.config.defaultDialect
        var i = 3
        while i < args.count {
            if args.is(i, "VERBATIM") { verbatim = true; i += 1 }
            else if args.is(i, "DIALECT"), i + 1 < args.count, let d = Bytes.parseInteger(args[i + 1]) { dialect = d; i += 2 }
            else if args.is(i, "PARAMS"), i + 1 < args.count, let n = Bytes.parseInteger(args[i + 1]), n >= 0, n % 2 == 0, n < args.count - i - 1 {
                for j in stride(from: i + 2, to: i + 2 + n, by: 2) { params[args.string(j)] = Array(args[j + 1]) }
                i += 2 + n
            } else { throw CommandError("Unknown argument `\(args.string(i))` at position \(i - 3) for <main>") }
        }
        let def = index.definition
        var textFields: [String] = []
        var caseSensitive: Set<String> = []
        var vectors: [String: QueryExplain.VectorAlgorithm] = [:]
        for f in def.fields {
            switch f.kind {
            case .text: textFields.append(f.attribute)
            case .tag(_, let cs): if cs { caseSensitive.insert(f.attribute) }
            case .vector(let p): vectors[f.attribute] = p.algorithm == .hnsw ? .hnsw : .flat
            case .numeric, .geo: break
            }
        }
        do throws(QueryError) {
            return try QueryExplain.explain(Array(args[2]), params: params, textFields: textFields, caseSensitiveTags: caseSensitive,
                                            vectorFields: vectors, stopwords: index.stopwords, verbatim: verbatim, dialect: dialect)
        } catch { throw CommandError(error.message) }
    }

    // MARK: FT.SEARCH

    /// The `$YIELD_DISTANCE_AS` names of the VECTOR_RANGE clauses in a query (usable in SORTBY / RETURN).
    static func rangeYields(_ node: QueryNode) -> [String] {
        switch node {
        case .vectorRange(let c): return c.yieldDistanceAs.map { [$0] } ?? []
        case .not(let n), .optional(let n): return rangeYields(n)
        case .union(let ns), .intersection(let ns), .proximity(let ns, _, _): return ns.flatMap { rangeYields($0) }
        default: return []
        }
    }

    /// A NUMERIC value as RediSearch prints a loaded number: integers as `%lld`, others `%.12g`; unparsable as is.
    static func numericText(_ raw: Bytes) -> Bytes {
        guard let d = Double(String(decoding: raw.storage, as: UTF8.self)) else { return raw }
        if d == d.rounded(), abs(d) < 9.2e18 { return Bytes(String(Int64(d))) }
        return Bytes(formatG(d, precision: 12))
    }

    /// Whether the next search runs on the loop thread instead of a worker. The loop thread is one of the search
    /// executors and a hand-off costs two cross-thread wake-ups (measured on pypi-minilm-50k at ef 40: ~80 µs of server
    /// CPU per query with one client, ~16 µs per query averaged over two), so a search goes to a worker only when
    /// another can run here meanwhile:
    /// - fewer than `search-workers - 1` are on workers (with the default 2, one runs on a worker while the next runs
    ///   here, and both cores work; `search-workers 0` runs all inline);
    /// - searches came from more than one client lately (`SearchOverlapTracker`): a lone client's never overlap.
    /// `clientID` nil skips the second rule (the coordinator's local part must not hold up its fan-out).
    /// Searches that took at most this long last time run on the loop (see `executeSearch`).
    static let cheapSearchMicros = 80

    func searchRunsInline(clientID: Int?) -> Bool {
        // Every search is noted, including those that run inline anyway, or a busy worker would hide the switches.
        let overlap = clientID.map { searchOverlap.note(client: $0, now: uv_now(loop)) } ?? true
        return searchWorkers == 0 || searchesOnWorkers >= max(1, searchWorkers - 1) || !overlap
    }

    /// Runs a search where `searchRunsInline` says: on the loop thread, returning its outcome, or on a worker,
    /// returning nil and handing the result to `later` on the loop thread. Keeps `searchesOnWorkers` for the policy.
    func executeSearch(_ index: SearchIndex, _ request: SearchRequest, clientID: Int?,
                       later: @escaping (Server, Result<SearchOutcome, QueryError>) -> Void) throws(QueryError) -> SearchOutcome? {
        // A query shape that ran in under `cheapSearchMicros` last time runs here too: its hand-off would cost as
        // much as the search (`QueryCostMemory`). A tiered index waits on page reads: that must not stall the loop,
        // whatever the worker count or the cost says.
        let byPolicy = searchRunsInline(clientID: clientID)
        let cheap = clientID != nil && (index.recentMicros(request).map { $0 <= Self.cheapSearchMicros } ?? false)
        if (byPolicy || cheap) && (searchWorkers == 0 || !index.readsFromSSD) { return try index.execute(request) }
        // Inside EXEC the reply must come now: the loop waits for the pages, as Redis runs a transaction's commands.
        if let clientID, clients[clientID]?.denyBlocking == true { return try index.execute(request) }
        let back = LoopBound(value: later)
        let mailbox = self.mailbox
        searchesOnWorkers += 1
        DispatchQueue.global().async {
            let result: Result<SearchOutcome, QueryError>
            do throws(QueryError) { result = .success(try index.execute(request)) } catch { result = .failure(error) }
            mailbox.post { server in
                server.searchesOnWorkers -= 1
                back.value(server, result)
            }
        }
        return nil
    }

    func ftSearch(_ ctx: CommandContext) throws(CommandError) {
        let parsed = try parseSearch(ctx.args)
        let request = parsed.request, shaping = parsed.options
        let clientID = ctx.client.id
        let inline: SearchOutcome?
        do throws(QueryError) {
            inline = try executeSearch(parsed.index, request, clientID: clientID) { server, result in
                guard let client = server.client(id: clientID) else { return }
                switch result {
                case .success(let outcome): server.writeSearchReply(outcome, request: request, options: shaping, to: client)
                case .failure(let e): server.replyError(client, CommandError(e.message))
                }
                server.unblock(clientID: clientID) { _ in }
            }
        } catch { throw CommandError(error.message) }
        if let inline {
            writeSearchReply(inline, request: request, options: shaping, to: ctx.client)
        } else {
            block(ctx.client)  // the worker's answer reaches the loop only after this handler returns
        }
    }

    /// Parses FT.SEARCH's arguments (args[0] is the command name) and checks them against the index.
    func parseSearch(_ args: Arguments) throws(CommandError) -> ParsedSearch {
        if args.count == 2 { throw CommandError("No query string provided") }
        guard args.count >= 3 else { throw .wrongArity("FT.SEARCH") }
        let indexName = args.string(1)
        guard let index = search.index(named: indexName) else { throw CommandError("\(indexName): no such index") }
        var options = SearchReplyOptions()
        var params: [String: [UInt8]] = [:]
        var givenDialect: Int?  // FT.CONFIG's default is looked up only without DIALECT (a linear search of the config)
        var verbatim = false
        var inKeys: [Bytes]?
        var sortBy: (String, SortOrder)?
        var offset = 0, limit = 10
        var timeout: Int?
        var scorer = TextScorer.tfidf
        var numericFilters: [GlobalFilter] = [], geoFilters: [GlobalFilter] = []
        var scope = QueryScope()
        var i = 3
        func count(_ name: String) throws(CommandError) -> Int {
            guard i + 1 < args.count, let n = Bytes.parseInteger(args[i + 1]) else {
                throw CommandError("Bad arguments for \(name): Could not convert argument to expected type")
            }
            if let problem = argumentCountProblem(n, available: args.count - i - 2) { throw CommandError("Bad arguments for \(name): \(problem)") }
            return n
        }
        while i < args.count {
            if args.is(i, "NOCONTENT") { options.noContent = true; i += 1 }
            else if args.is(i, "VERBATIM") { verbatim = true; i += 1 }
            else if args.is(i, "WITHSCORES") { options.withScores = true; i += 1 }
            else if args.is(i, "WITHSORTKEYS") { options.withSortKeys = true; i += 1 }
            else if args.is(i, "INORDER") { scope.inOrder = true; i += 1 }
            else if args.is(i, "NOSTOPWORDS") || args.is(i, "WITHPAYLOADS") || args.is(i, "EXPLAINSCORE") { i += 1 }
            else if args.is(i, "LIMIT") {
                guard i + 2 < args.count else { throw CommandError("LIMIT requires two arguments") }
                // RediSearch reads LLONG_MAX as an overflow, and bounds both by MAXSEARCHRESULTS (an offset only
                // when rows are asked for).
                guard let o = Bytes.parseInteger(args[i + 1]), let n = Bytes.parseInteger(args[i + 2]), o >= 0, n >= 0,
                      o != .max, n != .max else {
                    throw CommandError("LIMIT needs two numeric arguments")
                }
                let maximum = search.config.maxSearchResults
                if n > maximum { throw CommandError("LIMIT exceeds maximum of \(maximum)") }
                if n > 0 && o > maximum { throw CommandError("OFFSET exceeds maximum of \(maximum)") }
                offset = o; limit = n; i += 3
            } else if args.is(i, "SORTBY") {
                guard i + 1 < args.count else { throw CommandError("Bad SORTBY arguments") }
                var field = args.string(i + 1)
                if field.hasPrefix("@") { field.removeFirst() }
                var order = SortOrder.ascending
                i += 2
                if i < args.count && args.is(i, "ASC") { i += 1 } else if i < args.count && args.is(i, "DESC") { order = .descending; i += 1 }
                if i < args.count && args.is(i, "WITHCOUNT") { i += 1 }
                sortBy = (field, order)
            } else if args.is(i, "RETURN") {
                let n = try count("RETURN")
                var fields: [(String, String, String)] = []
                var j = i + 2
                while j < i + 2 + n {
                    var name = args.string(j)
                    if name.hasPrefix("@") { name.removeFirst() }
                    let field = index.definition.field(attribute: name)
                    let source = field?.identifier ?? name
                    if case .numeric? = field?.kind { options.numericFields.insert(name) }
                    if j + 1 <= i + 1 + n && args.is(j + 1, "AS") {
                        guard j + 2 <= i + 1 + n else { throw CommandError("RETURN path AS name - must be accompanied with NAME") }
                        fields.append((name, source, args.string(j + 2))); j += 3
                    } else { fields.append((name, source, name)); j += 1 }
                }
                options.returnFields = fields
                i += 2 + n
            } else if args.is(i, "PARAMS") {
                let n = try count("PARAMS")
                guard n % 2 == 0 else { throw CommandError("Parameters must be specified in PARAM VALUE pairs") }
                for j in stride(from: i + 2, to: i + 2 + n, by: 2) { params[args.string(j)] = Array(args[j + 1]) }
                i += 2 + n
            } else if args.is(i, "DIALECT") {
                guard i + 1 < args.count, let d = Bytes.parseInteger(args[i + 1]) else { throw CommandError("Need an argument for DIALECT") }
                guard d >= 1 && d <= 4 else { throw CommandError("DIALECT requires a non negative integer >=1 and <= 4") }
                givenDialect = d; i += 2
            } else if args.is(i, "TIMEOUT") {
                guard i + 1 < args.count else { throw CommandError("Need an argument for TIMEOUT") }
                guard let t = Bytes.parseInteger(args[i + 1]), t >= 0 else { throw CommandError("TIMEOUT requires a non negative integer") }
                timeout = t
                i += 2
            } else if args.is(i, "INKEYS") {
                let n = try count("INKEYS")
                inKeys = ((i + 2)..<(i + 2 + n)).map { args.bytes($0) }
                i += 2 + n
            } else if args.is(i, "INFIELDS") {
                let n = try count("INFIELDS")
                scope.textFields = ((i + 2)..<(i + 2 + n)).map { args.string($0) }
                i += 2 + n
            } else if args.is(i, "SCORER") {
                guard i + 1 < args.count else { throw CommandError("Bad arguments for SCORER: Expected an argument, but none provided") }
                do throws(QueryError) { scorer = try TextScorer.named(args.string(i + 1)) } catch { throw CommandError(error.message) }
                i += 2
            } else if args.is(i, "SLOP") {
                guard i + 1 < args.count else { throw CommandError("Bad arguments for SLOP: Expected an argument, but none provided") }
                switch NumberParsing.coalescedInt32(Array(args[i + 1])) {
                case .success(let n): scope.slop = n
                case .failure(let e): throw CommandError("Bad arguments for SLOP: \(e.message)")
                }
                i += 2
            } else if args.is(i, "LANGUAGE") || args.is(i, "EXPANDER") || args.is(i, "PAYLOAD") {
                guard i + 1 < args.count else { throw CommandError("Bad arguments for \(args.string(i)): Expected an argument, but none provided") }
                i += 2
            } else if args.is(i, "FILTER") {
                guard i + 3 < args.count else { throw CommandError("FILTER requires 3 arguments") }
                do throws(QueryError) {
                    numericFilters.append(try GlobalFilter.numeric(field: args.string(i + 1), min: Array(args[i + 2]), max: Array(args[i + 3])))
                } catch { throw CommandError(error.message) }
                i += 4
            } else if args.is(i, "GEOFILTER") {
                geoFilters.append(try parseGeoFilter(args, at: i + 1))
                i += 6
            } else {
                throw CommandError("Unknown argument `\(args.string(i))` at position \(i - 2) for <main>")
            }
        }
        let dialect = givenDialect ?? search.config.defaultDialect
        let parsed: ParsedQuery
        do throws(QueryError) { parsed = try index.parseQuery(Array(args[2]), params: params, dialect: dialect) } catch { throw CommandError(error.message) }
        var query = parsed
        // RediSearch applies the numeric filters, then the geo ones, each leading the query's intersection.
        scope.filters = numericFilters + geoFilters
        do throws(QueryError) {
            for case .geo(let g) in geoFilters { try g.validate() }
            try query.apply(scope)
        } catch { throw CommandError(error.message) }
        var request = SearchRequest(query: query)
        request.verbatim = verbatim
        request.prefixExpansion = search.config.prefixExpansions
        request.inKeys = inKeys
        request.sortBy = sortBy.map { (field: $0.0, order: $0.1) }
        request.offset = offset
        request.limit = limit
        request.dialect = dialect
        request.scorer = scorer
        request.withScores = options.withScores
        options.sortField = sortBy?.0
        if let f = sortBy.flatMap({ index.definition.field(attribute: $0.0) }), f.sortable, !f.unf {
            switch f.kind { case .text, .tag: options.foldSortKey = true; default: break }
        }
        if let sortBy {
            let f = index.definition.field(attribute: sortBy.0)
            options.sortSource = f?.identifier ?? sortBy.0
            if case .numeric? = f?.kind { options.sortNumeric = true }
        }
        options.countOnly = limit == 0
        if let sortBy, parsed.knn?.scoreField != sortBy.0, !Self.rangeYields(parsed.filter).contains(sortBy.0),
           index.definition.field(attribute: sortBy.0) == nil {
            throw CommandError("Property `\(sortBy.0)` not loaded nor in schema")
        }
        return ParsedSearch(index: index, request: request, options: options, timeoutMilliseconds: timeout)
    }

    /// `GEOFILTER field lon lat radius unit` from `args[start]`, with GeoFilter_Parse's errors (GeoFilter_Validate's
    /// come once the query parsed).
    func parseGeoFilter(_ args: Arguments, at start: Int) throws(CommandError) -> GlobalFilter {
        guard start + 4 < args.count else { throw CommandError("GEOFILTER requires 5 arguments") }
        var numbers: [Double] = []
        for (offset, name) in ["<lon>", "<lat>", "<radius>"].enumerated() {
            // AC_GetDouble: strtod over the whole argument, ±HUGE_VAL refused (NaN, "" and hex pass).
            guard let (d, _) = NumberParsing.wholeStrtod(Array(args[start + 1 + offset])), !d.isInfinite else {
                throw CommandError("Bad arguments for \(name): Could not convert argument to expected type")
            }
            numbers.append(d)
        }
        let unitName = args.string(start + 4)
        guard let unit = GeoUnit(name: unitName) else { throw CommandError("Unknown distance unit \(unitName)") }
        return .geo(GeoFilter(field: args.string(start), longitude: numbers[0], latitude: numbers[1], radius: numbers[2], unit: unit))
    }

    /// Loads each hit's fields from the keyspace (content lives only there) and writes RESP2 or RESP3.
    func writeSearchReply(_ outcome: SearchOutcome, request: SearchRequest, options: SearchReplyOptions, to client: Client) {
        var hits = outcome.hits
        if let sort = outcome.sortInCaller {
            hits = sortedInCaller(hits, by: sort, fold: options.foldSortKey)
            let start = min(request.offset, hits.count)
            hits = Array(hits[start..<(start + min(hits.count - start, request.limit))])
        }
        guard Self.showsContent(options) && options.returnFields == nil else {
            writeSearchHits(total: outcome.total, hits: hits, options: options, to: &client.reply)
            return
        }
        // Every field of every document: their order depends on the whole page, so rows are built first.
        let rows = hits.map { hit in
            ShardHit(key: hit.key.storage, sortValue: options.withSortKeys ? sortKey(hit, options: options) : .missing, score: hit.score,
                     fields: loadFields(hit, options: options).map { ($0.0.storage, $0.1.storage) })
        }
        writeSearchRows(total: outcome.total, rows: Self.lookupOrdered(rows), options: options, warnings: [], to: &client.reply)
    }

    /// A returned value: a distance the query produced, or a document's field.
    enum ReturnedValue {
        case text(String)
        case bytes(Bytes)
    }

    /// `writeSearchRows` (no warnings) for this node's own hits when no content is shown or RETURN lists the fields:
    /// each hit is written as it is read from the keyspace, without `ShardHit` rows and their copies, which cost as
    /// much as the rest of the reply.
    func writeSearchHits(total: Int, hits: [SearchHit], options: SearchReplyOptions, to reply: inout ReplyWriter) {
        var results = LoadedHits(server: self, hits: hits, options: options)
        writeSearchEnvelope(total: total, results: &results, options: options, warnings: [], to: &reply)
    }

    /// This node's hits with their RETURN fields read from the keyspace one hit at a time.
    struct LoadedHits: SearchResults {
        let server: Server
        let hits: [SearchHit]
        let options: SearchReplyOptions
        let wanted: [(name: String, source: String, alias: String)]
        let sources: [Bytes]
        let aliases: [[UInt8]]
        let numeric: [Bool]
        var values: [ReturnedValue?]

        init(server: Server, hits: [SearchHit], options: SearchReplyOptions) {
            self.server = server
            self.hits = hits
            self.options = options
            wanted = Server.showsContent(options) ? options.returnFields ?? [] : []
            sources = wanted.map { Bytes($0.source) }
            aliases = wanted.map { Array($0.alias.utf8) }
            numeric = wanted.map { options.numericFields.contains($0.name) }
            values = [ReturnedValue?](repeating: nil, count: wanted.count)
        }

        var count: Int { hits.count }
        func writeId(_ i: Int, to reply: inout ReplyWriter) { reply.bulk(hits[i].key) }
        func score(_ i: Int) -> Double { hits[i].score }
        func writeSortKey(_ i: Int, to reply: inout ReplyWriter) {
            Server.writeSortKey(server.sortKey(hits[i], options: options), options: options, to: &reply)
        }
        /// `loadFields` for a RETURN list; the document is looked up only for a field the query did not produce.
        mutating func loadContent(_ i: Int) -> Int {
            let hit = hits[i]
            var loaded: HashValue?? = nil
            var found = 0
            for (j, field) in wanted.enumerated() {
                values[j] = nil
                if let y = hit.yielded.first(where: { $0.name == field.name }) { values[j] = .text(y.value); found += 1; continue }
                if loaded == nil { loaded = .some({ if case .hash(let h)? = server.database.peek(hit.key) { return h }; return nil }()) }
                if let v = loaded!?[sources[j]] { values[j] = .bytes(numeric[j] ? Server.numericText(v) : v); found += 1 }
            }
            return found
        }
        func writeContent(to reply: inout ReplyWriter) {
            for (j, value) in values.enumerated() {
                switch value {
                case .text(let t)?: reply.bulk(aliases[j]); reply.bulk(t)
                case .bytes(let b)?: reply.bulk(aliases[j]); reply.bulk(b)
                case nil: break
                }
            }
        }
    }

    /// Hits sorted by a string field read from the documents (missing values last, then doc id).
    func sortedInCaller(_ hits: [SearchHit], by sort: (field: String, order: SortOrder), fold: Bool = false) -> [SearchHit] {
        let field = Bytes(sort.field)
        func value(_ h: SearchHit) -> Bytes? {
            if case .hash(let hv)? = database.peek(h.key) {
                return fold ? hv[field].map { Bytes($0.storage.map(Arguments.foldCase)) } : hv[field]
            }
            return nil
        }
        let keyed = hits.map { ($0, value($0)) }
        return keyed.sorted { a, b in
            switch (a.1, b.1) {
            case (nil, nil): return a.0.docId < b.0.docId
            case (nil, _): return false
            case (_, nil): return true
            case (let x?, let y?):
                if x == y { return sort.order == .ascending ? a.0.docId < b.0.docId : a.0.docId > b.0.docId }
                return sort.order == .ascending ? x < y : y < x
            }
        }.map { $0.0 }
    }

    /// Without RETURN, RediSearch prints every document of a page with its fields in the order the page first met
    /// them (its lookup keys: sort key and yielded distances first, then fields as documents are loaded in order).
    static func lookupOrdered(_ rows: [ShardHit]) -> [ShardHit] {
        var position: [[UInt8]: Int] = [:]
        for row in rows { for (f, _) in row.fields ?? [] where position[f] == nil { position[f] = position.count } }
        return rows.map { row in
            var row = row
            row.fields = row.fields?.sorted { position[$0.0]! < position[$1.0]! }
            return row
        }
    }

    /// WITHSORTKEYS value of a hit: the SORTBY attribute's value (a yielded distance, or the document's field).
    func sortKey(_ hit: SearchHit, options: SearchReplyOptions) -> ShardSortValue {
        guard let name = options.sortField, let source = options.sortSource else { return .missing }
        if let y = hit.yielded.first(where: { $0.name == name }) {
            if let d = hit.distance { return .number(Double(d)) }
            return Double(y.value).map { .number($0) } ?? .string(Array(y.value.utf8))
        }
        guard case .hash(let h)? = database.peek(hit.key), let v = h[Bytes(source)] else { return .missing }
        if options.sortNumeric { return Double(v.string).map { .number($0) } ?? .missing }
        return .string(v.storage)
    }

    /// RediSearch's sort key text: `#` + `%.17g` for numbers, `$` + the (normalised) string, nil without a value or
    /// without SORTBY.
    static func writeSortKey(_ value: ShardSortValue, options: SearchReplyOptions, to reply: inout ReplyWriter) {
        guard options.sortField != nil else { reply.null(); return }
        switch value {
        case .number(let d): reply.bulk("#" + formatG(d, precision: 17))
        case .string(let s):
            reply.bulk([UInt8(ascii: "$")] + (options.foldSortKey ? s.map(Arguments.foldCase) : s))
        case .missing: reply.null()
        }
    }

    static func showsContent(_ options: SearchReplyOptions) -> Bool {
        !options.noContent && !(options.returnFields?.isEmpty ?? false)
    }

    /// The fields FT.SEARCH returns for one hit: RETURN's (with yielded values), or every hash field (sort key first).
    func loadFields(_ hit: SearchHit, options: SearchReplyOptions) -> [(Bytes, Bytes)] {
        var fields: [(Bytes, Bytes)] = []
        // Looked up only when a returned field is not one the query produced (a score-only RETURN needs no keyspace).
        var loaded: HashValue?? = nil
        func document() -> HashValue? {
            if let loaded { return loaded }
            let h: HashValue? = { if case .hash(let h)? = database.peek(hit.key) { return h }; return nil }()
            loaded = .some(h)
            return h
        }
        if let wanted = options.returnFields {
            for (name, source, alias) in wanted {
                if let y = hit.yielded.first(where: { $0.name == name }) { fields.append((Bytes(alias), Bytes(y.value))); continue }
                if let v = document()?[Bytes(source)] { fields.append((Bytes(alias), options.numericFields.contains(name) ? Self.numericText(v) : v)) }
            }
        } else {
            for y in hit.yielded { fields.append((Bytes(y.name), Bytes(y.value))) }
            if let hash = document() {
                var rest: [(Bytes, Bytes)] = []
                let sortKey = options.sortField.map { Bytes($0) }
                hash.forEach { f, v in if f == sortKey { fields.append((f, v)) } else { rest.append((f, v)) } }
                fields.append(contentsOf: rest)
            }
        }
        return fields
    }

    /// FT.SEARCH's reply for rows already holding their fields (shard replies merged by the coordinator; every field
    /// of every document on a single node).
    func writeSearchRows(total: Int, rows: [ShardHit], options: SearchReplyOptions, warnings: [String], to reply: inout ReplyWriter) {
        var results = Rows(rows: rows, options: options)
        writeSearchEnvelope(total: total, results: &results, options: options, warnings: warnings, to: &reply)
    }

    struct Rows: SearchResults {
        let rows: [ShardHit]
        let options: SearchReplyOptions
        var count: Int { rows.count }
        func writeId(_ i: Int, to reply: inout ReplyWriter) { reply.bulk(rows[i].key) }
        func score(_ i: Int) -> Double { rows[i].score }
        func writeSortKey(_ i: Int, to reply: inout ReplyWriter) {
            Server.writeSortKey(rows[i].sortValue, options: options, to: &reply)
        }
        var current = 0
        mutating func loadContent(_ i: Int) -> Int { current = i; return rows[i].fields?.count ?? 0 }
        func writeContent(to reply: inout ReplyWriter) {
            for (f, v) in rows[current].fields ?? [] { reply.bulk(f); reply.bulk(v) }
        }
    }

    /// FT.SEARCH's reply shape, shared by a single node and the cluster coordinator: RESP2 flat list
    /// `[total, id, (score)?, (sortkey)?, ([f, v...])?, ...]`, RESP3 map with attributes / total_results / format /
    /// results / warning.
    func writeSearchEnvelope<R: SearchResults>(total: Int, results: inout R, options: SearchReplyOptions, warnings: [String],
                                               to reply: inout ReplyWriter) {
        let showContent = Self.showsContent(options)
        if reply.protocolVersion >= 3 {
            reply.map(5)
            reply.simpleString("attributes"); reply.array(0)
            reply.simpleString("total_results"); reply.integer(total)
            reply.simpleString("format"); reply.simpleString("STRING")
            reply.simpleString("results")
            reply.array(options.countOnly ? 0 : results.count)
            if !options.countOnly {
                for i in 0..<results.count {
                    reply.map(2 + (options.withScores ? 1 : 0) + (options.withSortKeys ? 1 : 0) + (showContent ? 1 : 0))
                    reply.simpleString("id"); results.writeId(i, to: &reply)
                    if options.withScores { reply.simpleString("score"); reply.double(results.score(i)) }
                    if options.withSortKeys { reply.simpleString("sortkey"); results.writeSortKey(i, to: &reply) }
                    if showContent {
                        let n = results.loadContent(i)
                        reply.simpleString("extra_attributes")
                        reply.map(n)
                        results.writeContent(to: &reply)
                    }
                    reply.simpleString("values"); reply.array(0)
                }
            }
            reply.simpleString("warning"); reply.array(warnings.count)
            for w in warnings { reply.simpleString(w) }
            return
        }
        if options.countOnly { reply.array(1); reply.integer(total); return }
        let stride = 1 + (options.withScores ? 1 : 0) + (options.withSortKeys ? 1 : 0) + (showContent ? 1 : 0)
        reply.array(1 + results.count * stride)
        reply.integer(total)
        for i in 0..<results.count {
            results.writeId(i, to: &reply)
            if options.withScores { reply.bulk(ReplyWriter.formatDouble(results.score(i))) }
            if options.withSortKeys { results.writeSortKey(i, to: &reply) }
            if showContent {
                reply.array(results.loadContent(i) * 2)
                results.writeContent(to: &reply)
            }
        }
    }

}

/// FT.SEARCH results as the reply envelope reads them: result `i`'s id, score and sort key, and its content fields
/// (`loadContent(i)` returns their count, then `writeContent` writes the pairs of that same result).
protocol SearchResults {
    var count: Int { get }
    func writeId(_ i: Int, to reply: inout ReplyWriter)
    func score(_ i: Int) -> Double
    func writeSortKey(_ i: Int, to reply: inout ReplyWriter)
    mutating func loadContent(_ i: Int) -> Int
    func writeContent(to reply: inout ReplyWriter)
}

// FT.* across a cluster: in cluster mode every node coordinates. Schema commands apply locally and are forwarded to
// every other node; FT.SEARCH / FT.AGGREGATE / FT.INFO / FT.TAGVALS fan out to every master (this node in-process) and
// merge. FT.AGGREGATE ... WITHCURSOR keeps the cursor on the coordinating node (FT.CURSOR reads it there, as redis-py
// does); FT.PROFILE stays local.
//
// Internal commands (node to node, RESP2, never sent by clients; names start with `_` like FT._LIST):
//   _FT.APPLY <FT.CREATE|FT.DROPINDEX|FT.ALTER|FT.ALIASADD|FT.ALIASUPDATE|FT.ALIASDEL|FT.CONFIG> <args...>
//        apply one schema command locally, without forwarding it; replies as the command does
//   _FT.SCHEMAS [<RESP-encoded argv of one of the caller's schema commands> ...]
//        creates here what the caller has and this node lacks, then replies with this node's schema (as it was
//        before the call) as commands to replay: [[FT.CREATE argv], [FT.ALTER argv]..., [FT.ALIASADD a idx]...,
//        [FT.CONFIG SET n v]...]; a node exchanges schemas with each peer when the link to that peer comes up
//        (startup, and after an outage), so either side of a missed broadcast converges
//   _FT.SEARCH.SHARD <FT.SEARCH args from the index name on>
//        the shard-local search in merge form (Coordinator.encodeShardResult): total, then up to offset+num hits
//        (all k for KNN) with their sort value, score, distance and requested fields
//   _FT.AGGREGATE.SHARD <FT.AGGREGATE args from the index name on>
//        the shard's part of the pipeline (AggregatePlan.distributedSplit: the leading LOAD / APPLY / FILTER, plus a
//        following SORTBY / LIMIT bounded to offset+limit rows; nothing for KNN queries) as rows with every
//        document-row column, the documents read per row (for `total`) and any APPLY / FILTER error, in
//        AggShardRows.encode's form; WITHCURSOR is ignored (the coordinator holds the cursor)
//   _FT.LOCAL <FT.INFO|FT.TAGVALS> <args...>
//        the local, uncoordinated answer
import CLibUV
import Dispatch
import RESP
import Keyspace
import Search
import Cluster

/// A value handed from a worker thread back to the loop thread, where alone it is used.
struct LoopBound<T>: @unchecked Sendable {
    let value: T
}

/// Collects one answer per target, then completes once: when all answered, or at the deadline with what came.
final class FanOut<T> {
    private(set) var answers: [Result<T, CommandError>?]
    private var outstanding: Int
    private var launched = false
    private var done = false
    private let timer: LoopTimer
    private let completion: ([Result<T, CommandError>?]) -> Void

    init(targets: Int, loop: UnsafeMutablePointer<uv_loop_t>, timeoutMilliseconds: UInt64,
         _ completion: @escaping ([Result<T, CommandError>?]) -> Void) {
        answers = Array(repeating: nil, count: targets)
        outstanding = targets
        self.completion = completion
        timer = LoopTimer(loop: loop)
        timer.start(after: timeoutMilliseconds) { [self] in finish() }
    }

    func set(_ i: Int, _ answer: Result<T, CommandError>) {
        guard !done, answers[i] == nil else { return }
        answers[i] = answer
        outstanding -= 1
        if outstanding == 0 && launched { finish() }
    }

    /// Every request was issued (answers that came synchronously are in).
    func launch() {
        launched = true
        if outstanding == 0 { finish() }
    }

    private func finish() {
        guard !done else { return }
        done = true
        timer.close()
        completion(answers)
    }
}

final class SearchCoordinator {
    unowned let server: Server
    let view: ClusterView
    let pool: PeerPool
    /// The node-local (uncoordinated) handlers of the FT commands, by upper-case name.
    var localHandlers: [String: CommandHandler] = [:]
    /// Schema log: per index, its FT.CREATE argv then its FT.ALTER argvs, in creation order.
    private var schemaLog: [String: [[[UInt8]]]] = [:]
    private var schemaOrder: [String] = []
    private var configSets: [String: [[UInt8]]] = [:]
    /// Indexes dropped here since startup: a peer that missed the drop must not bring them back.
    private var dropped: Set<String> = []
    private lazy var replayClient: Client = server.detachedClient()
    private let startTimer: LoopTimer

    static let schemaCommands: Set<String> = ["FT.CREATE", "FT.DROPINDEX", "FT.ALTER", "FT.ALIASADD", "FT.ALIASUPDATE", "FT.ALIASDEL", "FT.CONFIG"]
    static let localReadCommands: Set<String> = ["FT.INFO", "FT.TAGVALS"]
    static let timeoutWarning = "Timeout limit was reached"
    /// Coordinated FT.SEARCH / FT.AGGREGATE count and wall time from fan-out to merged reply (INFO search_coordinator).
    private(set) var coordinatedQueries = 0
    private(set) var coordinatedMicroseconds: UInt64 = 0

    private func recordOverhead(_ nanoseconds: UInt64) {
        coordinatedQueries += 1
        coordinatedMicroseconds += nanoseconds / 1000
    }

    init(server: Server, view: ClusterView) {
        self.server = server
        self.view = view
        var settings = PeerPoolSettings()
        settings.password = server.config["masterauth"].isEmpty ? server.config["requirepass"] : server.config["masterauth"]
        let logger = server.logger
        pool = PeerPool(loop: server.loop, settings: settings) { message in logger.notice(message) }
        for (i, node) in view.nodes.enumerated() where i != view.myself {
            pool.addPeer(node: i, name: node.name, host: node.host, port: node.port)
        }
        startTimer = LoopTimer(loop: server.loop)
        pool.onPeerUp = { [unowned self] node in self.pullSchemas(from: node) }
        server.infoSections.append((name: "coordinator", body: { [unowned self] _ in
            let avg = self.coordinatedQueries > 0 ? Double(self.coordinatedMicroseconds) / Double(self.coordinatedQueries) : 0
            var text = "coordinated_searches:\(self.coordinatedQueries)\r\ncoordinated_search_avg_usec:\(ReplyWriter.formatDouble((avg * 100).rounded() / 100))\r\n"
            for (i, line) in self.pool.summary.enumerated() { text += "peer\(i):\(line)\r\n" }
            return text
        }))
        // Runs once the loop starts: connect to every peer (and pull their schemas as each link comes up).
        startTimer.start(after: 0) { [unowned self] in self.pool.connectAll(); self.startTimer.close() }
    }

    // MARK: helpers

    static func upper(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self).uppercased() }

    static func argv(_ args: Arguments) -> [[UInt8]] { (0..<args.count).map { Array(args[$0]) } }

    /// Milliseconds a coordinated query may wait for its shards.
    func queryTimeout(_ requested: Int?) -> UInt64 {
        let t = requested ?? server.search.config.timeoutMilliseconds
        return UInt64(t > 0 ? t : server.config.int("cluster-node-timeout"))
    }

    /// Runs `handler` with the arguments after argv[0] (`_FT.APPLY FT.CREATE idx ...` → `FT.CREATE idx ...`).
    func runShifted(_ handler: CommandHandler, _ ctx: CommandContext) throws(CommandError) {
        let shifted = Arguments(base: ctx.args.base, spans: UnsafeBufferPointer(rebasing: ctx.args.spans[1...]))
        try handler(CommandContext(server: ctx.server, client: ctx.client, args: shifted))
    }

    /// Runs the local handler, writing its reply into `ctx.client.reply`, and records schema changes.
    func applyLocally(_ ctx: CommandContext) throws(CommandError) {
        let name = ctx.args.string(0).uppercased()
        guard let handler = localHandlers[name] else { throw CommandError("ERR unknown FT command '\(name)'") }
        try handler(ctx)
        record(Self.argv(ctx.args))
    }

    private func record(_ argv: [[UInt8]]) {
        guard argv.count >= 2 else { return }
        let name = String(decoding: argv[1], as: UTF8.self)
        switch Self.upper(argv[0]) {
        case "FT.CREATE":
            schemaLog[name] = [argv]
            schemaOrder.removeAll { $0 == name }
            schemaOrder.append(name)
            dropped.remove(name)
        case "FT.ALTER":
            let real = server.search.index(named: name)?.definition.name ?? name
            schemaLog[real]?.append(argv)
        case "FT.DROPINDEX":
            schemaLog[name] = nil
            schemaOrder.removeAll { $0 == name }
            dropped.insert(name)
        case "FT.CONFIG":
            if argv.count == 4 && Self.upper(argv[1]) == "SET" { configSets[Self.upper(argv[2])] = argv }
        default:
            break
        }
    }

    /// Captures what `body` writes into the client's reply buffer, removing it (to be sent later).
    func capture(_ client: Client, _ body: () throws(CommandError) -> Void) throws(CommandError) -> [UInt8] {
        let mark = client.reply.buffer.count
        try body()
        let bytes = Array(client.reply.buffer[mark...])
        client.reply.buffer.removeSubrange(mark...)
        return bytes
    }

    static func decodeOne(_ bytes: [UInt8]) -> RESPValue? {
        var p = ReplyParser()
        return (try? p.parse(bytes, from: 0))??.value
    }

    /// Inside EXEC nothing may wait (each queued command's reply must come before the next runs), and these wait for
    /// the other nodes.
    static func refuseInsideExec(_ ctx: CommandContext) throws(CommandError) {
        guard ctx.client.denyBlocking else { return }
        let name = ctx.args.string(0).uppercased()
        throw CommandError("ERR Cannot run \(name) inside MULTI on a cluster: it waits for the other nodes")
    }

    /// The client waits for the other nodes' answers (refused inside EXEC).
    func blockForOtherNodes(_ ctx: CommandContext) throws(CommandError) {
        try Self.refuseInsideExec(ctx)
        server.block(ctx.client)
    }

    // MARK: schema broadcast

    /// A schema command from a client: apply here, forward to every other node, reply once all acked (or timed out).
    func broadcast(_ ctx: CommandContext) throws(CommandError) {
        let argv = Self.argv(ctx.args)
        let peers = view.nodes.indices.filter { $0 != view.myself }
        if !peers.isEmpty { try Self.refuseInsideExec(ctx) }  // before anything is applied here
        let localReply = try capture(ctx.client) { () throws(CommandError) in try applyLocally(ctx) }
        if peers.isEmpty { ctx.client.reply.raw(localReply); return }
        let clientID = ctx.client.id
        server.block(ctx.client)
        let timeout = UInt64(min(server.config.int("cluster-node-timeout"), 5000))
        let op = FanOut<RESPValue>(targets: peers.count, loop: server.loop, timeoutMilliseconds: timeout) { [unowned self] answers in
            for (n, a) in answers.enumerated() {
                let name = self.view.nodes[peers[n]].name
                switch a {
                case .success(.error(let e))?: self.server.logger.warning("\(Self.upper(argv[0])) on \(name) failed: \(e)")
                case .failure(let e)?: self.server.logger.warning("\(Self.upper(argv[0])) not forwarded to \(name): \(e.message); it converges when its link comes back")
                case nil: self.server.logger.warning("\(Self.upper(argv[0])) on \(name): no answer in \(timeout) ms")
                default: break
                }
            }
            self.server.unblock(clientID: clientID) { w in w.raw(localReply) }
        }
        let message = [Array("_FT.APPLY".utf8)] + argv
        for (n, node) in peers.enumerated() {
            pool.send(to: node, message, timeoutMilliseconds: timeout) { reply in
                switch reply {
                case .success(let v): op.set(n, .success(v))
                case .failure(let f): op.set(n, .failure(CommandError(f.description)))
                }
            }
        }
        op.launch()
    }

    /// `_FT.SCHEMAS`: the commands that rebuild this node's indexes, aliases and FT.CONFIG settings.
    func schemaCommands() -> [[[UInt8]]] {
        var out: [[[UInt8]]] = []
        for name in schemaOrder where server.search.indexes[name] != nil { out += schemaLog[name] ?? [] }
        for (alias, target) in server.search.aliases.sorted(by: { $0.key < $1.key }) {
            out.append([Array("FT.ALIASADD".utf8), Array(alias.utf8), Array(target.utf8)])
        }
        out += configSets.keys.sorted().compactMap { configSets[$0] }
        return out
    }

    /// Exchanges schemas with a peer whose link just came up: our schema goes along with the request (the peer
    /// creates what it lacks) and its schema comes back (we create what we lack). Both directions matter: a broadcast
    /// that failed fast while this link was down reached neither the peer nor its pull from us.
    private func pullSchemas(from node: Int) {
        let ours = schemaCommands().map { PeerConnection.encode($0) }
        pool.send(to: node, [Array("_FT.SCHEMAS".utf8)] + ours, timeoutMilliseconds: 5000) { [unowned self] reply in
            guard case .success(let v) = reply, let list = v.elements else {
                if case .success(let v) = reply { self.server.logger.warning("_FT.SCHEMAS from \(self.view.nodes[node].name): \(v)") }
                return
            }
            self.replay(list.compactMap { $0.elements?.compactMap(\.bytes) }, from: self.view.nodes[node].name)
        }
    }

    /// Creates what a peer has and this node lacks (never an index dropped here since startup).
    func replay(_ commands: [[[UInt8]]], from peer: String) {
        for argv in commands where argv.count >= 2 {
            let cmd = Self.upper(argv[0])
            let name = String(decoding: argv[1], as: UTF8.self)
            switch cmd {
            case "FT.CREATE":
                if dropped.contains(name) || server.search.indexes[name] != nil { continue }
            case "FT.ALTER":
                if dropped.contains(name) || server.search.index(named: name) == nil { continue }
            case "FT.ALIASADD":
                if server.search.aliases[name] != nil || argv.count != 3 { continue }
            case "FT.CONFIG":
                break
            default:
                continue
            }
            let client = replayClient
            client.reply.buffer.removeAll(keepingCapacity: true)
            Arguments.withOwned(argv.map { Bytes($0) }) { args in
                do throws(CommandError) {
                    try applyLocally(CommandContext(server: server, client: client, args: args))
                    if cmd == "FT.CREATE" { server.logger.notice("Cluster: index '\(name)' created from \(peer)'s schema") }
                } catch {
                    if cmd != "FT.ALTER" { server.logger.warning("Cluster: replaying \(cmd) \(name) from \(peer) failed: \(error.message)") }
                }
            }
        }
        replayClient.reply.buffer.removeAll(keepingCapacity: true)
    }

    // MARK: FT.SEARCH

    func search(_ ctx: CommandContext) throws(CommandError) {
        let parsed = try server.parseSearch(ctx.args)
        let request = parsed.request
        let plan: SearchMergePlan = {
            let order: MergeOrder
            if let s = request.sortBy { order = .value(ascending: s.order == .ascending) }
            else if request.query.knn != nil { order = .value(ascending: true) }
            else { order = .scoreDescending }
            return SearchMergePlan(order: order, offset: request.offset, limit: request.limit, knnK: request.query.knn?.k)
        }()
        let options = parsed.options
        let timeout = queryTimeout(parsed.timeoutMilliseconds)
        let failOnTimeout = server.search.config["ON_TIMEOUT"]?.lowercased() == "fail"
        let targets = view.shardMasters
        let clientID = ctx.client.id
        let started = uv_hrtime()
        try blockForOtherNodes(ctx)
        let op = FanOut<ShardSearchResult>(targets: targets.count, loop: server.loop, timeoutMilliseconds: timeout) { [unowned self] answers in
            var results: [ShardSearchResult] = []
            var problems: [String] = []
            var shardErrors: [String] = []
            for (n, a) in answers.enumerated() {
                let name = self.view.nodes[targets[n]].name
                switch a {
                case .success(let r)?: results.append(r)
                case .failure(let e)?: problems.append("\(name): \(e.message)"); shardErrors.append(e.message)
                case nil: problems.append("\(name): no reply within \(timeout) ms")
                }
            }
            self.recordOverhead(uv_hrtime() - started)
            if !problems.isEmpty { self.server.logger.verbose("FT.SEARCH partial: \(problems.joined(separator: "; "))") }
            self.server.unblock(clientID: clientID) { w in
                if results.isEmpty {
                    if shardErrors.count == answers.count, let first = shardErrors.first { w.error(first); return }
                    w.error(failOnTimeout && w.protocolVersion < 3 ? Self.timeoutWarning
                            : "ERR no shard answered within \(timeout) ms (\(problems.joined(separator: "; ")))")
                    return
                }
                let partial = results.count < answers.count
                if partial && failOnTimeout && w.protocolVersion < 3 { w.error(Self.timeoutWarning); return }
                let merged = Coordinator.mergeSearch(results, plan: plan)
                self.server.writeSearchRows(total: merged.total, rows: merged.hits, options: options,
                                            warnings: partial ? [Self.timeoutWarning] : [], to: &w)
            }
        }
        let message = [Array("_FT.SEARCH.SHARD".utf8)] + (1..<ctx.args.count).map { Array(ctx.args[$0]) }
        for (n, node) in targets.enumerated() {
            if node == view.myself {
                server.runShardSearch(parsed) { result in op.set(n, result) }
            } else {
                pool.send(to: node, message, timeoutMilliseconds: timeout) { reply in
                    switch reply {
                    case .success(.error(let e)): op.set(n, .failure(CommandError(e)))
                    case .success(let v):
                        if let r = Coordinator.decodeShardResult(v) { op.set(n, .success(r)) }
                        else { op.set(n, .failure(CommandError("ERR malformed shard reply"))) }
                    case .failure(let f): op.set(n, .failure(CommandError("ERR \(f)")))
                    }
                }
            }
        }
        op.launch()
    }

    // MARK: FT.AGGREGATE

    /// Each master runs its part of the plan (AggregateSplit) and ships rows; this node combines them in shard order
    /// and runs the rest, replying (or opening a cursor here) exactly as a single node would.
    func aggregate(_ ctx: CommandContext) throws(CommandError) {
        let parsed = try server.parseAggregate(Self.argv(ctx.args))
        let split = parsed.plan.distributedSplit(knn: parsed.request.query.knn)
        let timeout = queryTimeout(parsed.plan.timeoutMilliseconds)
        let failOnTimeout = server.search.config["ON_TIMEOUT"]?.lowercased() == "fail"
        let targets = view.shardMasters
        let clientID = ctx.client.id
        let started = uv_hrtime()
        try blockForOtherNodes(ctx)
        let op = FanOut<AggShardRows>(targets: targets.count, loop: server.loop, timeoutMilliseconds: timeout) { [unowned self] answers in
            var shards: [AggShardRows] = []
            var problems: [String] = []
            var shardErrors: [String] = []
            for (n, a) in answers.enumerated() {
                let name = self.view.nodes[targets[n]].name
                switch a {
                case .success(let r)?: shards.append(r)
                case .failure(let e)?: problems.append("\(name): \(e.message)"); shardErrors.append(e.message)
                case nil: problems.append("\(name): no reply within \(timeout) ms")
                }
            }
            self.recordOverhead(uv_hrtime() - started)
            if !problems.isEmpty { self.server.logger.verbose("FT.AGGREGATE partial: \(problems.joined(separator: "; "))") }
            guard let client = self.server.client(id: clientID) else { return }
            let resp2 = client.protocolVersion < 3
            var failure: String?
            if shards.isEmpty {
                failure = shardErrors.count == answers.count ? shardErrors.first
                    : (failOnTimeout && resp2 ? Self.timeoutWarning : "ERR no shard answered within \(timeout) ms (\(problems.joined(separator: "; ")))")
            } else if shards.count < answers.count && failOnTimeout && resp2 {
                failure = Self.timeoutWarning
            }
            if let failure {
                self.server.replyError(client, CommandError(failure))
            } else {
                let rows = AggShardRows.combine(shards, split: split)
                do throws(CommandError) {
                    let pipeline: AggregatePipeline
                    do throws(AggregateError) {
                        pipeline = try AggregatePipeline.buildCoordinator(plan: parsed.plan, split: split, rows: rows,
                                                                          schema: parsed.index.definition)
                    } catch { throw CommandError(error.message) }
                    try self.server.replyAggregate(pipeline, parsed, warnings: shards.count < answers.count ? [Self.timeoutWarning] : [],
                                                   client: client)
                } catch { self.server.replyError(client, error) }
            }
            self.server.unblock(clientID: clientID) { _ in }
        }
        let message = [Array("_FT.AGGREGATE.SHARD".utf8)] + (1..<ctx.args.count).map { Array(ctx.args[$0]) }
        for (n, node) in targets.enumerated() {
            if node == view.myself {
                server.runShardAggregate(parsed, split: split) { result in op.set(n, result) }
            } else {
                pool.send(to: node, message, timeoutMilliseconds: timeout) { reply in
                    switch reply {
                    case .success(.error(let e)): op.set(n, .failure(CommandError(e)))
                    case .success(let v):
                        if let r = AggShardRows.decode(v) { op.set(n, .success(r)) }
                        else { op.set(n, .failure(CommandError("ERR malformed shard reply"))) }
                    case .failure(let f): op.set(n, .failure(CommandError("ERR \(f)")))
                    }
                }
            }
        }
        op.launch()
    }

    // MARK: FT.INFO / FT.TAGVALS

    /// Runs the local handler for the base answer, asks every other master for its local answer, then merges.
    func fanOutLocal(_ ctx: CommandContext, merge: @escaping (RESPValue, [RESPValue]) -> RESPValue) throws(CommandError) {
        let name = ctx.args.string(0).uppercased()
        guard let handler = localHandlers[name] else { throw CommandError("ERR unknown FT command '\(name)'") }
        let bytes = try capture(ctx.client) { () throws(CommandError) in try handler(ctx) }
        guard let local = Self.decodeOne(bytes), !local.isError else { ctx.client.reply.raw(bytes); return }
        let others = view.shardMasters.filter { $0 != view.myself }
        if others.isEmpty { ctx.client.reply.raw(bytes); return }
        let clientID = ctx.client.id
        try blockForOtherNodes(ctx)
        let timeout = max(1000, queryTimeout(nil))
        let op = FanOut<RESPValue>(targets: others.count, loop: server.loop, timeoutMilliseconds: timeout) { [unowned self] answers in
            let values = answers.compactMap { a -> RESPValue? in if case .success(let v)? = a, !v.isError { return v }; return nil }
            self.server.unblock(clientID: clientID) { w in w.value(merge(local, values)) }
        }
        let message = [Array("_FT.LOCAL".utf8)] + Self.argv(ctx.args)
        for (n, node) in others.enumerated() {
            pool.send(to: node, message, timeoutMilliseconds: timeout) { reply in
                switch reply {
                case .success(let v): op.set(n, .success(v))
                case .failure(let f): op.set(n, .failure(CommandError("ERR \(f)")))
                }
            }
        }
        op.launch()
    }

    // MARK: command table

    /// The FT specs with coordinated handlers in place of the local ones, plus the internal commands.
    func coordinated(_ specs: [CommandSpec]) -> [CommandSpec] {
        var out: [CommandSpec] = []
        for spec in specs {
            guard let handler = spec.handler else { out.append(spec); continue }
            let name = spec.name.uppercased()
            localHandlers[name] = handler
            let wrapped: CommandHandler
            switch name {
            case "FT.CREATE", "FT.DROPINDEX", "FT.ALTER", "FT.ALIASADD", "FT.ALIASUPDATE", "FT.ALIASDEL":
                wrapped = { [self] ctx throws(CommandError) in try self.broadcast(ctx) }
            case "FT.CONFIG":
                wrapped = { [self] ctx throws(CommandError) in
                    if ctx.args.count >= 2 && ctx.args.is(1, "SET") { try self.broadcast(ctx) } else { try handler(ctx) }
                }
            case "FT.SEARCH":
                wrapped = { [self] ctx throws(CommandError) in try self.search(ctx) }
            case "FT.AGGREGATE":
                wrapped = { [self] ctx throws(CommandError) in try self.aggregate(ctx) }
            case "FT.INFO":
                wrapped = { [self] ctx throws(CommandError) in try self.fanOutLocal(ctx) { Coordinator.mergeInfo(local: $0, others: $1) } }
            case "FT.TAGVALS":
                wrapped = { [self] ctx throws(CommandError) in
                    try self.fanOutLocal(ctx) { local, others in
                        let lists = ([local] + others).map { $0.elements?.compactMap(\.bytes) ?? [] }
                        let merged = Coordinator.mergeTagValues(lists).map { RESPValue.bulk($0) }
                        if case .set = local { return .set(merged) }
                        return .array(merged)
                    }
                }
            default:
                out.append(spec)
                continue
            }
            out.append(CommandSpec(spec.name, arity: spec.arity, flags: spec.flags, categories: spec.categories, keys: spec.keys,
                                   keySpecFlags: spec.keySpecFlags, group: spec.group, since: spec.since, summary: spec.summary,
                                   subcommands: spec.subcommands, routesByKeys: spec.routesByKeys, handler: wrapped))
        }
        return out + internalCommands()
    }

    private func internalCommands() -> [CommandSpec] {
        func internalCommand(_ name: String, arity: Int, summary: String, _ handler: @escaping CommandHandler) -> CommandSpec {
            CommandSpec(name, arity: arity, flags: ["module", "internal"], categories: ["search"], keys: .none, keySpecFlags: [],
                        group: "module", since: "1.0.0", summary: summary, routesByKeys: false, handler: handler)
        }
        return [
            internalCommand("_FT.APPLY", arity: -3, summary: "Cluster-internal: apply a schema command on this node only") { [self] ctx throws(CommandError) in
                let name = ctx.args.string(1).uppercased()
                guard Self.schemaCommands.contains(name) else { throw CommandError("ERR _FT.APPLY does not apply '\(name)'") }
                let shifted = Arguments(base: ctx.args.base, spans: UnsafeBufferPointer(rebasing: ctx.args.spans[1...]))
                try self.applyLocally(CommandContext(server: ctx.server, client: ctx.client, args: shifted))
            },
            internalCommand("_FT.LOCAL", arity: -3, summary: "Cluster-internal: this node's own answer to FT.INFO / FT.TAGVALS") { [self] ctx throws(CommandError) in
                let name = ctx.args.string(1).uppercased()
                guard Self.localReadCommands.contains(name), let handler = self.localHandlers[name] else {
                    throw CommandError("ERR _FT.LOCAL does not run '\(name)'")
                }
                try self.runShifted(handler, ctx)
            },
            internalCommand("_FT.SCHEMAS", arity: -1, summary: "Cluster-internal: replay the caller's FT schema, reply with this node's") { [self] ctx in
                // Arguments: the caller's schema commands, each one RESP-encoded argv; what is missing here is created.
                var theirs: [[[UInt8]]] = []
                for i in 1..<ctx.args.count {
                    if let argv = Self.decodeOne(Array(ctx.args[i]))?.elements?.compactMap(\.bytes) { theirs.append(argv) }
                }
                let list = self.schemaCommands()
                if !theirs.isEmpty { self.replay(theirs, from: "client \(ctx.client.id)") }
                ctx.client.reply.array(list.count)
                for argv in list {
                    ctx.client.reply.array(argv.count)
                    for a in argv { ctx.client.reply.bulk(a) }
                }
            },
            internalCommand("_FT.SEARCH.SHARD", arity: -3, summary: "Cluster-internal: shard-local FT.SEARCH in merge form") { ctx throws(CommandError) in
                let server = ctx.server
                let parsed = try server.parseSearch(ctx.args)
                let clientID = ctx.client.id
                try self.blockForOtherNodes(ctx)
                server.runShardSearch(parsed) { [unowned server] result in
                    server.unblock(clientID: clientID) { w in
                        switch result {
                        case .success(let r): Coordinator.encodeShardResult(r, into: &w)
                        case .failure(let e): w.error(e.message)
                        }
                    }
                }
            },
            internalCommand("_FT.AGGREGATE.SHARD", arity: -3, summary: "Cluster-internal: a shard's part of FT.AGGREGATE in merge form") { ctx throws(CommandError) in
                let server = ctx.server
                let parsed = try server.parseAggregate(Self.argv(ctx.args))
                let split = parsed.plan.distributedSplit(knn: parsed.request.query.knn)
                let clientID = ctx.client.id
                try self.blockForOtherNodes(ctx)
                server.runShardAggregate(parsed, split: split) { [unowned server] result in
                    server.unblock(clientID: clientID) { w in
                        switch result {
                        case .success(let rows): rows.encode(into: &w)
                        case .failure(let e): w.error(e.message)
                        }
                    }
                }
            },
        ]
    }
}

extension Server {
    /// In cluster mode, wraps the FT specs with the coordinator (see SearchCoordinator); otherwise returns them as is.
    func coordinate(_ specs: [CommandSpec]) -> [CommandSpec] {
        guard config.bool("cluster-enabled"), let view = try? loadClusterView() else { return specs }
        let coordinator = SearchCoordinator(server: self, view: view)
        // The command table's handlers hold the coordinator strongly: it lives as long as the server.
        return coordinator.coordinated(specs)
    }

    /// Runs the shard-local part of a search (inline or on a worker, see `executeSearch`) and hands the merge-form result to
    /// `completion` on the loop thread. The shard returns its first offset+num hits in merge order (all k for KNN).
    func runShardSearch(_ parsed: ParsedSearch, _ completion: @escaping (Result<ShardSearchResult, CommandError>) -> Void) {
        var request = parsed.request
        let (wanted, overflow) = request.offset.addingReportingOverflow(request.limit)
        let keep = overflow ? Int.max : wanted
        request.offset = 0
        request.limit = Int.max / 4
        do throws(QueryError) {
            let inline = try executeSearch(parsed.index, request, clientID: nil) { server, result in
                switch result {
                case .success(let outcome): completion(.success(server.shardResult(outcome, parsed, keep: keep)))
                case .failure(let e): completion(.failure(CommandError(e.message)))
                }
            }
            if let inline { completion(.success(shardResult(inline, parsed, keep: keep))) }
        } catch {
            completion(.failure(CommandError(error.message)))
        }
    }

    /// Orders a shard's hits for merging, keeps the first `keep` (every hit for KNN), and loads their fields.
    func shardResult(_ outcome: SearchOutcome, _ parsed: ParsedSearch, keep: Int) -> ShardSearchResult {
        let hits = outcome.hits
        let request = parsed.request
        let knn = request.query.knn
        let values = hits.map { shardSortValue($0, parsed) }
        var order = Array(hits.indices)
        if let sort = request.sortBy {
            let ascending = sort.order == .ascending
            order.sort { a, b in
                switch (values[a], values[b]) {
                case (.missing, .missing): return a < b
                case (.missing, _): return false
                case (_, .missing): return true
                case (.number(let x), .number(let y)): return x != y ? (ascending ? x < y : x > y) : a < b
                case (.string(let x), .string(let y)):
                    return x != y ? (ascending ? x.lexicographicallyPrecedes(y) : y.lexicographicallyPrecedes(x)) : a < b
                case (.number, .string): return true
                case (.string, .number): return false
                }
            }
        } else if knn != nil {
            order.sort { a, b in
                let x = hits[a].distance ?? .infinity, y = hits[b].distance ?? .infinity
                return x != y ? x < y : a < b
            }
        } else {
            order.sort { a, b in hits[a].score != hits[b].score ? hits[a].score > hits[b].score : a < b }
        }
        if parsed.options.countOnly { order = [] } else if knn == nil && order.count > keep { order.removeLast(order.count - keep) }
        let showContent = Self.showsContent(parsed.options)
        let rows = order.map { i in
            let hit = hits[i]
            return ShardHit(key: hit.key.storage, sortValue: values[i], score: hit.score, distance: hit.distance.map(Double.init),
                            fields: showContent ? loadFields(hit, options: parsed.options).map { ($0.0.storage, $0.1.storage) } : nil)
        }
        return ShardSearchResult(total: outcome.total, hits: rows)
    }

    /// What a hit is ordered by across shards: the SORTBY value (KNN distance, a yielded value, or the document's
    /// field), else the KNN distance; text scores are carried separately.
    func shardSortValue(_ hit: SearchHit, _ parsed: ParsedSearch) -> ShardSortValue {
        guard let sort = parsed.request.sortBy else {
            if let d = hit.distance { return .number(Double(d)) }
            return .missing
        }
        if let knn = parsed.request.query.knn, knn.scoreField == sort.field {
            if let d = hit.distance { return .number(Double(d)) }
        }
        if let y = hit.yielded.first(where: { $0.name == sort.field }) {
            if let d = Double(y.value) { return .number(d) }
            return .string(Array(y.value.utf8))
        }
        let field = parsed.index.definition.field(attribute: sort.field)
        let source = Bytes(field?.identifier ?? sort.field)
        guard case .hash(let h)? = database.peek(hit.key), let v = h[source] else { return .missing }
        if case .numeric? = field?.kind { return Double(v.string).map { .number($0) } ?? .missing }
        return .string(v.storage)
    }
}

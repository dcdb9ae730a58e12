// Dispatch: name lookup, arity, authentication, MULTI queueing, key checks, then the handler, with statistics.
import CLibUV
import RESP
import Keyspace
import Tiering

/// Commands that run even inside MULTI instead of being queued.
private let transactionControl: Set<String> = ["exec", "discard", "multi", "watch", "quit", "reset"]

extension Server {
    /// Runs one request and appends its reply to the client's buffer.
    func execute(_ client: Client, _ args: Arguments) {
        guard args.count > 0 else { return }
        totalCommands += 1
        guard var spec = commands.lookup(args[0]) else {
            reject(client, Self.unknownCommandError(args))
            return
        }
        if !spec.subcommands.isEmpty && args.count >= 2 {
            if let sub = CommandTable.subcommand(of: spec, args[1]) {
                spec = sub
            } else if spec.handler == nil {
                reject(client, .unknownSubcommand(args.string(1), spec.name))
                return
            }
        }
        client.lastCommand = spec.name
        if (spec.arity > 0 && args.count != spec.arity) || (spec.arity < 0 && args.count < -spec.arity) {
            reject(client, .wrongArity(spec.name), spec: spec)
            return
        }
        if !client.authenticated && !spec.has("no_auth") {
            reject(client, .noAuth, spec: spec)
            return
        }
        if client.isMonitor && spec.keys.first > 0 {
            // Redis flags a monitor like a replica, and refuses its keyed commands with this text.
            reject(client, CommandError("ERR Replica can't interact with the keyspace"), spec: spec)
            return
        }
        if client.transaction != nil && !transactionControl.contains(spec.name) {
            if let check = keyCheck, spec.routesByKeys, let error = check(spec, args, client) {
                reject(client, error, spec: spec)
                return
            }
            client.transaction!.append((0..<args.count).map { args.bytes($0) })
            client.reply.simpleString("QUEUED")
            return
        }
        if client.transaction != nil, let check = keyCheck, spec.name == "exec", let error = check(spec, args, client) {
            // Cluster mode checks the whole transaction's keys at EXEC, as Redis does.
            client.transaction = nil
            unwatchAll(client)
            reject(client, error, spec: spec)
            return
        }
        call(spec, client, args)
        if TieringController.node.writeStalled, !client.isDetached, spec.group == "hash" || spec.name == "ft.add",
           spec.has("write") {
            holdForTiering(client)
        }
        // ASKING covers only the command right after it.
        if client.asking && spec.name != "asking" { client.asking = false }
    }

    /// Runs a resolved command (also used by EXEC for queued commands).
    func call(_ spec: CommandSpec, _ client: Client, _ args: Arguments) {
        if let check = keyCheck, spec.routesByKeys, spec.keys.first > 0, let error = check(spec, args, client) {
            commands.stats[spec.id].rejected += 1
            replyError(client, error)
            return
        }
        guard let handler = spec.handler else {
            replyError(client, .unknownSubcommand(args.count > 1 ? args.string(1) : "", spec.name))
            return
        }
        let started = uv_hrtime()
        do {
            try handler(CommandContext(server: self, client: client, args: args))
        } catch {
            commands.stats[spec.id].failed += 1
            replyError(client, error)
        }
        let microseconds = Int((uv_hrtime() - started) / 1000)
        commands.stats[spec.id].calls += 1
        commands.stats[spec.id].microseconds += microseconds
        if client.isBlocked {
            // FT.* work on a worker is logged with its whole time; a wait (WAIT) only with its time here, as Redis.
            if spec.group != "module" {
                logIfSlow(client, arguments: SlowLog.loggedArguments(args), microseconds: microseconds)
            } else if slowLog.threshold >= 0 {
                client.pendingSlowLog = (SlowLog.loggedArguments(args), started)
            }
        } else if slowLog.wants(microseconds), !spec.has("skip_slowlog") {
            logIfSlow(client, arguments: SlowLog.loggedArguments(args), microseconds: microseconds)
        }
        if !monitorIDs.isEmpty, !spec.has("admin"), !spec.has("skip_monitor") { feedMonitors(client, args) }
    }

    /// A queue-time or pre-execution refusal; inside MULTI it also dooms the transaction (EXECABORT).
    private func reject(_ client: Client, _ error: CommandError, spec: CommandSpec? = nil) {
        if let spec { commands.stats[spec.id].rejected += 1 }
        if client.transaction != nil { client.multiError = true }
        replyError(client, error)
    }

    func replyError(_ client: Client, _ error: CommandError) {
        totalErrorReplies += 1
        errorStats[error.code, default: 0] += 1
        client.reply.error(error.message)
    }

    /// Redis's text: "ERR unknown command 'x', with args beginning with: 'a' 'b' " (each arg capped, 128 chars total).
    static func unknownCommandError(_ args: Arguments) -> CommandError {
        var tail = ""
        for i in 1..<max(1, args.count) where tail.count < 128 {
            tail += "'\(String(args.string(i).prefix(128 - tail.count)))' "
        }
        return CommandError("ERR unknown command '\(String(args.string(0).prefix(128)))', with args beginning with: \(tail)")
    }
}

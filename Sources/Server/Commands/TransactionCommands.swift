// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH with Redis's queue-time error and EXECABORT semantics.
import RESP
import Keyspace

extension Server {
    func transactionCommands() -> [CommandSpec] {
        [
            command("multi", arity: 1, flags: "noscript loading stale fast allow_busy", acl: "fast transaction", group: "transactions", since: "1.2.0", summary: "Starts a transaction.") { ctx throws(CommandError) in
                if ctx.client.transaction != nil { throw CommandError("ERR MULTI calls can not be nested") }
                ctx.client.transaction = []
                ctx.client.multiError = false
                ctx.client.reply.ok()
            },
            command("discard", arity: 1, flags: "noscript loading stale fast allow_busy", acl: "fast transaction", group: "transactions", since: "2.0.0", summary: "Discards a transaction.") { ctx throws(CommandError) in
                guard ctx.client.transaction != nil else { throw CommandError("ERR DISCARD without MULTI") }
                ctx.client.transaction = nil
                ctx.client.multiError = false
                ctx.server.unwatchAll(ctx.client)
                ctx.client.reply.ok()
            },
            command("exec", arity: 1, flags: "noscript loading stale skip_slowlog", acl: "slow transaction", group: "transactions", since: "1.2.0", summary: "Executes all commands in a transaction.") { ctx throws(CommandError) in
                try ctx.server.exec(ctx.client)
            },
            command("watch", arity: -2, flags: "noscript loading stale fast allow_busy", acl: "fast transaction", keys: .all, keySpec: "RO", group: "transactions", since: "2.2.0", summary: "Monitors changes to keys to determine the execution of a transaction.") { ctx throws(CommandError) in
                if ctx.client.transaction != nil { throw CommandError("ERR WATCH inside MULTI is not allowed") }
                for i in 1..<ctx.args.count { ctx.server.watch(ctx.client, ctx.args.bytes(i)) }
                ctx.client.reply.ok()
            },
            command("unwatch", arity: 1, flags: "noscript loading stale fast allow_busy", acl: "fast transaction", group: "transactions", since: "2.2.0", summary: "Forgets about watched keys of a transaction.") { ctx in
                ctx.server.unwatchAll(ctx.client)
                ctx.client.reply.ok()
            },
        ]
    }

    func exec(_ client: Client) throws(CommandError) {
        guard let queued = client.transaction else { throw CommandError("ERR EXEC without MULTI") }
        client.transaction = nil
        defer { unwatchAll(client) }
        if client.multiError {
            client.multiError = false
            throw CommandError("EXECABORT Transaction discarded because of previous errors.")
        }
        if client.watchDirty {
            client.reply.nullArray()
            return
        }
        client.reply.array(queued.count)
        client.denyBlocking = true
        defer { client.denyBlocking = false }
        for argv in queued {
            Arguments.withOwned(argv) { args in
                guard var spec = commands.lookup(args[0]) else { return }
                if !spec.subcommands.isEmpty && args.count >= 2, let sub = CommandTable.subcommand(of: spec, args[1]) { spec = sub }
                call(spec, client, args)
            }
        }
    }
}

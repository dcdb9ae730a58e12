// SLOWLOG GET / LEN / RESET / HELP, with Redis 7's replies and errors.
import RESP
import Keyspace

extension Server {
    func slowLogCommands() -> [CommandSpec] {
        [command("slowlog", arity: -2, flags: "", acl: "slow", group: "server", since: "2.2.12",
                 summary: "A container for slow log commands.", subcommands: [
            command("slowlog|get", arity: -2, flags: "admin loading stale", acl: "admin slow dangerous", group: "server",
                    since: "2.2.12", summary: "Returns the slow log's entries.") { ctx throws(CommandError) in
                guard ctx.args.count <= 3 else {
                    throw CommandError("ERR unknown subcommand or wrong number of arguments for '\(ctx.args.string(1))'. Try SLOWLOG HELP.")
                }
                var count = 10
                if ctx.args.count == 3 {
                    guard let n = Int(ctx.args.string(2)), n >= -1 else {
                        throw CommandError("ERR count should be greater than or equal to -1")
                    }
                    count = n
                }
                let entries = ctx.server.slowLog.newest(count)
                ctx.client.reply.array(entries.count)
                for e in entries {
                    ctx.client.reply.array(6)
                    ctx.client.reply.integer(e.id)
                    ctx.client.reply.integer(e.timestamp)
                    ctx.client.reply.integer(e.microseconds)
                    ctx.client.reply.array(e.arguments.count)
                    for a in e.arguments { ctx.client.reply.bulk(a) }
                    ctx.client.reply.bulk(e.clientAddress)
                    ctx.client.reply.bulk(e.clientName)
                }
            },
            command("slowlog|len", arity: 2, flags: "admin loading stale", acl: "admin slow dangerous", group: "server",
                    since: "2.2.12", summary: "Returns the number of entries in the slow log.") { ctx in
                ctx.client.reply.integer(ctx.server.slowLog.count)
            },
            command("slowlog|reset", arity: 2, flags: "admin loading stale", acl: "admin slow dangerous", group: "server",
                    since: "2.2.12", summary: "Clears all entries from the slow log.") { ctx in
                ctx.server.slowLog.reset()
                ctx.client.reply.ok()
            },
            command("slowlog|help", arity: 2, flags: "loading stale", acl: "slow", group: "server", since: "6.2.0",
                    summary: "Show helpful text about the different subcommands") { ctx in
                let lines = ["SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                             "GET [<count>]",
                             "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                             "    Entries are made of:",
                             "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                             "    client name",
                             "LEN", "    Return the length of the slowlog.",
                             "RESET", "    Reset the slowlog.",
                             "HELP", "    Prints this help."]
                ctx.client.reply.array(lines.count)
                for l in lines { ctx.client.reply.simpleString(l) }
            },
        ])]
    }

    /// Logs a finished command if it took long enough (`call` and, for a command that waited on a worker, `unblock`).
    func logIfSlow(_ client: Client, arguments: @autoclosure () -> [[UInt8]], microseconds: Int) {
        guard slowLog.wants(microseconds) else { return }
        slowLog.push(arguments: arguments(), microseconds: microseconds, timestamp: Int(wallClockMilliseconds() / 1000),
                     clientAddress: client.address, clientName: client.name ?? "")
    }
}

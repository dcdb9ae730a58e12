// Connection commands: PING, ECHO, HELLO, AUTH, CLIENT, SELECT, QUIT, RESET.
import RESP
import Keyspace

extension Server {
    func connectionCommands() -> [CommandSpec] {
        [
            command("ping", arity: -1, flags: "fast", acl: "fast connection", group: "connection", summary: "Returns the server's liveliness response.") { ctx throws(CommandError) in
                if ctx.args.count > 2 { throw .wrongArity("ping") }
                if ctx.args.count == 2 { ctx.client.reply.bulk(ctx.args[1]) } else { ctx.client.reply.simpleString("PONG") }
            },
            command("echo", arity: 2, flags: "fast", acl: "fast connection", group: "connection", summary: "Returns the given string.") { ctx in
                ctx.client.reply.bulk(ctx.args[1])
            },
            command("hello", arity: -1, flags: "noscript loading stale fast no_auth allow_busy", acl: "fast connection", group: "connection", since: "6.0.0", summary: "Handshakes with the Redis server.") { ctx throws(CommandError) in
                try ctx.server.hello(ctx)
            },
            command("auth", arity: -2, flags: "noscript loading stale fast no_auth allow_busy", acl: "fast connection", group: "connection", summary: "Authenticates the connection.") { ctx throws(CommandError) in
                guard ctx.args.count <= 3 else { throw .syntax }
                let user = ctx.args.count == 3 ? ctx.args.string(1) : "default"
                try ctx.server.authenticate(ctx.client, user: user, password: ctx.args.string(ctx.args.count - 1))
                ctx.client.reply.ok()
            },
            command("select", arity: 2, flags: "loading stale fast", acl: "fast connection", group: "connection", summary: "Changes the selected database.") { ctx throws(CommandError) in
                let db = try ctx.args.integer(1)
                if db != 0 {
                    throw CommandError(ctx.server.config.bool("cluster-enabled") ? "ERR SELECT is not allowed in cluster mode" : "ERR DB index is out of range")
                }
                ctx.client.reply.ok()
            },
            command("quit", arity: -1, flags: "allow_busy noscript loading stale fast no_auth", acl: "fast connection", group: "connection", summary: "Closes the connection.") { ctx in
                ctx.client.reply.ok()
                ctx.client.closeAfterReply = true
            },
            command("reset", arity: 1, flags: "noscript loading stale fast no_auth allow_busy", acl: "fast connection", group: "connection", since: "6.2.0", summary: "Resets the connection.") { ctx in
                let c = ctx.client
                c.transaction = nil
                c.multiError = false
                ctx.server.unwatchAll(c)
                c.name = nil
                c.readOnly = false
                c.asking = false
                c.protocolVersion = 2
                c.authenticated = ctx.server.config["requirepass"].isEmpty
                c.reply.simpleString("RESET")
            },
            command("readonly", arity: 1, flags: "loading stale fast", acl: "fast connection", group: "cluster", since: "3.0.0", summary: "Enables read-only queries for a connection to a Redis Cluster replica node.") { ctx throws(CommandError) in
                try ctx.server.requireCluster()
                ctx.client.readOnly = true
                ctx.client.reply.ok()
            },
            command("readwrite", arity: 1, flags: "loading stale fast", acl: "fast connection", group: "cluster", since: "3.0.0", summary: "Enables read-write queries for a connection to a Redis Cluster replica node.") { ctx throws(CommandError) in
                try ctx.server.requireCluster()
                ctx.client.readOnly = false
                ctx.client.reply.ok()
            },
            command("asking", arity: 1, flags: "fast", acl: "fast connection", group: "cluster", since: "3.0.0", summary: "Signals that a cluster client is following an -ASK redirect.") { ctx throws(CommandError) in
                try ctx.server.requireCluster()
                ctx.client.asking = true
                ctx.client.reply.ok()
            },
            clientCommand(),
        ]
    }

    func requireCluster() throws(CommandError) {
        guard config.bool("cluster-enabled") else { throw CommandError("ERR This instance has cluster support disabled") }
    }

    func authenticate(_ client: Client, user: String, password: String) throws(CommandError) {
        let required = config["requirepass"]
        if required.isEmpty && user == "default" {
            throw CommandError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
        }
        guard user == "default", password == required else {
            throw CommandError("WRONGPASS invalid username-password pair or user is disabled.")
        }
        client.authenticated = true
        client.user = user
    }

    /// HELLO [protover [AUTH username password] [SETNAME clientname]]
    func hello(_ ctx: CommandContext) throws(CommandError) {
        let args = ctx.args
        var version = ctx.client.protocolVersion
        var i = 1
        if args.count >= 2 {
            guard let v = Bytes.parseInteger(args[1]) else { throw CommandError("ERR Protocol version is not an integer or out of range") }
            guard v == 2 || v == 3 else { throw CommandError("NOPROTO unsupported protocol version") }
            version = v
            i = 2
        }
        var setName: String?
        while i < args.count {
            if args.is(i, "AUTH") && i + 2 < args.count {
                try authenticate(ctx.client, user: args.string(i + 1), password: args.string(i + 2))
                i += 3
            } else if args.is(i, "SETNAME") && i + 1 < args.count {
                let name = args.string(i + 1)
                try Self.validateClientName(name)
                setName = name
                i += 2
            } else {
                throw CommandError("ERR Syntax error in HELLO option '\(args.string(i))'")
            }
        }
        if !ctx.client.authenticated { throw .noAuth }
        if let setName { ctx.client.name = setName.isEmpty ? nil : setName }
        ctx.client.protocolVersion = version
        let r = ctx.client
        r.reply.map(7)
        r.reply.bulk("server"); r.reply.bulk("redis")
        r.reply.bulk("version"); r.reply.bulk(redisCompatibleVersion)
        r.reply.bulk("proto"); r.reply.integer(version)
        r.reply.bulk("id"); r.reply.integer(r.id)
        r.reply.bulk("mode"); r.reply.bulk(config.bool("cluster-enabled") ? "cluster" : "standalone")
        r.reply.bulk("role"); r.reply.bulk("master")
        r.reply.bulk("modules")
        writeModuleList(&r.reply)
    }

    func writeModuleList(_ reply: inout ReplyWriter) {
        reply.array(modules.count)
        for m in modules {
            reply.map(4)
            reply.bulk("name"); reply.bulk(m.name)
            reply.bulk("ver"); reply.integer(m.version)
            reply.bulk("path"); reply.bulk("builtin")
            reply.bulk("args"); reply.array(0)
        }
    }

    static func validateClientName(_ name: String) throws(CommandError) {
        for c in name.utf8 where c < 33 || c > 126 {
            throw CommandError("ERR Client names cannot contain spaces, newlines or special characters.")
        }
    }

    func clientCommand() -> CommandSpec {
        let group = "connection"
        return command("client", arity: -2, flags: "", acl: "slow", group: group, since: "2.4.0", summary: "A container for client connection commands.", subcommands: [
            command("client|id", arity: 2, flags: "noscript loading stale", acl: "slow connection", group: group, since: "5.0.0", summary: "Returns the unique client ID of the connection.") { ctx in
                ctx.client.reply.integer(ctx.client.id)
            },
            command("client|setname", arity: 3, flags: "noscript loading stale", acl: "slow connection", group: group, since: "2.6.9", summary: "Sets the connection name.") { ctx throws(CommandError) in
                let name = ctx.args.string(2)
                try Self.validateClientName(name)
                ctx.client.name = name.isEmpty ? nil : name
                ctx.client.reply.ok()
            },
            command("client|getname", arity: 2, flags: "noscript loading stale", acl: "slow connection", group: group, since: "2.6.9", summary: "Returns the name of the connection.") { ctx in
                if let n = ctx.client.name { ctx.client.reply.bulk(n) } else { ctx.client.reply.null() }
            },
            command("client|setinfo", arity: 4, flags: "noscript loading stale", acl: "slow connection", group: group, since: "7.2.0", summary: "Sets information specific to the client or connection.") { ctx throws(CommandError) in
                let value = ctx.args.string(3)
                for c in value.utf8 where c < 33 || c > 126 {
                    throw CommandError("ERR \(ctx.args.string(2).uppercased()) cannot contain spaces, newlines or special characters.")
                }
                if ctx.args.is(2, "LIB-NAME") { ctx.client.libraryName = value }
                else if ctx.args.is(2, "LIB-VER") { ctx.client.libraryVersion = value }
                else { throw CommandError("ERR Unrecognized option '\(ctx.args.string(2))'") }
                ctx.client.reply.ok()
            },
            command("client|list", arity: -2, flags: "admin noscript loading stale", acl: "admin slow dangerous connection", group: group, since: "2.4.0", summary: "Lists open connections.") { ctx throws(CommandError) in
                var selected = ctx.server.allClients
                var i = 2
                while i < ctx.args.count {
                    if ctx.args.is(i, "TYPE") && i + 1 < ctx.args.count {
                        if !ctx.args.is(i + 1, "NORMAL") { selected = [] }
                        i += 2
                    } else if ctx.args.is(i, "ID") && i + 1 < ctx.args.count {
                        var ids: Set<Int> = []
                        for j in (i + 1)..<ctx.args.count {
                            guard let id = Bytes.parseInteger(ctx.args[j]), id > 0 else { throw CommandError("ERR Invalid client ID") }
                            ids.insert(id)
                        }
                        selected = selected.filter { ids.contains($0.id) }
                        i = ctx.args.count
                    } else {
                        throw .syntax
                    }
                }
                let now = wallClockMilliseconds()
                ctx.client.reply.verbatim(selected.map { $0.infoLine(now: now) + "\n" }.joined())
            },
            command("client|info", arity: 2, flags: "noscript loading stale", acl: "slow connection", group: group, since: "6.2.0", summary: "Returns information about the connection.") { ctx in
                ctx.client.reply.verbatim(ctx.client.infoLine(now: wallClockMilliseconds()) + "\n")
            },
            command("client|kill", arity: -3, flags: "admin noscript loading stale", acl: "admin slow dangerous connection", group: group, since: "2.4.0", summary: "Terminates open connections.") { ctx throws(CommandError) in
                try ctx.server.clientKill(ctx)
            },
            command("client|no-evict", arity: 3, flags: "admin noscript loading stale", acl: "admin slow dangerous connection", group: group, since: "7.0.0", summary: "Sets the client eviction mode of the connection.") { ctx throws(CommandError) in
                if ctx.args.is(2, "ON") { ctx.client.noEvict = true } else if ctx.args.is(2, "OFF") { ctx.client.noEvict = false } else { throw .syntax }
                ctx.client.reply.ok()
            },
            command("client|no-touch", arity: 3, flags: "noscript loading stale", acl: "slow connection", group: group, since: "7.2.0", summary: "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.") { ctx throws(CommandError) in
                guard ctx.args.is(2, "ON") || ctx.args.is(2, "OFF") else { throw .syntax }
                ctx.client.reply.ok()
            },
            command("client|help", arity: 2, flags: "loading stale", acl: "slow connection", group: group, since: "5.0.0", summary: "Returns helpful text about the different subcommands.") { ctx in
                let lines = ["CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                             "ID", "    Return the ID of the current connection.",
                             "GETNAME", "    Return the name of the current connection.",
                             "SETNAME <name>", "    Assign the name <name> to the current connection.",
                             "SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
                             "LIST [TYPE normal] [ID <id> ...]", "    Return information about client connections.",
                             "INFO", "    Return information about the current client connection.",
                             "KILL <ip:port> | ID <id> | ADDR <ip:port> | LADDR <ip:port> | USER <user> | SKIPME yes|no", "    Kill connections.",
                             "NO-EVICT (ON|OFF)", "    Protect the current client connection from eviction.",
                             "HELP", "    Print this help."]
                ctx.client.reply.array(lines.count)
                for l in lines { ctx.client.reply.simpleString(l) }
            },
        ])
    }

    /// CLIENT KILL ip:port (old form) or filters ID/ADDR/LADDR/USER/SKIPME.
    func clientKill(_ ctx: CommandContext) throws(CommandError) {
        let args = ctx.args
        if args.count == 3 {
            let addr = args.string(2)
            guard let victim = allClients.first(where: { $0.address == addr }) else { throw CommandError("ERR No such client") }
            killAfterReply(victim, caller: ctx.client)
            ctx.client.reply.ok()
            return
        }
        guard args.count % 2 == 0 else { throw .syntax }
        var id: Int?, addr: String?, laddr: String?, user: String?
        var skipMe = true
        var i = 2
        while i + 1 < args.count {
            if args.is(i, "ID") {
                guard let v = Bytes.parseInteger(args[i + 1]), v > 0 else { throw CommandError("ERR client-id should be greater than 0") }
                id = v
            } else if args.is(i, "ADDR") { addr = args.string(i + 1) }
            else if args.is(i, "LADDR") { laddr = args.string(i + 1) }
            else if args.is(i, "USER") { user = args.string(i + 1) }
            else if args.is(i, "TYPE") { guard args.is(i + 1, "NORMAL") else { ctx.client.reply.integer(0); return } }
            else if args.is(i, "SKIPME") {
                if args.is(i + 1, "YES") { skipMe = true } else if args.is(i + 1, "NO") { skipMe = false } else { throw .syntax }
            } else { throw .syntax }
            i += 2
        }
        var killed = 0
        for c in allClients {
            if let id, c.id != id { continue }
            if let addr, c.address != addr { continue }
            if let laddr, c.localAddress != laddr { continue }
            if let user, c.user != user { continue }
            if skipMe && c === ctx.client { continue }
            killAfterReply(c, caller: ctx.client)
            killed += 1
        }
        ctx.client.reply.integer(killed)
    }

    private func killAfterReply(_ victim: Client, caller: Client) {
        if victim === caller { victim.closeAfterReply = true } else { close(victim) }
    }
}

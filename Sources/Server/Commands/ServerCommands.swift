// Server commands: INFO, DBSIZE, FLUSHALL/FLUSHDB, TIME, CONFIG, COMMAND, SAVE, BGSAVE, SHUTDOWN, DEBUG, MEMORY, OBJECT,
// LASTSAVE, MODULE.
import CLibUV
import RESP
import Keyspace
import Tiering
#if canImport(Glibc)
import Glibc
#endif

extension Server {
    /// FLUSHALL / FLUSHDB: every key, and, as RediSearch's flush callback does, every index, alias and spell-check
    /// dictionary (a suite that flushes between tests then creates its index again expects that).
    func flushEverything() {
        database.flush()
        search.dropEverything()
    }

    func serverCommands() -> [CommandSpec] {
        [
            command("info", arity: -1, flags: "loading stale", acl: "slow dangerous", group: "server", summary: "Returns information and statistics about the server.") { ctx in
                let sections = (1..<max(1, ctx.args.count)).map { ctx.args.lowercased($0) }
                ctx.client.reply.verbatim(ctx.server.infoText(sections: sections))
            },
            command("dbsize", arity: 1, flags: "readonly fast", acl: "keyspace read fast", group: "server", summary: "Returns the number of keys in the database.") { ctx in
                ctx.client.reply.integer(ctx.server.database.count)
            },
            command("flushall", arity: -1, flags: "write", acl: "keyspace write slow dangerous", group: "server", summary: "Removes all keys from all databases.") { ctx throws(CommandError) in
                try Self.checkFlushMode(ctx.args)
                ctx.server.flushEverything()
                ctx.client.reply.ok()
            },
            command("flushdb", arity: -1, flags: "write", acl: "keyspace write slow dangerous", group: "server", summary: "Remove all keys from the current database.") { ctx throws(CommandError) in
                try Self.checkFlushMode(ctx.args)
                ctx.server.flushEverything()
                ctx.client.reply.ok()
            },
            command("time", arity: 1, flags: "loading stale fast", acl: "fast", group: "server", since: "2.6.0", summary: "Returns the server time.") { ctx in
                var tv = timeval()
                gettimeofday(&tv, nil)
                ctx.client.reply.array(2)
                ctx.client.reply.bulk(String(tv.tv_sec))
                ctx.client.reply.bulk(String(tv.tv_usec))
            },
            command("lastsave", arity: 1, flags: "loading stale fast", acl: "admin fast dangerous", group: "server", summary: "Returns the Unix timestamp of the last successful save to disk.") { ctx in
                ctx.client.reply.integer(Int(ctx.server.lastSave))
            },
            command("save", arity: 1, flags: "admin noscript no_async_loading no_multi", acl: "admin slow dangerous", group: "server", summary: "Synchronously saves the database(s) to disk.") { ctx throws(CommandError) in
                guard ctx.server.saveSnapshot(to: ctx.server.config["dbfilename"]) else { throw CommandError("ERR") }
                ctx.client.reply.ok()
            },
            // No fork: the save runs on the loop like SAVE, and replies as Redis's BGSAVE does once it is done.
            command("bgsave", arity: -1, flags: "admin noscript no_async_loading", acl: "admin slow dangerous", group: "server", since: "1.0.0", summary: "Asynchronously saves the database(s) to disk.") { ctx throws(CommandError) in
                guard ctx.args.count == 1 || (ctx.args.count == 2 && ctx.args.is(1, "SCHEDULE")) else { throw .syntax }
                guard ctx.server.saveSnapshot(to: ctx.server.config["dbfilename"]) else { throw CommandError("ERR") }
                ctx.client.reply.simpleString("Background saving started")
            },
            command("shutdown", arity: -1, flags: "admin noscript loading stale no_multi allow_busy", acl: "admin slow dangerous", group: "server", summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.") { ctx throws(CommandError) in
                var save: Bool?
                var force = false, abort = false
                for i in 1..<max(1, ctx.args.count) {
                    if ctx.args.is(i, "NOSAVE") || ctx.args.is(i, "SAVE") {
                        guard save == nil else { throw .syntax }
                        save = ctx.args.is(i, "SAVE")
                    } else if ctx.args.is(i, "FORCE") {
                        force = true
                    } else if ctx.args.is(i, "ABORT") {
                        abort = true
                    } else {
                        guard ctx.args.is(i, "NOW") else { throw .syntax }
                    }
                }
                if abort {
                    guard ctx.args.count == 2 else { throw .syntax }
                    throw CommandError("ERR No shutdown in progress.")
                }
                ctx.server.logger.warning("User requested shutdown...")
                // As Redis: SAVE saves, NOSAVE does not, neither saves when save points are configured.
                if !ctx.server.prepareForShutdown(save: save ?? ctx.server.hasSavePoints) {
                    guard force else { throw CommandError("ERR Errors trying to SHUTDOWN. Check logs.") }
                    ctx.server.stop()
                }
            },
            configCommand(),
            commandCommand(),
            command("debug", arity: -2, flags: "admin noscript loading stale", acl: "admin slow dangerous", group: "server", summary: "A container for debugging commands.") { ctx throws(CommandError) in
                if ctx.args.is(1, "SLEEP") && ctx.args.count == 3 {
                    let seconds = try ctx.args.double(2)
                    usleep(useconds_t(max(0, seconds) * 1_000_000))
                    ctx.client.reply.ok()
                } else if ctx.args.is(1, "SET-ACTIVE-EXPIRE") && ctx.args.count == 3 {
                    let on = try ctx.args.integer(2) != 0
                    try? ctx.server.config.set("active-expire-enabled", on ? "yes" : "no")
                    ctx.client.reply.ok()
                } else {
                    throw CommandError("ERR unknown subcommand '\(ctx.args.string(1))'. Try DEBUG HELP.")
                }
            },
            command("memory", arity: -2, flags: "", acl: "slow", group: "server", since: "4.0.0", summary: "A container for memory diagnostics commands.", subcommands: [
                command("memory|usage", arity: -3, flags: "readonly", acl: "read slow", keys: KeyPositions(first: 2, last: 2, step: 1), keySpec: "RO", group: "server", since: "4.0.0", summary: "Estimates the memory usage of a key.") { ctx throws(CommandError) in
                    if ctx.args.count > 3 {
                        guard ctx.args.count == 5, ctx.args.is(3, "SAMPLES") else { throw .syntax }
                        _ = try ctx.args.integer(4)
                    }
                    let key = ctx.args.bytes(2)
                    guard let v = ctx.server.database.peek(key) else { ctx.client.reply.null(); return }
                    ctx.client.reply.integer(48 + key.count + v.memoryUsage)
                },
                command("memory|stats", arity: 2, flags: "", acl: "slow", group: "server", since: "4.0.0", summary: "Returns details about memory usage.") { ctx in
                    let rss = processResidentBytes()
                    ctx.client.reply.map(3)
                    ctx.client.reply.bulk("peak.allocated"); ctx.client.reply.integer(rss)
                    ctx.client.reply.bulk("total.allocated"); ctx.client.reply.integer(rss)
                    ctx.client.reply.bulk("keys.count"); ctx.client.reply.integer(ctx.server.database.count)
                },
            ]),
            command("object", arity: -2, flags: "", acl: "slow", group: "generic", since: "2.2.3", summary: "A container for object introspection commands.", subcommands: [
                command("object|encoding", arity: 3, flags: "readonly", acl: "keyspace read slow", keys: KeyPositions(first: 2, last: 2, step: 1), keySpec: "RO", group: "generic", since: "2.2.3", summary: "Returns the internal encoding of a Redis object.") { ctx in
                    guard let v = ctx.server.database.peek(ctx.args.bytes(2)) else { ctx.client.reply.null(); return }
                    ctx.client.reply.bulk(v.encodingName)
                },
                command("object|refcount", arity: 3, flags: "readonly", acl: "keyspace read slow", keys: KeyPositions(first: 2, last: 2, step: 1), keySpec: "RO", group: "generic", since: "2.2.3", summary: "Returns the reference count of a value of a key.") { ctx in
                    guard ctx.server.database.peek(ctx.args.bytes(2)) != nil else { ctx.client.reply.null(); return }
                    ctx.client.reply.integer(1)
                },
                command("object|idletime", arity: 3, flags: "readonly", acl: "keyspace read slow", keys: KeyPositions(first: 2, last: 2, step: 1), keySpec: "RO", group: "generic", since: "2.2.3", summary: "Returns the time since the last access to a Redis object.") { ctx in
                    guard ctx.server.database.peek(ctx.args.bytes(2)) != nil else { ctx.client.reply.null(); return }
                    ctx.client.reply.integer(0)
                },
                command("object|freq", arity: 3, flags: "readonly", acl: "keyspace read slow", keys: KeyPositions(first: 2, last: 2, step: 1), keySpec: "RO", group: "generic", since: "4.0.0", summary: "Returns the logarithmic access frequency counter of a Redis object.") { ctx throws(CommandError) in
                    throw CommandError("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
                },
            ]),
            command("module", arity: -2, flags: "", acl: "slow", group: "server", since: "4.0.0", summary: "A container for module commands.", subcommands: [
                command("module|list", arity: 2, flags: "admin noscript", acl: "admin slow dangerous", group: "server", since: "4.0.0", summary: "Returns all loaded modules.") { ctx in
                    ctx.server.writeModuleList(&ctx.client.reply)
                },
            ]),
        ]
    }

    static func checkFlushMode(_ args: Arguments) throws(CommandError) {
        guard args.count <= 2 else { throw .syntax }
        if args.count == 2 && !(args.is(1, "ASYNC") || args.is(1, "SYNC")) { throw .syntax }
    }

    // MARK: CONFIG

    func configCommand() -> CommandSpec {
        command("config", arity: -2, flags: "", acl: "slow", group: "server", since: "2.0.0", summary: "A container for server configuration commands.", subcommands: [
            command("config|get", arity: -3, flags: "admin noscript loading stale", acl: "admin slow dangerous", group: "server", since: "2.0.0", summary: "Returns the effective values of configuration parameters.") { ctx in
                var pairs: [(String, String)] = []
                var seen: Set<String> = []
                for i in 2..<ctx.args.count {
                    let pattern = ctx.args.lowercased(i)
                    for name in ctx.server.config.names where !seen.contains(name) && GlobMatch.matches(pattern: pattern, name) {
                        seen.insert(name)
                        pairs.append((name, ctx.server.config[name]))
                    }
                }
                ctx.client.reply.map(pairs.count)
                for (k, v) in pairs { ctx.client.reply.bulk(k); ctx.client.reply.bulk(v) }
            },
            command("config|set", arity: -4, flags: "admin noscript loading stale", acl: "admin slow dangerous", group: "server", since: "2.0.0", summary: "Sets configuration parameters in-flight.") { ctx throws(CommandError) in
                guard ctx.args.count % 2 == 0 else { throw .wrongArity("config|set") }
                var updated = ctx.server.config
                for i in stride(from: 2, to: ctx.args.count, by: 2) {
                    let name = ctx.args.lowercased(i)
                    let value = ctx.args.string(i + 1)
                    guard updated.isKnown(name) else {
                        throw CommandError("ERR Unknown option or number of arguments for CONFIG SET - '\(name)'")
                    }
                    guard updated.isMutable(name) else {
                        throw CommandError("ERR CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config")
                    }
                    do { try updated.set(name, value) } catch ConfigError.outOfRange(_, let range, _) {
                        throw CommandError("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(ConfigError.rangeText(range))")
                    } catch {
                        throw CommandError("ERR CONFIG SET failed (possibly related to argument '\(name)') - argument couldn't be parsed into an integer")
                    }
                }
                // As Redis: the process moves to the new dir (tiered indexes created from now on go under it).
                if updated["dir"] != ctx.server.config["dir"] && !updated["dir"].isEmpty && chdir(updated["dir"]) != 0 {
                    throw CommandError("ERR CONFIG SET failed (possibly related to argument 'dir') - \(String(cString: strerror(errno)))")
                }
                ctx.server.config = updated
                ctx.server.applyConfig()
                ctx.client.reply.ok()
            },
            command("config|resetstat", arity: 2, flags: "admin noscript loading stale", acl: "admin slow dangerous", group: "server", since: "2.0.0", summary: "Resets the server's statistics.") { ctx in
                ctx.server.resetStats()
                ctx.client.reply.ok()
            },
            command("config|rewrite", arity: 2, flags: "admin noscript loading stale", acl: "admin slow dangerous", group: "server", since: "2.8.0", summary: "Persists the effective configuration to file.") { ctx throws(CommandError) in
                throw CommandError("ERR The server is running without a config file")
            },
        ])
    }

    func resetStats() {
        totalCommands = 0
        totalConnections = 0
        rejectedConnections = 0
        netInputBytes = 0
        netOutputBytes = 0
        errorStats = [:]
        totalErrorReplies = 0
        for i in commands.stats.indices { commands.stats[i] = CommandStats() }
        TieringController.node.counters.reset()
    }

    // MARK: COMMAND

    func commandCommand() -> CommandSpec {
        command("command", arity: -1, flags: "loading stale", acl: "slow connection", group: "server", since: "2.8.13", summary: "Returns detailed information about all commands.", subcommands: [
            command("command|count", arity: 2, flags: "loading stale", acl: "slow connection", group: "server", since: "2.8.13", summary: "Returns a count of commands.") { ctx in
                ctx.client.reply.integer(ctx.server.commands.commands.count)
            },
            command("command|list", arity: -2, flags: "loading stale", acl: "slow connection", group: "server", since: "7.0.0", summary: "Returns a list of command names.") { ctx throws(CommandError) in
                // As Redis 7: containers and their subcommands ("config|get"), each filter applied to both.
                let all = ctx.server.commands.commands.flatMap { [$0] + $0.subcommands }
                var names = all.map(\.name)
                if ctx.args.count > 2 {
                    guard ctx.args.count == 5, ctx.args.is(2, "FILTERBY") else { throw .syntax }
                    let value = ctx.args.string(4)
                    if ctx.args.is(3, "PATTERN") {
                        names = names.filter { GlobMatch.matches(pattern: value.lowercased(), $0.lowercased()) }
                    } else if ctx.args.is(3, "ACLCAT") {
                        names = all.filter { $0.categories.contains(value.lowercased()) }.map(\.name)
                    } else if ctx.args.is(3, "MODULE") {
                        // The search module's commands are the FT.* ones (module names are case-sensitive).
                        names = value == "search" ? all.filter { $0.group == "module" }.map(\.name) : []
                    } else { throw .syntax }
                }
                ctx.client.reply.array(names.count)
                for n in names { ctx.client.reply.bulk(n) }
            },
            command("command|info", arity: -2, flags: "loading stale", acl: "slow connection", group: "server", since: "2.8.13", summary: "Returns information about one, multiple or all commands.") { ctx in
                if ctx.args.count == 2 {
                    ctx.client.reply.array(ctx.server.commands.commands.count)
                    for spec in ctx.server.commands.commands { ctx.client.reply.commandInfo(spec) }
                    return
                }
                ctx.client.reply.array(ctx.args.count - 2)
                for i in 2..<ctx.args.count {
                    if let spec = ctx.server.lookupCommand(fullName: ctx.args.lowercased(i)) {
                        ctx.client.reply.commandInfo(spec)
                    } else {
                        ctx.client.reply.nullArray()
                    }
                }
            },
            command("command|docs", arity: -2, flags: "loading stale", acl: "slow connection", group: "server", since: "7.0.0", summary: "Returns documentary information about one, multiple or all commands.") { ctx in
                let specs: [CommandSpec]
                if ctx.args.count == 2 {
                    specs = ctx.server.commands.commands
                } else {
                    specs = (2..<ctx.args.count).compactMap { ctx.server.lookupCommand(fullName: ctx.args.lowercased($0)) }
                }
                ctx.client.reply.map(specs.count)
                for s in specs { ctx.client.reply.commandDocs(s) }
            },
            command("command|getkeys", arity: -3, flags: "loading stale", acl: "slow connection", group: "server", since: "2.8.13", summary: "Extracts the key names from an arbitrary command.") { ctx throws(CommandError) in
                let keys = try ctx.server.getKeys(ctx.args)
                ctx.client.reply.array(keys.count)
                for k in keys { ctx.client.reply.bulk(k.storage) }
            },
            command("command|help", arity: 2, flags: "loading stale", acl: "slow connection", group: "server", since: "5.0.0", summary: "Returns helpful text about the different subcommands.") { ctx in
                let lines = ["COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                             "(no subcommand)", "    Return details about all commands.",
                             "COUNT", "    Return the total number of commands in this server.",
                             "LIST", "    Return a list of all commands in this server.",
                             "INFO [<command-name> ...]", "    Return details about multiple commands.",
                             "DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
                             "GETKEYS <full-command>", "    Return the keys from a full command.",
                             "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full command.",
                             "HELP", "    Print this help."]
                ctx.client.reply.array(lines.count)
                for l in lines { ctx.client.reply.simpleString(l) }
            },
            command("command|getkeysandflags", arity: -3, flags: "loading stale", acl: "slow connection", group: "server", since: "7.0.0", summary: "Extracts the key names and access flags for an arbitrary command.") { ctx throws(CommandError) in
                let keys = try ctx.server.getKeys(ctx.args)
                let flags = ctx.server.commands.lookup(ctx.args[2])?.keySpecFlags ?? []
                ctx.client.reply.array(keys.count)
                for k in keys {
                    ctx.client.reply.array(2)
                    ctx.client.reply.bulk(k.storage)
                    ctx.client.reply.set(flags.count)
                    for f in flags { ctx.client.reply.simpleString(f) }
                }
            },
        ]) { ctx throws(CommandError) in
            // Bare COMMAND: the whole table; anything after it that is no subcommand is refused, as Redis does.
            if ctx.args.count > 1 { throw .unknownSubcommand(ctx.args.string(1), "command") }
            ctx.client.reply.array(ctx.server.commands.commands.count)
            for spec in ctx.server.commands.commands { ctx.client.reply.commandInfo(spec) }
        }
    }

    /// "config|get" or "get" style lookup used by COMMAND INFO / DOCS.
    func lookupCommand(fullName: String) -> CommandSpec? {
        // `COMMAND INFO ""` and `"|get"` name no command (splitting them once crashed on the empty first part).
        let parts = fullName.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let top = commands.lookup(first) else { return nil }
        if parts.count == 1 { return top }
        return top.subcommands.first { $0.name == fullName }
    }

    /// COMMAND GETKEYS: the key arguments of a full command, from the table's key positions.
    func getKeys(_ args: Arguments) throws(CommandError) -> [Bytes] {
        guard var spec = commands.lookup(args[2]) else { throw CommandError("ERR Invalid command specified") }
        let argc = args.count - 2
        if !spec.subcommands.isEmpty && argc >= 2, let sub = CommandTable.subcommand(of: spec, args[3]) { spec = sub }
        if (spec.arity > 0 && argc != spec.arity) || (spec.arity < 0 && argc < -spec.arity) {
            throw CommandError("ERR Invalid number of arguments specified for command")
        }
        let indexes = spec.keyIndexes(argc: argc)
        if indexes.isEmpty { throw CommandError("ERR The command has no key arguments") }
        return indexes.map { args.bytes($0 + 2) }
    }

    /// Keys of a request (cluster routing, WATCH checks), from the table.
    public func keys(of spec: CommandSpec, _ args: Arguments) -> [Int] { spec.keyIndexes(argc: args.count) }
}

/// Resident set size of this process in bytes (from /proc/self/statm).
public func processResidentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { Glibc.close(fd) }
    var buf = [UInt8](repeating: 0, count: 128)
    let n = read(fd, &buf, 127)
    guard n > 0 else { return 0 }
    let fields = String(decoding: buf[0..<n], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

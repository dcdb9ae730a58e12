// INFO: the sections Redis reports, in its `# Section` + `key:value` text format, plus sections of other modules.
import Keyspace
#if canImport(Glibc)
import Glibc
#endif

extension Server {
    static let defaultInfoSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                                      "modules", "errorstats", "cluster", "keyspace"]

    /// Our own sections (not a module's): in the default set as well as in `all` and `everything`.
    static let nodeExtensionSections = ["tiering"]

    /// `sections` empty or "default"/"all"/"everything" → the usual set; names are case-insensitive.
    public func infoText(sections requested: [String]) -> String {
        var names: [String]
        let extra = infoSections.map(\.name)
        let moduleSections = extra.filter { !Self.nodeExtensionSections.contains($0) }
        // Module sections (search) appear with "modules", "everything" or by name, as in Redis.
        if requested.isEmpty || requested.contains("default") {
            names = Self.defaultInfoSections + Self.nodeExtensionSections
        } else if requested.contains("all") {
            names = Self.defaultInfoSections + ["commandstats", "latencystats"] + Self.nodeExtensionSections
        } else if requested.contains("everything") {
            names = Self.defaultInfoSections + ["commandstats", "latencystats"] + extra
        } else {
            // Asking for "modules" by name also brings the modules' own sections.
            names = requested.flatMap { $0 == "modules" ? ["modules"] + moduleSections : [$0] }
        }
        var out: [String] = []
        var emitted: Set<String> = []
        for name in names where !emitted.contains(name) {
            emitted.insert(name)
            if let body = section(name) { out.append(body) }
        }
        return out.joined(separator: "\r\n")
    }

    private func section(_ name: String) -> String? {
        func block(_ title: String, _ lines: [String]) -> String {
            "# \(title)\r\n" + lines.map { $0 + "\r\n" }.joined()
        }
        let now = wallClockMilliseconds()
        switch name {
        case "server":
            var u = utsname()
            uname(&u)
            let os = [withUnsafeBytes(of: &u.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) },
                      withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) },
                      withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }].joined(separator: " ")
            let uptime = (now - startTime) / 1000
            return block("Server", [
                "redis_version:\(redisCompatibleVersion)", "vecshard_version:\(vecshardVersion)",
                "redis_git_sha1:00000000", "redis_git_dirty:0", "redis_build_id:0",
                "redis_mode:\(config.bool("cluster-enabled") ? "cluster" : "standalone")", "os:\(os)", "arch_bits:64",
                "monotonic_clock:POSIX clock_gettime", "multiplexing_api:epoll", "gcc_version:0.0.0",
                "process_id:\(getpid())", "process_supervised:no", "run_id:\(runID)", "tcp_port:\(config.port)",
                "server_time_usec:\(now * 1000)", "uptime_in_seconds:\(uptime)", "uptime_in_days:\(uptime / 86400)",
                "hz:\(config.int("hz"))", "configured_hz:\(config.int("hz"))", "lru_clock:\((now / 1000) & 0xFFFFFF)",
                "executable:\(CommandLine.arguments.first ?? "")", "config_file:", "io_threads_active:0",
            ])
        case "clients":
            return block("Clients", [
                "connected_clients:\(clients.count)", "cluster_connections:0", "maxclients:\(config.int("maxclients"))",
                "client_recent_max_input_buffer:0", "client_recent_max_output_buffer:0", "blocked_clients:\(clients.values.filter(\.isBlocked).count)",
                "tracking_clients:0", "pubsub_clients:0", "watching_clients:\(clients.values.filter { !$0.watchedKeys.isEmpty }.count)",
                "clients_in_timeout_table:0", "total_watched_keys:\(watchers.count)", "total_blocking_keys:0",
            ])
        case "memory":
            let rss = processResidentBytes()
            return block("Memory", [
                "used_memory:\(rss)", "used_memory_human:\(Self.human(rss))", "used_memory_rss:\(rss)",
                "used_memory_rss_human:\(Self.human(rss))", "used_memory_peak:\(rss)", "used_memory_peak_human:\(Self.human(rss))",
                "maxmemory:\(config.int("maxmemory"))", "maxmemory_human:\(Self.human(config.int("maxmemory")))",
                "maxmemory_policy:\(config["maxmemory-policy"])", "mem_fragmentation_ratio:1.00", "mem_allocator:libc",
            ])
        case "persistence":
            return block("Persistence", [
                "loading:0", "async_loading:0", "current_cow_peak:0",
                "rdb_changes_since_last_save:\(database.dirty &- dirtyAtLastSave)",
                "rdb_bgsave_in_progress:0", "rdb_last_save_time:\(lastSave)",
                "rdb_last_bgsave_status:\(lastSaveSucceeded ? "ok" : "err")",
                "aof_enabled:0", "aof_rewrite_in_progress:0", "aof_last_write_status:ok",
            ])
        case "stats":
            return block("Stats", [
                "total_connections_received:\(totalConnections)", "total_commands_processed:\(totalCommands)",
                "instantaneous_ops_per_sec:0", "total_net_input_bytes:\(netInputBytes)", "total_net_output_bytes:\(netOutputBytes)",
                "rejected_connections:\(rejectedConnections)", "expired_keys:\(database.expiredKeys)", "evicted_keys:0",
                "keyspace_hits:\(database.keyspaceHits)", "keyspace_misses:\(database.keyspaceMisses)",
                "pubsub_channels:0", "pubsub_patterns:0", "total_error_replies:\(totalErrorReplies)",
                "unexpected_error_replies:0", "total_reads_processed:0", "total_writes_processed:0",
            ])
        case "replication":
            return block("Replication", [
                "role:master", "connected_slaves:0", "master_failover_state:no-failover", "master_replid:\(runID)",
                "master_replid2:0000000000000000000000000000000000000000", "master_repl_offset:0", "second_repl_offset:-1",
                "repl_backlog_active:0", "repl_backlog_size:1048576", "repl_backlog_first_byte_offset:0", "repl_backlog_histlen:0",
            ])
        case "cpu":
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            func seconds(_ t: timeval) -> String {
                let us = Int(t.tv_sec) * 1_000_000 + Int(t.tv_usec)
                let frac = String(us % 1_000_000)
                return "\(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)"
            }
            return block("CPU", ["used_cpu_sys:\(seconds(usage.ru_stime))", "used_cpu_user:\(seconds(usage.ru_utime))",
                                 "used_cpu_sys_children:0.000000", "used_cpu_user_children:0.000000"])
        case "modules":
            return block("Modules", modules.map { "module:name=\($0.name),ver=\($0.version),api=1,filters=0,usedby=[],using=[],options=[handle-io-errors]" })
        case "errorstats":
            return block("Errorstats", errorStats.keys.sorted().map { "errorstat_\($0):count=\(errorStats[$0]!)" })
        case "commandstats":
            var lines: [String] = []
            func add(_ spec: CommandSpec) {
                let s = commands.stats[spec.id]
                if s.calls + s.rejected + s.failed > 0 {
                    let per = s.calls > 0 ? Double(s.microseconds) / Double(s.calls) : 0
                    lines.append("cmdstat_\(spec.name):calls=\(s.calls),usec=\(s.microseconds),usec_per_call=\(String(format2: per)),rejected_calls=\(s.rejected),failed_calls=\(s.failed)")
                }
            }
            for spec in commands.commands { add(spec) }
            return block("Commandstats", lines)
        case "latencystats":
            return block("Latencystats", [])
        case "cluster":
            return block("Cluster", ["cluster_enabled:\(config.bool("cluster-enabled") ? 1 : 0)"])
        case "keyspace":
            let db = database
            guard db.count > 0 else { return block("Keyspace", []) }
            return block("Keyspace", ["db0:keys=\(db.count),expires=\(db.expires.count),avg_ttl=0"])
        default:
            if let provider = infoSections.first(where: { $0.name == name }) { return provider.body(self) }
            return nil
        }
    }

    static func human(_ bytes: Int) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var v = Double(bytes)
        var i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(bytes)B" : "\(String(format2: v))\(units[i])"
    }
}

extension String {
    /// Two decimals without Foundation.
    init(format2 value: Double) {
        let scaled = Int((value * 100).rounded())
        let frac = abs(scaled % 100)
        self = "\(scaled / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}

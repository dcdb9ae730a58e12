// Cluster mode for the node: loads the topology at startup (`cluster-enabled yes`) and installs the key check that
// answers -MOVED / -CROSSSLOT / -CLUSTERDOWN before a keyed command runs, and before it is queued inside MULTI.
import Cluster
import Keyspace
#if canImport(Glibc)
import Glibc
#endif

extension Server {
    /// Called once while the command table is built (Server.init). Returns nil when `cluster-enabled` is `no`.
    /// A missing or invalid topology is fatal: the problems go to stderr and the process exits with status 1,
    /// because a node serving the wrong slots would silently split the keyspace.
    func installClusterRouting() -> ClusterView? {
        guard config.bool("cluster-enabled") else {
            if !config["cluster-topology"].isEmpty {
                logger.warning("cluster-topology is set but cluster-enabled is no: the topology is ignored")
            }
            return nil
        }
        let view: ClusterView
        do {
            view = try loadClusterView()
        } catch {
            let text = "\n*** FATAL CLUSTER TOPOLOGY ERROR (VecShard \(vecshardVersion)) ***\n\(error)\n"
            var bytes = Array(text.utf8)
            _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            exit(1)
        }
        let me = view.me
        if me.port != config.port {
            logger.warning("cluster-node '\(me.name)' is declared on port \(me.port) but this node listens on \(config.port): clients will be sent to \(me.endpoint)")
        }
        let role = me.isMaster ? "master of \(view.slots.ranges(of: view.myself).map(\.description).joined(separator: " "))"
                               : "replica of '\(view.nodes[view.myMaster].name)'"
        logger.notice("Cluster mode: node '\(me.name)' \(me.id) (\(role)), \(view.nodes.count) nodes, \(view.shardMasters.count) shards")
        keyCheck = clusterKeyCheck(view)
        return view
    }

    /// The view named by `cluster-topology` and `cluster-node`.
    func loadClusterView() throws(TopologyError) -> ClusterView {
        let path = config["cluster-topology"], name = config["cluster-node"]
        guard !path.isEmpty, !name.isEmpty else {
            throw TopologyError(source: "configuration", problems: [
                "cluster-enabled yes needs a topology file and this node's name in it: --cluster-topology <file> --cluster-node <name>",
            ])
        }
        return try ClusterView.load(topologyPath: path, nodeName: name)
    }

    /// The Dispatcher's per-command hook. Runs for keyed commands (and for every command queued inside MULTI).
    func clusterKeyCheck(_ view: ClusterView) -> (CommandSpec, Arguments, Client) -> CommandError? {
        { [unowned self] spec, args, client in
            var keys = KeySlots.none
            if spec.routesByKeys { Self.forEachKeyIndex(spec, argc: args.count) { keys.add(key: args[$0]) } }
            var isWrite = spec.isWrite
            if let queued = client.transaction {
                if spec.name == "exec" {
                    // EXEC as a whole (Redis checks every queued command's keys together).
                    for argv in queued {
                        guard let q = self.resolve(argv), q.routesByKeys else { continue }
                        isWrite = isWrite || q.isWrite
                        for i in q.keyIndexes(argc: argv.count) { keys.add(Int(HashSlot(key: argv[i]).rawValue)) }
                    }
                } else if case .single(let slot) = keys, let first = self.firstKeySlot(of: queued), first != slot {
                    // Queue time: a transaction must stay in one slot. Redis refuses at EXEC; refusing here aborts the
                    // same transaction (EXECABORT) one step earlier.
                    return CommandError(RoutingDecision.crossSlotMessage)
                }
            }
            if case .none = keys { return nil }
            // ASKING covers only the next keyed command.
            let asking = client.asking
            client.asking = false
            return view.route(keys, isWrite: isWrite, readOnly: client.readOnly, asking: asking).message.map(CommandError.init)
        }
    }

    /// Key positions per the spec's (first, last, step), as `CommandSpec.keyIndexes(argc:)` without an array.
    @inline(__always)
    static func forEachKeyIndex(_ spec: CommandSpec, argc: Int, _ body: (Int) -> Void) {
        let k = spec.keys
        guard k.first > 0 else { return }
        let last = k.last < 0 ? argc + k.last : k.last
        guard k.first <= last, last < argc else {
            if k.first < argc { body(k.first) }
            return
        }
        let step = max(k.step, 1)
        var i = k.first
        while i <= last { body(i); i += step }
    }

    /// The spec (subcommand resolved) of a queued argv.
    private func resolve(_ argv: [Bytes]) -> CommandSpec? {
        guard let name = argv.first, var spec = name.storage.withUnsafeBytes({ commands.lookup($0) }) else { return nil }
        if !spec.subcommands.isEmpty, argv.count >= 2,
           let sub = argv[1].storage.withUnsafeBytes({ CommandTable.subcommand(of: spec, $0) }) {
            spec = sub
        }
        return spec
    }

    /// The slot of the first key among queued commands (all queued keys share it: each was checked when queued).
    /// Commands whose key positions are not keyspace keys (`routesByKeys` false: FT.* index names) don't count.
    private func firstKeySlot(of queued: [[Bytes]]) -> Int? {
        for argv in queued {
            if let spec = resolve(argv), spec.routesByKeys, let i = spec.keyIndexes(argc: argv.count).first {
                return Int(HashSlot(key: argv[i]).rawValue)
            }
        }
        return nil
    }
}

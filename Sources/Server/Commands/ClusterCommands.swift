// CLUSTER subcommands answered from the static topology (ClusterView): SLOTS, SHARDS, NODES, INFO, MYID, MYSHARDID,
// KEYSLOT, COUNTKEYSINSLOT, GETKEYSINSLOT, REPLICAS/SLAVES, LINKS, HELP. Topology changes are refused (phase 2: bus).
import RESP
import Keyspace
import Cluster

extension CommandError {
    static let clusterDisabled = CommandError("ERR This instance has cluster support disabled")
}

extension Server {
    /// `view` is nil when cluster-enabled is no: every subcommand then answers `ERR This instance has cluster support disabled`.
    func clusterCommands(_ view: ClusterView?) -> [CommandSpec] {
        let group = "cluster"
        typealias Body = (ClusterView, CommandContext) throws(CommandError) -> Void
        func sub(_ name: String, arity: Int, flags: String = "loading stale", acl: String = "slow", since: String = "3.0.0",
                 summary: String, _ body: @escaping Body) -> CommandSpec {
            command("cluster|\(name)", arity: arity, flags: flags, acl: acl, group: group, since: since, summary: summary) { ctx throws(CommandError) in
                guard let view else { throw .clusterDisabled }
                try body(view, ctx)
            }
        }
        /// Subcommands that would change the topology: the file is the only source of truth in phase 1.
        func refused(_ name: String, arity: Int, summary: String) -> CommandSpec {
            sub(name, arity: arity, flags: "admin stale no-async-loading", acl: "admin slow dangerous", summary: summary) { _, _ throws(CommandError) in
                throw CommandError("ERR CLUSTER \(name.uppercased()) is not supported: this cluster's topology is static (the cluster-topology file)")
            }
        }
        return [
            command("cluster", arity: -2, flags: "", acl: "slow", group: group, since: "3.0.0", summary: "A container for Redis Cluster commands.", subcommands: [
                sub("slots", arity: 2, summary: "Returns the mapping of cluster slots to nodes.") { view, ctx in
                    view.writeSlots(into: &ctx.client.reply)
                },
                sub("shards", arity: 2, since: "7.0.0", summary: "Returns the mapping of cluster slots to shards.") { view, ctx in
                    view.writeShards(into: &ctx.client.reply)
                },
                sub("nodes", arity: 2, summary: "Returns the cluster configuration for a node.") { view, ctx in
                    ctx.client.reply.verbatim(view.nodesText(now: wallClockMilliseconds()))
                },
                sub("info", arity: 2, summary: "Returns information about the state of a node.") { view, ctx in
                    ctx.client.reply.verbatim(view.infoText())
                },
                sub("myid", arity: 2, summary: "Returns the ID of a node.") { view, ctx in
                    ctx.client.reply.bulk(view.me.id)
                },
                sub("myshardid", arity: 2, since: "7.2.0", summary: "Returns the shard ID of a node.") { view, ctx in
                    ctx.client.reply.bulk(view.shardID(of: view.myself))
                },
                sub("keyslot", arity: 3, flags: "stale", summary: "Returns the hash slot for a key.") { _, ctx in
                    ctx.client.reply.integer(Int(HashSlot(key: ctx.args[2]).rawValue))
                },
                sub("countkeysinslot", arity: 3, flags: "stale", summary: "Returns the number of keys in a hash slot.") { _, ctx throws(CommandError) in
                    let slot = try ctx.args.integer(2)
                    guard slot >= 0 && slot < HashSlot.count else { throw CommandError("ERR Invalid slot") }
                    ctx.client.reply.integer(ctx.server.database.countKeys(inSlot: slot))
                },
                sub("getkeysinslot", arity: 4, flags: "stale", summary: "Returns the key names in a hash slot.") { _, ctx throws(CommandError) in
                    let slot = try ctx.args.integer(2)
                    let count = try ctx.args.integer(3)
                    guard slot >= 0 && slot < HashSlot.count && count >= 0 else { throw CommandError("ERR Invalid slot or number of keys") }
                    let keys = ctx.server.database.keys(inSlot: slot, limit: count)
                    ctx.client.reply.array(keys.count)
                    for k in keys { ctx.client.reply.bulk(k.storage) }
                },
                sub("replicas", arity: 3, flags: "admin stale", acl: "admin slow dangerous", since: "5.0.0", summary: "Lists the replica nodes of a master node.") { view, ctx throws(CommandError) in
                    try Self.clusterReplicas(view, ctx)
                },
                sub("slaves", arity: 3, flags: "admin stale", acl: "admin slow dangerous", summary: "Lists the replica nodes of a master node.") { view, ctx throws(CommandError) in
                    try Self.clusterReplicas(view, ctx)
                },
                sub("links", arity: 2, since: "7.0.0", summary: "Returns a list of all TCP links to and from peer nodes.") { _, ctx in
                    ctx.client.reply.array(0)  // no cluster bus in phase 1
                },
                sub("count-failure-reports", arity: 3, flags: "admin stale", acl: "admin slow dangerous", summary: "Returns the number of active failure reports active for a node.") { view, ctx throws(CommandError) in
                    guard view.topology.index(id: ctx.args.string(2)) != nil else { throw CommandError("ERR Unknown node \(ctx.args.string(2))") }
                    ctx.client.reply.integer(0)
                },
                sub("help", arity: 2, since: "5.0.0", summary: "Returns helpful text about the different subcommands.") { _, ctx in
                    ctx.client.reply.array(ClusterView.helpLines.count)
                    for l in ClusterView.helpLines { ctx.client.reply.simpleString(l) }
                },
                refused("meet", arity: -4, summary: "Forces a node to handshake with another node."),
                refused("addslots", arity: -3, summary: "Assigns new hash slots to a node."),
                refused("addslotsrange", arity: -4, summary: "Assigns new hash slot ranges to a node."),
                refused("delslots", arity: -3, summary: "Sets hash slots as unbound for a node."),
                refused("delslotsrange", arity: -4, summary: "Sets hash slot ranges as unbound for a node."),
                refused("flushslots", arity: 2, summary: "Deletes all slots information from a node."),
                refused("setslot", arity: -4, summary: "Binds a hash slot to a node."),
                refused("forget", arity: 3, summary: "Removes a node from the nodes table."),
                refused("replicate", arity: 3, summary: "Configure a node as replica of a master node."),
                refused("reset", arity: -2, summary: "Resets a node."),
                refused("failover", arity: -2, summary: "Forces a replica to perform a manual failover of its master."),
                refused("saveconfig", arity: 2, summary: "Forces a node to save the cluster configuration to disk."),
                refused("set-config-epoch", arity: 3, summary: "Sets the configuration epoch for a new node."),
                refused("bumpepoch", arity: 2, summary: "Advances the cluster config epoch."),
            ]),
        ]
    }

    /// CLUSTER REPLICAS|SLAVES <node-id>.
    static func clusterReplicas(_ view: ClusterView, _ ctx: CommandContext) throws(CommandError) {
        let id = ctx.args.string(2)
        guard let node = view.topology.index(id: id) else { throw CommandError("ERR Unknown node \(id)") }
        guard view.nodes[node].isMaster else { throw CommandError("ERR The specified node is not a master") }
        view.writeReplicas(of: node, now: wallClockMilliseconds(), into: &ctx.client.reply)
    }
}

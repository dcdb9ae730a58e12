// Encoders for the topology replies, byte-compatible with Redis 7: CLUSTER SLOTS, SHARDS, NODES, INFO, REPLICAS, HELP.
// They describe replies through ReplyWriter, so RESP2/RESP3 differences stay in the writer.
import RESP

extension ClusterView {
    /// CLUSTER SLOTS: one entry per run of slots, in slot order (redis-py's default node is the first entry's master):
    ///     [start, end, [host, port, id, {}], replica entries...]
    /// The 4th element of a node entry is the hostname/ip metadata map: `*0` in RESP2, `%0` in RESP3.
    public func writeSlots(into reply: inout ReplyWriter) {
        reply.array(slots.assignments.count)
        for a in slots.assignments {
            let replicas = topology.replicas(of: a.master)
            reply.array(3 + replicas.count)
            reply.integer(a.range.start)
            reply.integer(a.range.end)
            writeSlotsNode(a.master, into: &reply)
            for r in replicas { writeSlotsNode(r, into: &reply) }
        }
    }

    private func writeSlotsNode(_ i: Int, into reply: inout ReplyWriter) {
        let n = topology.nodes[i]
        reply.array(4)
        reply.bulk(n.host)
        reply.integer(n.port)
        reply.bulk(n.id)
        reply.map(0)
    }

    /// CLUSTER SHARDS: one map per master, `{slots: [start, end, ...], nodes: [{id, port, ip, endpoint, role,
    /// replication-offset, health}, ...]}` with the master first (Redis 7.0's key order).
    public func writeShards(into reply: inout ReplyWriter) {
        let masters = shardMasters
        reply.array(masters.count)
        for m in masters {
            reply.map(2)
            reply.bulk("slots")
            let ranges = slots.ranges(of: m)
            reply.array(ranges.count * 2)
            for r in ranges { reply.integer(r.start); reply.integer(r.end) }
            reply.bulk("nodes")
            let members = [m] + topology.replicas(of: m)
            reply.array(members.count)
            for i in members {
                let n = topology.nodes[i]
                reply.map(7)
                reply.bulk("id"); reply.bulk(n.id)
                reply.bulk("port"); reply.integer(n.port)
                reply.bulk("ip"); reply.bulk(n.host)
                reply.bulk("endpoint"); reply.bulk(n.host)
                reply.bulk("role"); reply.bulk(n.isMaster ? "master" : "replica")
                reply.bulk("replication-offset"); reply.integer(0)
                reply.bulk("health"); reply.bulk("online")
            }
        }
    }

    /// One CLUSTER NODES line without its `\n`:
    ///     <id> <ip>:<port>@<cport> <flags> <master-id|-> <ping-sent> <pong-recv> <config-epoch> connected <slots>...
    /// Slots are printed from the slot map (merged runs), so every node prints the same text for a master.
    /// `now` is wall-clock milliseconds, shown as the last pong time (seconds resolution, as Redis does).
    public func nodeLine(_ i: Int, now: Int64) -> String {
        let n = topology.nodes[i]
        var flags = i == myself ? "myself," : ""
        var masterID = "-"
        if case .replica(let m) = n.role {
            flags += "slave"
            masterID = topology.nodes[m].id
        } else {
            flags += "master"
        }
        var line = "\(n.id) \(n.host):\(n.port)@\(n.busPort) \(flags) \(masterID) 0 \(now / 1000 * 1000) \(configEpochs[i]) connected"
        if n.isMaster { for r in slots.ranges(of: i) { line += " \(r)" } }
        return line
    }

    /// CLUSTER NODES: every node's line, each ending in `\n` (redis-cli ignores a line without one).
    public func nodesText(now: Int64) -> String {
        topology.nodes.indices.map { nodeLine($0, now: now) + "\n" }.joined()
    }

    /// CLUSTER REPLICAS <master-id>: the replicas' CLUSTER NODES lines as bulk strings (no `\n`).
    public func writeReplicas(of master: Int, now: Int64, into reply: inout ReplyWriter) {
        let replicas = topology.replicas(of: master)
        reply.array(replicas.count)
        for r in replicas { reply.bulk(nodeLine(r, now: now)) }
    }

    /// CLUSTER INFO's `key:value\r\n` text (Redis 7.0's field order). No cluster bus yet, so no messages counted.
    public func infoText() -> String {
        let assigned = slots.assignedCount
        let lines = [
            "cluster_state:\(assigned == Topology.slotCount ? "ok" : "fail")",
            "cluster_slots_assigned:\(assigned)",
            "cluster_slots_ok:\(assigned)",
            "cluster_slots_pfail:0",
            "cluster_slots_fail:0",
            "cluster_known_nodes:\(topology.nodes.count)",
            "cluster_size:\(slots.mastersWithSlots.count)",
            "cluster_current_epoch:\(currentEpoch)",
            "cluster_my_epoch:\(configEpochs[myself])",
            "cluster_stats_messages_sent:0",
            "cluster_stats_messages_received:0",
            "total_cluster_links_buffer_limit_exceeded:0",
        ]
        return lines.map { $0 + "\r\n" }.joined()
    }

    /// CLUSTER HELP lines (status strings), Redis's wording for the subcommands we answer.
    public static let helpLines: [String] = [
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
        "MYID",
        "    Return the node id.",
        "MYSHARDID",
        "    Return the node's shard id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "SLAVES <node-id>",
        "    Return <node-id> replicas (deprecated alias of REPLICAS).",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "(The topology is static: it comes from the cluster-topology file; MEET, ADDSLOTS, SETSLOT and the other",
        "topology-changing subcommands are refused.)",
        "HELP",
        "    Print this help.",
    ]
}

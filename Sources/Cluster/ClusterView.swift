// ClusterView: one node's immutable picture of the cluster — topology, slot map, which node it is, epochs.
// Shared read-only by the event loop (routing, CLUSTER replies) and, later, the coordinator's worker threads.
//
// Module map (Sources/Cluster):
//   Topology.swift     the static topology file: format, parsing, validation
//   SlotMap.swift      slot → master, slot runs
//   ClusterView.swift  this node's view: myself, epochs, lookups
//   Routing.swift      key slots of a command → serve / MOVED / CROSSSLOT / CLUSTERDOWN
//   Replies.swift      CLUSTER SLOTS / SHARDS / NODES / INFO / REPLICAS / HELP encoders
// Planned (the FT.* coordinator phase): a pool of persistent, pipelined RESP connections to the other masters,
// keyed by node index and built from `shardMasters`, so nothing here needs to change shape for it.

public final class ClusterView: Sendable {
    public let topology: Topology
    public let slots: SlotMap
    /// Index of this node in `topology.nodes`.
    public let myself: Int
    /// Config epoch shown per node: masters are numbered 1... in file order, replicas show their master's.
    public let configEpochs: [Int]
    /// The highest config epoch (CLUSTER INFO cluster_current_epoch).
    public let currentEpoch: Int

    public init(topology: Topology, myself: Int) {
        self.topology = topology
        self.slots = SlotMap(nodes: topology.nodes)
        self.myself = myself
        var epochs = [Int](repeating: 0, count: topology.nodes.count)
        var next = 1
        for i in topology.nodes.indices where topology.nodes[i].isMaster { epochs[i] = next; next += 1 }
        for (i, n) in topology.nodes.enumerated() { if case .replica(let m) = n.role { epochs[i] = epochs[m] } }
        configEpochs = epochs
        currentEpoch = epochs.max() ?? 0
    }

    /// The view of the node called `nodeName` in `topology`.
    public convenience init(topology: Topology, nodeName: String, source: String = "<topology>") throws(TopologyError) {
        guard let me = topology.index(named: nodeName) else {
            let known = topology.nodes.map(\.name).joined(separator: ", ")
            throw TopologyError(source: source, problems: ["cluster-node '\(nodeName)' is not declared in the file (nodes: \(known))"])
        }
        self.init(topology: topology, myself: me)
    }

    /// Loads, validates and picks this node: the startup path of `cluster-enabled yes`.
    public static func load(topologyPath: String, nodeName: String) throws(TopologyError) -> ClusterView {
        try ClusterView(topology: Topology.load(path: topologyPath), nodeName: nodeName, source: topologyPath)
    }

    public var nodes: [TopologyNode] { topology.nodes }
    public var me: TopologyNode { topology.nodes[myself] }
    public var isMaster: Bool { me.isMaster }

    /// The master whose slots this node serves: itself, or the master it replicates.
    public var myMaster: Int { master(of: myself) }

    /// `node` itself when it is a master, its master otherwise.
    public func master(of node: Int) -> Int {
        if case .replica(let m) = topology.nodes[node].role { return m }
        return node
    }

    /// CLUSTER MYSHARDID: a shard is named by its master's node id (replicas share it).
    public func shardID(of node: Int) -> String { topology.nodes[master(of: node)].id }

    /// One entry per master (shard), in file order: what the coordinator fans out to.
    public var shardMasters: [Int] { topology.masterIndexes }
}

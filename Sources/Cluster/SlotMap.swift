// SlotMap: which master serves each of the 16,384 hash slots, and the slot runs CLUSTER SLOTS / NODES print.
// Built once from a Topology; immutable (phase 2's slot migration will build a new one and swap it in).

/// A run of consecutive slots served by one master.
public struct SlotAssignment: Hashable, Sendable {
    public let range: SlotRange
    /// Index of the master in `Topology.nodes`.
    public let master: Int
}

public struct SlotMap: Sendable, Equatable {
    /// Node index per slot; -1 when the slot is unassigned.
    private let owners: [Int32]
    /// Maximal runs of one owner, in slot order; unassigned slots are absent.
    public let assignments: [SlotAssignment]
    /// How many slots have an owner.
    public let assignedCount: Int

    /// The masters' declared ranges. Overlaps are not checked here (Topology.parse does): the later node wins.
    public init(nodes: [TopologyNode]) {
        var owners = [Int32](repeating: -1, count: Topology.slotCount)
        for (i, node) in nodes.enumerated() where node.isMaster {
            for r in node.slots { for s in r.start...r.end { owners[s] = Int32(i) } }
        }
        self.owners = owners
        var runs: [SlotAssignment] = []
        var start = 0
        for s in 1...Topology.slotCount where s == Topology.slotCount || owners[s] != owners[start] {
            if owners[start] >= 0 { runs.append(SlotAssignment(range: SlotRange(start, s - 1), master: Int(owners[start]))) }
            start = s
        }
        assignments = runs
        assignedCount = owners.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
    }

    /// The master serving `slot`, or nil when no node serves it (CLUSTERDOWN).
    @inline(__always)
    public func master(of slot: Int) -> Int? {
        let o = owners[slot]
        return o >= 0 ? Int(o) : nil
    }

    /// The slot runs of one master, in slot order (merged: `0-100 101-200` in the file is `0-200` here).
    public func ranges(of master: Int) -> [SlotRange] {
        assignments.filter { $0.master == master }.map(\.range)
    }

    /// Masters serving at least one slot (CLUSTER INFO's cluster_size).
    public var mastersWithSlots: Set<Int> { Set(assignments.map(\.master)) }
}

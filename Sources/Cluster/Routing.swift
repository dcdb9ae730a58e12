// Routing: given the hash slots of a command's keys, whether this node serves it or which error redirects it.
// Pure decisions on a ClusterView; the Server collects key slots from the command table's key positions.
import Keyspace

/// The slots of a request's keys folded to one answer: no keys, one common slot, or keys in different slots.
public enum KeySlots: Equatable, Sendable {
    case none
    case single(Int)
    case cross

    @inline(__always)
    public mutating func add(_ slot: Int) {
        switch self {
        case .none: self = .single(slot)
        case .single(let s) where s != slot: self = .cross
        default: break
        }
    }

    public mutating func add(key: UnsafeRawBufferPointer) { add(Int(HashSlot(key: key).rawValue)) }

    public init<S: Sequence>(slots: S) where S.Element == Int {
        self = .none
        for s in slots { add(s) }
    }
}

/// What to do with a keyed command. `message` is the error reply text (without the leading `-`).
public enum RoutingDecision: Equatable, Sendable {
    /// This node runs it.
    case serve
    /// `-MOVED <slot> <host>:<port>`: the slot lives on another node.
    case moved(slot: Int, host: String, port: Int)
    /// `-CROSSSLOT ...`: keys in different slots.
    case crossSlot
    /// `-CLUSTERDOWN Hash slot not served`: nobody owns the slot.
    case slotNotServed

    public static let crossSlotMessage = "CROSSSLOT Keys in request don't hash to the same slot"
    public static let slotNotServedMessage = "CLUSTERDOWN Hash slot not served"

    public var message: String? {
        switch self {
        case .serve: return nil
        case .moved(let slot, let host, let port): return "MOVED \(slot) \(host):\(port)"
        case .crossSlot: return Self.crossSlotMessage
        case .slotNotServed: return Self.slotNotServedMessage
        }
    }
}

extension ClusterView {
    /// Redis's getNodeByQuery for a stable cluster (no slot migrations yet, so `asking` changes nothing until
    /// phase 2 brings importing slots):
    /// - no keys → serve; keys in several slots → CROSSSLOT; an unowned slot → CLUSTERDOWN;
    /// - the slot's master is this node → serve;
    /// - this node replicates that master, the client sent READONLY and the command does not write → serve;
    /// - otherwise MOVED to the slot's master.
    public func route(_ keys: KeySlots, isWrite: Bool, readOnly: Bool, asking: Bool = false) -> RoutingDecision {
        let slot: Int
        switch keys {
        case .none: return .serve
        case .cross: return .crossSlot
        case .single(let s): slot = s
        }
        guard let owner = slots.master(of: slot) else { return .slotNotServed }
        if owner == myself { return .serve }
        if readOnly && !isWrite, case .replica(let m) = me.role, m == owner { return .serve }
        let target = topology.nodes[owner]
        return .moved(slot: slot, host: target.host, port: target.port)
    }
}

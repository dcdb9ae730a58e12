// Topology: the static cluster description file (phase 1) — parsing and validation with line-numbered errors.
// It does not know sockets or commands; SlotMap and ClusterView are built from a validated Topology.
#if canImport(Glibc)
import Glibc
#endif

/// An inclusive range of hash slots, `start...end`, printed as `start-end` (or `start` when both are equal).
public struct SlotRange: Hashable, Sendable, CustomStringConvertible {
    public let start: Int
    public let end: Int
    public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }
    public var count: Int { end - start + 1 }
    public func contains(_ slot: Int) -> Bool { slot >= start && slot <= end }
    /// The CLUSTER NODES token: `N` for one slot, `A-B` otherwise (Redis's clusterGenNodeDescription).
    public var description: String { start == end ? String(start) : "\(start)-\(end)" }
}

/// One node of the file. Its position in `Topology.nodes` is its index everywhere else in the module.
public struct TopologyNode: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        case master
        /// A replica of the master at this index.
        case replica(of: Int)
    }
    public let name: String
    /// 40 lowercase hex characters, as Redis node ids.
    public let id: String
    public let host: String
    public let port: Int
    public let busPort: Int
    public let role: Role
    /// Slot ranges as written in the file (masters only; may be empty).
    public let slots: [SlotRange]
    /// Line of the file that declared it (for messages).
    public let line: Int

    public var isMaster: Bool { role == .master }
    /// `host:port`, the endpoint of MOVED replies.
    public var endpoint: String { "\(host):\(port)" }
}

/// Everything wrong with a topology file, one problem per entry, each with its line when it has one.
public struct TopologyError: Error, Sendable, CustomStringConvertible {
    public let source: String
    public let problems: [String]
    public init(source: String, problems: [String]) { self.source = source; self.problems = problems }
    public var description: String {
        "Bad cluster topology '\(source)':\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// A validated cluster description: every node, and every one of the 16,384 slots assigned to exactly one master.
///
/// ### File format (one directive per line, `#` starts a comment, fields separated by spaces or tabs)
///     node <name> <id: 40 hex> <host> <port> <bus-port|-> master [<slot>|<start>-<end>]...
///     node <name> <id: 40 hex> <host> <port> <bus-port|-> replica-of <master-name>
/// A `-` bus port means `port + 10000`, Redis's default. Names and ids must be unique, replicas must name a master
/// declared anywhere in the file, and the masters' ranges must cover 0-16383 exactly once.
public struct Topology: Sendable, Equatable {
    public let nodes: [TopologyNode]

    public static let slotCount = 16384

    /// Indexes of the masters, in file order.
    public var masterIndexes: [Int] { nodes.indices.filter { nodes[$0].isMaster } }

    public func index(named name: String) -> Int? { nodes.firstIndex { $0.name == name } }
    public func index(id: String) -> Int? {
        let lower = id.lowercased()
        return nodes.firstIndex { $0.id == lower }
    }

    /// Replicas of the master at `master`, in file order.
    public func replicas(of master: Int) -> [Int] {
        nodes.indices.filter { nodes[$0].role == .replica(of: master) }
    }

    /// Reads and validates a topology file.
    public static func load(path: String) throws(TopologyError) -> Topology {
        guard let text = readTextFile(path) else {
            throw TopologyError(source: path, problems: ["can't open the file: \(String(cString: strerror(errno)))"])
        }
        return try parse(text, source: path)
    }

    /// Parses and validates topology text; `source` names it in error messages.
    public static func parse(_ text: String, source: String = "<topology>") throws(TopologyError) -> Topology {
        var problems: [String] = []
        // First pass: syntax of each line. Replica targets are names, resolved once every master is known.
        var raw: [(node: RawNode, line: Int)] = []
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = n + 1
            var content = Substring(rawLine)
            if let hash = content.firstIndex(of: "#") { content = content[..<hash] }
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            switch parseLine(words) {
            case .success(let node): raw.append((node, line))
            case .failure(let message): problems.append("line \(line): \(message)")
            }
        }
        if raw.isEmpty && problems.isEmpty { problems.append("no nodes: add `node <name> <id> <host> <port> <bus-port> master <slots>` lines") }

        // Uniqueness of names, ids and addresses.
        var names: [String: Int] = [:], ids: [String: Int] = [:], addresses: [String: Int] = [:]
        for (node, line) in raw {
            if let first = names[node.name] { problems.append("line \(line): node name '\(node.name)' already used on line \(first)") } else { names[node.name] = line }
            if let first = ids[node.id] { problems.append("line \(line): node id \(node.id) already used on line \(first)") } else { ids[node.id] = line }
            let address = "\(node.host):\(node.port)"
            if let first = addresses[address] { problems.append("line \(line): address \(address) already used on line \(first)") } else { addresses[address] = line }
        }

        // Roles: replicas must point at a master.
        var nodes: [TopologyNode] = []
        for (node, line) in raw {
            var role = TopologyNode.Role.master
            if let masterName = node.replicaOf {
                if let m = raw.firstIndex(where: { $0.node.name == masterName }) {
                    if masterName == node.name {
                        problems.append("line \(line): '\(node.name)' can't be a replica of itself")
                    } else if raw[m].node.replicaOf != nil {
                        problems.append("line \(line): '\(node.name)' is a replica of '\(masterName)', which is itself a replica (line \(raw[m].line)); replicas must point at a master")
                    }
                    role = .replica(of: m)
                } else {
                    problems.append("line \(line): '\(node.name)' is a replica of '\(masterName)', which is not declared in the file")
                }
            }
            nodes.append(TopologyNode(name: node.name, id: node.id, host: node.host, port: node.port, busPort: node.busPort,
                                      role: role, slots: node.slots, line: line))
        }

        // Slots: every one exactly once.
        var owner = [Int](repeating: -1, count: slotCount)
        var reportedOverlaps = 0
        for (i, node) in nodes.enumerated() where node.isMaster {
            for range in node.slots {
                for s in range.start...range.end {
                    if owner[s] >= 0 {
                        if reportedOverlaps < 10 {
                            let other = nodes[owner[s]]
                            problems.append("line \(node.line): slot \(s) of '\(node.name)' is already assigned to '\(other.name)' (line \(other.line))")
                        }
                        reportedOverlaps += 1
                    } else {
                        owner[s] = i
                    }
                }
            }
        }
        if reportedOverlaps > 10 { problems.append("... \(reportedOverlaps - 10) more slots assigned twice") }
        let missing = runs(of: owner.indices.filter { owner[$0] < 0 })
        if !missing.isEmpty && !nodes.isEmpty {
            let count = missing.reduce(0) { $0 + $1.count }
            let shown = missing.prefix(8).map(\.description).joined(separator: " ")
            problems.append("\(count) of 16384 slots are not assigned to any master: \(shown)\(missing.count > 8 ? " ..." : "") (every slot 0-16383 must be covered exactly once)")
        }

        if !problems.isEmpty { throw TopologyError(source: source, problems: problems) }
        return Topology(nodes: nodes)
    }

    /// Sorted slot numbers → maximal contiguous ranges.
    public static func runs(of sortedSlots: [Int]) -> [SlotRange] {
        var out: [SlotRange] = []
        for s in sortedSlots {
            if let last = out.last, last.end == s - 1 { out[out.count - 1] = SlotRange(last.start, s) } else { out.append(SlotRange(s, s)) }
        }
        return out
    }

    // MARK: line syntax

    private struct RawNode {
        var name: String, id: String, host: String, port: Int, busPort: Int
        var replicaOf: String?
        var slots: [SlotRange]
    }

    private enum LineResult { case success(RawNode), failure(String) }

    private static let usage = "expected `node <name> <id> <host> <port> <bus-port> master <slots>...` or `node <name> <id> <host> <port> <bus-port> replica-of <master-name>`"

    private static func parseLine(_ w: [String]) -> LineResult {
        guard w[0].lowercased() == "node" else { return .failure("unknown directive '\(w[0])'; \(usage)") }
        guard w.count >= 7 else { return .failure("too few fields; \(usage)") }
        let name = w[1], id = w[2].lowercased(), host = w[3]
        guard id.utf8.count == 40, id.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            return .failure("node id '\(w[2])' of '\(name)' must be exactly 40 hex characters (0-9, a-f)")
        }
        guard let port = Int(w[4]), (1...65535).contains(port) else { return .failure("port '\(w[4])' of '\(name)' must be 1-65535") }
        var busPort = port + 10000
        if w[5] != "-" {
            guard let b = Int(w[5]), (1...65535).contains(b) else { return .failure("bus port '\(w[5])' of '\(name)' must be 1-65535 or -") }
            busPort = b
        }
        switch w[6].lowercased() {
        case "master":
            var slots: [SlotRange] = []
            for token in w[7...] {
                guard let r = parseRange(token) else {
                    return .failure("slot range '\(token)' of '\(name)' must be N or A-B with 0 <= A <= B <= 16383")
                }
                slots.append(r)
            }
            return .success(RawNode(name: name, id: id, host: host, port: port, busPort: busPort, replicaOf: nil, slots: slots))
        case "replica-of", "replicaof", "slave-of", "slaveof":
            guard w.count == 8 else { return .failure("replica '\(name)' needs exactly one master name after \(w[6]) (and no slots)") }
            return .success(RawNode(name: name, id: id, host: host, port: port, busPort: busPort, replicaOf: w[7], slots: []))
        default:
            return .failure("role '\(w[6])' of '\(name)' must be `master` or `replica-of <master-name>`")
        }
    }

    static func parseRange(_ token: String) -> SlotRange? {
        let parts = token.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2,
              let a = Int(parts[0]), let b = Int(parts[parts.count - 1]),
              a >= 0, a <= b, b < slotCount else { return nil }
        return SlotRange(a, b)
    }
}

/// The whole file as UTF-8 text, or nil (errno set) when it can't be read.
func readTextFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: buf[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

// Which records share a page: orders of node ids for writing a segment so that graph neighbors land on one page.
// Pure functions over an adjacency callback; measuring their effect on reads per query is storage-bench's job.

/// How node records are assigned to pages when a segment is written.
public enum PagePlacementStrategy: String, Sendable, CaseIterable {
    /// Ids in increasing order (insertion order): neighbors are scattered, one page read per visited node.
    case identity
    /// Breadth-first from the entry point: a node's neighbors follow it closely.
    case breadthFirst
    /// Breadth-first seeds, each page filled with the seed's own unplaced neighbors first (nearest first, as HNSW
    /// keeps its lists), then its neighbors' neighbors: a page holds a small neighborhood (Starling's block packing,
    /// greedy).
    case neighborPacking
}

public enum PagePlacement {
    /// A write order of the ids `0..<count` (a permutation). `neighbors(id)` gives an id's level-0 neighbor list;
    /// ids out of range are ignored. Nodes unreachable from `entry` follow in id order.
    public static func order(count: Int, recordsPerPage: Int, entry: UInt32, strategy: PagePlacementStrategy,
                             neighbors: (UInt32) -> [UInt32]) -> [UInt32] {
        guard count > 0 else { return [] }
        switch strategy {
        case .identity: return (0..<UInt32(count)).map { $0 }
        case .breadthFirst: return breadthFirst(count: count, entry: entry, neighbors: neighbors)
        case .neighborPacking:
            let seeds = breadthFirst(count: count, entry: entry, neighbors: neighbors)
            var placed = [Bool](repeating: false, count: count)
            var out: [UInt32] = []
            out.reserveCapacity(count)
            var frontier: [UInt32] = []
            for seed in seeds where !placed[Int(seed)] {
                var filled = 1
                placed[Int(seed)] = true
                out.append(seed)
                frontier.removeAll(keepingCapacity: true)
                frontier.append(seed)
                var next = 0
                // Expand the page's own members in order: the seed's list, then its neighbors' lists.
                while filled < recordsPerPage && next < frontier.count {
                    for n in neighbors(frontier[next]) where Int(n) < count && !placed[Int(n)] {
                        placed[Int(n)] = true
                        out.append(n)
                        frontier.append(n)
                        filled += 1
                        if filled == recordsPerPage { break }
                    }
                    next += 1
                }
            }
            return out
        }
    }

    /// Record positions for an order: `position[id]` is the id's index in `order` (its address when the segment is
    /// written in that order with no sealed page in between).
    public static func positions(of order: [UInt32]) -> [UInt32] {
        var position = [UInt32](repeating: 0, count: order.count)
        for (i, id) in order.enumerated() { position[Int(id)] = UInt32(i) }
        return position
    }

    /// Distinct pages among `visited` ids under `position` (one query's reads with a per-query cache and no pool).
    public static func pagesTouched(_ visited: [UInt32], position: [UInt32], recordsPerPage: Int) -> Int {
        Set(visited.map { position[Int($0)] / UInt32(recordsPerPage) }).count
    }

    static func breadthFirst(count: Int, entry: UInt32, neighbors: (UInt32) -> [UInt32]) -> [UInt32] {
        var seen = [Bool](repeating: false, count: count)
        var out: [UInt32] = []
        out.reserveCapacity(count)
        var start = Int(entry) < count ? Int(entry) : 0
        var scan = 0
        while true {
            var head = out.count
            seen[start] = true
            out.append(UInt32(start))
            while head < out.count {
                for n in neighbors(out[head]) where Int(n) < count && !seen[Int(n)] {
                    seen[Int(n)] = true
                    out.append(n)
                }
                head += 1
            }
            while scan < count && seen[scan] { scan += 1 }
            if scan == count { return out }
            start = scan
        }
    }
}

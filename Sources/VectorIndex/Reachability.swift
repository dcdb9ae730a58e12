// Level-0 reachability repair: HNSW pruning can drop every in-edge of a node, and then no search ever finds it.

public enum GraphReachability {
    /// Makes every live node reachable from `entry` over level-0 lists. A node the walk misses takes an in-edge from
    /// a reachable node of its own list — one with a free slot if there is one (`addEdge` appends), else the first
    /// (`addEdge` overwrites that list's last entry). Overwriting can orphan the entry it replaced, and a node whose
    /// list holds no reachable node waits for its neighbors to be linked, so the walk repeats (at most `rounds`
    /// times) until nothing changes. Returns how many in-edges were added.
    @discardableResult
    public static func linkUnreachable(nodes: Int, entry: UInt32, rounds: Int = 4, isLive: (Int) -> Bool,
                                       neighbors: (UInt32) -> UnsafeBufferPointer<UInt32>, capacity: Int,
                                       addEdge: (_ from: UInt32, _ to: UInt32) -> Void) -> Int {
        guard Int(entry) < nodes else { return 0 }
        var added = 0
        var reached = [Bool](repeating: false, count: nodes)
        var stack: [UInt32] = []
        func walk(from start: UInt32) {
            reached[Int(start)] = true
            stack.append(start)
            while let node = stack.popLast() {
                for next in neighbors(node) where Int(next) < nodes && !reached[Int(next)] && isLive(Int(next)) {
                    reached[Int(next)] = true
                    stack.append(next)
                }
            }
        }
        for _ in 0..<rounds {
            for i in reached.indices { reached[i] = false }
            walk(from: entry)
            var linkedThisRound = 0
            for node in 0..<nodes where !reached[node] && isLive(node) {
                var anchor: UInt32?
                for other in neighbors(UInt32(node)) where Int(other) < nodes && reached[Int(other)] {
                    if neighbors(other).count < capacity { anchor = other; break }
                    if anchor == nil { anchor = other }
                }
                guard let anchor else { continue }
                addEdge(anchor, UInt32(node))
                linkedThisRound += 1
                walk(from: UInt32(node))
            }
            added += linkedThisRound
            if linkedThisRound == 0 { break }
        }
        return added
    }
}

// GraphReachability.linkUnreachable on small hand-built graphs: who gets an in-edge, from whom, and what stays out.
import Testing
@testable import VectorIndex

@Suite("Level-0 reachability repair")
struct ReachabilityTests {
    /// Runs the repair over `lists` (adjacency rows) with `capacity` slots per row; returns the added count and the
    /// set of nodes reachable from 0 afterwards.
    static func repair(_ lists: inout [[UInt32]], capacity: Int, live: Set<Int>? = nil) -> (Int, Set<Int>) {
        let rows = lists.count, width = capacity + 1
        var flat = [UInt32](repeating: 0, count: rows * width)
        for (i, l) in lists.enumerated() {
            flat[i * width] = UInt32(l.count)
            for (j, n) in l.enumerated() { flat[i * width + 1 + j] = n }
        }
        let added = flat.withUnsafeMutableBufferPointer { buf -> Int in
            let base = buf.baseAddress!
            return GraphReachability.linkUnreachable(
                nodes: rows, entry: 0, isLive: { live?.contains($0) ?? true },
                neighbors: { UnsafeBufferPointer(start: base + Int($0) * width + 1, count: Int(base[Int($0) * width])) },
                capacity: capacity,
                addEdge: { from, to in
                    let row = base + Int(from) * width, n = Int(row[0])
                    if n < capacity { row[1 + n] = to; row[0] = UInt32(n + 1) } else { row[n] = to }
                })
        }
        lists = (0..<rows).map { i in (0..<Int(flat[i * width])).map { flat[i * width + 1 + $0] } }
        var seen: Set<Int> = [0], stack = [0]
        while let n = stack.popLast() {
            for next in lists[n] where live?.contains(Int(next)) ?? true && seen.insert(Int(next)).inserted {
                stack.append(Int(next))
            }
        }
        return (added, seen)
    }

    @Test("a chain of orphans is linked back in order; a node with no out-edges stays out")
    func chainOfOrphans() {
        // 0 <-> 1; 2 -> 1 (orphan with a reachable neighbor); 3 -> 2 (reachable only once 2 is); 4 has no edges.
        var lists: [[UInt32]] = [[1], [0], [1], [2], []]
        let (added, reached) = Self.repair(&lists, capacity: 4)
        #expect(added == 2)
        #expect(reached == [0, 1, 2, 3])
        #expect(lists[1] == [0, 2])
        #expect(lists[2] == [1, 3])
    }

    @Test("a full anchor loses its last entry; the node orphaned by that is linked from an anchor with room next round")
    func fullAnchorOverwrite() {
        // Capacity 2. 4's only neighbor, 1, is full: its last entry (3) gives way to 4. Round two finds 3 orphaned and
        // links it from 2, the neighbor of 3 with a free slot.
        var lists: [[UInt32]] = [[1, 2], [0, 3], [0], [1, 2], [1]]
        let (added, reached) = Self.repair(&lists, capacity: 2)
        #expect(added == 2)
        #expect(reached == [0, 1, 2, 3, 4])
        #expect(lists[1] == [0, 4])
        #expect(lists[2] == [0, 3])
    }

    @Test("dead nodes are neither walked through nor repaired")
    func deadNodesIgnored() {
        // 0 -> 1 (dead) -> 2: 2 is unreachable through live nodes and its own list points back to 0.
        var lists: [[UInt32]] = [[1], [2], [0], [1]]
        let (added, reached) = Self.repair(&lists, capacity: 3, live: [0, 2, 3])
        #expect(added == 1)      // 2 from 0; 3's only neighbor is dead, so it stays out
        #expect(reached == [0, 2])
        #expect(lists[0] == [1, 2])
    }
}

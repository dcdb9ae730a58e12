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

    /// Delete / re-insert churn: other nodes' one-way edges into a deleted slot used to stay, and the slot's reuse
    /// turned them into random links; a neighbor reached only over such an edge was stranded. `remove` now sweeps
    /// those edges, frees the slots and links stranded nodes back every `repairAfterDeletes` deletes (here 256, the
    /// index being under 16 × 256), so right after the eleventh sweep nothing is left to link and every live vector
    /// finds itself (up to 4 of 2,000 may miss as any HNSW search can). Single-threaded and seeded. Before the sweep,
    /// 39 (float) and 33 (4-bit) of the 2,000 self-searches missed, with the reachability pass alone as well.
    @Test("HNSW deletes sweep edges into deleted slots: churn keeps every vector findable", arguments: [VectorQuantization.none, .fourBit, .twoBit])
    func churnRepair(quantization: VectorQuantization) throws {
        let base = syntheticVectors(count: 3000, dimension: 24, seed: 11)
        let index = try HNSWIndex(hnswParameters(dimension: 24, metric: .l2, quantization: quantization))
        for i in 0..<2000 { try add(index, UInt64(i), base[i]) }
        var rng = SplitMix64(state: 5)
        var live = Array(0..<2000), spare = Array(2000..<3000)  // arrays: a Set's order changes per process
        for _ in 0..<(11 * HNSWIndex.repairAfterDeletes) {
            let victim = live.remove(at: Int.random(in: 0..<live.count, using: &rng))
            index.remove(label: UInt64(victim))
            spare.append(victim)
            let back = spare.remove(at: Int.random(in: 0..<spare.count, using: &rng))
            try add(index, UInt64(back), base[back])
            live.append(back)
        }
        #expect(index.repairReachability() == 0)
        // Swept slots are reused: at most one sweep interval's deletes wait for a slot of their own.
        #expect(index.usedSlots <= 2000 + HNSWIndex.repairAfterDeletes)
        var missed = 0
        for label in live where try search(index, base[label], k: 1, ef: 64).first?.label != UInt64(label) { missed += 1 }
        #expect(missed <= 4, "\(missed) of \(live.count) self-searches missed")  // an HNSW miss or two is no stranding
    }
}

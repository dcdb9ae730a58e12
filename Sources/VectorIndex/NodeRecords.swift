// The storage seam for HNSW nodes: fixed-size level-0 records addressed by internal id (all-RAM arena today).
import CVectorKernels

/// Byte layout of one level-0 record; every node has exactly one, at `id × recordSize` in its store.
///
/// ### Layout
///     | lock: UInt32 | count: UInt32 | neighbor ids (M0 × UInt32) | label: UInt64 | 1/‖x‖: Float32 | pad to 8 | vector (blob bytes) | pad to 8 |
///
/// `count` and the neighbor ids form a list `[count, ids…]`, the same shape as each upper-level list, so one code
/// path walks every level. The lock word guards the node's lists on all levels. 1/‖x‖ sits in the cache line where
/// the vector starts, so COSINE's extra load (the price of keeping the original blob) rides on the vector's first miss.
/// L2 and IP never read it, so their records leave it (and its padding) out: 8 bytes less per vector, and
/// `inverseNormOffset` then points at the label (whatever it reads there is ignored by those metrics).
struct RecordLayout: Equatable {
    let maxNeighbors0: Int
    let labelOffset: Int
    let storesInverseNorm: Bool
    let inverseNormOffset: Int
    let vectorOffset: Int
    let recordSize: Int

    init(maxNeighbors0: Int, vectorBytes: Int, storesInverseNorm: Bool) {
        self.maxNeighbors0 = maxNeighbors0
        self.storesInverseNorm = storesInverseNorm
        labelOffset = (8 + maxNeighbors0 * 4 + 7) & ~7
        inverseNormOffset = storesInverseNorm ? labelOffset + 8 : labelOffset
        vectorOffset = storesInverseNorm ? (inverseNormOffset + 4 + 7) & ~7 : labelOffset + 8
        recordSize = (vectorOffset + vectorBytes + 7) & ~7
    }
}

/// Where node records live. [tiering] provides a page-backed store (4 KiB pages through a buffer pool); the graph
/// code only ever asks for `records()`, a plain pointer view, so the all-RAM path pays one pointer add per access.
protocol NodeRecordStore: AnyObject {
    var layout: RecordLayout { get }
    var capacity: Int { get }
    /// A view valid until the next `grow` (callers hold the index's structure lock, which `grow` takes exclusively).
    func records() -> NodeRecords
    /// Makes room for `newCapacity` records, keeping the first `used`.
    func grow(to newCapacity: Int, used: Int)
    /// Bytes the first `used` records occupy: the arena is reserved ahead of use, and its untouched tail is not
    /// resident.
    func residentBytes(used: Int) -> Int
}

/// A pointer view of the level-0 records.
struct NodeRecords {
    let base: UnsafeMutableRawPointer
    let layout: RecordLayout

    @inline(__always) func record(_ id: UInt32) -> UnsafeMutableRawPointer { base + Int(id) &* layout.recordSize }
    @inline(__always) func lockWord(_ id: UInt32) -> UnsafeMutablePointer<UInt32> {
        record(id).assumingMemoryBound(to: UInt32.self)
    }
    /// `[count, ids…]` of level 0.
    @inline(__always) func level0List(_ id: UInt32) -> UnsafeMutablePointer<UInt32> {
        (record(id) + 4).assumingMemoryBound(to: UInt32.self)
    }
    @inline(__always) func vector(_ id: UInt32) -> UnsafeMutableRawPointer { record(id) + layout.vectorOffset }
    @inline(__always) func inverseNorm(_ id: UInt32) -> Float {
        (record(id) + layout.inverseNormOffset).load(as: Float.self)
    }
    @inline(__always) func setInverseNorm(_ id: UInt32, _ value: Float) {
        guard layout.storesInverseNorm else { return }
        (record(id) + layout.inverseNormOffset).storeBytes(of: value, as: Float.self)
    }
    @inline(__always) func label(_ id: UInt32) -> UInt64 { (record(id) + layout.labelOffset).load(as: UInt64.self) }
    @inline(__always) func setLabel(_ id: UInt32, _ value: UInt64) {
        (record(id) + layout.labelOffset).storeBytes(of: value, as: UInt64.self)
    }
}

/// All records in one contiguous, 64-byte-aligned allocation (hnswlib's level-0 arena).
final class RAMRecordArena: NodeRecordStore {
    let layout: RecordLayout
    private(set) var capacity: Int
    private var base: UnsafeMutableRawPointer

    init(layout: RecordLayout, capacity: Int) {
        self.layout = layout
        self.capacity = capacity
        base = allocateArena(byteCount: max(capacity, 1) * layout.recordSize)
    }
    deinit { freeArena(base) }

    @inline(__always) func records() -> NodeRecords { NodeRecords(base: base, layout: layout) }

    func grow(to newCapacity: Int, used: Int) {
        let bigger = allocateArena(byteCount: newCapacity * layout.recordSize)
        bigger.copyMemory(from: base, byteCount: used * layout.recordSize)
        freeArena(base)
        base = bigger
        capacity = newCapacity
    }

    func residentBytes(used: Int) -> Int { min(used, capacity) * layout.recordSize }
}

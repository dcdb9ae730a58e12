// Read access to a finished HNSW graph and to the engine's distance function, for code outside the engine (the
// tiered index writes a graph into SSD pages and searches it there) without exposing the engine's internals.

/// A read-only view of an HNSW graph, valid inside `HNSWIndex.withFrozenGraph`. The caller guarantees that no insert
/// or delete runs on the index meanwhile (the tiered index only freezes a graph it has stopped writing to).
public struct HNSWGraphView {
    public let parameters: VectorIndexParameters
    /// Ids are `0..<idCount`; freed ids are not live.
    public let idCount: Int
    /// Nil for an empty graph.
    public let entryPoint: UInt32?
    public let maxLevel: Int
    let records: NodeRecords
    let states: UnsafeMutablePointer<UInt8>
    let levels: UnsafeMutablePointer<UInt8>
    let upperLinks: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>
    let m: Int

    public func isLive(_ id: UInt32) -> Bool { states[Int(id)] == HNSWIndex.live }
    public func label(_ id: UInt32) -> UInt64 { records.label(id) }
    public func level(_ id: UInt32) -> Int { Int(levels[Int(id)]) }
    /// The blob exactly as added.
    public func vector(_ id: UInt32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: records.vector(id), count: parameters.vectorByteCount)
    }
    /// The neighbor ids of `id` on `level` (≤ `level(id)`); they may include ids that are no longer live.
    public func neighbors(_ id: UInt32, level: Int) -> UnsafeBufferPointer<UInt32> {
        let list = level == 0 ? records.level0List(id) : upperLinks[Int(id)]! + (level - 1) * (m + 1)
        return UnsafeBufferPointer(start: list + 1, count: Int(list[0]))
    }
}

extension HNSWIndex {
    /// Runs `body` with a view of the graph. Searches may run concurrently; inserts and deletes must not.
    public func withFrozenGraph<R>(_ body: (HNSWGraphView) throws -> R) rethrows -> R {
        try withGraphParts { records, states, levels, upper, used, entry, top in
            try body(HNSWGraphView(parameters: parameters, idCount: used, entryPoint: entry == .max ? nil : entry,
                                   maxLevel: top, records: records, states: states, levels: levels, upperLinks: upper, m: m))
        }
    }
}

/// The engine's distance function for one (dimension, type, metric), for callers that keep vectors elsewhere.
/// Distances are exactly the engine's (RediSearch's definitions, Float32).
public struct VectorDistance: Sendable {
    let space: DistanceSpace
    public init(dimension: Int, elementType: VectorElementType, metric: DistanceMetric) {
        space = DistanceSpace(dimension: dimension, elementType: elementType, metric: metric)
    }
    public var vectorBytes: Int { space.vectorBytes }
    /// Bytes of a prepared query (`prepare`'s output).
    public var queryBytes: Int { space.queryBytes }
    /// Converts a blob to the query form (float32, or float64 for FLOAT64; normalized for COSINE). Throws on a blob of
    /// the wrong size.
    public func prepare(_ blob: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) throws {
        try space.prepareQuery(blob, into: out)
    }
    /// The prepared query as float32 (what quantizers take), whatever the element type.
    public func prepareFloat32(_ blob: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) throws {
        if space.elementType == .float64 {
            let tmp = UnsafeMutablePointer<Double>.allocate(capacity: space.dimension)
            defer { tmp.deallocate() }
            try space.prepareQuery(blob, into: tmp)
            for i in 0..<space.dimension { out[i] = Float(tmp[i]) }
        } else {
            try space.prepareQuery(blob, into: out)
        }
    }
    /// Distance from a prepared query to a stored blob (its norm computed here for COSINE).
    @inline(__always)
    public func distance(prepared query: UnsafeRawPointer, stored: UnsafeRawPointer) -> Float {
        space.distance(query: query, stored: stored, inverseNorm: space.inverseNorm(stored: stored))
    }
}

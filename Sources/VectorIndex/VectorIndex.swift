// Public surface of the vector engine: element types, metrics, parameters, filters and the VectorIndex protocol.
// It knows nothing of Redis, RESP or files; FLAT and HNSW live in their own files.

#if _endian(big)
#error("VectorIndex stores blobs as given and assumes a little-endian host")
#endif

/// Element type of a vector blob, as in RediSearch's `TYPE` attribute. The raw value is the layout code used by
/// the C kernels and by serialized indexes, so never renumber it.
public enum VectorElementType: UInt8, Sendable, CaseIterable {
    case float32 = 0, float64 = 1, float16 = 2, bfloat16 = 3

    /// Bytes per element in a blob.
    public var byteSize: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        case .float16, .bfloat16: 2
        }
    }
}

/// Distance metric, reported exactly as RediSearch does: L2 is the *squared* Euclidean distance,
/// IP is `1 - dot`, COSINE is `1 - cosine` (the zero vector is at distance 1 from everything, never NaN).
public enum DistanceMetric: UInt8, Sendable, CaseIterable {
    case l2 = 0, ip = 1, cosine = 2
}

/// Optional compression of the vectors used while traversing the graph.
public enum VectorQuantization: UInt8, Sendable {
    /// Full-precision vectors only.
    case none = 0
    /// 8-bit scalar quantization (per-dimension min/max); final candidates are re-ranked exactly.
    case sq8 = 1
    /// 4 bits per dimension, scaled per vector (`FourBitQuantizer`); final candidates are re-ranked exactly.
    case fourBit = 2
    /// 2 bits per dimension, scaled per vector (`TwoBitQuantizer`): half the 4-bit codes' bytes, a slightly wider
    /// beam for the same recall; final candidates are re-ranked exactly.
    case twoBit = 3
    /// 4-bit codes until the index has 20,000 vectors, then 2-bit codes if the data allows
    /// (`LowBitCodes.twoBitSuffices`: real sentence embeddings do, tight Gaussian clusters do not); the server's
    /// default for all-RAM HNSW fields.
    case lowBit = 4
}

/// Which index family a parameter set builds.
public enum VectorAlgorithm: UInt8, Sendable {
    case flat = 0, hnsw = 1
}

/// Everything needed to build an index; defaults follow RediSearch's.
public struct VectorIndexParameters: Sendable, Equatable {
    public var algorithm: VectorAlgorithm
    public var dimension: Int
    public var elementType: VectorElementType
    public var metric: DistanceMetric
    /// INITIAL_CAP: slots allocated up front (the index grows past it).
    public var initialCapacity: Int
    /// BLOCK_SIZE: growth step in vectors (accepted for compatibility; growth doubles at least by this much).
    public var blockSize: Int
    /// HNSW `M`: neighbors per node on upper levels (2·M on level 0).
    public var m: Int
    /// HNSW `EF_CONSTRUCTION`.
    public var efConstruction: Int
    /// HNSW `EF_RUNTIME`: default beam width of KNN queries.
    public var efRuntime: Int
    /// HNSW `EPSILON`: relative widening of the search boundary in range queries.
    public var epsilon: Double
    public var quantization: VectorQuantization

    public init(algorithm: VectorAlgorithm, dimension: Int, elementType: VectorElementType = .float32,
                metric: DistanceMetric, initialCapacity: Int = 1024, blockSize: Int = 1024, m: Int = 16,
                efConstruction: Int = 200, efRuntime: Int = 10, epsilon: Double = 0.01,
                quantization: VectorQuantization = .none) {
        self.algorithm = algorithm
        self.dimension = dimension
        self.elementType = elementType
        self.metric = metric
        self.initialCapacity = initialCapacity
        self.blockSize = blockSize
        self.m = m
        self.efConstruction = efConstruction
        self.efRuntime = efRuntime
        self.epsilon = epsilon
        self.quantization = quantization
    }

    /// Bytes a blob must have: dimension × element size.
    public var vectorByteCount: Int { dimension * elementType.byteSize }
}

/// Errors thrown by the engine; messages are meant to be shown to a user as-is.
public enum VectorIndexError: Error, Equatable, CustomStringConvertible {
    case wrongBlobSize(expected: Int, got: Int)
    case invalidParameter(String)
    case corruptSerialization(String)

    public var description: String {
        switch self {
        case let .wrongBlobSize(expected, got):
            "vector blob has \(got) bytes, expected \(expected) (dimension × element size, little-endian)"
        case let .invalidParameter(what): "invalid vector index parameter: \(what)"
        case let .corruptSerialization(what): "cannot load vector index: \(what)"
        }
    }
}

/// An allow-list for filtered (hybrid) queries. `allows` decides per label; when the caller already holds the
/// allowed labels (e.g. from a TAG or NUMERIC index) passing them lets the engine price a brute-force scan of
/// exactly that set against a filtered graph search.
public struct SearchFilter: Sendable {
    public let allows: @Sendable (UInt64) -> Bool
    public let allowedLabels: [UInt64]?

    /// A predicate; the engine estimates its selectivity by sampling.
    public init(allows: @escaping @Sendable (UInt64) -> Bool) {
        self.allows = allows
        self.allowedLabels = nil
    }

    /// An explicit allowed set.
    public init(labels: [UInt64]) {
        let set = Set(labels)
        self.allows = { set.contains($0) }
        self.allowedLabels = labels
    }

    /// An explicit allowed set with the caller's own membership test for it (a bitmap, say), so no hash set of the
    /// labels is built per query. `allows` must hold exactly for `labels`.
    public init(labels: [UInt64], allows: @escaping @Sendable (UInt64) -> Bool) {
        self.allows = allows
        self.allowedLabels = labels
    }
}

/// One result row.
public typealias VectorMatch = (label: UInt64, distance: Float)

/// The operations the search layer needs from any index. Implementations are thread-safe: any number of
/// searches may run while other threads add and remove vectors.
public protocol VectorIndex: AnyObject, Sendable {
    var parameters: VectorIndexParameters { get }
    /// Live vectors.
    var count: Int { get }
    /// Bytes of memory this index owns (arenas, graph, label map, scratch).
    var memoryUsage: Int { get }
    /// Inserts, or replaces the vector of an existing label. Throws on a blob of the wrong size.
    func add(label: UInt64, vector: UnsafeRawBufferPointer) throws
    /// Removes a label; false when it was absent.
    @discardableResult func remove(label: UInt64) -> Bool
    /// Removes a label for every later search and lookup, possibly leaving slow clean-up to `repairDetached`.
    @discardableResult func detach(label: UInt64) -> Bool
    /// Does up to `limit` pieces of clean-up `detach` left; returns how many are left.
    @discardableResult func repairDetached(limit: Int) -> Int
    func contains(label: UInt64) -> Bool
    /// The blob exactly as it was added.
    func vectorBytes(label: UInt64) -> [UInt8]?
    /// The k nearest labels, sorted by distance then label.
    func search(query: UnsafeRawBufferPointer, k: Int, efRuntime: Int?, filter: SearchFilter?) throws -> [VectorMatch]
    /// Every label within `radius` (inclusive), sorted by distance then label.
    func rangeSearch(query: UnsafeRawBufferPointer, radius: Float, epsilon: Double?, filter: SearchFilter?) throws
        -> [VectorMatch]
    /// A self-describing byte stream (magic + layout version) that `makeVectorIndex(deserializing:)` loads.
    func serialize() -> [UInt8]
}

extension VectorIndex {
    /// Indexes whose delete is cheap delete at once.
    @discardableResult public func detach(label: UInt64) -> Bool { remove(label: label) }
    @discardableResult public func repairDetached(limit: Int) -> Int { 0 }
}

/// Builds an empty index of the family named in `parameters`.
public func makeVectorIndex(_ parameters: VectorIndexParameters) throws -> any VectorIndex {
    switch parameters.algorithm {
    case .flat: try FlatIndex(parameters)
    case .hnsw: try HNSWIndex(parameters)
    }
}

/// Loads any index written by `serialize()`.
public func makeVectorIndex(deserializing bytes: [UInt8]) throws -> any VectorIndex {
    var reader = ByteReader(bytes)
    let parameters = try reader.readHeader()
    switch parameters.algorithm {
    case .flat: return try FlatIndex(deserializing: bytes)
    case .hnsw: return try HNSWIndex(deserializing: bytes)
    }
}

/// Sorts matches as RediSearch replies: by distance, ties by label. A search's re-ranked beam (ef ≈ 10–100 matches)
/// is insertion-sorted in place: the standard library's closure-driven stable sort was 2 % of the server's CPU at ef 48.
/// Every module that merges matches (tiered segments, the tiered write buffer) sorts with this one.
public func sortMatches(_ matches: inout [VectorMatch]) {
    @inline(__always) func before(_ a: VectorMatch, _ b: VectorMatch) -> Bool {
        a.distance != b.distance ? a.distance < b.distance : a.label < b.label
    }
    guard matches.count <= 128 else { matches.sort(by: before); return }
    matches.withUnsafeMutableBufferPointer { m in
        for i in m.indices.dropFirst() {
            let item = m[i]
            var j = i
            while j > 0 && before(item, m[j - 1]) { m[j] = m[j - 1]; j -= 1 }
            m[j] = item
        }
    }
}

func validate(_ p: VectorIndexParameters) throws {
    guard p.dimension > 0, p.dimension <= 32768 else { throw VectorIndexError.invalidParameter("DIM must be 1…32768") }
    guard p.initialCapacity >= 0 else { throw VectorIndexError.invalidParameter("INITIAL_CAP must be ≥ 0") }
    guard p.m >= 2, p.m <= 512 else { throw VectorIndexError.invalidParameter("M must be 2…512") }
    guard p.efConstruction >= 1, p.efRuntime >= 1 else { throw VectorIndexError.invalidParameter("EF must be ≥ 1") }
    guard p.epsilon >= 0 else { throw VectorIndexError.invalidParameter("EPSILON must be ≥ 0") }
}

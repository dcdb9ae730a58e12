// The codes a graph walk estimates distances on (all-RAM walks and SSD segments): the protocol and its encodings.
import CVectorKernels

/// What a walk over compressed codes needs: per-query state, single and batched estimates, encode/decode for
/// segment writes and merges, and self-describing bytes. Estimates are in the metric's own form (L2 squared
/// Euclidean; IP and COSINE about 1 − dot) so they rank like exact distances; they are only compared with each other.
///
/// After `train`, every other member only reads and may run on any number of threads; per-query state lives in
/// the caller's buffer of `queryStateBytes` (64-byte aligned).
public protocol TraversalQuantizer: AnyObject, Sendable {
    var dimension: Int { get }
    var metric: DistanceMetric { get }
    /// Bytes of one vector's code.
    var codeBytes: Int { get }
    /// Bytes of one query's prepared state.
    var queryStateBytes: Int { get }
    /// Dimensions per byte of code: 2 or fewer count as fine codes (re-rank quotas are smaller for them).
    var dimensionsPerCodeByte: Int { get }
    /// Bytes of RAM the quantizer itself holds (codebooks, means).
    var memoryUsage: Int { get }
    /// Learns from `count` prepared float32 vectors laid out back to back (a sample is enough).
    func train(vectors: UnsafePointer<Float>, count: Int)
    func encode(_ vector: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>)
    /// The vector a code stands for (`dimension` floats).
    func decode(_ code: UnsafePointer<UInt8>, into vector: UnsafeMutablePointer<Float>)
    /// Fills the state for one prepared float32 query.
    func prepare(query: UnsafePointer<Float>, into state: UnsafeMutableRawPointer)
    func estimate(state: UnsafeRawPointer, code: UnsafePointer<UInt8>) -> Float
    /// `count` estimates at once, one per code pointer.
    func estimates(state: UnsafeRawPointer, codes: UnsafePointer<UnsafePointer<UInt8>>, count: Int,
                   into out: UnsafeMutablePointer<Float>)
    func serialize() -> [UInt8]
}

/// Reads any encoding back by its magic; throws `VectorIndexError.corruptSerialization` on anything else.
public func deserializeTraversalQuantizer(_ bytes: [UInt8]) throws -> any TraversalQuantizer {
    guard bytes.count >= 4 else { throw VectorIndexError.corruptSerialization("quantizer truncated") }
    let magic = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    switch magic {
    case LowBitFormat.fourBit.magic: return try FourBitQuantizer(deserializing: bytes)
    case LowBitFormat.twoBit.magic: return try TwoBitQuantizer(deserializing: bytes)
    default: return try ProductQuantizer(deserializing: bytes)
    }
}

/// The 16 bytes every encoding's serialized form starts with (magic, version, metric, trained flag, dimension) and
/// the FNV-1a 64 trailer it ends with, written and checked in one place.
struct QuantizerHeader {
    static let byteCount = 16
    let metric: DistanceMetric
    let trained: Bool
    let dimension: Int

    ///     | magic: UInt32 | major: UInt16 | minor: UInt16 | metric: UInt8 | trained: UInt8 | reserved: UInt16 (0) |
    ///     | dimension: UInt32 |
    static func write(_ w: inout ByteWriter, magic: UInt32, major: UInt16, minor: UInt16, metric: DistanceMetric,
                      trained: Bool, dimension: Int) {
        w.write(magic)
        w.write(major)
        w.write(minor)
        w.write(metric.rawValue)
        w.write(UInt8(trained ? 1 : 0))
        w.write(UInt16(0))
        w.write(UInt32(dimension))
    }

    /// Reads and checks the header; `kind` names the encoding in errors.
    static func read(_ r: inout ByteReader, magic: UInt32, major: UInt16, kind: String) throws -> QuantizerHeader {
        guard try r.read(UInt32.self) == magic else { throw VectorIndexError.corruptSerialization("not a \(kind) (bad magic)") }
        let version = try r.read(UInt16.self)
        _ = try r.read(UInt16.self)
        guard version == major else {
            throw VectorIndexError.corruptSerialization("\(kind) layout version \(version) not supported")
        }
        guard let metric = DistanceMetric(rawValue: try r.read(UInt8.self)) else {
            throw VectorIndexError.corruptSerialization("unknown metric")
        }
        let trainedFlag = try r.read(UInt8.self)
        let reserved = try r.read(UInt16.self)
        let dimension = Int(try r.read(UInt32.self))
        guard trainedFlag <= 1, reserved == 0, (1...32768).contains(dimension) else {
            throw VectorIndexError.corruptSerialization("bad \(kind) header")
        }
        return QuantizerHeader(metric: metric, trained: trainedFlag == 1, dimension: dimension)
    }

    /// FNV-1a, 64 bits: any single changed byte changes it, which is what a corrupt-file check needs.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.withUnsafeBufferPointer { buffer in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in buffer { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            return hash
        }
    }

    /// Throws unless `bytes` has exactly `expected` bytes and ends with the checksum of the rest.
    static func verify(_ bytes: [UInt8], expected: Int, kind: String) throws {
        guard bytes.count == expected else {
            throw VectorIndexError.corruptSerialization("\(kind) has \(bytes.count) bytes, expected \(expected)")
        }
        guard checksum(bytes[..<(bytes.count - 8)]) == UInt64(littleEndian: bytes.withUnsafeBytes {
            $0.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
        }) else {
            throw VectorIndexError.corruptSerialization("\(kind) checksum mismatch")
        }
    }
}

extension ProductQuantizer: TraversalQuantizer {
    public var queryStateBytes: Int { tableCount * MemoryLayout<Float>.stride }
    public var dimensionsPerCodeByte: Int { dimensionsPerSubspace }
    public func train(vectors: UnsafePointer<Float>, count: Int) { train(vectors: vectors, count: count, iterations: 12, seed: 42) }
    public func prepare(query: UnsafePointer<Float>, into state: UnsafeMutableRawPointer) {
        prepareTable(query: query, into: state.assumingMemoryBound(to: Float.self))
    }
    @inline(__always) public func estimate(state: UnsafeRawPointer, code: UnsafePointer<UInt8>) -> Float {
        distance(table: state.assumingMemoryBound(to: Float.self), code: code)
    }
    public func estimates(state: UnsafeRawPointer, codes: UnsafePointer<UnsafePointer<UInt8>>, count: Int,
                          into out: UnsafeMutablePointer<Float>) {
        distances(table: state.assumingMemoryBound(to: Float.self), codes: codes, count: count, into: out)
    }
}

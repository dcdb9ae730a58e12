// Writing a whole graph segment in one go: records in a placement order, plus the id → address directory (and the
// engine's own blob) as the commit's metadata, so a restart finds every record without rebuilding.
#if canImport(Glibc)
import Glibc
#endif

/// The metadata a segment commits. Encoding (little-endian):
///
///     | magic "VSSEGDIR" | version: UInt32 | entry: UInt32 | count: UInt64 | addresses (count × UInt64) |
///     | engine blob length: UInt64 | engine blob |
///
/// `directory[id]` is the record address of node `id`; `RecordAddress(rawValue: .max)` marks an id with no record
/// (a free slot in the engine's id space).
public struct SegmentMetadata: Equatable, Sendable {
    public static let magic: [UInt8] = Array("VSSEGDIR".utf8)
    public static let version: UInt32 = 1
    public static let missing = RecordAddress(rawValue: .max)

    public var entry: UInt32
    public var directory: [RecordAddress]
    /// Whatever the engine needs besides level-0 records: labels, levels, upper links, SQ8 codes, parameters.
    public var engineBlob: [UInt8]

    public init(entry: UInt32, directory: [RecordAddress], engineBlob: [UInt8]) {
        self.entry = entry
        self.directory = directory
        self.engineBlob = engineBlob
    }

    public func encoded() -> [UInt8] {
        var out = SegmentMetadata.magic
        out.reserveCapacity(8 + 16 + directory.count * 8 + 8 + engineBlob.count)
        func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        append(SegmentMetadata.version)
        append(entry)
        append(UInt64(directory.count))
        for a in directory { append(a.rawValue) }
        append(UInt64(engineBlob.count))
        out.append(contentsOf: engineBlob)
        return out
    }

    public init(decoding bytes: [UInt8], path: String) throws {
        func corrupt(_ why: String) -> StorageError { .corruptHeader(path: path, reason: "segment metadata: \(why)") }
        guard bytes.count >= 24, Array(bytes[0..<8]) == SegmentMetadata.magic else { throw corrupt("bad magic") }
        var offset = 8
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard offset + MemoryLayout<T>.size <= bytes.count else { throw corrupt("truncated") }
            let v = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
            offset += MemoryLayout<T>.size
            return v
        }
        let version = try read(UInt32.self)
        guard version == SegmentMetadata.version else { throw corrupt("version \(version)") }
        entry = try read(UInt32.self)
        let count = try read(UInt64.self)
        guard count <= UInt64(bytes.count - offset) / 8 else { throw corrupt("directory of \(count) entries") }
        directory = try (0..<Int(count)).map { _ in RecordAddress(rawValue: try read(UInt64.self)) }
        let blobCount = try read(UInt64.self)
        guard blobCount == UInt64(bytes.count - offset) else { throw corrupt("engine blob length") }
        engineBlob = Array(bytes[offset...])
    }
}

public enum SegmentWriter {
    /// Writes node records `0..<count` to a new page file at `path` in `placement` order, then commits once with the
    /// directory and `engineBlob` as metadata. `vector(id)` / `neighbors(id)` give a node's record; `isPresent(id)`
    /// false skips an id (directory entry `missing`). Returns the metadata committed.
    ///
    /// The file is written as `path + ".partial"` and renamed over `path` only after its commit (then the directory
    /// is synced), so a crash at any moment leaves either the old segment or the complete new one at `path`.
    @discardableResult
    public static func write(path: String, layout: PageLayout, count: Int, entry: UInt32,
                             placement: PagePlacementStrategy, engineBlob: [UInt8] = [], mode: PageIOMode = .direct,
                             isPresent: (UInt32) -> Bool = { _ in true },
                             vector: (UInt32) -> UnsafeRawBufferPointer,
                             neighbors: (UInt32) -> [UInt32]) throws -> SegmentMetadata {
        let order = PagePlacement.order(count: count, recordsPerPage: layout.recordsPerPage, entry: entry,
                                        strategy: placement) { isPresent($0) ? neighbors($0) : [] }
        let partial = path + ".partial"
        let writer = try PageFileWriter.create(path: partial, layout: layout, mode: mode, batchPages: 64)
        var directory = [RecordAddress](repeating: SegmentMetadata.missing, count: count)
        for id in order where isPresent(id) {
            let list = neighbors(id)
            directory[Int(id)] = try list.withUnsafeBufferPointer { try writer.append(vector: vector(id), neighbors: $0) }
        }
        let metadata = SegmentMetadata(entry: entry, directory: directory, engineBlob: engineBlob)
        try writer.commit(metadata: metadata.encoded())
        guard rename(partial, path) == 0 else { throw StorageError.system(call: "rename", path: partial, errno: errno) }
        try syncDirectory(of: path)
        return metadata
    }

    /// Reads the directory and engine blob of a segment written by `write`.
    public static func readMetadata(_ file: PageFile) throws -> SegmentMetadata {
        try SegmentMetadata(decoding: try file.readMetadata(), path: file.path)
    }
}

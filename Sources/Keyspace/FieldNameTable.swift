// FieldNameTable: hash field names that very many hashes repeat (an index schema's fields), stored once per process,
// so a packed hash writes a 1-byte id in their place. Names are only ever added, never changed or removed.
import Synchronization

/// Up to `capacity` field names with ids. An index schema gives its fields ids (`intern`, at FT.CREATE); a packed hash
/// (`CompactPairs`) then writes a new entry for such a field as its id instead of its bytes. For an indexed document
/// (`v` → reference, `year`, `popular`) that takes the buffer from 51 to 39 requested bytes: the 48-byte malloc chunk
/// instead of the 64-byte one. Hashes written before a name got its id keep the bytes; both forms read the same.
///
/// Readers take no lock. A name's bytes are written, then its slot, then the count is published (release), and none
/// of them ever changes or is freed; an id reaches a reader only inside a buffer written after the id was published
/// (and handed over through the keyspace's own synchronisation), so the slot it names is always complete.
public final class FieldNameTable: @unchecked Sendable {
    /// The process's table, shared by every hash.
    public static let shared = FieldNameTable(capacity: FieldNameTable.maxCapacity)

    /// Ids are written as one LEB128 byte together with the id/bytes flag (`id << 1 | 1` < 128).
    public static let maxCapacity = 64
    /// Longer names are not shared: no packed hash holds them under the default limits, and every name is kept forever.
    public static let maxNameLength = 255

    public let capacity: Int
    private let starts: UnsafeMutablePointer<UnsafeRawPointer?>
    private let counts: UnsafeMutablePointer<UInt8>
    private let published = Atomic<Int>(0)
    private let writer = Mutex(())

    /// A table of its own (tests); the server uses `shared`.
    public init(capacity: Int) {
        precondition(capacity >= 0 && capacity <= Self.maxCapacity)
        self.capacity = capacity
        starts = .allocate(capacity: max(capacity, 1))
        counts = .allocate(capacity: max(capacity, 1))
    }

    /// Names live as long as the table; only test tables are ever freed.
    deinit {
        for i in 0..<published.load(ordering: .relaxed) { UnsafeMutableRawPointer(mutating: starts[i])?.deallocate() }
        starts.deallocate()
        counts.deallocate()
    }

    /// Number of names with ids.
    public var count: Int { published.load(ordering: .acquiring) }

    /// Gives `name` an id unless it has one; returns its id, or nil when the table is full or the name too long.
    @discardableResult
    public func intern(_ name: Bytes) -> Int? {
        name.withUnsafeBytes { raw in
            writer.withLock { _ -> Int? in
                if let existing = id(of: raw) { return existing }
                let n = published.load(ordering: .relaxed)
                guard n < capacity, raw.count <= Self.maxNameLength else { return nil }
                var start: UnsafeRawPointer?
                if raw.count > 0 {
                    let copy = UnsafeMutableRawPointer.allocate(byteCount: raw.count, alignment: 1)
                    copy.copyMemory(from: raw.baseAddress!, byteCount: raw.count)
                    start = UnsafeRawPointer(copy)
                }
                (starts + n).initialize(to: start)
                (counts + n).initialize(to: UInt8(raw.count))
                published.store(n + 1, ordering: .releasing)
                return n
            }
        }
    }

    /// The id of `field`, or nil when it has none. A short scan: tables hold a handful of schema fields.
    @inline(__always)
    func id(of field: UnsafeRawBufferPointer) -> Int? {
        let n = published.load(ordering: .acquiring)
        guard n > 0, field.count <= Self.maxNameLength else { return nil }
        let length = UInt8(field.count)
        for i in 0..<n where counts[i] == length {
            if length == 0 || memcmpBytes(starts[i]!, field.baseAddress!, Int(length)) { return i }
        }
        return nil
    }

    /// The bytes of the name with id `id` (which a buffer read from this table's ids, so it is published).
    @inline(__always)
    func name(_ id: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: starts[id], count: Int(counts[id]))
    }
}

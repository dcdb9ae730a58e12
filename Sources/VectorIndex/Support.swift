// Small unsafe building blocks of the hot path: locks, a bounded distance heap, the label→id hash map, byte I/O.
import CVectorKernels
#if canImport(Glibc)
import Glibc
#endif

/// A reader-writer lock: searches and inserts share it, structural changes (growth, delete) take it exclusively.
final class ReadWriteLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    init() { lock.initialize(to: pthread_rwlock_t()); pthread_rwlock_init(lock, nil) }
    deinit { pthread_rwlock_destroy(lock); lock.deallocate() }
    @inline(__always) func withReadLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock); defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
    @inline(__always) func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock); defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// A plain mutex for short critical sections off the distance hot path.
final class PlainLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { mutex.initialize(to: pthread_mutex_t()); pthread_mutex_init(mutex, nil) }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    @inline(__always) func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// Allocates a 64-byte-aligned arena (free with `freeArena`); the one place to change if arenas move to huge pages.
/// 2 MiB alignment + MADV_HUGEPAGE was tried twice (the float walk, then the 4-bit walk in session 8: 94 MB of
/// AnonHugePages on pypi-50k): no gain beyond this VM's noise in interleaved runs, and +66 B of RSS per document.
func allocateArena(byteCount: Int) -> UnsafeMutableRawPointer {
    var pointer: UnsafeMutableRawPointer?
    let size = max(byteCount, 64)
    guard posix_memalign(&pointer, 64, size) == 0, let pointer else { fatalError("out of memory (\(size) bytes)") }
    return pointer
}

func freeArena(_ pointer: UnsafeMutableRawPointer) { free(pointer) }

/// Runs `body` on `byteCount` bytes of fresh anonymous pages, unmapped afterwards: a large temporary (a training
/// sample of 20,000 vectors) returned through `free` stays in glibc's heap and in the RSS the benchmarks compare.
func withTemporaryPages<R>(byteCount: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
    let size = max(byteCount, 1)
    guard let pages = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), pages != MAP_FAILED
    else { fatalError("out of memory (\(size) bytes)") }
    defer { munmap(pages, size) }
    return try body(pages)
}

struct HeapItem { var distance: Float; var id: UInt32 }

/// A binary max-heap of (distance, id) on a growable unsafe buffer; a min-heap is obtained by pushing −distance.
/// Kept as a value held in a local `var` during a search so no exclusivity checks run per operation.
struct DistanceHeap {
    private(set) var items: UnsafeMutablePointer<HeapItem>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        items = .allocate(capacity: self.capacity)
    }
    func deallocate() { items.deallocate() }
    var isEmpty: Bool { count == 0 }
    var top: HeapItem { items[0] }
    mutating func removeAll() { count = 0 }

    @inline(__always) mutating func push(_ distance: Float, _ id: UInt32) {
        if count == capacity { grow() }
        var i = count
        count &+= 1
        while i > 0 {
            let parent = (i &- 1) >> 1
            if items[parent].distance >= distance { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = HeapItem(distance: distance, id: id)
    }

    @discardableResult @inline(__always) mutating func pop() -> HeapItem {
        let result = items[0]
        count &-= 1
        if count > 0 {
            let last = items[count]
            var i = 0
            while true {
                var child = 2 &* i &+ 1
                if child >= count { break }
                if child &+ 1 < count && items[child &+ 1].distance > items[child].distance { child &+= 1 }
                if items[child].distance <= last.distance { break }
                items[i] = items[child]
                i = child
            }
            items[i] = last
        }
        return result
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<HeapItem>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: items, count: count)
        items.deallocate()
        items = bigger
        capacity *= 2
    }
}

/// Label → internal id. Labels from the search layer are dense document ids, so small labels live in a direct array
/// (4 bytes per possible label, one sequential read per lookup: a filtered brute force resolves hundreds of labels per
/// query); labels far beyond the live count go to a hash table so sparse labels cost no more than before.
/// Not thread-safe: callers hold the index's map lock.
struct LabelMap {
    private static let empty = UInt32.max
    private var dense: UnsafeMutablePointer<UInt32>
    private var denseCapacity: Int
    private var hashed: HashedLabelMap
    private(set) var count = 0

    init(capacity: Int) {
        denseCapacity = max(capacity, 16)
        dense = .allocate(capacity: denseCapacity)
        dense.initialize(repeating: LabelMap.empty, count: denseCapacity)
        hashed = HashedLabelMap(capacity: 16)
    }
    func deallocate() { dense.deallocate(); hashed.deallocate() }
    var memoryUsage: Int { denseCapacity * 4 + hashed.memoryUsage }

    @inline(__always) func find(_ label: UInt64) -> UInt32? {
        if label < UInt64(denseCapacity) {
            let id = dense[Int(label)]
            return id == LabelMap.empty ? nil : id
        }
        return hashed.count == 0 ? nil : hashed.find(label)
    }

    /// Inserts or overwrites.
    mutating func set(_ label: UInt64, _ id: UInt32) {
        if label >= UInt64(denseCapacity) && label < UInt64(2 * (count + 1) + 4096) { growDense(toCover: Int(label)) }
        if label < UInt64(denseCapacity) {
            if dense[Int(label)] == LabelMap.empty { count += 1 }
            dense[Int(label)] = id
        } else {
            let before = hashed.count
            hashed.set(label, id)
            count += hashed.count - before
        }
    }

    @discardableResult mutating func remove(_ label: UInt64) -> UInt32? {
        if label < UInt64(denseCapacity) {
            let id = dense[Int(label)]
            guard id != LabelMap.empty else { return nil }
            dense[Int(label)] = LabelMap.empty
            count -= 1
            return id
        }
        guard let id = hashed.remove(label) else { return nil }
        count -= 1
        return id
    }

    func forEach(_ body: (UInt64, UInt32) -> Void) {
        for i in 0..<denseCapacity where dense[i] != LabelMap.empty { body(UInt64(i), dense[i]) }
        hashed.forEach(body)
    }

    /// Doubles the direct array past `label` and moves hashed labels that now fall inside it.
    private mutating func growDense(toCover label: Int) {
        var newCapacity = denseCapacity
        while newCapacity <= label { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: newCapacity)
        bigger.moveInitialize(from: dense, count: denseCapacity)
        (bigger + denseCapacity).initialize(repeating: LabelMap.empty, count: newCapacity - denseCapacity)
        dense.deallocate()
        dense = bigger
        denseCapacity = newCapacity
        guard hashed.count > 0 else { return }
        var moving: [(UInt64, UInt32)] = []
        hashed.forEach { l, id in if l < UInt64(newCapacity) { moving.append((l, id)) } }
        for (l, id) in moving {
            hashed.remove(l)
            dense[Int(l)] = id
        }
    }
}

/// Open-addressing (linear probing, backward-shift delete) map from label to internal id, in two flat arrays so
/// its memory is exact: the sparse part of `LabelMap`.
struct HashedLabelMap {
    private static let empty = UInt32.max
    private var keys: UnsafeMutablePointer<UInt64>
    private var values: UnsafeMutablePointer<UInt32>
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var slots = 16
        while slots * 3 < max(capacity, 1) * 4 { slots *= 2 }
        keys = .allocate(capacity: slots)
        values = .allocate(capacity: slots)
        values.initialize(repeating: HashedLabelMap.empty, count: slots)
        mask = slots - 1
    }
    func deallocate() { keys.deallocate(); values.deallocate() }
    var memoryUsage: Int { (mask + 1) * 12 }

    @inline(__always) private func slot(_ label: UInt64) -> Int {
        var x = label &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: x ^ (x >> 31)) & mask
    }

    func find(_ label: UInt64) -> UInt32? {
        var i = slot(label)
        while values[i] != HashedLabelMap.empty {
            if keys[i] == label { return values[i] }
            i = (i &+ 1) & mask
        }
        return nil
    }

    /// Inserts or overwrites.
    mutating func set(_ label: UInt64, _ id: UInt32) {
        if (count + 1) * 4 > (mask + 1) * 3 { rehash(slots: (mask + 1) * 2) }
        var i = slot(label)
        while values[i] != HashedLabelMap.empty {
            if keys[i] == label { values[i] = id; return }
            i = (i &+ 1) & mask
        }
        keys[i] = label
        values[i] = id
        count += 1
    }

    @discardableResult mutating func remove(_ label: UInt64) -> UInt32? {
        var i = slot(label)
        while values[i] != HashedLabelMap.empty {
            if keys[i] == label { break }
            i = (i &+ 1) & mask
        }
        guard values[i] != HashedLabelMap.empty else { return nil }
        let removed = values[i]
        // Backward-shift: pull later entries of the probe run into the hole so lookups never need tombstones.
        var hole = i
        var j = (i &+ 1) & mask
        while values[j] != HashedLabelMap.empty {
            let home = slot(keys[j])
            let distanceFromHome = (j &- home) & mask
            let distanceHoleToJ = (j &- hole) & mask
            if distanceFromHome >= distanceHoleToJ {
                keys[hole] = keys[j]
                values[hole] = values[j]
                hole = j
            }
            j = (j &+ 1) & mask
        }
        values[hole] = HashedLabelMap.empty
        count -= 1
        return removed
    }

    func forEach(_ body: (UInt64, UInt32) -> Void) {
        for i in 0...mask where values[i] != HashedLabelMap.empty { body(keys[i], values[i]) }
    }

    private mutating func rehash(slots: Int) {
        let oldKeys = keys, oldValues = values, oldSlots = mask + 1
        keys = .allocate(capacity: slots)
        values = .allocate(capacity: slots)
        values.initialize(repeating: HashedLabelMap.empty, count: slots)
        mask = slots - 1
        count = 0
        for i in 0..<oldSlots where oldValues[i] != HashedLabelMap.empty { set(oldKeys[i], oldValues[i]) }
        oldKeys.deallocate()
        oldValues.deallocate()
    }
}

/// Appends little-endian fields to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func write(_ value: Double) { write(value.bitPattern) }
    mutating func write(raw: UnsafeRawPointer, count: Int) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: raw, count: count))
    }
}

/// Reads what ByteWriter wrote, throwing on truncation.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw VectorIndexError.corruptSerialization("truncated") }
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }
    mutating func readDouble() throws -> Double { Double(bitPattern: try read(UInt64.self)) }
    mutating func read(into raw: UnsafeMutableRawPointer, count: Int) throws {
        guard count >= 0, offset + count <= bytes.count else { throw VectorIndexError.corruptSerialization("truncated") }
        bytes.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
        offset += count
    }

    /// Magic "VSVI", layout major.minor, then the parameters.
    mutating func readHeader() throws -> VectorIndexParameters {
        guard try read(UInt32.self) == serializationMagic else { throw VectorIndexError.corruptSerialization("bad magic") }
        let major = try read(UInt16.self)
        _ = try read(UInt16.self)
        guard major == serializationMajor else {
            throw VectorIndexError.corruptSerialization("layout version \(major) not supported")
        }
        guard let algorithm = VectorAlgorithm(rawValue: try read(UInt8.self)),
              let type = VectorElementType(rawValue: try read(UInt8.self)),
              let metric = DistanceMetric(rawValue: try read(UInt8.self)),
              let quantization = VectorQuantization(rawValue: try read(UInt8.self))
        else { throw VectorIndexError.corruptSerialization("unknown algorithm, type, metric or quantization") }
        let dimension = Int(try read(UInt32.self))
        let initialCapacity = Int(try read(UInt64.self))
        let blockSize = Int(try read(UInt64.self))
        let m = Int(try read(UInt32.self))
        let efConstruction = Int(try read(UInt32.self))
        let efRuntime = Int(try read(UInt32.self))
        let epsilon = try readDouble()
        let p = VectorIndexParameters(algorithm: algorithm, dimension: dimension, elementType: type, metric: metric,
                                      initialCapacity: initialCapacity, blockSize: blockSize, m: m,
                                      efConstruction: efConstruction, efRuntime: efRuntime, epsilon: epsilon,
                                      quantization: quantization)
        try validate(p)
        return p
    }
}

let serializationMagic: UInt32 = 0x4956_5356 // "VSVI" little-endian
let serializationMajor: UInt16 = 2  // 2: L2 and IP records leave out 1/‖x‖ (8 bytes less)
let serializationMinor: UInt16 = 0

extension ByteWriter {
    mutating func writeHeader(_ p: VectorIndexParameters) {
        write(serializationMagic)
        write(serializationMajor)
        write(serializationMinor)
        write(p.algorithm.rawValue)
        write(p.elementType.rawValue)
        write(p.metric.rawValue)
        write(p.quantization.rawValue)
        write(UInt32(p.dimension))
        write(UInt64(p.initialCapacity))
        write(UInt64(p.blockSize))
        write(UInt32(p.m))
        write(UInt32(p.efConstruction))
        write(UInt32(p.efRuntime))
        write(p.epsilon)
    }
}

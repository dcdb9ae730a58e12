// FLAT: exact brute force over one contiguous arena of vectors; deletes move the last vector into the hole.

/// Exact KNN and range search. Rows are dense (0..<count) so a scan touches only live vectors, in memory order.
public final class FlatIndex: VectorIndex, @unchecked Sendable {
    public let parameters: VectorIndexParameters
    let space: DistanceSpace
    private let lock = ReadWriteLock()
    // All mutable state below is guarded by `lock`.
    private var capacity: Int
    private var rows = 0
    private var vectors: UnsafeMutableRawPointer
    private var inverseNorms: UnsafeMutablePointer<Float>
    private var labels: UnsafeMutablePointer<UInt64>
    private var labelToRow: LabelMap

    public init(_ parameters: VectorIndexParameters) throws {
        try validate(parameters)
        self.parameters = parameters
        space = DistanceSpace(dimension: parameters.dimension, elementType: parameters.elementType, metric: parameters.metric)
        capacity = max(parameters.initialCapacity, 16)
        vectors = allocateArena(byteCount: capacity * space.vectorBytes)
        inverseNorms = .allocate(capacity: capacity)
        labels = .allocate(capacity: capacity)
        labelToRow = LabelMap(capacity: capacity)
    }

    deinit {
        freeArena(vectors)
        inverseNorms.deallocate()
        labels.deallocate()
        labelToRow.deallocate()
    }

    public var count: Int { lock.withReadLock { rows } }

    public var memoryUsage: Int {
        lock.withReadLock { capacity * (space.vectorBytes + 4 + 8) + labelToRow.memoryUsage }
    }

    public func add(label: UInt64, vector: UnsafeRawBufferPointer) throws {
        try space.checkBlob(vector)
        lock.withWriteLock {
            let row: Int
            if let existing = labelToRow.find(label) {
                row = Int(existing)
            } else {
                if rows == capacity { grow() }
                row = rows
                rows += 1
                labelToRow.set(label, UInt32(row))
                labels[row] = label
            }
            let dst = vectors + row * space.vectorBytes
            dst.copyMemory(from: vector.baseAddress!, byteCount: space.vectorBytes)
            inverseNorms[row] = space.inverseNorm(stored: dst)
        }
    }

    private func grow() { reallocate(capacity: capacity + max(capacity, parameters.blockSize)) }

    /// Gives back capacity beyond `max(count, keeping)` rows (a drained write buffer should not hold its peak).
    public func releaseUnusedCapacity(keeping: Int) {
        lock.withWriteLock {
            let wanted = max(rows, keeping, 16)
            if capacity > wanted { reallocate(capacity: wanted) }
        }
    }

    /// Caller holds the write lock; `newCapacity` ≥ rows.
    private func reallocate(capacity newCapacity: Int) {
        let newVectors = allocateArena(byteCount: newCapacity * space.vectorBytes)
        newVectors.copyMemory(from: vectors, byteCount: rows * space.vectorBytes)
        freeArena(vectors)
        vectors = newVectors
        let newNorms = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity)
        newNorms.update(from: inverseNorms, count: rows)
        inverseNorms.deallocate()
        inverseNorms = newNorms
        let newLabels = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity)
        newLabels.update(from: labels, count: rows)
        labels.deallocate()
        labels = newLabels
        capacity = newCapacity
    }

    @discardableResult
    public func remove(label: UInt64) -> Bool {
        lock.withWriteLock {
            guard let removed = labelToRow.remove(label) else { return false }
            let row = Int(removed), last = rows - 1
            if row != last {
                (vectors + row * space.vectorBytes).copyMemory(from: vectors + last * space.vectorBytes, byteCount: space.vectorBytes)
                inverseNorms[row] = inverseNorms[last]
                labels[row] = labels[last]
                labelToRow.set(labels[row], UInt32(row))
            }
            rows -= 1
            return true
        }
    }

    public func contains(label: UInt64) -> Bool { lock.withReadLock { labelToRow.find(label) != nil } }

    public func vectorBytes(label: UInt64) -> [UInt8]? {
        lock.withReadLock {
            guard let row = labelToRow.find(label) else { return nil }
            return Array(UnsafeRawBufferPointer(start: vectors + Int(row) * space.vectorBytes, count: space.vectorBytes))
        }
    }

    /// Calls `body(row, distance)` for every allowed row.
    private func scan(query: UnsafeRawPointer, filter: SearchFilter?, _ body: (Int, Float) -> Void) {
        let stride = space.vectorBytes
        if let filter {
            if let allowed = filter.allowedLabels {
                for label in allowed {
                    guard let row = labelToRow.find(label) else { continue }
                    let r = Int(row)
                    body(r, space.distance(query: query, stored: vectors + r * stride, inverseNorm: inverseNorms[r]))
                }
                return
            }
            for r in 0..<rows where filter.allows(labels[r]) {
                body(r, space.distance(query: query, stored: vectors + r * stride, inverseNorm: inverseNorms[r]))
            }
            return
        }
        for r in 0..<rows {
            body(r, space.distance(query: query, stored: vectors + r * stride, inverseNorm: inverseNorms[r]))
        }
    }

    public func search(query: UnsafeRawBufferPointer, k: Int, efRuntime: Int? = nil, filter: SearchFilter? = nil) throws
        -> [VectorMatch] {
        guard k > 0 else { try space.checkBlob(query); return [] }
        return try withUnsafeTemporaryAllocation(byteCount: space.queryBytes, alignment: 64) { q in
            try space.prepareQuery(query, into: q.baseAddress!)
            return lock.withReadLock {
                var heap = DistanceHeap(capacity: min(k, rows) + 1)  // k may be any Int (KNN 9223372036854775807)
                defer { heap.deallocate() }
                // Ties are broken by label so the k kept are exactly the first k of the sorted order.
                scan(query: q.baseAddress!, filter: filter) { row, d in
                    if heap.count < k { heap.push(d, UInt32(row)); return }
                    let worst = heap.top
                    if d < worst.distance || (d == worst.distance && labels[row] < labels[Int(worst.id)]) {
                        heap.pop()
                        heap.push(d, UInt32(row))
                    }
                }
                var out: [VectorMatch] = []
                out.reserveCapacity(heap.count)
                for i in 0..<heap.count { out.append((labels[Int(heap.items[i].id)], heap.items[i].distance)) }
                sortMatches(&out)
                return out
            }
        }
    }

    public func rangeSearch(query: UnsafeRawBufferPointer, radius: Float, epsilon: Double? = nil,
                            filter: SearchFilter? = nil) throws -> [VectorMatch] {
        try withUnsafeTemporaryAllocation(byteCount: space.queryBytes, alignment: 64) { q in
            try space.prepareQuery(query, into: q.baseAddress!)
            return lock.withReadLock {
                var out: [VectorMatch] = []
                scan(query: q.baseAddress!, filter: filter) { row, d in if d <= radius { out.append((labels[row], d)) } }
                sortMatches(&out)
                return out
            }
        }
    }

    /// ### Layout (after the common header)
    ///     | rows: UInt64 | labels (rows × UInt64) | inverse norms (rows × Float32) | vectors (rows × blob) |
    public func serialize() -> [UInt8] {
        lock.withReadLock {
            var w = ByteWriter()
            w.bytes.reserveCapacity(128 + rows * (space.vectorBytes + 12))
            w.writeHeader(parameters)
            w.write(UInt64(rows))
            w.write(raw: labels, count: rows * 8)
            w.write(raw: inverseNorms, count: rows * 4)
            w.write(raw: vectors, count: rows * space.vectorBytes)
            return w.bytes
        }
    }

    public convenience init(deserializing bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        var p = try r.readHeader()
        guard p.algorithm == .flat else { throw VectorIndexError.corruptSerialization("not a FLAT index") }
        let n = Int(try r.read(UInt64.self))
        guard n >= 0, n <= bytes.count else { throw VectorIndexError.corruptSerialization("bad row count") }
        let wanted = p.initialCapacity
        p.initialCapacity = max(wanted, n)
        try self.init(p)
        try r.read(into: labels, count: n * 8)
        try r.read(into: inverseNorms, count: n * 4)
        try r.read(into: vectors, count: n * space.vectorBytes)
        rows = n
        for row in 0..<n { labelToRow.set(labels[row], UInt32(row)) }
    }
}

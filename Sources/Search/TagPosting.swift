// One TAG value's documents: a sorted id list while that is smaller than a bitmap over the index's ids.

/// The documents holding one TAG value. Most values of a high-cardinality field (ids, names, urls) hold a handful of
/// documents; a bitmap each would cost the whole id range per value, which grows with the square of the documents
/// (50,000 unique names: 156 MB). A list becomes a bitmap once the bitmap is the smaller of the two.
public struct TagPosting: Sendable, Equatable {
    private enum Storage: Sendable, Equatable {
        case list([UInt32])
        case bitmap(DocSet, count: Int)
    }
    private var storage = Storage.list([])

    public init() {}

    public var count: Int {
        switch storage {
        case .list(let ids): return ids.count
        case .bitmap(_, let count): return count
        }
    }

    public var isEmpty: Bool { count == 0 }

    public func contains(_ id: UInt32) -> Bool {
        switch storage {
        case .list(let ids): return Self.position(of: id, in: ids).found
        case .bitmap(let set, _): return set.contains(id)
        }
    }

    public mutating func insert(_ id: UInt32) {
        switch storage {
        case .list(var ids):
            storage = .list([])  // keeps `ids` uniquely referenced while it changes
            if let last = ids.last, id <= last {
                let (at, found) = Self.position(of: id, in: ids)
                if !found { ids.insert(id, at: at) }
            } else {
                ids.append(id)
            }
            // A bitmap costs (largest id) / 8 bytes, the list 4 per id.
            if ids.count > 16 && ids.count * 32 > Int(ids.last ?? 0) {
                var set = DocSet(capacity: Int(ids.last ?? 0))
                for i in ids { set.insert(i) }
                storage = .bitmap(set, count: ids.count)
            } else {
                storage = .list(ids)
            }
        case .bitmap(var set, let count):
            storage = .list([])
            let added = !set.contains(id)
            set.insert(id)
            storage = .bitmap(set, count: count + (added ? 1 : 0))
        }
    }

    public mutating func remove(_ id: UInt32) {
        switch storage {
        case .list(var ids):
            storage = .list([])
            let (at, found) = Self.position(of: id, in: ids)
            if found { ids.remove(at: at) }
            storage = .list(ids)
        case .bitmap(var set, let count):
            storage = .list([])
            let removed = set.contains(id)
            set.remove(id)
            storage = .bitmap(set, count: count - (removed ? 1 : 0))
        }
    }

    /// Ids in increasing order.
    public func forEach(_ body: (UInt32) -> Void) {
        switch storage {
        case .list(let ids): for i in ids { body(i) }
        case .bitmap(let set, _): set.forEach(body)
        }
    }

    public var ids: [UInt32] {
        switch storage {
        case .list(let ids): return ids
        case .bitmap(let set, _): return set.ids
        }
    }

    /// Adds these documents to `set`.
    public func union(into set: inout DocSet) {
        switch storage {
        case .list(let ids): for i in ids { set.insert(i) }
        case .bitmap(let other, _): set.formUnion(other)
        }
    }

    private static func position(of id: UInt32, in ids: [UInt32]) -> (Int, found: Bool) {
        var lo = 0, hi = ids.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < ids.count && ids[lo] == id)
    }
}

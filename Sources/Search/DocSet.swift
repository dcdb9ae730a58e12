// DocSet: a bitset over document ids, the currency of query evaluation (and, or, not are word-wide loops).

public struct DocSet: Sendable, Equatable {
    public internal(set) var words: [UInt64]

    public init(capacity: Int) { words = Array(repeating: 0, count: (capacity + 64) / 64) }

    /// The ids in 0..<count for which `predicate` holds, built a word at a time.
    public static func matching(count: Int, _ predicate: (Int) -> Bool) -> DocSet {
        var set = DocSet(capacity: count)
        set.words.withUnsafeMutableBufferPointer { words in
            var i = 0
            while i < count {
                var word: UInt64 = 0
                let end = min(count, i + 64)
                var bit: UInt64 = 1
                for j in i..<end {
                    if predicate(j) { word |= bit }
                    bit &<<= 1
                }
                words[i >> 6] = word
                i = end
            }
        }
        return set
    }

    @inline(__always) public func contains(_ id: UInt32) -> Bool {
        let w = Int(id >> 6)
        return w < words.count && (words[w] >> UInt64(id & 63)) & 1 == 1
    }

    @inline(__always) public mutating func insert(_ id: UInt32) {
        let w = Int(id >> 6)
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: w - words.count + 1)) }
        words[w] |= 1 << UInt64(id & 63)
    }

    @inline(__always) public mutating func remove(_ id: UInt32) {
        let w = Int(id >> 6)
        if w < words.count { words[w] &= ~(1 << UInt64(id & 63)) }
    }

    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    public mutating func formIntersection(_ other: DocSet) {
        let n = min(words.count, other.words.count)
        for i in 0..<n { words[i] &= other.words[i] }
        for i in n..<words.count { words[i] = 0 }
    }

    public mutating func formUnion(_ other: DocSet) {
        if other.words.count > words.count { words.append(contentsOf: repeatElement(0, count: other.words.count - words.count)) }
        for i in 0..<other.words.count { words[i] |= other.words[i] }
    }

    /// Keeps the ids of `universe` that are not in self.
    public func complement(within universe: DocSet) -> DocSet {
        var result = universe
        let n = min(words.count, result.words.count)
        for i in 0..<n { result.words[i] &= ~words[i] }
        return result
    }

    /// Ids in increasing order.
    public func forEach(_ body: (UInt32) -> Void) {
        for (i, var w) in words.enumerated() {
            while w != 0 {
                let bit = w.trailingZeroBitCount
                body(UInt32(i * 64 + bit))
                w &= w - 1
            }
        }
    }

    /// Ids in increasing order until `body` returns false.
    public func forEachWhile(_ body: (UInt32) -> Bool) {
        for (i, var w) in words.enumerated() {
            while w != 0 {
                let bit = w.trailingZeroBitCount
                if !body(UInt32(i * 64 + bit)) { return }
                w &= w - 1
            }
        }
    }

    public var ids: [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(count)
        forEach { out.append($0) }
        return out
    }
}

// Values stored under keys: strings and hashes, with the compact small-hash encoding Redis calls listpack.

public enum ValueType: String, Sendable {
    case string, hash, none
}

/// What a key holds.
public enum Value: Sendable {
    case string(Bytes)
    case hash(HashValue)

    public var type: ValueType {
        switch self {
        case .string: return .string
        case .hash: return .hash
        }
    }

    /// The name OBJECT ENCODING reports, following Redis's rules for the same content.
    public var encodingName: String {
        switch self {
        case .string(let s):
            if s.count <= 20, s.integerValue != nil { return "int" }
            return s.count <= 44 ? "embstr" : "raw"
        case .hash(let h):
            return h.isCompact ? "listpack" : "hashtable"
        }
    }

    /// Approximate bytes held by the value, for MEMORY USAGE.
    public var memoryUsage: Int {
        switch self {
        case .string(let s): return 16 + s.count
        case .hash(let h): return h.memoryUsage
        }
    }
}

/// Limits under which a hash stays in the compact encoding (`hash-max-listpack-entries` / `-value`).
public struct HashEncodingLimits: Sendable {
    public var maxCompactEntries = 128
    public var maxCompactValueLength = 64
    public init() {}
}

/// A hash. Small hashes are a flat array of alternating fields and values searched linearly (cheap in memory, like
/// Redis's listpack); they become a dictionary once they grow past `HashEncodingLimits`, and never shrink back.
public struct HashValue: Sendable {
    enum Storage: Sendable {
        case compact([Bytes])
        case table([Bytes: Bytes])
    }
    var storage: Storage

    public init() { storage = .compact([]) }

    public var isCompact: Bool { if case .compact = storage { return true }; return false }

    public var count: Int {
        switch storage {
        case .compact(let pairs): return pairs.count / 2
        case .table(let d): return d.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    public subscript(field: Bytes) -> Bytes? {
        switch storage {
        case .compact(let pairs):
            var i = 0
            while i < pairs.count { if pairs[i] == field { return pairs[i + 1] }; i += 2 }
            return nil
        case .table(let d): return d[field]
        }
    }

    /// Sets a field; returns true when the field is new.
    @discardableResult
    public mutating func set(_ field: Bytes, _ value: Bytes, limits: HashEncodingLimits = HashEncodingLimits()) -> Bool {
        switch storage {
        case .compact(var pairs):
            storage = .compact([])  // release the reference so `pairs` is mutated in place
            var i = 0
            while i < pairs.count {
                if pairs[i] == field { pairs[i + 1] = value; storage = .compact(pairs); convertIfNeeded(value, field, limits); return false }
                i += 2
            }
            pairs.append(field); pairs.append(value)
            storage = .compact(pairs)
            convertIfNeeded(value, field, limits)
            return true
        case .table(var d):
            storage = .compact([])
            let isNew = d.updateValue(value, forKey: field) == nil
            storage = .table(d)
            return isNew
        }
    }

    private mutating func convertIfNeeded(_ value: Bytes, _ field: Bytes, _ limits: HashEncodingLimits) {
        guard case .compact(let pairs) = storage else { return }
        if pairs.count / 2 > limits.maxCompactEntries || value.count > limits.maxCompactValueLength
            || field.count > limits.maxCompactValueLength {
            var d: [Bytes: Bytes] = [:]
            d.reserveCapacity(pairs.count / 2)
            var i = 0
            while i < pairs.count { d[pairs[i]] = pairs[i + 1]; i += 2 }
            storage = .table(d)
        }
    }

    /// Removes a field; returns true when it existed.
    @discardableResult
    public mutating func remove(_ field: Bytes) -> Bool {
        switch storage {
        case .compact(var pairs):
            storage = .compact([])
            var i = 0
            while i < pairs.count {
                if pairs[i] == field { pairs.removeSubrange(i..<(i + 2)); storage = .compact(pairs); return true }
                i += 2
            }
            storage = .compact(pairs)
            return false
        case .table(var d):
            storage = .compact([])
            let existed = d.removeValue(forKey: field) != nil
            storage = .table(d)
            return existed
        }
    }

    /// Fields and values in insertion order (compact) or table order.
    public var pairs: [(field: Bytes, value: Bytes)] {
        switch storage {
        case .compact(let p):
            return stride(from: 0, to: p.count, by: 2).map { (p[$0], p[$0 + 1]) }
        case .table(let d):
            return d.map { ($0.key, $0.value) }
        }
    }

    public func forEach(_ body: (Bytes, Bytes) throws -> Void) rethrows {
        switch storage {
        case .compact(let p):
            var i = 0
            while i < p.count { try body(p[i], p[i + 1]); i += 2 }
        case .table(let d):
            for (k, v) in d { try body(k, v) }
        }
    }

    public var memoryUsage: Int {
        var total = 24
        forEach { k, v in total += k.count + v.count + (isCompact ? 4 : 48) }
        return total
    }
}

// NumericColumn: a NUMERIC field's value per document id, as 4-byte Floats while every value is exactly a Float and
// as Doubles from the first value that is not. Missing values are NaN.
import Keyspace

/// Per doc id, the field's value or NaN (no value, or past the end).
///
/// Most NUMERIC fields hold values a Float represents exactly (years, counts, integers below 2^24, halves): a column
/// of those keeps Floats, half the bytes of Doubles (4 bytes a document less at pypi-50k's `year`). The first value
/// that does not survive the round trip widens the column to Doubles for good, so a read always returns exactly the
/// Double that was indexed and range filters compare the same numbers as before.
struct NumericColumn {
    private enum Storage {
        case narrow([Float])
        case wide([Double])
    }
    private var storage: Storage

    /// `count` doc ids without values; a column of none allocates nothing (a placeholder while a store is mutated).
    init(count: Int = 0) { storage = .narrow(Array(repeating: .nan, count: count)) }

    var count: Int {
        switch storage {
        case .narrow(let values): return values.count
        case .wide(let values): return values.count
        }
    }

    /// True while values are kept as Floats (for tests).
    var isNarrow: Bool { if case .narrow = storage { return true }; return false }

    subscript(doc: Int) -> Double {
        switch storage {
        case .narrow(let values): return doc < values.count ? Double(values[doc]) : .nan
        case .wide(let values): return doc < values.count ? values[doc] : .nan
        }
    }

    /// Sets `doc`'s value (NaN: none), growing the column by an eighth with NaN as needed.
    mutating func set(_ value: Double, at doc: Int) {
        switch storage {
        case .narrow(var values):
            storage = .narrow([])  // drop the enum's reference so the array is mutated in place
            let narrow = Float(value)
            if value.isNaN || Double(narrow) == value {
                Self.store(narrow, at: doc, in: &values)
                storage = .narrow(values)
            } else {
                var wide = values.map(Double.init)
                wide.reserveCapacity(values.capacity)
                Self.store(value, at: doc, in: &wide)
                storage = .wide(wide)
            }
        case .wide(var values):
            storage = .narrow([])
            Self.store(value, at: doc, in: &values)
            storage = .wide(values)
        }
    }

    private static func store<T: BinaryFloatingPoint>(_ value: T, at doc: Int, in values: inout [T]) {
        if doc >= values.count {
            values.reserveGrowingByAnEighth(toHold: doc + 1)
            values.append(contentsOf: repeatElement(.nan, count: doc + 1 - values.count))
        }
        values[doc] = value
    }

    /// Doc ids with a value (FT.INFO `num_records`).
    var valueCount: Int {
        switch storage {
        case .narrow(let values): return values.reduce(0) { $1.isNaN ? $0 : $0 + 1 }
        case .wide(let values): return values.reduce(0) { $1.isNaN ? $0 : $0 + 1 }
        }
    }

    /// The doc ids whose value passes `accepts`; a missing value is passed as NaN, which fails every range comparison.
    @inline(__always)
    func matching(_ accepts: (Double) -> Bool) -> DocSet {
        switch storage {
        case .narrow(let values):
            return values.withUnsafeBufferPointer { v in DocSet.matching(count: v.count) { accepts(Double(v[$0])) } }
        case .wide(let values):
            return values.withUnsafeBufferPointer { v in DocSet.matching(count: v.count) { accepts(v[$0]) } }
        }
    }
}

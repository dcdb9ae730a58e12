// A segment's labels in RAM: id → label for every record, and label → id for the live ones, in 4 + 4 bytes per
// record when the labels are document ids (small and dense), falling back to 8 + 12 for arbitrary 64-bit labels.

/// Labels of a segment's records, by local id, and the lookup back for the records live at open.
///
/// The search layer labels vectors with document ids: below 2^32 and nearly dense. Then labels are stored as UInt32
/// and the lookup is a direct table over `[lowest, highest]` live label. Other label sets keep 64-bit labels and a
/// sorted (label, id) table searched by bisection. At 1M × 128 that is 8 B per record instead of 20: 11 MiB of a
/// 20 % memory limit (145 MiB) that the resident level-0 lists need.
final class SegmentLabels: @unchecked Sendable {
    private let narrow: UnsafeMutablePointer<UInt32>?
    private let wide: UnsafeMutablePointer<UInt64>?
    /// Direct lookup: `idByLabel[label - lowest]`, `UInt32.max` where no live record has that label.
    private let idByLabel: UnsafeMutablePointer<UInt32>?
    private let lowest: UInt64
    private let span: Int
    /// Sorted lookup (labels ascending, their ids), when the direct table would be too sparse.
    private let sortedLabels: UnsafeMutablePointer<UInt64>?
    private let sortedIds: UnsafeMutablePointer<UInt32>?
    private let indexedCount: Int
    let count: Int
    let memoryUsage: Int

    /// `labels[id]` for every record; `live(id)` false for records that lookups must not find (dead at open: a merged
    /// segment can hold a dead older copy of a label beside its live one).
    init(_ labels: [UInt64], live: (Int) -> Bool) {
        count = labels.count
        let n = max(count, 1)
        let liveIds = (0..<count).filter(live)
        indexedCount = liveIds.count
        let fitsNarrow = labels.allSatisfy { $0 < UInt64(UInt32.max) }
        if fitsNarrow {
            let p = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
            for (i, l) in labels.enumerated() { p[i] = UInt32(l) }
            narrow = p; wide = nil
        } else {
            let p = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
            for (i, l) in labels.enumerated() { p[i] = l }
            narrow = nil; wide = p
        }
        let low = liveIds.lazy.map { labels[$0] }.min() ?? 0
        let high = liveIds.lazy.map { labels[$0] }.max() ?? 0
        let range = liveIds.isEmpty ? 0 : high - low + 1
        // A direct table pays 4 B per label in the range, the sorted one 12 B per live record.
        if range <= UInt64(3 * max(liveIds.count, 1)) {
            span = Int(range)
            let table = UnsafeMutablePointer<UInt32>.allocate(capacity: max(span, 1))
            table.initialize(repeating: .max, count: max(span, 1))
            for id in liveIds { table[Int(labels[id] - low)] = UInt32(id) }
            idByLabel = table; lowest = low
            sortedLabels = nil; sortedIds = nil
        } else {
            span = 0; idByLabel = nil; lowest = 0
            let byLabel = liveIds.sorted { labels[$0] < labels[$1] }
            let l = UnsafeMutablePointer<UInt64>.allocate(capacity: max(byLabel.count, 1))
            let d = UnsafeMutablePointer<UInt32>.allocate(capacity: max(byLabel.count, 1))
            for (i, id) in byLabel.enumerated() { l[i] = labels[id]; d[i] = UInt32(id) }
            sortedLabels = l; sortedIds = d
        }
        memoryUsage = count * (fitsNarrow ? 4 : 8) + (idByLabel != nil ? span * 4 : indexedCount * 12)
    }

    deinit {
        narrow?.deallocate(); wide?.deallocate(); idByLabel?.deallocate()
        sortedLabels?.deallocate(); sortedIds?.deallocate()
    }

    @inline(__always) subscript(id: Int) -> UInt64 {
        if let narrow { return UInt64(narrow[id]) }
        return wide.unsafelyUnwrapped[id]
    }

    /// The local id of the record live at open with `label`, or nil.
    func localId(_ label: UInt64) -> UInt32? {
        if let idByLabel {
            guard label >= lowest, label - lowest < UInt64(span) else { return nil }
            let id = idByLabel[Int(label - lowest)]
            return id == .max ? nil : id
        }
        guard let sortedLabels, let sortedIds else { return nil }
        var lo = 0, hi = indexedCount
        while lo < hi {
            let mid = (lo + hi) / 2
            if sortedLabels[mid] < label { lo = mid + 1 } else { hi = mid }
        }
        return lo < indexedCount && sortedLabels[lo] == label ? sortedIds[lo] : nil
    }
}

// SegmentLabels: every record's label by id and the live records' ids by label, in the narrow direct table that
// document ids get and in the 64-bit sorted fallback, with dead records never found.
import Testing
@testable import Tiering

@Suite struct SegmentLabelsTests {
    /// Every lookup against a dictionary built from the same input.
    func check(_ labels: [UInt64], dead: Set<Int>, absent: [UInt64]) -> SegmentLabels {
        let table = SegmentLabels(labels) { !dead.contains($0) }
        #expect(table.count == labels.count)
        for (id, label) in labels.enumerated() { #expect(table[id] == label) }
        var expected: [UInt64: UInt32] = [:]
        for (id, label) in labels.enumerated() where !dead.contains(id) { expected[label] = UInt32(id) }
        for (label, id) in expected { #expect(table.localId(label) == id, "label \(label)") }
        for label in absent { #expect(table.localId(label) == nil, "label \(label) must not be found") }
        return table
    }

    @Test("document ids: 4-byte labels and a direct table, 8 bytes a record; dead copies are not found")
    func denseDocumentIds() {
        var labels = (0..<1000).map { UInt64($0 * 2 + 7) }.shuffled()
        labels.append(labels[10])  // a merged segment's dead older copy of a label beside its live one
        let table = check(labels, dead: [labels.count - 1], absent: [0, 6, 8, 2006, 2007, 1 << 40])
        #expect(table.localId(labels[10]) == 10)
        #expect(table.memoryUsage <= labels.count * 4 + 2000 * 4)
    }

    @Test("sparse and 64-bit labels: the sorted fallback finds the same ids")
    func sparseWideLabels() {
        var rng = SystemRandomNumberGenerator()
        let labels = (0..<500).map { _ in UInt64.random(in: 0...(UInt64.max - 1), using: &rng) }
        let table = check(Array(Set(labels)), dead: [3, 4], absent: [0, UInt64.max])
        #expect(table.memoryUsage >= table.count * 8)
        let sparseNarrow = (0..<300).map { UInt64($0) * 1_000_003 }
        _ = check(sparseNarrow, dead: [], absent: [1, 1_000_002, 300 * 1_000_003])
    }

    @Test("an empty segment and one whose records are all dead answer nothing")
    func emptyAndAllDead() {
        _ = check([], dead: [], absent: [0, 1])
        _ = check([5, 6, 7], dead: [0, 1, 2], absent: [5, 6, 7])
    }
}

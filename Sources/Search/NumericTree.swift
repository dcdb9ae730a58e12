// The shape of RediSearch's numeric range tree for a NUMERIC / GEO field: which ranges a filter reads shows in scores.
//
// RediSearch answers `@n:[lo hi]` from the leaves of a tree that splits as values arrive (numeric_index.c): one leaf
// gives a plain numeric iterator, several give a union of them. A union of numeric results counts as having offsets
// (empty ones), which changes the slop a TFIDF / BM25 score divides by, and the ranges' sizes are the estimate that
// orders an intersection's children. VecShard filters from its own columns; this tree only keeps what decides those
// two things: every leaf's value range, its entries' values (a split re-reads them) and the cardinality sample.

final class NumericTreeShape {
    /// NR_CARD_CHECK: the cardinality is sampled on every 10th value a range takes.
    static let cardinalityCheck = 10
    static let maximumRangeCardinality = 2500
    static let maximumRangeSize = 10000
    static let splitExponent = 4
    static let maximumDepthImbalance = 2

    final class Range {
        var minValue = Double.greatestFiniteMagnitude
        var maxValue = -Double.infinity
        var values: [Double] = []
        var distinct: [Double] = []
        var uniqueSum = 0.0
        var cardinalityCountdown = NumericTreeShape.cardinalityCheck
        let splitCardinality: Int
        init(splitCardinality: Int) { self.splitCardinality = splitCardinality }

        /// NumericRange_Add.
        func add(_ value: Double, checkCardinality: Bool) {
            if checkCardinality {
                cardinalityCountdown -= 1
                if cardinalityCountdown == 0 {
                    cardinalityCountdown = NumericTreeShape.cardinalityCheck
                    if !distinct.contains(value) {
                        distinct.append(value)
                        uniqueSum += value
                    }
                }
            }
            if value < minValue { minValue = value }
            if value > maxValue { maxValue = value }
            values.append(value)
        }

        /// NumericRange_Contained / NumericRange_Overlaps.
        func contained(in lo: Double, _ hi: Double) -> Bool { minValue >= lo && maxValue <= hi }
        func overlaps(_ lo: Double, _ hi: Double) -> Bool {
            (lo >= minValue && lo <= maxValue) || (hi >= minValue && hi <= maxValue)
        }
    }

    final class Node {
        var left: Node?
        var right: Node?
        var split = 0.0
        var maxDepth = 0
        var range: Range?
        init(range: Range?) { self.range = range }
        var isLeaf: Bool { left == nil && right == nil }
    }

    private(set) var root = Node(range: Range(splitCardinality: 16))
    /// Values added, replaced ones included (RediSearch keeps them until its GC runs).
    private(set) var entries = 0

    /// NumericRangeTree_Add (numericTreeMaxDepthRange 0: inner nodes keep no range). The descent is a loop; only a
    /// split (rare) walks the path again to rebalance it bottom-up, as the recursion does in RediSearch.
    func add(_ value: Double) {
        entries += 1
        var node = root
        while let left = node.left, let right = node.right { node = value < node.split ? left : right }
        guard let range = node.range else { return }
        range.add(value, checkCardinality: true)
        let cardinality = range.distinct.count
        guard cardinality * Self.cardinalityCheck >= range.splitCardinality
                || (range.values.count > Self.maximumRangeSize && cardinality > 1) else { return }
        // NumericRangeNode_Split: at the mean of the sampled distinct values; the leaf's range is then dropped.
        let childCardinality = min(Self.maximumRangeCardinality, 1 + range.splitCardinality * Self.splitExponent)
        let left = Range(splitCardinality: childCardinality), right = Range(splitCardinality: childCardinality)
        let split = range.uniqueSum / Double(cardinality)
        for v in range.values { (v < split ? left : right).add(v, checkCardinality: true) }
        node.left = Node(range: left)
        node.right = Node(range: right)
        node.split = split
        node.maxDepth = 1
        node.range = nil
        // Every inner node on the way down rebalances, deepest first.
        var path: [Node] = []
        var walk = root
        while walk !== node, let l = walk.left, let r = walk.right {
            path.append(walk)
            walk = value < walk.split ? l : r
        }
        for depth in stride(from: path.count - 1, through: 0, by: -1) {
            let parent = path[depth]
            if depth == 0 {
                balance(&root)
            } else {
                let grandparent = path[depth - 1]
                if grandparent.left === parent { balance(&grandparent.left!) } else { balance(&grandparent.right!) }
            }
        }
    }

    /// NumericRangeNode_Balance: a rotation when one side is more than two levels deeper.
    private func balance(_ slot: inout Node) {
        let node = slot
        guard let l = node.left, let r = node.right else { return }
        if r.maxDepth - l.maxDepth > Self.maximumDepthImbalance {
            node.right = r.left
            r.left = node
            node.maxDepth = max(node.left!.maxDepth, node.right!.maxDepth) + 1
            slot = r
        } else if l.maxDepth - r.maxDepth > Self.maximumDepthImbalance {
            node.left = l.right
            l.right = node
            node.maxDepth = max(node.left!.maxDepth, node.right!.maxDepth) + 1
            slot = l
        }
        slot.maxDepth = max(slot.left!.maxDepth, slot.right!.maxDepth) + 1
    }

    /// The sizes of the ranges a filter on [lo, hi] reads (NumericRangeNode_FindRange, ascending, no limit).
    func rangeSizes(_ lo: Double, _ hi: Double) -> [Int] {
        var sizes: [Int] = []
        func visit(_ node: Node?) {
            guard let node else { return }
            if let range = node.range {
                if range.contained(in: lo, hi) { sizes.append(range.values.count); return }
                if !range.overlaps(lo, hi) { return }
            }
            if !node.isLeaf {
                if lo <= node.split { visit(node.left) }
                if hi >= node.split { visit(node.right) }
            } else if let range = node.range, range.overlaps(lo, hi) {
                sizes.append(range.values.count)
            }
        }
        visit(root)
        return sizes
    }
}

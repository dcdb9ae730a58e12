// Tiered HNSW: sealed SSD segments answer like RAM (recall, deletes, updates, blobs), reopen without rebuilding,
// and a limit that is never reached leaves the index identical to the all-RAM one.
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Tiering
import VectorIndex

struct Rng {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
}

/// Clustered points, like embeddings.
func points(_ count: Int, _ dim: Int, seed: UInt64) -> [[Float]] {
    var rng = Rng(state: seed)
    let centers = (0..<16).map { _ in (0..<dim).map { _ in rng.float() } }
    return (0..<count).map { _ in
        let c = centers[Int(rng.next() % 16)]
        return c.map { $0 + 0.3 * rng.float() }
    }
}

/// A Gaussian mixture like bench's gen_synthetic.py (centres N(0, 1), per-cluster spread 0.25-0.75): high intrinsic
/// dimension, where nearly equidistant candidates make neighbor selection matter. Base and queries share `model`.
func mixture(_ count: Int, _ dim: Int, clusters: Int, model: UInt64, seed: UInt64) -> [[Float]] {
    var rng = Rng(state: model)
    func gaussian(_ r: inout Rng) -> Float {
        let u = max(Float(r.next() >> 40) / Float(1 << 24), 1e-7), v = Float(r.next() >> 40) / Float(1 << 24)
        return (-2 * log(u)).squareRoot() * cos(2 * Float.pi * v)
    }
    let centers = (0..<clusters).map { _ in (0..<dim).map { _ in gaussian(&rng) } }
    let spreads = (0..<clusters).map { _ in 0.5 * (1 + 0.5 * rng.float()) }
    var draw = Rng(state: seed)
    return (0..<count).map { _ in
        let c = Int(draw.next() % UInt64(clusters))
        return centers[c].map { $0 + spreads[c] * gaussian(&draw) }
    }
}

func temporaryDirectory() -> String {
    var template = Array("/tmp/vecshard-tiering-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    return path
}

func removeTree(_ path: String) {
    for name in TieredHNSWIndex.listDirectory(path) { unlink(path + "/" + name) }
    rmdir(path)
}

func exactTop(_ data: [[Float]], _ q: [Float], _ k: Int, alive: (Int) -> Bool) -> [Int] {
    let scored = data.indices.filter(alive).map { i -> (Float, Int) in
        var d: Float = 0
        for j in 0..<q.count { let t = data[i][j] - q[j]; d += t * t }
        return (d, i)
    }
    return scored.sorted { $0.0 < $1.0 }.prefix(k).map(\.1)
}

func add(_ index: any VectorIndex, _ label: Int, _ v: [Float]) throws {
    try v.withUnsafeBytes { try index.add(label: UInt64(label), vector: $0) }
}

func search(_ index: any VectorIndex, _ q: [Float], k: Int, ef: Int) throws -> [VectorMatch] {
    try q.withUnsafeBytes { try index.search(query: $0, k: k, efRuntime: ef, filter: nil) }
}

/// Recall@10 over `queries` clustered queries against the exact top 10 of the records still alive; a deleted label
/// in any answer is a test failure.
func liveRecall(_ index: any VectorIndex, _ data: [[Float]], alive: [Bool], queries: Int, seed: UInt64, ef: Int) throws
    -> Double {
    var hits = 0
    for qi in 0..<queries {
        let q = points(1, data[0].count, seed: seed + UInt64(qi))[0]
        let found = try search(index, q, k: 10, ef: ef)
        for m in found { #expect(alive[Int(m.label)], "deleted label \(m.label) returned") }
        let truth = Set(exactTop(data, q, 10) { alive[$0] })
        hits += found.filter { truth.contains(Int($0.label)) }.count
    }
    return Double(hits) / Double(10 * queries)
}

@Suite(.serialized) struct TieredHNSWIndexTests {
    let dim = 32
    func parameters() -> VectorIndexParameters {
        VectorIndexParameters(algorithm: .hnsw, dimension: dim, metric: .l2, m: 8, efConstruction: 64)
    }

    func controller(_ dir: String) -> TieringController {
        let c = TieringController()
        c.baseDirectory = dir
        c.limit = 256 << 10
        c.minimumActiveCap = 32 << 10
        return c
    }

    @Test func sealedSegmentsAnswerLikeRAM() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: c)
        let data = points(2000, dim, seed: 7)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        index.waitForMaintenance()
        let r = index.report
        #expect(r.segments >= 1, "the limit forces records onto SSD")
        #expect(r.ssdVectors > 1000)
        #expect(index.count == 2000)
        #expect(c.counters.seals.load(ordering: .relaxed) >= 2)

        func recall(_ vectors: [[Float]], alive: (Int) -> Bool, seed: UInt64) throws -> Double {
            var hits = 0, total = 0
            for qi in 0..<60 {
                let q = points(1, dim, seed: seed + UInt64(qi))[0]
                let found = try search(index, q, k: 10, ef: 200)
                let truth = Set(exactTop(vectors, q, 10, alive: alive))
                hits += found.filter { truth.contains(Int($0.label)) }.count
                total += truth.count
            }
            return Double(hits) / Double(total)
        }
        let before = try recall(data, alive: { _ in true }, seed: 40_000)
        #expect(before >= 0.95, "recall@10 before deletes \(before)")

        // A tiny limit (many small seals merged into one segment on PQ distances) still reaches recall 0.95 at a high
        // enough ef, as the issue asks; at ef 100 it sat right at 0.95.
        // Delete 20 %, update 5 % (new vectors), then check recall and that deleted labels never come back.
        var alive = [Bool](repeating: true, count: data.count)
        var current = data
        var rng = Rng(state: 3)
        for i in 0..<data.count where rng.next() % 5 == 0 { #expect(index.remove(label: UInt64(i))); alive[i] = false }
        for i in 0..<data.count where alive[i] && rng.next() % 20 == 0 {
            current[i] = points(1, dim, seed: UInt64(1000 + i))[0]
            try add(index, i, current[i])
        }
        #expect(index.count == alive.filter { $0 }.count)
        var hits = 0, total = 0
        for qi in 0..<60 {
            let q = points(1, dim, seed: UInt64(50_000 + qi))[0]
            let found = try search(index, q, k: 10, ef: 200)
            for m in found { #expect(alive[Int(m.label)], "deleted label \(m.label) returned") }
            let truth = Set(exactTop(current, q, 10) { alive[$0] })
            hits += found.filter { truth.contains(Int($0.label)) }.count
            total += truth.count
        }
        let recall = Double(hits) / Double(total)
        #expect(recall >= 0.95, "recall@10 \(recall)")
        print("tiered recall before \(before) after \(recall)")
        // Blobs come back from pages exactly.
        for i in stride(from: 0, to: data.count, by: 97) {
            let bytes = index.vectorBytes(label: UInt64(i))
            if alive[i] {
                #expect(bytes == current[i].withUnsafeBytes { Array($0) })
            } else {
                #expect(bytes == nil)
            }
        }
        #expect(c.report.queries >= 60)
        index.drop()
    }

    /// Many merges into one segment keep the graph navigable on a high-intrinsic-dimension mixture (the case where
    /// merged segments lost recall: 0.96 sealed once, 0.73-0.77 after 4-5 merges at 200k x 128), with deletes in
    /// between that never come back.
    @Test func mergedSegmentsKeepRecallOnMixture() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        c.limit = 1 << 30  // seals only at each flush below: a known number of merges
        let dim = 128
        let p = VectorIndexParameters(algorithm: .hnsw, dimension: dim, metric: .l2, m: 8, efConstruction: 64)
        let index = try TieredHNSWIndex(p, directory: dir + "/idx", controller: c)
        let data = mixture(3000, dim, clusters: 150, model: 9, seed: 10)
        var alive = [Bool](repeating: true, count: data.count)
        for (i, v) in data.enumerated() {
            try add(index, i, v)
            if i % 600 == 599 {
                // Deletes land in the segment and in the graph still in RAM, and are carried through later merges.
                for j in stride(from: i - 599, through: i, by: 23) { #expect(index.remove(label: UInt64(j))); alive[j] = false }
                try index.flush()
            }
        }
        let merges = c.counters.merges.load(ordering: .relaxed)
        #expect(merges == 4)
        #expect(index.report.segments == 1)
        let queries = mixture(200, dim, clusters: 150, model: 9, seed: 11)
        var hits = 0, total = 0
        for q in queries {
            let found = try search(index, q, k: 10, ef: 40)
            for m in found { #expect(alive[Int(m.label)], "deleted label \(m.label) returned") }
            let truth = Set(exactTop(data, q, 10) { alive[$0] })
            hits += found.filter { truth.contains(Int($0.label)) }.count
            total += truth.count
        }
        let recall = Double(hits) / Double(total)
        print("recall@10 at ef 40 after \(merges) merges: \(recall)")
        #expect(recall >= 0.95, "recall@10 at ef 40 after \(merges) merges: \(recall)")
        index.drop()
    }

    @Test func consolidationDropsDeletedRecords() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: c)
        let data = points(2000, dim, seed: 31)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        try index.flush()
        let ssdBefore = index.report.ssdBytes
        // 40 % deleted: past the 25 % that triggers a rewrite without them.
        var alive = [Bool](repeating: true, count: data.count)
        for i in 0..<data.count where i % 5 < 2 { #expect(index.remove(label: UInt64(i))); alive[i] = false }
        index.waitForMaintenance()
        let r = index.report
        #expect(c.counters.compactions.load(ordering: .relaxed) >= 1)
        #expect(r.segments == 1 && r.ssdVectors == 1200 && r.compactionDebtBytes == 0)
        #expect(r.ssdBytes < ssdBefore)
        #expect(index.count == 1200)
        let recall = try liveRecall(index, data, alive: alive, queries: 40, seed: 60_000, ef: 200)
        #expect(recall >= 0.95, "recall after consolidation \(recall)")
        for i in stride(from: 0, to: data.count, by: 37) {
            #expect(index.vectorBytes(label: UInt64(i)) == (alive[i] ? data[i].withUnsafeBytes { Array($0) } : nil))
        }
        index.drop()
    }

    /// A delete of a vector still in the RAM graph only detaches it there: it is gone for every lookup at once, the
    /// repair is left to `repairDetached`, and a seal with detached nodes still waiting writes a segment without them.
    @Test func detachedDeletesInRAMRepairLaterAndSealWithoutThem() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        c.limit = 64 << 20
        c.minimumActiveCap = 32 << 20  // the whole set stays in the RAM graph until `flush`
        let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: c)
        let data = points(1500, dim, seed: 47)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        #expect(index.report.segments == 0 && index.report.ramVectors == data.count)
        var alive = [Bool](repeating: true, count: data.count)
        func delete(_ range: StrideTo<Int>) {
            for i in range {
                #expect(index.detach(label: UInt64(i)))
                #expect(!index.detach(label: UInt64(i)), "a second delete finds nothing")
                alive[i] = false
            }
        }
        func check(_ what: String) throws {
            #expect(index.count == alive.filter { $0 }.count, "\(what): count")
            for i in stride(from: 0, to: data.count, by: 7) {
                #expect(index.contains(label: UInt64(i)) == alive[i], "\(what): contains \(i)")
                #expect((index.vectorBytes(label: UInt64(i)) != nil) == alive[i], "\(what): vector \(i)")
            }
            let recall = try liveRecall(index, data, alive: alive, queries: 30, seed: 70_000, ef: 100)
            #expect(recall >= 0.95, "\(what): recall \(recall)")
        }
        delete(stride(from: 0, to: data.count, by: 5))
        #expect(index.repairDetached(limit: 0) == 300, "every detach waits for its repair")
        try check("detached")
        #expect(index.repairDetached(limit: 100) == 200)
        #expect(index.repairDetached(limit: .max) == 0)
        try check("repaired")
        // Detached and not repaired when the seal starts: the seal repairs them before writing.
        delete(stride(from: 1, to: data.count, by: 5))
        #expect(index.repairDetached(limit: 0) == 300)
        try index.flush()
        index.waitForMaintenance()
        #expect(index.report.segments == 1 && index.report.ramVectors == 0)
        #expect(index.repairDetached(limit: 0) == 0)
        try check("sealed")
        index.drop()
    }

    /// Found by `make fuzz`: a SAVE sealed a RAM graph whose entry point had been deleted, and writing the segment
    /// trapped on the deleted node's position. Every delete pattern here ends in a loadable, searchable segment.
    @Test(arguments: ["all but one", "all", "first half"])
    func sealAfterTheEntryPointIsDeleted(_ pattern: String) throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        c.limit = 64 << 20
        c.minimumActiveCap = 32 << 20  // everything stays in the RAM graph until `flush`
        let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: c)
        let data = points(40, dim, seed: 91)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        let deleted: Set<Int> = switch pattern {
        case "all but one": Set(0..<39)
        case "all": Set(0..<40)
        default: Set(0..<20)
        }
        for i in deleted.sorted() { #expect(index.detach(label: UInt64(i))) }
        try index.flush()
        index.waitForMaintenance()
        #expect(index.count == 40 - deleted.count)
        let found = try search(index, data[39], k: 5, ef: 50)
        #expect(found.allSatisfy { !deleted.contains(Int($0.label)) })
        if !deleted.contains(39) { #expect(found.first?.label == 39) }
        index.drop()
    }

    @Test func idleSegmentsGoColdAndComeBack() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/cold"); removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: c)
        let data = points(1500, dim, seed: 41)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        try index.flush()
        for i in 0..<100 { #expect(index.remove(label: UInt64(i))) }  // tombstones only in RAM: they must travel along
        let q = points(1, dim, seed: 4242)[0]
        let expected = try search(index, q, k: 10, ef: 200)
        let warmRAM = index.report.ramBytes
        c.coldDirectory = dir + "/cold"
        c.coldAfterSeconds = 1
        var waited = 0
        while index.report.coldSegments == 0 && waited < 100 { usleep(100_000); waited += 1 }
        let cold = index.report
        #expect(cold.coldSegments == 1 && cold.segments == 0, "idle for over a second: segments move to the cold directory")
        #expect(cold.coldBytes > 0 && cold.ramBytes < warmRAM)
        #expect(TieredHNSWIndex.listDirectory(dir + "/cold").contains { $0.hasSuffix(".vsp") })
        #expect(index.count == 1400)
        c.coldAfterSeconds = 0  // keep it warm from here on
        // The next search opens the cold file in place and answers as before; deleted labels stay deleted.
        #expect(try search(index, q, k: 10, ef: 200).map(\.label) == expected.map(\.label))
        #expect(c.report.coldLoads == 1)
        #expect(index.vectorBytes(label: 5) == nil)
        for _ in 0..<TieredHNSWIndex.promoteAfterSearches { _ = try search(index, q, k: 10, ef: 200) }
        index.waitForMaintenance()
        waited = 0
        while c.report.promotionsFromCold == 0 && waited < 50 { usleep(100_000); waited += 1 }
        #expect(c.report.promotionsFromCold == 1, "searched often enough: the segment moves back")
        #expect(!TieredHNSWIndex.listDirectory(dir + "/cold").contains { $0.hasSuffix(".vsp") })
        #expect(try search(index, q, k: 10, ef: 200).map(\.label) == expected.map(\.label))
        #expect(index.vectorBytes(label: 5) == nil && index.vectorBytes(label: 500) == data[500].withUnsafeBytes { Array($0) })
        index.drop()
    }

    @Test func everythingDeletedThenReloaded() throws {
        // FLUSHALL deletes every label; the emptied segment must not become the base of the next merge (it has no
        // entry point), and the reloaded vectors must be found.
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: controller(dir))
        let data = points(1500, dim, seed: 51)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        try index.flush()
        for i in 0..<data.count { #expect(index.remove(label: UInt64(i))) }
        index.waitForMaintenance()
        #expect(index.count == 0 && index.report.segments == 0)
        #expect(try search(index, data[3], k: 5, ef: 50).isEmpty)
        for (i, v) in data.enumerated() { try add(index, 10_000 + i, v) }
        try index.flush()
        #expect(index.count == 1500 && index.report.segments == 1)
        for i in stride(from: 0, to: data.count, by: 101) {
            #expect(try search(index, data[i], k: 1, ef: 100).first?.label == UInt64(10_000 + i))
        }
        index.drop()
    }

    @Test func reopensWithoutRebuilding() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        let data = points(1500, dim, seed: 11)
        var before: [[VectorMatch]] = []
        do {
            let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: c)
            for (i, v) in data.enumerated() { try add(index, i, v) }
            // A clean shutdown seals what is still in RAM: only segments survive a restart.
            try index.flush()
            #expect(index.report.ramVectors == 0)
            for qi in 0..<20 { before.append(try search(index, points(1, dim, seed: UInt64(900 + qi))[0], k: 10, ef: 80)) }
        }
        // Debris of an interrupted write must not matter.
        let junk = open(dir + "/idx/seg-999.vsp.partial", O_WRONLY | O_CREAT, 0o644)
        close(junk)
        let reopened = try TieredHNSWIndex(opening: dir + "/idx", parameters: parameters(), controller: c)
        #expect(reopened.count == 1500)
        for qi in 0..<20 {
            let after = try search(reopened, points(1, dim, seed: UInt64(900 + qi))[0], k: 10, ef: 80)
            #expect(after.map(\.label) == before[qi].map(\.label))
        }
        unlink(dir + "/idx/seg-999.vsp.partial")
        reopened.drop()
    }

    @Test func activeGraphIsSealedWhenWritesPause() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: c)
        let data = points(2000, dim, seed: 31)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        let started = monotonicNanoseconds()
        #expect(index.report.busy, "a tail above the minimum cap waits for its idle seal")
        index.waitForMaintenance()
        let r = index.report
        #expect(r.segments >= 1)
        #expect(r.ramVectors == 0, "the tail of the load went to SSD once writes paused (\(r.ramVectors) left in RAM)")
        #expect(r.ssdVectors == data.count)
        #expect(monotonicNanoseconds() - started >= TieredHNSWIndex.idleSealNanoseconds / 2, "not before writes paused")
        let q = data[123]
        #expect(try search(index, q, k: 1, ef: 50).first?.label == 123)
        index.drop()
    }

    /// The re-rank reads the uncached among its best candidates, so pages a query left in the pool save the same query
    /// its reads the second time (when the quota counted reads instead, a repeat read as many pages again, further
    /// down its list), and the answer does not change.
    @Test func repeatedQueryReadsFromPool() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        c.limit = 2 << 20
        // ~900 pages of 64-d records, several times the pool, with the lists resident (the walk reads no page).
        let wide = VectorIndexParameters(algorithm: .hnsw, dimension: 64, metric: .l2, m: 8, efConstruction: 64)
        let index = try TieredHNSWIndex(wide, directory: dir + "/idx", controller: c)
        let data = points(12_000, 64, seed: 21)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        index.waitForMaintenance()
        #expect(index.report.segments >= 1)
        var firstReads = 0, repeatReads = 0
        for qi in 0..<10 {
            let q = points(1, 64, seed: UInt64(900 + qi))[0]
            let before = c.report.ssdReads
            let first = try search(index, q, k: 10, ef: 64)
            let middle = c.report.ssdReads
            let again = try search(index, q, k: 10, ef: 64)
            firstReads += middle - before
            repeatReads += c.report.ssdReads - middle
            #expect(first.map(\.label) == again.map(\.label))
        }
        print("repeated queries: \(firstReads) pages read the first time, \(repeatReads) the second; pool \(index.report.poolBytes) B, SSD \(index.report.ssdBytes) B, lists \(index.report.residentListBytes) B")
        #expect(firstReads > 0)
        #expect(repeatReads * 4 <= firstReads, "a repeat read \(repeatReads) pages against \(firstReads) the first time")
        index.drop()
    }

    @Test func unreachedLimitEqualsAllRAM() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let c = controller(dir)
        c.limit = 1 << 40
        let tiered = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: c)
        let plain = try HNSWIndex(parameters())
        let data = points(1500, dim, seed: 5)
        for (i, v) in data.enumerated() { try add(tiered, i, v); try add(plain, i, v) }
        #expect(tiered.report.segments == 0)
        for qi in 0..<30 {
            let q = points(1, dim, seed: UInt64(77 + qi))[0]
            let a = try search(tiered, q, k: 10, ef: 50), b = try search(plain, q, k: 10, ef: 50)
            #expect(a.map(\.label) == b.map(\.label))
            #expect(a.map(\.distance) == b.map(\.distance))
        }
        tiered.drop()
    }

    @Test func filteredSearchOnSegments() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir + "/idx"); removeTree(dir) }
        let index = try TieredHNSWIndex(parameters(), directory: dir + "/idx", controller: controller(dir))
        let data = points(2000, dim, seed: 21)
        for (i, v) in data.enumerated() { try add(index, i, v) }
        index.waitForMaintenance()
        for modulus in [2, 20, 200] {
            let allowed = (0..<data.count).filter { $0 % modulus == 0 }.map { UInt64($0) }
            var hits = 0, total = 0
            for qi in 0..<30 {
                let q = points(1, dim, seed: UInt64(7000 + qi))[0]
                let found = try q.withUnsafeBytes {
                    try index.search(query: $0, k: 10, efRuntime: 100, filter: SearchFilter(labels: allowed))
                }
                for m in found { #expect(m.label % UInt64(modulus) == 0) }
                let truth = Set(exactTop(data, q, 10) { $0 % modulus == 0 })
                hits += found.filter { truth.contains(Int($0.label)) }.count
                total += truth.count
            }
            #expect(Double(hits) / Double(total) >= 0.9, "filtered recall at 1/\(modulus)")
        }
        index.drop()
    }
}

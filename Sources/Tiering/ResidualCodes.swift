// 2-bit residuals of 4-bit traversal codes: a finer order for choosing which candidates a tiered search reads.
import Storage
import VectorIndex

/// Where inside its 4-bit cell each value of a vector lies, in 2 bits (the cell's quarter). With the code it gives a
/// ~6-bit reconstruction, held in RAM beside the resident lists for the one step where the order must be right: which
/// `rerankQuota` candidates of the walk's list get their page read. 1M × 128 L2 at 195 MiB (vector-bench, the same
/// segment): recall at ef 96 / 120 / 160 with 12 / 15 / 20 reads went from 0.778 / 0.859 / 0.909 to
/// 0.942 / 0.970 / 0.979. A float query against the decoded 4-bit code alone changed nothing: the codes' rounding,
/// not the query's, decides the order.
///
/// ### Layout
///     per local id: ⌈dimension / 4⌉ bytes; value i in bits 2·(i mod 4)… of byte i / 4; quarter q means the value is
///     decoded + step × ((q + 0.5) / 4 − 0.5)
struct ResidualCoder: @unchecked Sendable {
    let quantizer: FourBitQuantizer
    let codes: UnsafePointer<UInt8>
    let codeBytes: Int
    let dimension: Int
    let distance: VectorDistance
    let metric: DistanceMetric
    var rowBytes: Int { (dimension + 3) / 4 }

    /// Writes the residual row of local id `id` from its stored vector. `scratch` holds 2 × dimension floats.
    func encode(id: Int, stored: UnsafeRawBufferPointer, into row: UnsafeMutablePointer<UInt8>,
                scratch: UnsafeMutablePointer<Float>) throws {
        let exact = scratch, decoded = scratch + dimension
        try distance.prepareFloat32(stored, into: exact)
        let code = codes + id * codeBytes
        quantizer.decode(code, into: decoded)
        row.initialize(repeating: 0, count: rowBytes)
        let step = quantizer.step(of: code)
        guard step > 0, step.isFinite else { return }
        for i in 0..<dimension {
            let within = (exact[i] - decoded[i]) / step + 0.5  // 0…1 inside the cell
            let quarter = within * 4 - 0.5
            let q: UInt8 = quarter >= 2.5 ? 3 : quarter > 0.5 ? UInt8(quarter.rounded()) : 0  // NaN lands on 0
            row[i >> 2] |= q << UInt8(2 * (i & 3))
        }
    }

    /// An order-preserving distance estimate from code + residual: squared L2, or −dot for IP and COSINE (the query is
    /// in prepared float form).
    @inline(__always)
    func estimate(id: UInt32, query: UnsafePointer<Float>, residuals: UnsafePointer<UInt8>) -> Float {
        quantizer.refinedEstimate(query: query, code: codes + Int(id) &* codeBytes,
                                  quarters: residuals + Int(id) &* rowBytes, l2: metric == .l2)
    }
}

/// The residual rows of one segment, built in one sequential pass over its file. Searches hold a reference while they
/// read it, so a smaller memory share releases the rows by dropping the segment's reference.
final class ResidualRows: @unchecked Sendable {
    let rows: UnsafeMutablePointer<UInt8>
    let memoryUsage: Int

    init(coder: ResidualCoder, file: PageFile, layout: PageLayout, count: Int) throws {
        memoryUsage = count * coder.rowBytes
        rows = .allocate(capacity: max(memoryUsage, 1))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * coder.dimension)
        defer { scratch.deallocate() }
        let records = SequentialRecords(file: file, layout: layout)
        defer { records.deallocate() }
        do {
            for id in 0..<count {
                try coder.encode(id: id, stored: try records.record(id).vector, into: rows + id * coder.rowBytes,
                                 scratch: scratch)
            }
        } catch {
            rows.deallocate()
            throw error
        }
    }

    deinit { rows.deallocate() }
}

// 2-bit per-vector traversal codes: half the bytes of the 4-bit codes for the all-RAM walk, with an exact re-rank after.
import CVectorKernels

/// 2 bits per dimension, adapted to each vector: after subtracting the training mean, a vector's values map to four
/// evenly spaced levels `low + step·c`, c ∈ 0…3. The levels start from ±1.8 standard deviations of the vector's own
/// values (clipping the tails: with four levels, min/max spacing wastes them on outliers), then `low` and `step` are
/// refit by least squares to the assignment twice. An estimate is the 4-bit one (`vs_u4_query`, an int8 query) with
/// a 2-bit integer dot product (`LowBitQuantizer`).
///
/// Why: on pypi-minilm-50k (384-d, M 16, EFC 200; graph built on the codes) this walk reached recall@10 0.942 / 0.960
/// / 0.970 at ef 40 / 50 / 60 against 0.950 / — / 0.972 for 4-bit codes, for 108 bytes per vector instead of 204, which
/// is what brings a 4-bit-speed index under hnswlib's bytes per vector.
///
/// Code layout (`codeBytes` = 16 × ⌈dimension / 64⌉ + 12):
///
///     | block 0: 16 bytes | block 1 | ... | low: Float32 | step: Float32 | ‖reconstruction‖²: Float32 |
///     block b, byte j: bits 0-1 = dimension 64b + j, 2-3 = 64b + 16 + j, 4-5 = 64b + 32 + j, 6-7 = 64b + 48 + j
public final class TwoBitQuantizer: LowBitQuantizer, @unchecked Sendable {
    /// The first guess of the level span, in standard deviations of the vector's centered values.
    static let clipDeviations: Float = 1.8

    public init(dimension: Int, metric: DistanceMetric) {
        super.init(dimension: dimension, metric: metric, format: .twoBit)
    }

    public static func codeBytes(dimension: Int) -> Int { (dimension + 63) / 64 * 16 + 12 }

    /// The level of a centered value: NaN lands on 0 and ±inf on an end (vectors are stored as sent; a trap is a crash).
    @inline(__always) private static func level(_ y: Float, low: Float, inverse: Float) -> UInt8 {
        let scaled = (y - low) * inverse
        return scaled >= 2.5 ? 3 : scaled >= 1.5 ? 2 : scaled >= 0.5 ? 1 : 0
    }

    public override func encode(_ vector: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>) {
        let n = dimension
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { centered in
            var low = Float.infinity, high = -Float.infinity, sum: Float = 0, finite = 0
            for i in 0..<n {
                let y = vector[i] - mean[i]
                centered[i] = y
                guard y.isFinite else { continue }
                low = min(low, y)
                high = max(high, y)
                sum += y
                finite += 1
            }
            if finite == 0 { low = 0; high = 0 } else {
                let average = sum / Float(finite)
                var spread: Float = 0
                for i in 0..<n where centered[i].isFinite { spread += (centered[i] - average) * (centered[i] - average) }
                let deviation = (spread / Float(finite)).squareRoot() * TwoBitQuantizer.clipDeviations
                low = max(low, average - deviation)
                high = min(high, average + deviation)
            }
            var step = (high - low) / 3
            // Two rounds of: assign levels, then the least-squares low and step for that assignment.
            for _ in 0..<2 where step > 0 {
                let inverse = 1 / step
                var count: Float = 0, sumC: Float = 0, sumCC: Float = 0, sumY: Float = 0, sumCY: Float = 0
                for i in 0..<n where centered[i].isFinite {
                    let c = Float(TwoBitQuantizer.level(centered[i], low: low, inverse: inverse)), y = centered[i]
                    count += 1; sumC += c; sumCC += c * c; sumY += y; sumCY += c * y
                }
                let determinant = count * sumCC - sumC * sumC
                guard determinant > 1e-6 * count * count else { break }
                let fittedStep = (count * sumCY - sumC * sumY) / determinant
                let fittedLow = (sumY - fittedStep * sumC) / count
                guard fittedStep > 0, fittedStep.isFinite, fittedLow.isFinite else { break }
                step = fittedStep
                low = fittedLow
            }
            if !(step > 0) || !step.isFinite { step = 0 }
            let inverse: Float = step > 0 ? 1 / step : 0
            code.initialize(repeating: 0, count: blocks * 16)
            var norm2: Float = 0
            for i in 0..<n {
                let c = TwoBitQuantizer.level(centered[i], low: low, inverse: inverse)
                let reconstructed = mean[i] + low + step * Float(c)
                norm2 += reconstructed * reconstructed
                let within = i & 63
                code[(i >> 6) * 16 + (within & 15)] |= c << UInt8((within >> 4) * 2)
            }
            let tail = UnsafeMutableRawPointer(code + blocks * 16)
            tail.storeBytes(of: low, as: Float.self)
            tail.storeBytes(of: step, toByteOffset: 4, as: Float.self)
            tail.storeBytes(of: norm2, toByteOffset: 8, as: Float.self)
        }
    }

    public override func decode(_ code: UnsafePointer<UInt8>, into vector: UnsafeMutablePointer<Float>) {
        let tail = UnsafeRawPointer(code + blocks * 16)
        let low = tail.loadUnaligned(as: Float.self), step = tail.loadUnaligned(fromByteOffset: 4, as: Float.self)
        for i in 0..<dimension {
            let within = i & 63
            let c = (code[(i >> 6) * 16 + (within & 15)] >> UInt8((within >> 4) * 2)) & 3
            vector[i] = mean[i] + low + step * Float(c)
        }
    }

    /// The inverse of `serialize`; throws `VectorIndexError.corruptSerialization` on any bad input.
    public convenience init(deserializing bytes: [UInt8]) throws {
        let (header, mean) = try LowBitQuantizer.read(bytes, format: .twoBit)
        self.init(dimension: header.dimension, metric: header.metric)
        restore(mean: mean, trained: header.trained)
    }
}

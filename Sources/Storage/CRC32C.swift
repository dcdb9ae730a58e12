// CRC32C (Castagnoli), the page checksum: SSE4.2's crc32 instruction where the CPU has it, else slicing-by-8 in Swift.
import CStorageShims

/// The 8 × 256 slicing tables, computed once; a pointer so the hot loop has no bounds or uniqueness checks.
private struct SlicingTables: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt32>

    init() {
        base = .allocate(capacity: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            base[i] = c
        }
        // Table k maps a byte to its CRC contribution k bytes further on.
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = base[(k - 1) * 256 + i]
                base[k * 256 + i] = (previous >> 8) ^ base[Int(previous & 0xFF)]
            }
        }
    }
}

private let slicingTables = SlicingTables()
private let hardwareCRC = vs_crc32c_hardware_available() == 1

/// CRC32C as in iSCSI / ext4 / RocksDB: reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.
/// `CRC32C.checksum("123456789".utf8)` is 0xE3069283.
public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard bytes.baseAddress != nil else { return seed }
        if hardwareCRC { return ~vs_crc32c_hardware(~seed, bytes.baseAddress!, bytes.count) }
        return software(bytes, seed: seed)
    }

    /// The table-driven version (CPUs without SSE4.2; tests compare both).
    static func software(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        guard var p = bytes.baseAddress else { return seed }
        let t0 = UnsafePointer(slicingTables.base), t1 = t0 + 256, t2 = t0 + 512, t3 = t0 + 768
        let t4 = t0 + 1024, t5 = t0 + 1280, t6 = t0 + 1536, t7 = t0 + 1792
        var n = bytes.count
        while n >= 8 {
            let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
            let lo = UInt32(truncatingIfNeeded: word), hi = UInt32(truncatingIfNeeded: word >> 32)
            crc = t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)] ^ t4[Int(lo >> 24)]
                ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)] ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
            p += 8
            n &-= 8
        }
        while n > 0 {
            crc = t0[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
            p += 1
            n &-= 1
        }
        return ~crc
    }

    public static func checksum<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
        Array(bytes).withUnsafeBytes { checksum($0) }
    }
}

// HashSlot: which of the 16,384 Redis Cluster slots a key belongs to (CRC16/XMODEM with the {hash tag} rule).

/// A cluster hash slot, 0..<16384. The slot of a key is `crc16(tag) & 0x3FFF`, where the tag is the text between the
/// first `{` and the first `}` after it when that text is non-empty, and the whole key otherwise.
#if canImport(Glibc)
import Glibc
#endif

public struct HashSlot: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let count = 16384
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public init<C: Collection>(key: C) where C.Element == UInt8, C.Index == Int {
        var start = key.startIndex, end = key.endIndex
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            if let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
                start = open + 1; end = close
            }
        }
        rawValue = HashSlot.crc16(key[start..<end]) & 0x3FFF
    }

    /// The hot path (every keyed command): a pointer loop, no generic slices.
    public init(key: UnsafeRawBufferPointer) {
        let n = key.count
        guard n > 0, let base = key.baseAddress?.assumingMemoryBound(to: UInt8.self) else { rawValue = 0; return }
        var start = 0, end = n
        if let open = memchr(base, Int32(UInt8(ascii: "{")), n) {
            let o = base.distance(to: open.assumingMemoryBound(to: UInt8.self))
            if o + 1 < n, let close = memchr(base + o + 1, Int32(UInt8(ascii: "}")), n - o - 1) {
                let c = base.distance(to: close.assumingMemoryBound(to: UInt8.self))
                if c > o + 1 { start = o + 1; end = c }
            }
        }
        rawValue = HashSlot.crc16(pointer: base + start, count: end - start) & 0x3FFF
    }

    static func crc16(pointer: UnsafePointer<UInt8>, count: Int) -> UInt16 {
        // Eight bytes per step (slicing-by-8: CRC is XOR-linear, so the eight table loads are independent and only
        // the first two depend on the running CRC), then two, then one. Byte-at-a-time, the chain of dependent loads
        // was ~9 % of an in-process SET. Through a raw pointer so no array is retained per key.
        let t = crcTables
        var crc: UInt16 = 0
        var i = 0
        while i &+ 8 <= count {
            let b0 = Int(UInt8(truncatingIfNeeded: crc &>> 8) ^ pointer[i])
            let b1 = Int(UInt8(truncatingIfNeeded: crc) ^ pointer[i &+ 1])
            crc = t[7 &* 256 &+ b0] ^ t[6 &* 256 &+ b1] ^ t[5 &* 256 &+ Int(pointer[i &+ 2])] ^ t[4 &* 256 &+ Int(pointer[i &+ 3])]
                ^ t[3 &* 256 &+ Int(pointer[i &+ 4])] ^ t[2 &* 256 &+ Int(pointer[i &+ 5])] ^ t[256 &+ Int(pointer[i &+ 6])]
                ^ t[Int(pointer[i &+ 7])]
            i &+= 8
        }
        while i &+ 1 < count {
            let high = Int(UInt8(truncatingIfNeeded: crc &>> 8) ^ pointer[i])
            let low = Int(UInt8(truncatingIfNeeded: crc) ^ pointer[i &+ 1])
            crc = t[256 &+ high] ^ t[low]
            i &+= 2
        }
        if i < count { crc = (crc &<< 8) ^ t[Int(UInt8(truncatingIfNeeded: crc &>> 8) ^ pointer[i])] }
        return crc
    }

    public init(key: Bytes) { self = key.withUnsafeBytes { HashSlot(key: $0) } }

    public static func < (a: HashSlot, b: HashSlot) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
    public var index: Int { Int(rawValue) }

    /// Eight tables of 256 entries: table k is the CRC of a byte followed by k zero bytes, so table 0 is `table` and
    /// table k+1 is T[k+1][x] = (T[k][x] << 8) ^ T[0][T[k][x] >> 8].
    private nonisolated(unsafe) static let crcTables: UnsafeMutablePointer<UInt16> = {
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: 8 * 256)
        for x in 0..<256 { p[x] = table[x] }
        for k in 1..<8 {
            for x in 0..<256 {
                let previous = p[(k - 1) * 256 + x]
                p[k * 256 + x] = (previous &<< 8) ^ table[Int(previous &>> 8)]
            }
        }
        return p
    }()

    static let table: [UInt16] = (0..<256).map { byte -> UInt16 in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 { crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }

    public static func crc16<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var crc: UInt16 = 0
        table.withUnsafeBufferPointer { t in
            for b in bytes { crc = (crc << 8) ^ t[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ b)] }
        }
        return crc
    }
}

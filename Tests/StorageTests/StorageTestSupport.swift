// Helpers for the Storage tests: a deterministic generator and temporary page files on a real disk.
#if canImport(Glibc)
import Glibc
#endif
@testable import Storage

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh directory under /var/tmp (a real disk, so O_DIRECT is exercised; tmpfs would fall back to buffered I/O).
/// `body` gets a file path inside it; the directory and its files are removed afterwards.
func withTemporaryPath<R>(_ name: String = "pages.vsp", under base: String = "/var/tmp",
                          _ body: (String) throws -> R) throws -> R {
    var template = Array((base + "/vecshard-storage-XXXXXX").utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { p -> String? in
        guard let r = mkdtemp(p.baseAddress!) else { return nil }
        return String(cString: r)
    }
    guard let dir else { throw StorageError.system(call: "mkdtemp", path: base, errno: errno) }
    defer {
        if let d = opendir(dir) {
            while let e = readdir(d) {
                let n = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if n != "." && n != ".." { unlink(dir + "/" + n) }
            }
            closedir(d)
        }
        rmdir(dir)
    }
    return try body(dir + "/" + name)
}

/// Record `i` of a test file: a vector of `dim` floats and up to M0 neighbor ids, all derived from `seed` and `i`.
struct TestRecords {
    let layout: PageLayout
    let seed: UInt64

    func vector(_ i: Int) -> [Float] {
        var rng = SplitMix64(state: seed ^ UInt64(i) &* 0x1000_0001)
        return (0..<layout.dimension).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    func neighbors(_ i: Int) -> [UInt32] {
        var rng = SplitMix64(state: seed &+ UInt64(i))
        let n = Int.random(in: 0...layout.maxNeighbors0, using: &rng)
        return (0..<n).map { _ in UInt32.random(in: 0..<1_000_000, using: &rng) }
    }

    /// Appends records `range` and returns their addresses.
    func append(_ range: Range<Int>, to writer: PageFileWriter) throws -> [RecordAddress] {
        try range.map { i in
            try vector(i).withUnsafeBytes { v in
                try neighbors(i).withUnsafeBufferPointer { try writer.append(vector: v, neighbors: $0) }
            }
        }
    }

    /// Writes `count` records in one commit; returns the addresses.
    func writeFile(_ path: String, count: Int, mode: PageIOMode = .direct) throws -> [RecordAddress] {
        let w = try PageFileWriter.create(path: path, layout: layout, mode: mode)
        let addresses = try append(0..<count, to: w)
        try w.commit()
        return addresses
    }

    /// Checks record `i` at `slot` of a page view.
    func matches(_ i: Int, _ view: PageView, slot: Int) -> Bool {
        let v = vector(i)
        let sameVector = v.withUnsafeBytes { Array($0) == Array(view.vector(slot)) }
        return sameVector && Array(view.neighbors(slot)) == neighbors(i)
    }
}

/// Flips one byte of `path` at `offset` with plain (buffered) I/O.
func flipByte(_ path: String, at offset: Int64) {
    let fd = open(path, O_RDWR)
    precondition(fd >= 0)
    var b: UInt8 = 0
    precondition(pread(fd, &b, 1, off_t(offset)) == 1)
    b ^= 0x5A
    precondition(pwrite(fd, &b, 1, off_t(offset)) == 1)
    fsync(fd)
    close(fd)
}

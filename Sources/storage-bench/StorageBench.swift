// storage-bench: random page reads (pread vs io_uring, O_DIRECT) and buffer-pool hit throughput; prints Markdown rows.
// Usage: storage-bench [--file PATH] [--size-mb N] [--seconds S] [--rounds N] [--depths 1,32] [--threads N]
//                      [--placement-only] [--placement-count N] [--crash-rounds N]
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Storage

struct Options {
    var file = "/var/tmp/vecshard-storage-bench.vsp"
    var sizeMB = 1024
    var seconds = 5.0
    var depths = [1, 32]
    var threads = 2
    var rounds = 3
    /// Run only the placement experiment (no page file, no I/O).
    var placementOnly = false
    var placementCount = 10_000
    /// Only the kill -9 test, this many rounds.
    var crashRounds = 0

    init(_ args: [String]) {
        var i = 1
        func value() -> String {
            i += 1
            guard i < args.count else { fatalError("missing value for \(args[i - 1])") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--file": file = value()
            case "--size-mb": sizeMB = Int(value())!
            case "--seconds": seconds = Double(value())!
            case "--depths": depths = value().split(separator: ",").map { Int($0)! }
            case "--threads": threads = Int(value())!
            case "--rounds": rounds = max(Int(value())!, 1)
            case "--placement-only": placementOnly = true
            case "--placement-count": placementCount = Int(value())!
            case "--crash-rounds": crashRounds = Int(value())!
            default: fatalError("unknown option \(args[i])")
            }
            i += 1
        }
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU seconds of this process (all threads): on a loaded machine wall time overstates CPU-bound costs.
func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func say(_ s: String) {
    let line = s + "\n"
    line.utf8CString.withUnsafeBufferPointer { p in _ = write(1, p.baseAddress, p.count - 1) }
}

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

/// 128-d float32, M0 = 32: 644-byte records, 6 per 4 KiB page (the 1 M × 128 benchmark's shape).
func ensureFile(_ o: Options) throws -> PageFile {
    let layout = try PageLayout(elementType: .float32, dimension: 128, maxNeighbors0: 32)
    let pages = UInt64(o.sizeMB) * 1024 * 1024 / UInt64(layout.pageSize)
    if let f = try? PageFile(path: o.file), f.layout == layout, f.pageCount == pages { return f }
    say("writing \(pages) pages to \(o.file) ...")
    let t0 = now()
    let w = try PageFileWriter.create(path: o.file, layout: layout, batchPages: 256)
    var rng = SplitMix64(state: 1)
    var vector = [Float](repeating: 0, count: 128)
    var neighbors = [UInt32](repeating: 0, count: 32)
    for _ in 0..<(pages * UInt64(layout.recordsPerPage)) {
        for j in 0..<128 { vector[j] = Float(rng.next() % 1000) / 1000 }
        for j in 0..<32 { neighbors[j] = UInt32(truncatingIfNeeded: rng.next()) }
        try vector.withUnsafeBytes { v in try neighbors.withUnsafeBufferPointer { _ = try w.append(vector: v, neighbors: $0) } }
    }
    try w.commit()
    let dt = now() - t0
    say("wrote \(o.sizeMB) MiB in \(String(format1: dt)) s (\(String(format1: Double(o.sizeMB) / dt)) MiB/s, O_DIRECT \(w.isDirect))")
    return try PageFile(path: o.file)
}

extension String {
    init(format1 v: Double) { self = String(Double(Int((v * 10).rounded())) / 10) }
}

/// Random-page reads for `seconds`: batches of `batch` pages per reader call. Returns (pages/s, mean µs per call,
/// p99 µs per call).
func measure(_ reader: any PageReader, batch: Int, buffer: AlignedBuffer, seconds: Double, seed: UInt64) throws
    -> (iops: Double, meanMicros: Double, p99Micros: Double) {
    let file = reader.file
    var rng = SplitMix64(state: seed)
    var requests = (0..<batch).map { PageReadRequest(page: 0, destination: buffer.pointer + $0 * file.layout.pageSize) }
    var latencies: [Double] = []
    let start = now()
    var pages = 0
    while now() - start < seconds {
        for j in 0..<batch {
            requests[j] = PageReadRequest(page: UInt64.random(in: 0..<file.pageCount, using: &rng),
                                          destination: requests[j].destination)
        }
        let t = now()
        try reader.read(requests)
        latencies.append(now() - t)
        pages += batch
    }
    let elapsed = now() - start
    latencies.sort()
    let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
    return (Double(pages) / elapsed, elapsed / Double(latencies.count) * 1e6, p99 * 1e6)
}

/// GB per CPU-second.
func crcThroughput() -> Double {
    let b = AlignedBuffer(byteCount: 4096)
    for i in 0..<4096 { b.pointer.storeBytes(of: UInt8(truncatingIfNeeded: i &* 31), toByteOffset: i, as: UInt8.self) }
    var x: UInt32 = 0
    let n = 50_000
    let t = cpuNow()
    for _ in 0..<n { x ^= CRC32C.checksum(UnsafeRawBufferPointer(b.bytes), seed: x) }
    let dt = cpuNow() - t
    if x == 42 { say("") }
    return Double(n) * 4096 / dt / 1e9
}

/// Pin/unpin of resident pages from `threads` threads; returns million pins per wall second and per CPU second.
func poolHits(_ file: PageFile, shards: Int, threads: Int, seconds: Double) throws -> (wall: Double, cpu: Double) {
    let frames = 4096
    let pool = try BufferPool(file: file, budgetBytes: frames * file.layout.pageSize, shards: shards, reader: .ioURing(queueDepth: 32))
    let resident = (0..<UInt64(frames / 2)).map { $0 }
    for chunk in stride(from: 0, to: resident.count, by: 256) { try pool.prefetch(pages: Array(resident[chunk..<chunk + 256])) }
    let counts = UnsafeMutablePointer<Int>.allocate(capacity: threads)
    defer { counts.deallocate() }
    let countsAddress = Int(bitPattern: counts)
    let cpu0 = cpuNow()
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        var rng = SplitMix64(state: UInt64(t))
        var n = 0
        let start = now()
        while now() - start < seconds {
            for _ in 0..<1000 {
                if let p = try? pool.pin(UInt64.random(in: 0..<UInt64(frames / 2), using: &rng)) { pool.unpin(p) }
            }
            n += 1000
        }
        UnsafeMutablePointer<Int>(bitPattern: countsAddress)![t] = n
    }
    let cpu = cpuNow() - cpu0
    let total = (0..<threads).reduce(0) { $0 + counts[$1] }
    return (Double(total) / seconds / 1e6, Double(total) / cpu / 1e6)
}

/// One reader configuration of the read table.
struct ReadConfig {
    let name: String
    let depth: Int
    let batch: Int
    let reader: any PageReader
}

@main struct StorageBench {
    static func main() throws {
        if CommandLine.arguments.count == 3 && CommandLine.arguments[1] == "--crash-writer" {
            try CrashTest.writer(path: CommandLine.arguments[2])
        }
        let o = Options(CommandLine.arguments)
        if o.crashRounds > 0 {
            return say(try CrashTest.run(path: o.file + ".crash", rounds: o.crashRounds))
        }
        var placement = PlacementExperiment(count: o.placementCount, dimension: 16, k: 32, ef: 64, queries: 300)
        placement.tieredDirectory = String(o.file[..<(o.file.lastIndex(of: "/") ?? o.file.startIndex)])
        if o.placementOnly { return try placement.run() }
        let file = try ensureFile(o)
        say("file: \(o.file), \(file.pageCount) pages of \(file.layout.pageSize) B, O_DIRECT \(file.isDirect)")
        // Room for the largest batch: every request of a call reads into its own page.
        let largestBatch = o.depths.map { $0 == 1 ? 1 : $0 * 4 }.max() ?? 1
        let buffer = AlignedBuffer(byteCount: max(256, largestBatch) * file.layout.pageSize)
        var configs: [ReadConfig] = []
        for depth in o.depths {
            let batch = depth == 1 ? 1 : depth * 4
            if depth == 1 { configs.append(ReadConfig(name: "pread", depth: 1, batch: 1, reader: PReadPageReader(file: file))) }
            configs.append(ReadConfig(name: "io_uring", depth: depth, batch: batch,
                                      reader: try IOURingPageReader(file: file, queueDepth: depth)))
            let fixed = try IOURingPageReader(file: file, queueDepth: depth, registeredRegion: buffer.bytes)
            configs.append(ReadConfig(name: "io_uring, registered buffers\(fixed.usesRegisteredBuffers ? "" : " (refused)")",
                                      depth: depth, batch: batch, reader: fixed))
            configs.append(ReadConfig(name: "io_uring, registered buffers, no CRC check", depth: depth, batch: batch,
                                      reader: try IOURingPageReader(file: file, queueDepth: depth, registeredRegion: buffer.bytes,
                                                                    verifyChecksums: false)))
            configs.append(ReadConfig(name: "io_uring, registered buffers, SINGLE_ISSUER + DEFER_TASKRUN", depth: depth,
                                      batch: batch,
                                      reader: try IOURingPageReader(file: file, queueDepth: depth, registeredRegion: buffer.bytes,
                                                                    setup: .singleIssuerDeferTaskRun)))
            configs.append(ReadConfig(name: "io_uring, registered buffers, COOP_TASKRUN", depth: depth, batch: batch,
                                      reader: try IOURingPageReader(file: file, queueDepth: depth, registeredRegion: buffer.bytes,
                                                                    setup: .cooperativeTaskRun)))
        }
        // Rounds rotate through the configurations so load swings on a shared machine hit all of them alike.
        var results = [[(iops: Double, meanMicros: Double, p99Micros: Double)]](repeating: [], count: configs.count)
        for round in 0..<o.rounds {
            for (i, c) in configs.enumerated() {
                results[i].append(try measure(c.reader, batch: c.batch, buffer: buffer, seconds: o.seconds,
                                              seed: UInt64(round * 100 + i)))
            }
        }
        say("")
        say("| reader | queue depth | pages per call | best pages/s | median pages/s | mean µs per call (best round) | p99 µs per call (best round) |")
        say("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for (i, c) in configs.enumerated() {
            let sorted = results[i].sorted { $0.iops > $1.iops }
            let best = sorted[0], median = sorted[sorted.count / 2]
            say("| \(c.name) | \(c.depth) | \(c.batch) | \(Int(best.iops)) | \(Int(median.iops)) | \(String(format1: best.meanMicros)) | \(String(format1: best.p99Micros)) |")
        }
        say("")
        say("CRC32C (Swift slicing-by-8): \(String(format1: crcThroughput())) GB per CPU-second")
        say("")
        say("| buffer pool hits (pin+unpin, resident pages) | threads | Mpins per wall s | Mpins per CPU s |")
        say("| --- | ---: | ---: | ---: |")
        for shards in [1, 8] {
            let r = try poolHits(file, shards: shards, threads: o.threads, seconds: min(o.seconds, 3))
            say("| \(shards) shard\(shards == 1 ? " (global lock)" : "s") | \(o.threads) | \(String(format1: r.wall)) | \(String(format1: r.cpu)) |")
        }
        say("")
        try placement.run()
    }
}

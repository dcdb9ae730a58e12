// vector-bench: recall/QPS/build-speed/memory benchmark of the vector engine on .fvecs/.ivecs sets, and kernel timing.
import CVectorKernels
import Dispatch
import Tiering
import VectorIndex
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Writes to stderr with write(2): the C `stderr`/`stdout` globals are not concurrency-safe in Swift 6.
func warn(_ message: String) {
    var line = message + "\n"
    _ = line.withUTF8 { write(2, $0.baseAddress, $0.count) }
}

/// CPU seconds of the whole process: on a shared 2-core VM wall time swings with other tenants' load, CPU time much
/// less, so every phase reports both.
func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Resident set size in bytes (second field of /proc/self/statm, in pages).
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress!, 1, 127, f) }
    let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Peak resident set size in bytes (VmHWM of /proc/self/status).
func peakResidentBytes() -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let text = String(cString: line)
        if text.hasPrefix("VmHWM:") { return (Int(text.dropFirst(6).filter(\.isNumber)) ?? 0) * 1024 }
    }
    return 0
}

/// Starts a new peak: the bench's own copies of the input files must not count as the index's peak.
func resetPeakResident() {
    guard let f = fopen("/proc/self/clear_refs", "w") else { return }
    fputs("5", f)
    fclose(f)
}

func fail(_ message: String) -> Never {
    warn("vector-bench: \(message)")
    exit(2)
}

/// Reads a TEXMEX file (int32 d, then d 4-byte values per record) into (rows, d, payload without the d fields).
func readVecs(_ path: String, limit: Int? = nil) -> (rows: Int, dim: Int, data: [UInt8]) {
    guard let f = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(f) }
    var d: Int32 = 0
    guard fread(&d, 4, 1, f) == 1, d > 0 else { fail("bad header in \(path)") }
    fseek(f, 0, SEEK_END)
    let size = ftell(f)
    fseek(f, 0, SEEK_SET)
    let recordBytes = 4 * (Int(d) + 1)
    var rows = size / recordBytes
    if let limit { rows = min(rows, limit) }
    var raw = [UInt8](repeating: 0, count: rows * recordBytes)
    _ = raw.withUnsafeMutableBytes { fread($0.baseAddress!, 1, rows * recordBytes, f) }
    var data = [UInt8](repeating: 0, count: rows * Int(d) * 4)
    data.withUnsafeMutableBytes { dst in
        raw.withUnsafeBytes { src in
            for r in 0..<rows {
                dst.baseAddress!.advanced(by: r * Int(d) * 4)
                    .copyMemory(from: src.baseAddress! + r * recordBytes + 4, byteCount: Int(d) * 4)
            }
        }
    }
    return (rows, Int(d), data)
}

func jsonLine(_ fields: [(String, String)]) {
    print("JSON {" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    fflush(nil)
}

// MARK: - arguments

var options: [String: String] = [:]
var flags: Set<String> = []
do {
    let args = Array(CommandLine.arguments.dropFirst())
    var i = 0
    while i < args.count {
        let a = args[i]
        guard a.hasPrefix("--") else { fail("unexpected argument \(a)") }
        let key = String(a.dropFirst(2))
        if ["sq8", "four-bit", "two-bit", "low-bit", "kernels", "save-load", "tiered-reopen"].contains(key) { flags.insert(key); i += 1; continue }
        guard i + 1 < args.count else { fail("missing value for \(a)") }
        options[key] = args[i + 1]
        i += 2
    }
}

func runKernels() {
    // Random vectors, 4,096 base rows (~6 MB at 384-d, cache-resident like hot graph neighborhoods).
    for dim in [128, 384, 768] {
        let rows = 4096, iterations = 4_000_000 * 128 / dim
        var rng = SystemRandomNumberGenerator()
        var base = [Float](repeating: 0, count: rows * dim), queries = [Float](repeating: 0, count: 16 * dim)
        for i in base.indices { base[i] = Float.random(in: -1...1, using: &rng) }
        for i in queries.indices { queries[i] = Float.random(in: -1...1, using: &rng) }
        var line: [(String, String)] = [("phase", "\"kernels\""), ("dim", "\(dim)"), ("avx2", "\(vs_kernels_have_avx2())")]
        for (name, which) in [("c_plain_loop", 0), ("c_intrinsics_reference", 1), ("c_dispatched", 2)] {
            var best = Double.infinity
            for _ in 0..<3 {
                let t0 = now()
                let s = vs_reference_loop(Int32(which), queries, base, rows, dim, iterations)
                best = min(best, now() - t0)
                if s == 0 { print("") }
            }
            line.append(("\(name)_ns", String(format3(best / Double(iterations) * 1e9))))
        }
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = now()
            let s = queries.withUnsafeBytes { q in
                base.withUnsafeBytes { b in
                    try! KernelBenchmark.run(elementType: .float32, metric: .l2, dimension: dim, queries: q, base: b,
                                             rows: rows, iterations: iterations)
                }
            }
            best = min(best, now() - t0)
            if s == 0 { print("") }
        }
        line.append(("swift_engine_path_ns", format3(best / Double(iterations) * 1e9)))
        jsonLine(line)
    }
}

/// Recall@k of `found` (labels per query) against `truth` (an .ivecs ground truth, first k ids of each row).
func recallAt(_ k: Int, found: [[UInt64]], truth: (rows: Int, dim: Int, data: [UInt8]), queries: Int) -> Double {
    var hits = 0
    truth.data.withUnsafeBytes { g in
        for q in 0..<queries {
            var expected = Set<UInt64>()
            for j in 0..<min(k, truth.dim) { expected.insert(UInt64(g.load(fromByteOffset: (q * truth.dim + j) * 4, as: Int32.self))) }
            hits += found[q].filter { expected.contains($0) }.count
        }
    }
    return Double(hits) / Double(queries * k)
}

func format3(_ x: Double) -> String {
    let scaled = (x * 1000).rounded() / 1000
    return "\(scaled)"
}

if flags.contains("kernels") { runKernels(); exit(0) }
if let directory = options["tiered-crash-writer"] { try TieredCrashTest.writer(directory: directory) }
if let rounds = options["tiered-crash-rounds"].map({ Int($0)! }) {
    print(try TieredCrashTest.run(directory: options["tiered-dir"] ?? "/var/tmp/vector-bench-crash", rounds: rounds))
    exit(0)
}

guard let basePath = options["base"], let queryPath = options["query"] else {
    fail("usage: vector-bench --base B.fvecs --query Q.fvecs --gt G.ivecs --metric cosine|l2|ip --algo hnsw|flat "
        + "--m 16 --efc 200 --ef 10,20,40,80,160 --k 10 --threads 1 [--build-threads N] [--sq8] [--limit N] "
        + "[--queries N] [--save-load] [--tiered-limit BYTES [--tiered-dir D] [--tiered-reopen] [--beam W] [--tiered-diagnose SAMPLE]] | --kernels")
}
let metric: DistanceMetric = switch options["metric"] ?? "l2" {
case "l2": .l2
case "ip": .ip
case "cosine": .cosine
default: fail("unknown metric")
}
let algorithm: VectorAlgorithm = (options["algo"] ?? "hnsw") == "flat" ? .flat : .hnsw
let m = Int(options["m"] ?? "16")!
let efc = Int(options["efc"] ?? "200")!
let efs = (options["ef"] ?? "10,20,40,80,160").split(separator: ",").map { Int($0)! }
let k = Int(options["k"] ?? "10")!
let threads = Int(options["threads"] ?? "1")!
/// Threads for the bulk build (defaults to --threads); queries always use --threads, one query per call.
let buildThreads = Int(options["build-threads"] ?? options["threads"] ?? "1")!
let limit = options["limit"].map { Int($0)! }

let base = readVecs(basePath, limit: limit)
let queries = readVecs(queryPath, limit: options["queries"].map { Int($0)! })
let groundTruth: (rows: Int, dim: Int, data: [UInt8])? = options["gt"].map { readVecs($0) }
if limit != nil && groundTruth != nil { warn("warning: --limit with --gt: ground truth is for the full base") }

let parameters = VectorIndexParameters(algorithm: algorithm, dimension: base.dim, elementType: .float32, metric: metric,
                                       initialCapacity: base.rows, m: m, efConstruction: efc, efRuntime: 10,
                                       quantization: flags.contains("sq8") ? .sq8 : flags.contains("four-bit") ? .fourBit
                                           : flags.contains("two-bit") ? .twoBit
                                           : flags.contains("low-bit") ? .lowBit : .none)
let vectorBytes = base.dim * 4

// MARK: - build (or load a saved index with --index-file, to iterate on queries without rebuilding)
resetPeakResident()
let rssBeforeBuild = residentBytes()
let buildStart = now(), buildCPUStart = cpuNow()
let index: any VectorIndex
/// Tiered mode (SSD segments under a memory limit): `--tiered-limit` bytes (k/m/g suffixes) for the whole index.
let tieringController: TieringController? = options["tiered-limit"].map { text in
    TieringController.configureProcessMemory()
    let c = TieringController()
    let lower = text.lowercased()
    let unit = lower.hasSuffix("g") ? 1 << 30 : lower.hasSuffix("m") ? 1 << 20 : lower.hasSuffix("k") ? 1 << 10 : 1
    guard let value = Double(unit == 1 ? lower : String(lower.dropLast())) else { fail("bad --tiered-limit \(text)") }
    c.limit = Int(value * Double(unit))
    c.baseDirectory = options["tiered-dir"] ?? "/var/tmp/vector-bench-tiered"
    return c
}
if let controller = tieringController {
    let directory = controller.baseDirectory + "/index"
    let tiered: TieredHNSWIndex
    if flags.contains("tiered-reopen") {
        tiered = try TieredHNSWIndex(opening: directory, parameters: parameters, controller: controller)
        warn("reopened \(directory): \(tiered.count) vectors")
    } else {
        tiered = try TieredHNSWIndex(parameters, directory: directory, controller: controller)
        base.data.withUnsafeBytes { raw in
            let rawBox = UnsafeSendableRaw(pointer: raw.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: max(buildThreads, 1)) { t in
                var i = t
                while i < base.rows {
                    try! tiered.add(label: UInt64(i), vector: UnsafeRawBufferPointer(start: rawBox.pointer + i * vectorBytes,
                                                                                     count: vectorBytes))
                    i += max(buildThreads, 1)
                }
            }
        }
        try tiered.flush()
    }
    if let w = options["beam"].map({ Int($0)! }) { tiered.beamWidth = w }
    index = tiered
} else if let path = options["index-file"], let f = fopen(path, "rb") {
    fseek(f, 0, SEEK_END)
    let size = ftell(f)
    fseek(f, 0, SEEK_SET)
    var bytes = [UInt8](repeating: 0, count: size)
    _ = bytes.withUnsafeMutableBytes { fread($0.baseAddress!, 1, size, f) }
    fclose(f)
    index = try makeVectorIndex(deserializing: bytes)
    warn("loaded \(path)")
} else {
    index = try makeVectorIndex(parameters)
    base.data.withUnsafeBytes { raw in
        if let hnsw = index as? HNSWIndex {
            try! hnsw.addBatch(labels: (0..<base.rows).map { UInt64($0) }, vectors: raw, threads: buildThreads)
        } else {
            for i in 0..<base.rows {
                try! index.add(label: UInt64(i), vector: UnsafeRawBufferPointer(rebasing: raw[i * vectorBytes..<(i + 1) * vectorBytes]))
            }
        }
    }
    if let path = options["index-file"], let f = fopen(path, "wb") {
        let bytes = index.serialize()
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress!, 1, bytes.count, f) }
        fclose(f)
    }
}
let buildSeconds = now() - buildStart, buildCPUSeconds = cpuNow() - buildCPUStart
let bytesPerVector = Double(index.memoryUsage) / Double(index.count)
var buildLine: [(String, String)] = [
    ("phase", "\"build\""), ("algo", "\"\(algorithm == .flat ? "flat" : "hnsw")\""), ("n", "\(base.rows)"),
    ("dim", "\(base.dim)"), ("m", "\(m)"), ("efc", "\(efc)"), ("threads", "\(buildThreads)"), ("sq8", "\(flags.contains("sq8"))"),
    ("seconds", format3(buildSeconds)), ("cpu_seconds", format3(buildCPUSeconds)),
    ("vectors_per_s", format3(Double(base.rows) / buildSeconds)),
    ("bytes_per_vector", format3(bytesPerVector)),
    ("rss_bytes_per_vector", format3(Double(residentBytes() - rssBeforeBuild) / Double(base.rows))),
]
if let hnsw = index as? HNSWIndex { buildLine.append(("traversal_vector_bytes", "\(hnsw.traversalVectorBytesPerVector)")) }
if let tiered = index as? TieredHNSWIndex, let controller = tieringController {
    let r = tiered.report, n = controller.report
    buildLine += [("tiered_limit", "\(controller.limit)"), ("ram_bytes", "\(r.ramBytes)"), ("ssd_bytes", "\(r.ssdBytes)"),
                  ("segments", "\(r.segments)"), ("pool_bytes", "\(r.poolBytes)"), ("resident_list_bytes", "\(r.residentListBytes)"), ("seals", "\(n.seals)"),
                  ("compactions", "\(n.compactions)"), ("rss_bytes", "\(residentBytes())"),
                  // RAM the index reached at its peak (active + sealing graphs, merge working set, pools) above the
                  // process before the build (which holds the base and query files).
                  ("peak_rss_over_start_bytes", "\(peakResidentBytes() - rssBeforeBuild)")]
}
jsonLine(buildLine)

if flags.contains("save-load") {
    let t0 = now()
    let bytes = index.serialize()
    let t1 = now()
    let loaded = try makeVectorIndex(deserializing: bytes)
    let t2 = now()
    jsonLine([("phase", "\"save_load\""), ("bytes", "\(bytes.count)"), ("save_s", format3(t1 - t0)),
              ("load_s", format3(t2 - t1)), ("build_s", format3(buildSeconds)),
              ("load_speedup_vs_build", format3(buildSeconds / (t2 - t1))), ("count", "\(loaded.count)")])
}

// MARK: - filter (pypi-minilm-50k metadata): --tsv base.tsv --filter year2020|popular, with the matching --gt
/// Allowed labels from base.tsv: `year2020` keeps rows with year ≥ 2020, `popular` rows with popular == yes.
func allowedLabels(tsv: String, filter: String) -> [UInt64] {
    guard let f = fopen(tsv, "rb") else { fail("cannot open \(tsv)") }
    defer { fclose(f) }
    fseek(f, 0, SEEK_END)
    let size = ftell(f)
    fseek(f, 0, SEEK_SET)
    var bytes = [UInt8](repeating: 0, count: size)
    _ = bytes.withUnsafeMutableBytes { fread($0.baseAddress!, 1, size, f) }
    var out: [UInt64] = []
    for line in bytes.split(separator: 10).dropFirst() {
        let cols = line.split(separator: 9, maxSplits: 4, omittingEmptySubsequences: false)
        guard cols.count >= 4, let id = UInt64(String(decoding: cols[0], as: UTF8.self)) else { continue }
        let keep = filter == "popular" ? String(decoding: cols[3], as: UTF8.self) == "yes"
            : (Int(String(decoding: cols[2], as: UTF8.self)) ?? 0) >= 2020
        if keep { out.append(id) }
    }
    return out
}
let searchFilter: SearchFilter? = options["filter"].map { name in
    guard let tsv = options["tsv"] else { fail("--filter needs --tsv base.tsv") }
    let labels = allowedLabels(tsv: tsv, filter: name)
    warn("filter \(name): \(labels.count) allowed of \(base.rows)")
    return options["filter-kind"] == "predicate"
        ? { let set = Set(labels); return SearchFilter(allows: { set.contains($0) }) }()
        : SearchFilter(labels: labels)
}

// MARK: - queries
let queryBytes = queries.dim * 4
guard queries.dim == base.dim else { fail("query dimension differs from base") }
for ef in efs {
    var found = [[UInt64]](repeating: [], count: queries.rows)
    let tieredBefore = tieringController?.report ?? TieringNodeReport()
    let start = now(), cpuStart = cpuNow()
    found.withUnsafeMutableBufferPointer { out in
        let outBox = UnsafeSendableResults(pointer: out.baseAddress!)
        queries.data.withUnsafeBytes { raw in
            let rawBox = UnsafeSendableRaw(pointer: raw.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: max(threads, 1)) { t in
                var q = t
                while q < queries.rows {
                    let blob = UnsafeRawBufferPointer(start: rawBox.pointer + q * queryBytes, count: queryBytes)
                    let hits = try! index.search(query: blob, k: k, efRuntime: ef, filter: searchFilter)
                    outBox.pointer[q] = hits.map(\.label)
                    q += max(threads, 1)
                }
            }
        }
    }
    let seconds = now() - start, cpuSeconds = cpuNow() - cpuStart
    var tieredFields: [(String, String)] = []
    if let controller = tieringController {
        let n = controller.report
        tieredFields = [("ssd_reads_per_query", format3(Double(n.ssdReads - tieredBefore.ssdReads) / Double(max(n.queries - tieredBefore.queries, 1)))),
                        ("ssd_reads_p99_cumulative", "\(n.readsPerQueryP99)"),
                        ("pool_hit_ratio", format3(Double(n.poolHits - tieredBefore.poolHits) / Double(max(n.poolHits + n.poolMisses - tieredBefore.poolHits - tieredBefore.poolMisses, 1)))),
                        ("read_latency_us", format3(n.readLatencyMicrosMean)), ("rss_bytes", "\(residentBytes())")]
    }
    let recall = groundTruth.map { recallAt(k, found: found, truth: $0, queries: queries.rows) } ?? -1.0
    jsonLine([("phase", "\"query\""), ("ef", "\(ef)"), ("k", "\(k)"), ("threads", "\(threads)"),
              ("recall", format3(recall)), ("qps", format3(Double(queries.rows) / seconds)),
              ("qps_per_cpu_second", format3(Double(queries.rows) / cpuSeconds)),
              ("filter", "\"\(options["filter"] ?? "none")\""), ("bytes_per_vector", format3(bytesPerVector))] + tieredFields)
    if algorithm == .flat { break } // ef is meaningless for FLAT
}

// MARK: - graph diagnosis of the largest segment (--tiered-diagnose SAMPLE): see Tiering/SegmentDiagnostics.swift
if let sample = options["tiered-diagnose"].map({ Int($0)! }), let tiered = index as? TieredHNSWIndex {
    let started = now()
    let diagnosis = try queries.data.withUnsafeBytes { raw in
        try tiered.diagnose(sample: sample, queries: raw, queryCount: queries.rows, efs: efs, k: k)
    }
    jsonLine([("phase", "\"diagnose\""), ("seconds", format3(now() - started))]
        + diagnosis.fields.map { ($0.0, $0.1) })
    for band in diagnosis.bands { jsonLine([("phase", "\"diagnose_band\"")] + band) }
    if let gt = groundTruth {
        for ef in efs {
            guard let found = diagnosis.exactWalk[ef] else { continue }
            jsonLine([("phase", "\"exact_walk\""), ("ef", "\(ef)"),
                      ("recall", format3(recallAt(k, found: found, truth: gt, queries: queries.rows)))])
        }
    }
}

struct UnsafeSendableResults: @unchecked Sendable { let pointer: UnsafeMutablePointer<[UInt64]> }
struct UnsafeSendableRaw: @unchecked Sendable { let pointer: UnsafeRawPointer }

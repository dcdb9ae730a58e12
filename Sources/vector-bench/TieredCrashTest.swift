// kill -9 against a tiered index: a child adds vectors, seals them into segments (acknowledging each seal on a pipe)
// while compactions run in the background; the parent kills it at a random moment, reopens the directory and checks
// that it loads and that every acknowledged vector is there, exact, and findable.
import Tiering
import VectorIndex
#if canImport(Glibc)
import Glibc
#endif

enum TieredCrashTest {
    static let dimension = 16
    static let perSeal = 400
    static var parameters: VectorIndexParameters {
        VectorIndexParameters(algorithm: .hnsw, dimension: dimension, metric: .l2, m: 8, efConstruction: 64)
    }

    /// Vector of label `seq`: deterministic, distinct per label.
    static func vector(_ seq: Int) -> [Float] {
        var x = UInt64(seq) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<dimension).map { _ in
            x ^= x >> 33; x &*= 0xFF51_AFD7_ED55_8CCD; x ^= x >> 29
            return Float(x >> 40) / Float(1 << 24)
        }
    }

    static func controller(_ directory: String) -> TieringController {
        let c = TieringController()
        c.baseDirectory = directory
        c.limit = 1 << 20
        c.minimumActiveCap = 1 << 30  // seals come from flush only: each is one acknowledgement
        return c
    }

    /// The child: add `perSeal` vectors, seal them (not waiting for compaction), print the count, forever.
    static func writer(directory: String) throws -> Never {
        let index = try TieredHNSWIndex(parameters, directory: directory + "/index", controller: controller(directory))
        var seq = 0
        while true {
            for _ in 0..<perSeal {
                try vector(seq).withUnsafeBytes { try index.add(label: UInt64(seq), vector: $0) }
                seq += 1
            }
            try index.flush(waitForCompaction: false)
            let line = "\(seq)\n"
            line.utf8CString.withUnsafeBufferPointer { p in _ = write(1, p.baseAddress, p.count - 1) }
        }
    }

    /// The parent: `rounds` kills after 0.3–3 s; returns a Markdown line.
    static func run(directory: String, rounds: Int) throws -> String {
        var state: UInt64 = 11
        func random(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) % n }
        var passed = 0, totalAcked = 0, compactionsSeen = 0
        for round in 0..<rounds {
            let dir = directory + "/round-\(round)"
            _ = mkdir(directory, 0o755)
            _ = mkdir(dir, 0o755)
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { return "FAILED: pipe" }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_addclose(&actions, fds[0])
            let args = [CommandLine.arguments[0], "--tiered-crash-writer", dir]
            var argv = args.map { strdup($0) } + [nil]
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, args[0], &actions, nil, &argv, environ)
            for p in argv { free(p) }
            posix_spawn_file_actions_destroy(&actions)
            close(fds[1])
            guard rc == 0 else { return "FAILED: posix_spawn errno \(rc)" }
            let deadline = now() + Double(300 + random(2700)) / 1000
            var acked = 0
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            func drain() {
                while true {
                    let n = read(fds[0], &buffer, buffer.count)
                    if n <= 0 { return }
                    pending += buffer[0..<n]
                    while let nl = pending.firstIndex(of: 10) {
                        acked = Int(String(decoding: pending[..<nl], as: UTF8.self)) ?? acked
                        pending.removeSubrange(...nl)
                    }
                }
            }
            while now() < deadline { drain(); usleep(2000) }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            drain()
            close(fds[0])
            if acked == 0 { continue }  // killed before the first seal: nothing was promised
            let names = TieredHNSWIndex.listDirectory(dir + "/index")
            if names.contains(where: { $0.hasSuffix(".partial") }) { compactionsSeen += 1 }
            let index = try TieredHNSWIndex(opening: dir + "/index", parameters: parameters, controller: controller(dir))
            guard index.count >= acked else { return "FAILED: round \(round): \(index.count) vectors after reopen, \(acked) acknowledged" }
            for seq in 0..<acked {
                let expected = vector(seq).withUnsafeBytes { Array($0) }
                guard index.vectorBytes(label: UInt64(seq)) == expected else { return "FAILED: round \(round): label \(seq) missing or changed" }
            }
            for seq in stride(from: 0, to: acked, by: max(acked / 50, 1)) {
                let found = try vector(seq).withUnsafeBytes { try index.search(query: $0, k: 1, efRuntime: 64, filter: nil) }
                guard found.first?.label == UInt64(seq) else { return "FAILED: round \(round): label \(seq) not found by its own vector" }
            }
            index.drop()
            passed += 1
            totalAcked += acked
            for name in TieredHNSWIndex.listDirectory(dir + "/index") { unlink(dir + "/index/" + name) }
            rmdir(dir + "/index"); rmdir(dir)
        }
        return "tiered kill -9 test: \(passed)/\(rounds) rounds with acknowledged seals passed (writer killed after 0.3–3 s; "
            + "every reopen loaded without rebuilding and returned every acknowledged vector exactly and by its own query; "
            + "\(totalAcked / max(passed, 1)) acknowledged vectors per round on average; \(compactionsSeen) kills left a "
            + "half-written segment behind)"
    }
}

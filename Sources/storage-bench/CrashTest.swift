// kill -9 against the page-file writer: a child process appends and commits in a loop, reporting each acknowledged
// commit on a pipe; the parent kills it at a random moment, reopens the file and checks that it loads, that no
// acknowledged record is missing, and that every committed page verifies and holds the expected records.
#if canImport(Glibc)
import Glibc
#endif
import Storage

enum CrashTest {
    static let layout = try! PageLayout(elementType: .float32, dimension: 32, maxNeighbors0: 16)
    static let recordsPerCommit = 500

    /// Record `seq`'s vector: every element is Float(seq), neighbors [seq % 16 items of seq].
    static func vector(_ seq: Int) -> [Float] { [Float](repeating: Float(seq), count: layout.dimension) }
    static func neighbors(_ seq: Int) -> [UInt32] { [UInt32](repeating: UInt32(truncatingIfNeeded: seq), count: seq % 17) }

    /// The child: append and commit forever, printing "<records committed>\n" after each commit.
    static func writer(path: String) throws -> Never {
        let w = try PageFileWriter.create(path: path, layout: layout, batchPages: 8)
        var seq = 0
        while true {
            for _ in 0..<recordsPerCommit {
                try vector(seq).withUnsafeBytes { v in
                    try neighbors(seq).withUnsafeBufferPointer { _ = try w.append(vector: v, neighbors: $0) }
                }
                seq += 1
            }
            try w.commit(metadata: Array("records \(seq)".utf8))
            let line = "\(seq)\n"
            line.utf8CString.withUnsafeBufferPointer { p in _ = write(1, p.baseAddress, p.count - 1) }
        }
    }

    /// The parent: `rounds` kills at random moments; returns a Markdown line.
    static func run(path: String, rounds: Int) throws -> String {
        var rng = SplitMix64(state: 7)
        var verified = 0, totalRecords = 0
        for _ in 0..<rounds {
            unlink(path)
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw StorageError.system(call: "pipe", path: path, errno: errno) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_addclose(&actions, fds[0])
            let args = [CommandLine.arguments[0], "--crash-writer", path]
            var argv = args.map { strdup($0) } + [nil]
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, args[0], &actions, nil, &argv, environ)
            for p in argv { free(p) }
            posix_spawn_file_actions_destroy(&actions)
            close(fds[1])
            guard rc == 0 else { throw StorageError.system(call: "posix_spawn", path: args[0], errno: rc) }
            // Let it commit for 50–400 ms, reading acknowledgements as they come; then SIGKILL.
            let deadline = now() + Double(50 + Int(rng.next() % 350)) / 1000
            var acked = 0
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            let flags = fcntl(fds[0], F_GETFL)
            _ = fcntl(fds[0], F_SETFL, flags | O_NONBLOCK)
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
            while now() < deadline {
                drain()
                usleep(2000)
            }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            drain()  // acknowledgements written before the kill
            close(fds[0])
            // Reopen: loadable, nothing acknowledged lost, every committed page intact.
            let file = try PageFile(path: path)
            let committed = Int(file.header.recordCount)
            guard committed >= acked, committed % recordsPerCommit == 0 else {
                return "FAILED: \(committed) records committed, \(acked) acknowledged"
            }
            if committed > 0 {
                guard try file.readMetadata() == Array("records \(committed)".utf8) else { return "FAILED: metadata" }
            }
            let reader = try IOURingPageReader(file: file, queueDepth: 32)
            let page = AlignedBuffer(byteCount: layout.pageSize)
            var seq = 0
            // Metadata pages hold no records ("records used" 0), so walking every page is fine.
            for p in 0..<file.pageCount {
                try reader.read(page: p, into: page.pointer)
                let view = PageView(bytes: page.pointer, layout: layout)
                for slot in 0..<view.recordsUsed {
                    let ok = vector(seq).withUnsafeBytes { Array($0) == Array(view.vector(slot)) }
                        && Array(view.neighbors(slot)) == neighbors(seq)
                    guard ok else { return "FAILED: record \(seq) on page \(p)" }
                    seq += 1
                }
            }
            guard seq == committed else { return "FAILED: \(seq) records found, \(committed) committed" }
            verified += 1
            totalRecords += committed
            unlink(path)
        }
        return "kill -9 test: \(verified)/\(rounds) rounds passed (writer killed after 50–400 ms; every reopen loaded, "
            + "kept every acknowledged commit and verified all pages; \(totalRecords / max(rounds, 1)) records per round on average)"
    }
}

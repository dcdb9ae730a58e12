// The cold tier: an index whose segments nobody touched for `vector-cold-after` seconds moves them to
// `vector-cold-dir` (a slower disk or object-store stand-in) and releases all their RAM; the next operation that needs
// them opens them where they are, and after enough searches they move back to the index's own directory.
import Storage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A segment that lives in the cold directory and holds no RAM.
struct ColdSegment {
    let path: String
    let bytes: Int
    let vectors: Int
}

extension TieredHNSWIndex {
    /// Searches of a segment opened from the cold directory before it moves back.
    static let promoteAfterSearches = 32

    /// Manifest lines: segment file names for files in the index's directory, absolute paths for cold ones.
    func manifestEntries(_ s: State) -> [String] {
        s.segments.map { entry(for: $0.path) } + s.cold.map(\.path)
    }

    private func entry(for path: String) -> String {
        path.hasPrefix(directory + "/") ? String(path.dropFirst(directory.count + 1)) : path
    }

    var isCold: Bool { state.withLock { !$0.cold.isEmpty && $0.segments.isEmpty } }

    /// Marks the index used now (the cold clock restarts).
    func touch() { lastAccess.store(monotonicNanoseconds(), ordering: .relaxed) }

    /// Opens cold segments in place before an operation needs them (searches, reads, writes that may hit their labels).
    func warmIfCold() throws {
        touch()
        guard hasCold.load(ordering: .acquiring) else { return }
        try warming.withLock { _ in
            let cold = state.withLock { $0.cold }
            guard !cold.isEmpty else { return }
            var opened: [DiskSegment] = []
            for c in cold {
                // Opened in place and read lazily: no resident lists (they would read the whole cold file now).
                let segment = try DiskSegment(path: c.path, poolBytes: controller.poolShare(for: self) / cold.count,
                                              statistics: controller.counters, residentLists: false)
                try TieredHNSWIndex.applyDeletedSidecar(segment)
                opened.append(segment)
            }
            swapLock.withExclusive {
                state.withLock { s in
                    s.segments += opened
                    for segment in opened { s.warmedFromCold[segment.path] = 0 }
                    s.cold = []
                }
            }
            hasCold.store(false, ordering: .releasing)
            controller.counters.coldLoads.add(opened.count, ordering: .relaxed)
            controller.log("tiering: opened \(opened.count) cold segment(s) of \(directory) in place")
        }
    }

    /// Counts a search of segments opened from the cold directory; the ones searched often enough move back.
    func noteSearch(of segments: [DiskSegment]) {
        let due: [DiskSegment] = state.withLock { s in
            guard !s.warmedFromCold.isEmpty else { return [] }
            var ready: [DiskSegment] = []
            for segment in segments {
                guard let n = s.warmedFromCold[segment.path] else { continue }
                s.warmedFromCold[segment.path] = n + 1
                if n + 1 == TieredHNSWIndex.promoteAfterSearches { ready.append(segment) }
            }
            return ready
        }
        for segment in due { worker.async { self.promote(segment) } }
    }

    /// Moves a segment opened from the cold directory back into the index's directory.
    private func promote(_ segment: DiskSegment) {
        do {
            let name = state.withLock { s -> String in defer { s.nextSegment += 1 }; return "seg-\(s.nextSegment).vsp" }
            let hot = directory + "/" + name
            try TieredHNSWIndex.copyFile(from: segment.path, to: hot)
            let reopened = try DiskSegment(path: hot, poolBytes: 0, statistics: controller.counters)
            try install(reopened, replacing: [segment]) { s in
                // Tombstones set since the file was written live in RAM (and in the sidecar): carry them over.
                for label in segment.deletions(from: 0) { reopened.tombstone(label: label) }
                s.warmedFromCold.removeValue(forKey: segment.path)
            }
            unlink(segment.path + ".deleted")
            controller.counters.promotionsFromCold.add(1, ordering: .relaxed)
        } catch {
            controller.log("tiering: moving \(segment.path) back from the cold directory failed: \(error)")
        }
    }

    /// Moves every segment to the cold directory when the index has been idle for `coldAfter` seconds.
    func coolIfIdle(coldDirectory: String, coldAfterSeconds: Int) {
        guard !coldDirectory.isEmpty, coldAfterSeconds > 0 else { return }
        let idle = monotonicNanoseconds() - lastAccess.load(ordering: .relaxed)
        guard idle > coldAfterSeconds * 1_000_000_000 else { return }
        let (busy, segments) = state.withLock { ($0.busy || $0.sealing != nil || $0.closed, $0.segments) }
        guard !busy, !segments.isEmpty else { return }
        worker.async { self.cool(segments, to: coldDirectory) }
    }

    private func cool(_ segments: [DiskSegment], to coldDirectory: String) {
        do {
            try TieredHNSWIndex.makeDirectory(coldDirectory)
            let prefix = String(directory.split(separator: "/").last ?? "index")
            var moved: [(DiskSegment, ColdSegment)] = []
            for segment in segments {
                let name = String(segment.path.split(separator: "/").last!)
                let target = coldDirectory + "/" + prefix + "-" + name
                try TieredHNSWIndex.copyFile(from: segment.path, to: target)
                // Tombstones set since the file was written live in RAM only: they travel in a sidecar.
                try TieredHNSWIndex.writeDeletedSidecar(target + ".deleted", labels: segment.deletions(from: 0))
                moved.append((segment, ColdSegment(path: target, bytes: segment.ssdBytes, vectors: segment.liveCount)))
            }
            guard !moved.isEmpty else { return }
            let names: [String]? = swapLock.withExclusive {
                state.withLock { s in
                    // Touched while copying: stay warm (the copies are removed below).
                    if s.closed || monotonicNanoseconds() - lastAccess.load(ordering: .relaxed) < 1_000_000_000 { return nil }
                    s.segments.removeAll { segment in moved.contains { $0.0 === segment } }
                    s.cold += moved.map(\.1)
                    // Set with the swap, not after the manifest is written: a search in between would skip
                    // `warmIfCold` and find no segments at all.
                    hasCold.store(true, ordering: .releasing)
                    return manifestEntries(s)
                }
            }
            guard let names else {
                for (_, c) in moved { unlink(c.path); unlink(c.path + ".deleted") }
                return
            }
            try TieredHNSWIndex.writeManifest(directory, names: names)
            for (segment, _) in moved { segment.obsolete.store(true, ordering: .releasing) }
            controller.counters.coolings.add(moved.count, ordering: .relaxed)
            controller.releaseFreedMemory()
            controller.log("tiering: moved \(moved.count) idle segment(s) of \(directory) to \(coldDirectory)")
            for index in controller.liveIndexes where index !== self { index.rebalancePools() }
        } catch {
            controller.log("tiering: moving segments of \(directory) to the cold directory failed: \(error)")
        }
    }

    /// `<segment>.deleted`: labels tombstoned after the segment file was written (UInt64 little-endian each).
    static func writeDeletedSidecar(_ path: String, labels: [UInt64]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw StorageError.system(call: "open", path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        for label in labels { withUnsafeBytes(of: label.littleEndian) { bytes.append(contentsOf: $0) } }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw StorageError.system(call: "write", path: path, errno: errno) }
    }

    /// Applies a segment's `.deleted` sidecar, if it has one.
    static func applyDeletedSidecar(_ segment: DiskSegment) throws {
        let path = segment.path + ".deleted"
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 8)
        while chunk.withUnsafeMutableBytes({ read(fd, $0.baseAddress, 8) }) == 8 {
            segment.tombstone(label: chunk.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        }
    }

    /// Copies a file and syncs it (the cold directory may be another filesystem, so no rename).
    static func copyFile(from source: String, to target: String) throws {
        let input = open(source, O_RDONLY)
        guard input >= 0 else { throw StorageError.system(call: "open", path: source, errno: errno) }
        defer { close(input) }
        let temporary = target + ".partial"
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard output >= 0 else { throw StorageError.system(call: "open", path: temporary, errno: errno) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 { close(output); throw StorageError.system(call: "read", path: source, errno: errno) }
            if n == 0 { break }
            let written = buffer.withUnsafeBytes { write(output, $0.baseAddress, n) }
            if written != n { close(output); throw StorageError.system(call: "write", path: temporary, errno: errno) }
        }
        let synced = fsync(output)
        close(output)
        guard synced == 0 else { throw StorageError.system(call: "fsync", path: temporary, errno: errno) }
        guard rename(temporary, target) == 0 else { throw StorageError.system(call: "rename", path: temporary, errno: errno) }
    }
}

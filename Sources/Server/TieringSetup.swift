// The node's side of SSD tiering: `vector-memory-limit` and `dir` pushed into TieringController.node, the startup
// sweep of orphaned index directories, and `INFO tiering`. The indexes themselves live in module Tiering.
import Keyspace
import Tiering
#if canImport(Glibc)
import Glibc
#endif

extension Server {
    /// Name of the directory under `dir` that holds one sub-directory per tiered vector field.
    static let tieringDirectoryName = "vecshard-tiering"

    /// Called by applyConfig (startup and every CONFIG SET). The process runs in `dir` (main chdirs there, CONFIG SET
    /// dir too, as Redis does), so the working directory is `dir` resolved.
    func applyTieringConfig() {
        let node = TieringController.node
        let limit = config.int("vector-memory-limit")
        // Setting the limit rebalances every index's pools; skip it when CONFIG SET touched something else.
        if node.limit != limit { node.limit = limit }
        // The cold tier (segments idle for `vector-cold-after` seconds move to `vector-cold-dir`); a relative
        // directory is taken from `dir`, as the page files are.
        var coldDirectory = config["vector-cold-dir"]
        if !coldDirectory.isEmpty && !coldDirectory.hasPrefix("/") { coldDirectory = Self.workingDirectory() + "/" + coldDirectory }
        if node.coldDirectory != coldDirectory { node.coldDirectory = coldDirectory }
        let coldAfter = config.int("vector-cold-after")
        if node.coldAfterSeconds != coldAfter { node.coldAfterSeconds = coldAfter }
        let base = Self.workingDirectory() + "/" + Self.tieringDirectoryName
        if node.baseDirectory != base { node.baseDirectory = base }
        let logger = self.logger
        node.setLogger { line in logger.warning(line) }
        let mailbox = self.mailbox
        node.setWritableHandler { mailbox.post { server in server.releaseTieringHeldClients() } }
    }

    /// Write backpressure for `vector-memory-limit`: after a hash write, while a tiered index's next seal is due and
    /// the running one has not landed, the client's reply is sent but its next requests wait (like a client blocked
    /// by BLPOP) until the seal lands. A bulk load then goes at the speed of sealing instead of holding itself in RAM;
    /// other clients (reads, searches, PING) are served meanwhile.
    func holdForTiering(_ client: Client) {
        block(client)
        if tieringHeldClients.isEmpty { tieringHoldsSince = wallClockMilliseconds() }
        tieringHeldClients.append(client.id)
        tieringWriteHolds += 1
    }

    /// Longest a client is held in one go. A merge into a large segment can run for minutes (1M × 128: well over
    /// 60 s), and clients time out long before that (vecbench after 60 s, many applications after seconds): past
    /// this, held clients go on for one more batch of writes each and are held again, so a stalled index takes
    /// writes at a trickle (8 pipelined clients × 64 writes per second) instead of not at all.
    static let tieringMaxHoldMilliseconds: Int64 = 1000

    /// Cron: releases held writers when no index is stalled any more (a missed wake-up must not hold them forever)
    /// or when they have waited `tieringMaxHoldMilliseconds`.
    func releaseTieringHoldsIfDue() {
        guard !tieringHeldClients.isEmpty else { return }
        if !TieringController.node.writeStalled
            || wallClockMilliseconds() - tieringHoldsSince >= Self.tieringMaxHoldMilliseconds {
            releaseTieringHeldClients()
        }
    }

    func releaseTieringHeldClients() {
        let held = tieringHeldClients
        tieringHeldClients = []
        for id in held { unblock(clientID: id) { _ in } }
    }

    /// Clears `<dir>/vecshard-tiering` at startup of every index directory the loaded snapshot does not use (`keeping`):
    /// indexes dropped, or created after the last save, never come back, so their segment files would only take disk
    /// space.
    func removeStaleTieringFiles(keeping referenced: Set<String> = []) {
        let base = TieringController.node.baseDirectory
        var removed = 0, failed = 0
        for name in Self.directoryEntries(base) where !referenced.contains(name) {
            if Self.removeTree(base + "/" + name) { removed += 1 } else { failed += 1 }
        }
        if removed > 0 { logger.notice("Removed \(removed) stale tiered index director\(removed == 1 ? "y" : "ies") from \(base) (not in the snapshot)") }
        if failed > 0 { logger.warning("Could not remove \(failed) entr\(failed == 1 ? "y" : "ies") of \(base): \(String(cString: strerror(errno)))") }
    }

    func tieringInfoText() -> String {
        "# Tiering\r\n" + TieringController.node.report.infoLines.map { $0 + "\r\n" }.joined()
            + "tiering_write_stalled:\(TieringController.node.writeStalled ? 1 : 0)\r\n"
            + "tiering_write_holds:\(tieringWriteHolds)\r\n" + "tiering_held_clients:\(tieringHeldClients.count)\r\n"
    }

    static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func directoryEntries(_ path: String) -> [String] { TieredHNSWIndex.listDirectory(path) }

    /// `rm -r` without following symbolic links (a link is removed, never what it points at).
    static func removeTree(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            var ok = true
            for name in directoryEntries(path) where !removeTree(path + "/" + name) { ok = false }
            return rmdir(path) == 0 && ok
        }
        return unlink(path) == 0
    }
}

// Node persistence: SAVE, BGSAVE and SHUTDOWN write `<dir>/<dbfilename>` (VecShard's own format, not RDB), startup
// loads it. Tiered vector fields are flushed into their page files and referred to by the snapshot, never copied.
import Keyspace
import Search
import Storage
import Tiering
#if canImport(Glibc)
import Glibc
#endif

/// The file around the search and keyspace sections.
///
/// ### Layout
///     | magic "VSSNAP" | major: u8 | minor: u8 | saved at, ms since epoch: fixed64 |
///     | search section (SearchSnapshot.swift) | keyspace section (KeyspaceSnapshot.swift) |
///     | spell-check dictionaries, only when there are any: | 'D' | count: varint | (name: blob | terms: varint | term: blob*)* |
///     | CRC32C of every byte before it: fixed32 |
enum SnapshotFile {
    static let magic = Array("VSSNAP".utf8)
    static let major: UInt8 = 1, minor: UInt8 = 0
    static let headerSize = magic.count + 2 + 8

    static func header(savedAt: Int64) -> SnapshotWriter {
        var w = SnapshotWriter()
        w.append(magic)
        w.byte(major)
        w.byte(minor)
        w.fixed64(UInt64(bitPattern: savedAt))
        return w
    }

    static func appendChecksum(_ w: inout SnapshotWriter) {
        let crc = w.bytes.withUnsafeBytes { CRC32C.checksum($0) }
        w.fixed32(crc)
    }

    /// Checks magic, version and checksum; returns a reader over the sections and the save time.
    static func open(_ bytes: [UInt8]) throws(SnapshotError) -> (reader: SnapshotReader, savedAt: Int64) {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw SnapshotError("Wrong signature trying to load DB from file")
        }
        guard bytes.count >= headerSize + 4 else { throw SnapshotError("Short read loading DB (\(bytes.count) bytes)") }
        guard bytes[magic.count] == major else {
            throw SnapshotError("Can't handle snapshot format version \(bytes[magic.count]).\(bytes[magic.count + 1])")
        }
        let body = bytes.count - 4
        var tail = SnapshotReader(bytes, from: body)
        let stored = try tail.fixed32()
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard stored == computed else {
            throw SnapshotError("Wrong snapshot checksum expected: (\(hex(stored))) got (\(hex(computed)))")
        }
        var header = SnapshotReader(bytes, from: magic.count + 2, to: headerSize)
        let savedAt = Int64(bitPattern: try header.fixed64())
        return (SnapshotReader(bytes, from: headerSize, to: body), savedAt)
    }

    private static func hex(_ v: UInt32) -> String { String(v, radix: 16) }
}

/// Why the snapshot file could not be written or loaded (the text is what the log shows).
struct SnapshotFileError: Error, CustomStringConvertible {
    let description: String
}

extension Server {
    /// True when the `save` directive configures save points: SHUTDOWN (and SIGTERM) then save, as in Redis.
    var hasSavePoints: Bool { !config["save"].trimmingCharacters(in: " \"'").isEmpty }

    /// SAVE: flushes tiered indexes into their page files, then writes the snapshot to `path` atomically. Logs and
    /// returns false on failure (the previous file stays as it was).
    @discardableResult
    func saveSnapshot(to path: String) -> Bool {
        do {
            let started = monotonicNanoseconds()
            try search.flushTieredIndexes()
            let now = wallClockMilliseconds()
            var w = SnapshotFile.header(savedAt: now)
            let sources = search.writeSnapshot(into: &w)
            let keys = KeyspaceSnapshot.write(database, into: &w, externalSource: sources.source(of:))
            Self.writeDictionaries(search.dictionaries, into: &w)
            SnapshotFile.appendChecksum(&w)
            try Self.writeAtomically(w.bytes, to: path)
            lastSave = now / 1000
            dirtyAtLastSave = database.dirty
            lastSaveSucceeded = true
            logger.notice("DB saved on disk (\(keys) keys, \(w.bytes.count) bytes, \(Self.seconds(since: started)) seconds)")
            return true
        } catch {
            lastSaveSucceeded = false
            logger.warning("Failed saving the DB to \(path): \(error)")
            return false
        }
    }

    static let dictionariesMarker = UInt8(ascii: "D")

    /// FT.DICTADD's dictionaries after the keyspace, names sorted; nothing when there are none, so such a file loads in
    /// builds that predate them.
    static func writeDictionaries(_ dictionaries: [String: SpellDictionary], into w: inout SnapshotWriter) {
        guard !dictionaries.isEmpty else { return }
        w.byte(dictionariesMarker)
        w.varint(dictionaries.count)
        for (name, dictionary) in dictionaries.sorted(by: { $0.key < $1.key }) {
            w.blob(Array(name.utf8))
            let strings = dictionary.strings
            w.varint(strings.count)
            for s in strings { w.blob(s) }
        }
    }

    static func readDictionaries(_ r: inout SnapshotReader) throws(SnapshotError) -> [String: SpellDictionary] {
        guard try r.byte() == dictionariesMarker else { throw SnapshotError("trailing bytes after the keyspace") }
        var out: [String: SpellDictionary] = [:]
        for _ in 0..<(try r.count()) {
            let name = try r.string()
            var dictionary = SpellDictionary()
            for _ in 0..<(try r.count()) { _ = dictionary.add(try r.blob()) }
            out[name] = dictionary
        }
        return out
    }

    /// Startup: loads `path` when it exists and returns the tiered index directories it uses (nil: no file). Throws
    /// when the file is unreadable, damaged or not ours: the node must not start with less than it saved.
    func loadSnapshot(from path: String) throws(SnapshotFileError) -> Set<String>? {
        guard let bytes = try Self.readFile(path) else { return nil }
        let started = monotonicNanoseconds()
        do {
            var (reader, savedAt) = try SnapshotFile.open(bytes)
            logger.notice("Loading snapshot \(path) saved at \(savedAt / 1000) (\(bytes.count) bytes)")
            let sources = try search.restoreSnapshot(from: &reader)
            var lostVectors = 0
            let tiering = search.tiering
            let loaded = try KeyspaceSnapshot.read(from: &reader, into: database, resolve: { source, label throws(SnapshotError) in
                let reference = try sources.reference(source: source, label: label)
                if reference == nil { lostVectors += 1 }
                return reference
            }, progress: {
                // All-RAM indexes link vectors in the background: let them catch up instead of buffering the whole load
                // (at most a second at a time, as held writers are: a stall must not stop the load for good).
                let deadline = monotonicNanoseconds() + Int(Self.tieringMaxHoldMilliseconds) * 1_000_000
                while tiering.writeStalled && monotonicNanoseconds() < deadline { usleep(1000) }
            })
            if !reader.isAtEnd { search.dictionaries = try Self.readDictionaries(&reader) }
            guard reader.isAtEnd else { throw SnapshotError("trailing bytes after the keyspace") }
            let cleaned = search.finishRestore()
            dirtyAtLastSave = database.dirty
            if lostVectors > 0 {
                logger.warning("\(lostVectors) vector field(s) of the snapshot are no longer in their tiered index files (deleted after the snapshot was taken): left out")
            }
            if cleaned.documents > 0 || cleaned.records > 0 {
                logger.notice("Tiered indexes: \(cleaned.documents) document(s) of the snapshot did not come back, \(cleaned.records) stale record(s) tombstoned")
            }
            logger.notice("Done loading snapshot, keys loaded: \(loaded.loaded), keys expired: \(loaded.expired).")
            if sources.reopenedFields > 0 {
                logger.notice("Reopened \(sources.reopenedFields) tiered index director\(sources.reopenedFields == 1 ? "y" : "ies") without rebuilding")
            }
            logger.notice("DB loaded from disk: \(Self.seconds(since: started)) seconds")
            return sources.directories
        } catch {
            throw SnapshotFileError(description: "Bad snapshot file \(path): \(error)")
        }
    }

    /// Redis's prepareForShutdown: saves first when asked; false (the node keeps running) when that save failed.
    func prepareForShutdown(save: Bool) -> Bool {
        if save {
            logger.notice("Saving the final snapshot before exiting.")
            guard saveSnapshot(to: config["dbfilename"]) else {
                logger.warning("Error trying to save the DB, can't exit.")
                return false
            }
        }
        stop()
        return true
    }

    /// Temporary file, fsync, rename over `path`, fsync of the directory: a crash leaves the old file or the new one.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(SnapshotFileError) {
        let slash = path.lastIndex(of: "/")
        // Unique per call, not just per process: tests save from several nodes of one process at once.
        let temporary = (slash.map { String(path[...$0]) } ?? "") + "temp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).vssnap"
        do { try writeFileAtomically(bytes, to: path, temporary: temporary) } catch {
            throw SnapshotFileError(description: "Write error saving DB on disk: \(error)")
        }
    }

    /// The whole file, or nil when it does not exist.
    static func readFile(_ path: String) throws(SnapshotFileError) -> [UInt8]? {
        do { return try readWholeFile(path) } catch {
            throw SnapshotFileError(description: "Error reading snapshot file \(path): \(error)")
        }
    }

    private static func seconds(since start: Int) -> String {
        let ms = (monotonicNanoseconds() - start) / 1_000_000
        let frac = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }
}

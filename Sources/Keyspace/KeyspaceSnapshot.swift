// The keyspace's part of the node snapshot (strings, hashes, absolute expiry times), and the bounds-checked byte
// coding every snapshot section uses. The file around the sections (magic, version, checksum) is the server's.

/// A snapshot that cannot be read back: truncated, damaged, or not ours.
public struct SnapshotError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Appends little-endian integers, LEB128 varints and length-prefixed byte strings.
public struct SnapshotWriter {
    public private(set) var bytes: [UInt8] = []
    public init() {}

    public mutating func byte(_ value: UInt8) { bytes.append(value) }
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func varint(_ value: Int) { varint(UInt64(bitPattern: Int64(value))) }

    public mutating func fixed32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func fixed64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func double(_ value: Double) { fixed64(value.bitPattern) }

    public mutating func blob(_ value: UnsafeRawBufferPointer) {
        varint(value.count)
        bytes.append(contentsOf: value)
    }
    public mutating func blob(_ value: Bytes) { value.withUnsafeBytes { blob($0) } }
    public mutating func blob(_ value: [UInt8]) { value.withUnsafeBytes { blob($0) } }
    public mutating func string(_ value: String) { blob(Array(value.utf8)) }

    /// Raw bytes without a length (the file's framing).
    public mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
}

/// Reads what `SnapshotWriter` wrote; every read checks the bounds and throws `SnapshotError` past the end.
public struct SnapshotReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        offset = start
        self.end = end ?? bytes.count
    }

    public var isAtEnd: Bool { offset >= end }

    private mutating func take(_ count: Int) throws(SnapshotError) -> Range<Int> {
        guard count >= 0, end - offset >= count else { throw SnapshotError("unexpected end of data at byte \(offset)") }
        defer { offset += count }
        return offset..<(offset + count)
    }

    public mutating func byte() throws(SnapshotError) -> UInt8 { bytes[try take(1).lowerBound] }

    public mutating func bool() throws(SnapshotError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let b: throw SnapshotError("bad boolean \(b) at byte \(offset - 1)")
        }
    }

    public mutating func varint() throws(SnapshotError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw SnapshotError("varint too long at byte \(offset)") }
            value |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
    }

    public mutating func int() throws(SnapshotError) -> Int { Int(Int64(bitPattern: try varint())) }

    /// A count or length: non-negative and no larger than what is left to read (each element takes a byte at least),
    /// so a damaged count cannot make the loader reserve terabytes.
    public mutating func count() throws(SnapshotError) -> Int {
        let n = try int()
        guard n >= 0, n <= end - offset else { throw SnapshotError("bad length \(n) at byte \(offset)") }
        return n
    }

    public mutating func fixed32() throws(SnapshotError) -> UInt32 {
        let r = try take(4)
        return bytes[r].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    public mutating func fixed64() throws(SnapshotError) -> UInt64 {
        let r = try take(8)
        return bytes[r].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    public mutating func double() throws(SnapshotError) -> Double { Double(bitPattern: try fixed64()) }

    public mutating func blob() throws(SnapshotError) -> [UInt8] { Array(bytes[try take(try count())]) }
    public mutating func bytesValue() throws(SnapshotError) -> Bytes { Bytes(try blob()) }
    public mutating func string() throws(SnapshotError) -> String { String(decoding: try blob(), as: UTF8.self) }
}

/// Writes and loads every live key with its value and absolute expiry time.
///
/// ### Layout
///     entry*  | end: 0xFF |
///     entry:  | kind: 0 string, 1 hash, 2 suggestions | key: blob | has expiry: bool | expiry ms since epoch: fixed64 (if any) | value |
///     string: | bytes: blob |
///     suggestions: | entries: varint | (string: blob | score: float32 bits as varint | has payload: bool | payload: blob (if any))* |
///     hash:   | pairs: varint | (field: blob | 0 bytes: blob  or  1 reference: source varint, label varint)* |
///
/// A hash value held by a vector index (`ExternalReference`) is written as a reference when `externalSource` names the
/// index field it lives in (a tiered index, whose page files are its persistence), else as its bytes.
public enum KeyspaceSnapshot {
    static let stringKind: UInt8 = 0, hashKind: UInt8 = 1, suggestionsKind: UInt8 = 2, endMarker: UInt8 = 0xFF
    static let inlineValue: UInt8 = 0, referenceValue: UInt8 = 1

    /// Appends the keyspace; returns the number of keys written (keys already past their expiry are left out).
    @discardableResult
    public static func write(_ database: Database, into w: inout SnapshotWriter,
                             externalSource: (ExternalReference) -> UInt32?) -> Int {
        var written = 0
        var cursor = 0
        repeat {
            cursor = database.scan(cursor: cursor, count: 1024) { key, value in
                switch value {
                case .string(let s):
                    w.byte(stringKind)
                    writeKey(key, database, &w)
                    w.blob(s)
                case .hash(let h):
                    w.byte(hashKind)
                    writeKey(key, database, &w)
                    w.varint(h.count)
                    h.forEachStored { field, stored in
                        w.blob(field)
                        if let reference = stored.externalReference, let source = externalSource(reference) {
                            w.byte(referenceValue)
                            w.varint(UInt64(source))
                            w.varint(UInt64(reference.label))
                        } else {
                            w.byte(inlineValue)
                            w.blob(HashValue.resolved(stored))
                        }
                    }
                case .suggestions(let trie):
                    // In the trie's own order, re-added one by one on load, as RediSearch saves and loads it.
                    w.byte(suggestionsKind)
                    writeKey(key, database, &w)
                    w.varint(trie.count)
                    trie.forEachEntry { string, score, payload in
                        w.blob(string)
                        w.varint(UInt64(score.bitPattern))
                        w.bool(payload != nil)
                        if let payload { w.blob(payload) }
                    }
                }
                written += 1
            }
        } while cursor != 0
        w.byte(endMarker)
        return written
    }

    private static func writeKey(_ key: Bytes, _ database: Database, _ w: inout SnapshotWriter) {
        w.blob(key)
        if let at = database.expireTime(key) {
            w.bool(true)
            w.fixed64(UInt64(bitPattern: at))
        } else {
            w.bool(false)
        }
    }

    /// Loads keys into `database` (each store emits its `.written` event, so search indexes index them as they come).
    /// Keys whose expiry time has passed are skipped, as Redis does when a master loads an RDB. `resolve` turns a
    /// written reference back into one: it throws for a source the snapshot never declared, and returns nil when the
    /// value is gone from its source (the field is left out; a hash left with no field is not loaded); `progress`
    /// runs every 1,024 keys (the server waits there for background indexing to catch up).
    @discardableResult
    public static func read(from r: inout SnapshotReader, into database: Database,
                            resolve: (_ source: UInt32, _ label: UInt32) throws(SnapshotError) -> ExternalReference?,
                            progress: () -> Void = {}) throws(SnapshotError) -> (loaded: Int, expired: Int) {
        let now = database.clock()
        var loaded = 0, expired = 0
        while true {
            let kind = try r.byte()
            if kind == endMarker { break }
            guard kind == stringKind || kind == hashKind || kind == suggestionsKind else {
                throw SnapshotError("unknown value kind \(kind)")
            }
            let key = try r.bytesValue()
            let expireAt: Int64? = try r.bool() ? Int64(bitPattern: try r.fixed64()) : nil
            let value: Value
            if kind == stringKind {
                value = .string(try r.bytesValue())
            } else if kind == suggestionsKind {
                value = .suggestions(try readSuggestions(&r))
            } else {
                guard let hash = try readHash(&r, limits: database.hashLimits, resolve: resolve) else { continue }
                value = .hash(hash)
            }
            if let expireAt, expireAt <= now { expired += 1; continue }
            database.set(key, value, expireAt: expireAt)
            loaded += 1
            if loaded % 1024 == 0 { progress() }
        }
        return (loaded, expired)
    }

    private static func readSuggestions(_ r: inout SnapshotReader) throws(SnapshotError) -> SuggestionTrie {
        var trie = SuggestionTrie()
        for _ in 0..<(try r.count()) {
            let string = try r.blob()
            guard let bits = UInt32(exactly: try r.varint()) else { throw SnapshotError("bad suggestion score") }
            let payload: [UInt8]? = try r.bool() ? try r.blob() : nil
            trie.add(string, score: Float(bitPattern: bits), increment: false, payload: payload)
        }
        return trie
    }

    private static func readHash(_ r: inout SnapshotReader, limits: HashEncodingLimits,
                                 resolve: (UInt32, UInt32) throws(SnapshotError) -> ExternalReference?) throws(SnapshotError) -> HashValue? {
        let pairs = try r.count()
        var inline: [(Bytes, Bytes)] = []
        var external: [(Bytes, ExternalReference)] = []
        inline.reserveCapacity(pairs)
        for _ in 0..<pairs {
            let field = try r.bytesValue()
            switch try r.byte() {
            case inlineValue:
                inline.append((field, try r.bytesValue()))
            case referenceValue:
                let source = try r.varint(), label = try r.varint()
                guard let s = UInt32(exactly: source), let l = UInt32(exactly: label) else {
                    throw SnapshotError("bad vector reference \(source)/\(label)")
                }
                if let reference = try resolve(s, l) { external.append((field, reference)) }
            case let tag:
                throw SnapshotError("unknown hash value tag \(tag)")
            }
        }
        guard pairs > 0 else { throw SnapshotError("empty hash") }
        if inline.isEmpty && external.isEmpty { return nil }
        var hash = HashValue()
        let longest = inline.reduce(0) { max($0, $1.0.count, $1.1.count) }
        hash.prepareForWrite(pairs: inline.count + external.count, longestArgument: longest, limits: limits)
        for (field, value) in inline { hash.set(field, value, limits: limits) }
        // Last: `setExternal` packs the reference with the inline fields when they all fit, as indexing does.
        for (field, reference) in external { hash.setExternal(field, reference, limits: limits) }
        return hash
    }
}

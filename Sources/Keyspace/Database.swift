// Database: the keyspace of one node, kept per hash slot, with lazy and active expiry and change events.

/// A change to a key. Every mutation emits one; search indexes and WATCH subscribe.
public struct KeyEvent: Sendable {
    public enum Kind: Sendable, Equatable {
        /// The key was written (created or modified), including hash field changes.
        case written
        /// The key was deleted by DEL/UNLINK/GETDEL or by becoming an empty hash.
        case deleted
        /// The key expired (lazily or in the active cycle).
        case expired
        /// The key was renamed away (it no longer exists under this name); `renamedTo` holds it.
        case renamedFrom
        /// The key received a renamed value.
        case renamedTo
        /// Only the TTL changed (EXPIRE/PERSIST): content unchanged.
        case ttlChanged
    }
    public let kind: Kind
    public let key: Bytes
    public init(kind: Kind, key: Bytes) { self.kind = kind; self.key = key }
}

/// Milliseconds since the Unix epoch; injectable so expiry can be tested without sleeping.
public typealias Clock = @Sendable () -> Int64

public func wallClockMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// The keyspace. Keys live in one table per hash slot (as Valkey 8's kvstore), which makes the per-slot key index
/// free: CLUSTER COUNTKEYSINSLOT is a count, GETKEYSINSLOT and slot migration walk one table. The tables are
/// `SlotKeys` (dense entries plus a small index) rather than Swift Dictionaries, which cost ~30 bytes more a key.
/// Not thread-safe: only the event loop thread touches it.
public final class Database {
    private var slots: [SlotKeys]
    /// Absolute expiry time in ms for keys that have one.
    public private(set) var expires: [Bytes: Int64] = [:]
    public private(set) var count = 0
    public var clock: Clock
    public var hashLimits = HashEncodingLimits()
    private var observers: [(KeyEvent) -> Void] = []
    /// Incremented on every mutation; INFO's `rdb_changes_since_last_save` stand-in.
    public private(set) var dirty = 0
    /// Counters for INFO stats.
    public private(set) var expiredKeys = 0
    public private(set) var keyspaceHits = 0
    public private(set) var keyspaceMisses = 0

    public init(clock: @escaping Clock = wallClockMilliseconds) {
        self.clock = clock
        slots = Array(repeating: SlotKeys(), count: HashSlot.count)
    }

    /// Registers a change listener; called synchronously after each mutation, on the loop thread.
    public func subscribe(_ observer: @escaping (KeyEvent) -> Void) { observers.append(observer) }

    public func emit(_ kind: KeyEvent.Kind, _ key: Bytes) {
        dirty &+= 1
        if observers.isEmpty { return }
        let event = KeyEvent(kind: kind, key: key)
        for o in observers { o(event) }
    }

    @inline(__always) static func slot(_ key: Bytes) -> Int { Int(HashSlot(key: key).rawValue) }

    // MARK: reading

    /// True when the key has passed its expiry time (it is then removed on access).
    private func isExpired(_ key: Bytes, now: Int64) -> Bool {
        guard !expires.isEmpty, let at = expires[key] else { return false }
        return at <= now
    }

    /// Removes an expired key; returns true when it did.
    @discardableResult
    public func expireIfNeeded(_ key: Bytes) -> Bool {
        guard !expires.isEmpty, let at = expires[key], at <= clock() else { return false }
        removeEntry(key, slot: Self.slot(key))
        expiredKeys += 1
        emit(.expired, key)
        return true
    }

    /// Looks up a live key (expiring it lazily), without touching hit/miss statistics.
    public func peek(_ key: Bytes) -> Value? {
        let s = Self.slot(key)
        guard let v = slots[s][key] else { return nil }
        if expireIfNeeded(key) { return nil }
        return v
    }

    /// Looks up a live key for a read command, counting keyspace hits and misses as Redis does.
    public func get(_ key: Bytes) -> Value? {
        let v = peek(key)
        if v == nil { keyspaceMisses += 1 } else { keyspaceHits += 1 }
        return v
    }

    public func exists(_ key: Bytes) -> Bool { peek(key) != nil }

    /// Milliseconds to live, -1 without expiry, -2 when missing (PTTL semantics).
    public func pttl(_ key: Bytes) -> Int64 {
        guard peek(key) != nil else { return -2 }
        guard let at = expires[key] else { return -1 }
        return max(0, at - clock())
    }

    public func expireTime(_ key: Bytes) -> Int64? { expires[key] }

    // MARK: writing

    /// Stores a value. `keepTTL` keeps an existing expiry; otherwise SET semantics clear it.
    public func set(_ key: Bytes, _ value: Value, keepTTL: Bool = false) {
        let s = Self.slot(key)
        expireIfNeeded(key)
        if slots[s].updateValue(value, forKey: key) == nil { count += 1 }
        if !keepTTL, !expires.isEmpty { expires.removeValue(forKey: key) }
        emit(.written, key)
    }

    /// Reads and replaces a key's value in one slot computation and one hash lookup (INCR and friends), keeping its
    /// TTL. `body` returns its result and whether it wrote; a write emits one `.written` event.
    /// Inlinable so callers specialize `R`: the generic (R, Bool) tuple otherwise costs a runtime metadata lookup per
    /// call (~3 % of an INCR benchmark in perf).
    @inlinable
    public func modify<R>(_ key: Bytes, _ body: (inout Value?) -> (result: R, wrote: Bool)) -> R {
        var result: R?
        modifyEntry(key) { entry in
            let outcome = body(&entry)
            result = outcome.result
            return outcome.wrote
        }
        return result!
    }

    /// `modify` without generics: `body` returns whether it wrote.
    @usableFromInline
    func modifyEntry(_ key: Bytes, _ body: (inout Value?) -> Bool) {
        let s = Self.slot(key)
        expireIfNeeded(key)
        let (wrote, change) = Self.modifyEntry(in: &slots[s], key, body)
        if change != 0 { count += change }
        if change < 0 && !expires.isEmpty { expires.removeValue(forKey: key) }
        if wrote { emit(.written, key) }
    }

    /// The table work of `modifyEntry` on the slot's table, borrowed in place: reading `slots[s]` for each
    /// step retained and released its storage every time. Returns whether `body` wrote and the change in key count.
    private static func modifyEntry(in slot: inout SlotKeys, _ key: Bytes, _ body: (inout Value?) -> Bool) -> (Bool, Int) {
        // Existing keys are changed through their entry number: one lookup of the key in all.
        let probe = slot.probe(key)
        guard let index = probe.index else {
            var entry: Value?
            let wrote = body(&entry)
            guard let entry else { return (wrote, 0) }
            slot.insertNew(key.compacted, entry, after: probe)  // the key may sit in a reused lookup buffer (Bytes(_:reusing:))
            return (wrote, 1)
        }
        var entry: Value? = slot.value(at: index)
        slot.setValue(.string(Bytes()), at: index)  // drop the table's reference so `body` mutates in place
        let wrote = body(&entry)
        guard let entry else {
            slot.remove(at: index)
            return (wrote, -1)
        }
        slot.setValue(entry, at: index)
        return (wrote, 0)
    }

    /// Stores a value with an absolute expiry in ms (nil: none), replacing any previous value and TTL, as one
    /// `.written` event (SET EX/PX/EXAT/PXAT, SETEX, COPY). A time already past leaves the key to lazy expiry, as Redis.
    public func set(_ key: Bytes, _ value: Value, expireAt: Int64?) {
        let s = Self.slot(key)
        expireIfNeeded(key)
        if slots[s].updateValue(value, forKey: key) == nil { count += 1 }
        if let expireAt {
            expires[key] = expireAt
        } else if !expires.isEmpty {
            expires.removeValue(forKey: key)
        }
        emit(.written, key)
    }

    /// Mutates a string value in place (APPEND, SETRANGE), creating it empty when missing and keeping its TTL; emits one
    /// `.written` event. Returns nil, changing nothing, when the key holds another type (the caller replies WRONGTYPE).
    @discardableResult
    public func updateString<R>(_ key: Bytes, _ body: (inout [UInt8]) -> R) -> R? {
        let s = Self.slot(key)
        expireIfNeeded(key)
        var bytes: [UInt8]
        switch slots[s][key] {
        case .string(let b)?:
            bytes = b.storage
            slots[s][key] = .string(Bytes([]))  // drop the table's reference so `body` mutates in place
        case .hash?, .suggestions?:
            return nil
        case nil:
            bytes = []
            count += 1
        }
        let result = body(&bytes)
        slots[s][key] = .string(Bytes(bytes))
        emit(.written, key)
        return result
    }

    /// COPY: duplicates a live value and its TTL under `to` (values are copy-on-write, so this is cheap). Returns false,
    /// changing nothing, when `from` is missing or `to` exists and `replace` is false.
    public func copy(_ from: Bytes, to: Bytes, replace: Bool) -> Bool {
        guard let value = peek(from) else { return false }
        if !replace && peek(to) != nil { return false }
        set(to, value, expireAt: expires[from])
        return true
    }

    /// Mutates a hash in place (creating it when `create`), emitting one event. Returns nil when the key is missing and
    /// `create` is false, `.failure` when it holds another type (the caller replies WRONGTYPE). Deletes the key when the
    /// hash ends up empty, as Redis does. Inlinable so callers specialize `R` (see `modify`).
    @inlinable
    public func updateHash<R>(_ key: Bytes, create: Bool, _ body: (inout HashValue) throws -> R) rethrows -> Result<R, WrongTypeError>? {
        var result: R?
        switch try mutateHash(key, create: create, { result = try body(&$0) }) {
        case .missing: return nil
        case .wrongType: return .failure(WrongTypeError())
        case .done: return .success(result!)
        }
    }

    @usableFromInline
    enum HashMutation { case missing, wrongType, done }

    /// `updateHash` without generics.
    @usableFromInline
    func mutateHash(_ key: Bytes, create: Bool, _ body: (inout HashValue) throws -> Void) rethrows -> HashMutation {
        let s = Self.slot(key)
        expireIfNeeded(key)
        let (outcome, change) = try Self.mutateHash(in: &slots[s], key, create: create, body)
        switch change {
        case .created:
            count += 1
            emit(.written, key)
        case .written:
            emit(.written, key)
        case .deleted:
            count -= 1
            if !expires.isEmpty { expires.removeValue(forKey: key) }
            emit(.deleted, key)
        case .none:
            break
        }
        return outcome
    }

    private enum KeyChange { case none, created, written, deleted }

    /// The table work of `mutateHash` on the slot's table, borrowed in place (see `modifyEntry(in:)`).
    private static func mutateHash(in slot: inout SlotKeys, _ key: Bytes, create: Bool,
                                   _ body: (inout HashValue) throws -> Void) rethrows -> (HashMutation, KeyChange) {
        let probe = slot.probe(key)
        guard let index = probe.index else {
            guard create else { return (.missing, .none) }
            var hash = HashValue()
            try body(&hash)  // a throw leaves nothing behind: the key was never stored
            if hash.isEmpty { return (.done, .none) }
            slot.insertNew(key, .hash(hash), after: probe)
            return (.done, .created)
        }
        // Existing keys are changed through their entry number: one lookup of the key in all.
        guard case .hash(var hash) = slot.value(at: index) else { return (.wrongType, .none) }
        slot.setValue(.string(Bytes()), at: index)  // drop our reference so the mutation below is in place
        do {
            try body(&hash)
        } catch {
            slot.setValue(.hash(hash), at: index)  // leave the keyspace as it was
            throw error
        }
        if hash.isEmpty {
            slot.remove(at: index)
            return (.done, .deleted)
        }
        slot.setValue(.hash(hash), at: index)
        return (.done, .written)
    }

    /// Swaps a hash field's value for the same content held elsewhere (an `ExternalReference`), without an
    /// event: nothing a client can observe changes. Returns false when the key or field is gone.
    @discardableResult
    public func replaceHashFieldSilently(_ key: Bytes, field: Bytes, with value: Bytes) -> Bool {
        let s = Self.slot(key)
        guard case .hash(var h)? = slots[s][key], h.contains(field) else { return false }
        slots[s][key] = .string(Bytes([]))  // drop our reference so the mutation below is in place
        if let reference = value.externalReference { h.setExternal(field, reference, limits: hashLimits) } else { h.set(field, value, limits: hashLimits) }
        slots[s][key] = .hash(h)
        return true
    }

    private func removeEntry(_ key: Bytes, slot: Int) {
        if slots[slot].removeValue(forKey: key) != nil { count -= 1 }
        if !expires.isEmpty { expires.removeValue(forKey: key) }
    }

    /// Deletes a key; returns true when it existed (and was not already expired).
    @discardableResult
    public func delete(_ key: Bytes) -> Bool {
        guard peek(key) != nil else { return false }
        removeEntry(key, slot: Self.slot(key))
        emit(.deleted, key)
        return true
    }

    /// Sets an absolute expiry in ms. A time in the past deletes the key (as Redis does) and returns false.
    @discardableResult
    public func setExpire(_ key: Bytes, at: Int64) -> Bool {
        guard peek(key) != nil else { return false }
        if at <= clock() {
            removeEntry(key, slot: Self.slot(key))
            emit(.deleted, key)
            return false
        }
        expires[key] = at
        emit(.ttlChanged, key)
        return true
    }

    /// Removes an expiry; returns true when there was one.
    @discardableResult
    public func persist(_ key: Bytes) -> Bool {
        guard peek(key) != nil, expires.removeValue(forKey: key) != nil else { return false }
        emit(.ttlChanged, key)
        return true
    }

    /// Moves a value to a new name, keeping its TTL, replacing whatever was there.
    public func rename(_ from: Bytes, to: Bytes) -> Bool {
        guard let value = peek(from) else { return false }
        if from == to { return true }
        let ttl = expires[from]
        removeEntry(from, slot: Self.slot(from))
        emit(.renamedFrom, from)
        if peek(to) != nil { removeEntry(to, slot: Self.slot(to)); emit(.deleted, to) }
        slots[Self.slot(to)][to] = value
        count += 1
        if let ttl { expires[to] = ttl }
        emit(.renamedTo, to)
        return true
    }

    /// Removes every key. Emits one `.deleted` per key so indexes and watchers stay exact.
    public func flush() {
        var removed: [Bytes] = []
        removed.reserveCapacity(count)
        for s in 0..<HashSlot.count where !slots[s].isEmpty {
            removed.append(contentsOf: slots[s].keys)
            slots[s].removeAll()
        }
        expires = [:]
        count = 0
        for k in removed { emit(.deleted, k) }
    }

    // MARK: iteration

    public func countKeys(inSlot slot: Int) -> Int { slots[slot].count }

    public func keys(inSlot slot: Int, limit: Int) -> [Bytes] { Array(slots[slot].keys.prefix(limit)) }

    /// All live keys (KEYS). Expired keys are skipped, not deleted, so iteration stays safe.
    public func allKeys(where predicate: (Bytes) -> Bool = { _ in true }) -> [Bytes] {
        let now = clock()
        var result: [Bytes] = []
        for s in 0..<HashSlot.count where !slots[s].isEmpty {
            for k in slots[s].keys where !isExpired(k, now: now) && predicate(k) { result.append(k) }
        }
        return result
    }

    /// SCAN: the cursor is the next slot to visit; each call returns whole slots until at least `count` keys were
    /// looked at. Every key present for the whole scan is returned exactly once (slots are never split).
    public func scan(cursor: Int, count wanted: Int, _ visit: (Bytes, Value) -> Void) -> Int {
        var slot = cursor
        var seen = 0
        let now = clock()
        while slot < HashSlot.count {
            // Collected first: the table is not copy-on-write, and a visitor must not see it change under it.
            var entries: [(Bytes, Value)] = []
            entries.reserveCapacity(slots[slot].count)
            slots[slot].forEach { entries.append(($0, $1)) }
            for (k, v) in entries where !isExpired(k, now: now) { visit(k, v); seen += 1 }
            slot += 1
            if seen >= wanted { break }
        }
        return slot >= HashSlot.count ? 0 : slot
    }

    /// A random live key, or nil when empty.
    public func randomKey() -> Bytes? {
        guard count > 0 else { return nil }
        for _ in 0..<100 {
            var s = Int.random(in: 0..<HashSlot.count)
            var tries = 0
            while slots[s].isEmpty && tries < HashSlot.count { s = (s + 1) % HashSlot.count; tries += 1 }
            guard let k = slots[s].randomKey() else { return nil }
            if !expireIfNeeded(k) { return k }
            if count == 0 { return nil }
        }
        return nil
    }

    /// One active-expiry step: samples keys with a TTL and removes the expired ones, repeating while more than a
    /// quarter of a sample was expired (Redis's adaptive cycle). Returns how many keys were removed.
    @discardableResult
    public func activeExpireCycle(sampleSize: Int = 20, maxRounds: Int = 16) -> Int {
        var removed = 0
        for _ in 0..<maxRounds {
            if expires.isEmpty { break }
            let now = clock()
            var expiredInSample: [Bytes] = []
            var sampled = 0
            for _ in 0..<min(sampleSize, expires.count) {
                guard let (k, at) = expires.randomElement() else { break }
                sampled += 1
                if at <= now { expiredInSample.append(k) }
            }
            for k in Set(expiredInSample) where expireIfNeeded(k) { removed += 1 }
            if expiredInSample.count * 4 <= sampled { break }
        }
        return removed
    }
}

/// The key holds a value of another type.
public struct WrongTypeError: Error, Sendable {
    public init() {}
    public static let message = "WRONGTYPE Operation against a key holding the wrong kind of value"
}

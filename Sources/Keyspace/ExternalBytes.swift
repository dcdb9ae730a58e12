// ExternalBytes: hash values the keyspace does not hold itself. A hash's vector field is 8 bytes in its buffer (source
// and label) pointing at the index's copy, so each vector is stored once; before the index lets go of a label, the one
// hash buffer pointing at it gets its own copy.
import Synchronization

/// Resolves labels to the bytes it holds (a vector index's field).
public protocol ExternalByteSource: AnyObject, Sendable {
    func externalBytes(label: UInt64) -> [UInt8]?
}

/// A value held by an `ExternalStore`: the store's registry id and the label. Hashes keep these 8 bytes instead of an
/// object per document (a class box with an existential source cost 40 bytes a document, plus its malloc rounding).
public struct ExternalReference: Hashable, Sendable {
    public let store: UInt32
    public let label: UInt32

    public init(store: UInt32, label: UInt32) { self.store = store; self.label = label }

    /// Every value of a store has the same length (a vector field's blob size); 0 once the store is gone.
    public var count: Int { ExternalStore.registered(store)?.byteCount ?? 0 }

    /// The content. A store that lost the label (which `ExternalStore.detach` prevents) yields zeros of the length.
    public func resolve() -> [UInt8] {
        guard let s = ExternalStore.registered(store) else { return [] }
        return s.bytes(label: label)
    }

    /// Packed into one word for hash buffers: bit 63 set marks a reference (an `OwnedBytes` pointer never has it).
    var packed: UInt64 { 1 << 63 | UInt64(store) << 32 | UInt64(label) }
    init?(packed: UInt64) {
        guard packed >> 63 == 1 else { return nil }
        store = UInt32(truncatingIfNeeded: packed >> 32) & 0x7fff_ffff
        label = UInt32(truncatingIfNeeded: packed)
    }
}

/// The bytes a hash buffer took over when its store let go of them (rare: renames, copies, FT.DROPINDEX).
final class OwnedBytes {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// What points at a store's label: a packed hash buffer or a hash table. It must take the bytes when told.
protocol ExternalHolder: AnyObject {
    /// Replaces the reference `reference` with its own copy of `bytes` (a no-op when it no longer holds it).
    func adopt(_ bytes: [UInt8], for reference: ExternalReference)
}

/// One field of one index as seen by hashes: resolves references and tracks, per label, the one holder (hash buffer)
/// that points at it, so `detach` can hand that holder its own copy before the label is forgotten or replaced.
///
/// The invariant "at most one holder per label" is kept by the holders: a buffer copied for a write (copy-on-write
/// divergence) takes its own bytes instead of the reference, a buffer replaced by a larger one hands its registration
/// over, and registering a new holder gives the previous one (if still alive) its own copy.
///
/// Holders are recorded as unretained pointers (8 bytes a document) and unregister in their deinit, under `holders`'s
/// lock, so a holder is alive whenever the store sees it.
public final class ExternalStore: @unchecked Sendable {
    public let id: UInt32
    public let byteCount: Int
    private let source: any ExternalByteSource
    /// By label: the holder's address with bit 0 set for a `FieldTable` (clear for `CompactPairs`); 0 for none.
    private let holders = Mutex<[UInt]>([])

    public init(source: any ExternalByteSource, byteCount: Int) {
        self.source = source
        self.byteCount = byteCount
        id = Self.registry.withLock { r in
            r.stores.append(WeakStore())
            return UInt32(r.stores.count - 1)
        }
        Self.registry.withLock { $0.stores[Int(id)].store = self }
    }

    /// A store that dies with holders left (an index released without `detachAll`) gives them their copies first.
    deinit { detachAll() }

    public func reference(label: UInt32) -> ExternalReference { ExternalReference(store: id, label: label) }

    func bytes(label: UInt32) -> [UInt8] {
        source.externalBytes(label: UInt64(label)) ?? [UInt8](repeating: 0, count: byteCount)
    }

    /// True while some hash buffer points at `label`.
    public func isReferenced(label: UInt32) -> Bool {
        holders.withLock { Int(label) < $0.count && $0[Int(label)] != 0 }
    }

    /// Gives the holder of `label`, if any, its own copy of the bytes; the store may then forget or replace them.
    public func detach(label: UInt32) {
        holders.withLock { h in
            guard Int(label) < h.count, h[Int(label)] != 0 else { return }
            Self.holder(h[Int(label)]).adopt(bytes(label: label), for: reference(label: label))
            h[Int(label)] = 0
        }
    }

    /// `detach` for every label (FT.DROPINDEX without DD).
    public func detachAll() {
        holders.withLock { h in
            for label in h.indices where h[label] != 0 {
                Self.holder(h[label]).adopt(bytes(label: UInt32(label)), for: reference(label: UInt32(label)))
            }
            h = []
        }
    }

    private static func holder(_ tagged: UInt) -> ExternalHolder {
        let address = UnsafeRawPointer(bitPattern: tagged & ~1)!
        if tagged & 1 == 1 { return Unmanaged<FieldTable>.fromOpaque(address).takeUnretainedValue() }
        return Unmanaged<CompactPairs>.fromOpaque(address).takeUnretainedValue()
    }

    private static func tag(_ holder: CompactPairs) -> UInt { UInt(bitPattern: Unmanaged.passUnretained(holder).toOpaque()) }
    private static func tag(_ holder: FieldTable) -> UInt { UInt(bitPattern: Unmanaged.passUnretained(holder).toOpaque()) | 1 }

    /// Records `holder` as the one pointing at `label`; a different holder recorded before gets its own copy.
    private func setHolder(_ tagged: UInt, label: UInt32) {
        holders.withLock { h in
            let i = Int(label)
            if i >= h.count {
                h.reserveGrowingByAnEighth(toHold: i + 1)
                h.append(contentsOf: repeatElement(0, count: i + 1 - h.count))
            }
            if h[i] != 0 && h[i] != tagged { Self.holder(h[i]).adopt(bytes(label: label), for: reference(label: label)) }
            h[i] = tagged
        }
    }

    private func holderGone(_ tagged: UInt, label: UInt32) {
        holders.withLock { h in
            if Int(label) < h.count && h[Int(label)] == tagged { h[Int(label)] = 0 }
        }
    }

    // MARK: registry

    private struct WeakStore { weak var store: ExternalStore? }
    private struct Registry { var stores: [WeakStore] = [] }
    /// Ids are never reused: a reference that outlived its store (which `detachAll` prevents) finds nothing.
    private static let registry = Mutex(Registry())

    static func registered(_ id: UInt32) -> ExternalStore? {
        registry.withLock { Int(id) < $0.stores.count ? $0.stores[Int(id)].store : nil }
    }

    static func register(_ holder: CompactPairs, for reference: ExternalReference) {
        registered(reference.store)?.setHolder(tag(holder), label: reference.label)
    }
    static func register(_ holder: FieldTable, for reference: ExternalReference) {
        registered(reference.store)?.setHolder(tag(holder), label: reference.label)
    }
    static func unregister(_ holder: CompactPairs, for reference: ExternalReference) {
        registered(reference.store)?.holderGone(tag(holder), label: reference.label)
    }
    static func unregister(_ holder: FieldTable, for reference: ExternalReference) {
        registered(reference.store)?.holderGone(tag(holder), label: reference.label)
    }
}

extension Array {
    /// Makes room for `count` elements, growing by an eighth instead of Array's doubling: per-document arrays (index
    /// keys, numeric values, vector holders) are the bulk of the RAM outside the vectors, and doubling left up to half
    /// of them as slack. Each growth copies the array, so appends cost a few element copies each on average.
    @inlinable public mutating func reserveGrowingByAnEighth(toHold count: Int) {
        if count > capacity { reserveCapacity(Swift.max(count, self.count + self.count / 8 + 16)) }
    }
}


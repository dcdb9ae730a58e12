// ExternalBytes: a value the keyspace does not hold itself. A hash's vector field points at its index's copy, so each
// vector is stored once; when the index lets go of it while a hash still refers to it, the bytes move into this box.

/// Resolves labels to the bytes it holds (a vector index).
public protocol ExternalByteSource: AnyObject, Sendable {
    func externalBytes(label: UInt64) -> [UInt8]?
}

/// Owned by hashes (through `Bytes`) and by the index that holds the content. Touched only on the loop thread, like
/// the keyspace itself; the index must call `materialize` before it forgets a label whose box is still shared.
///
/// One box per indexed document, so it is kept to 40 bytes (a 48-byte malloc chunk rather than 64): the label and
/// length are 32-bit (labels are document ids) and share the state's payload.
public final class ExternalBytes: @unchecked Sendable {
    enum State {
        case held(source: any ExternalByteSource, label: UInt32, count: UInt32)
        case materialized([UInt8])
    }
    private var state: State

    public init(source: any ExternalByteSource, label: UInt64, count: Int) {
        precondition(label <= UInt32.max && count <= UInt32.max, "external labels are document ids, lengths under 4 GB")
        state = .held(source: source, label: UInt32(label), count: UInt32(count))
    }

    public var count: Int {
        switch state {
        case .held(_, _, let count): return Int(count)
        case .materialized(let bytes): return bytes.count
        }
    }

    /// The content. A source that lost the label (which `materialize` prevents) yields zero bytes of the right length.
    public func resolve() -> [UInt8] {
        switch state {
        case .materialized(let bytes): return bytes
        case .held(let source, let label, let count):
            return source.externalBytes(label: UInt64(label)) ?? [UInt8](repeating: 0, count: Int(count))
        }
    }

    /// True while `source` holds the content under `label`.
    public func isHeld(by source: AnyObject, label: UInt64) -> Bool {
        if case .held(let s, let l, _) = state { return s === source && UInt64(l) == label }
        return false
    }

    /// Copies the content in, detaching it from its source.
    public func materialize() {
        if case .held = state { state = .materialized(resolve()) }
    }
}

// TagAssignments: each document's tags in one TAG field, one byte per document while the field has fewer than 255
// distinct single tags (four past that), kept to undo its postings.
import Keyspace

/// Which tags each document has, so a document can be taken out of the postings when it changes or leaves.
///
/// Nearly every document has exactly one tag, from a small vocabulary, so a document costs one code: 0 for none, an
/// interned tag id for one tag, or `Self.multiple` with its tags in a side table (`DocCodes`: one byte each while the
/// ids fit). An array of tags per document would cost a heap allocation (~56 bytes) each.
struct TagAssignments {
    private static let none: UInt32 = 0
    private static let multiple: UInt32 = .max

    /// Per doc id (index 0 unused, as doc ids start at 1).
    private var codes = DocCodes()
    /// Tags of documents with more than one.
    private var multiTagged: [UInt32: [Bytes]] = [:]
    /// Interned single tags: id → tag and how many documents use it; ids of unused tags are reused.
    private var tagById: [Bytes?] = [nil]
    private var usesById: [UInt32] = [0]
    private var idByTag: [Bytes: UInt32] = [:]
    private var freeIds: [UInt32] = []
    /// Tags over all documents (FT.INFO `num_records`).
    private(set) var totalTags = 0

    /// Records a document's tags, replacing any recorded before (callers remove those from the postings first).
    mutating func assign(_ tags: [Bytes], to doc: UInt32) {
        let d = Int(doc)
        if codes[d] != Self.none { _ = removeTags(of: doc) }
        totalTags += tags.count
        switch tags.count {
        case 0:
            return
        case 1:
            codes.set(intern(tags[0]), at: d)
        default:
            codes.set(Self.multiple, at: d)
            multiTagged[doc] = tags
        }
    }

    /// Forgets a document's tags and returns them.
    mutating func removeTags(of doc: UInt32) -> [Bytes] {
        let d = Int(doc)
        guard d < codes.count else { return [] }
        let code = codes[d]
        codes.set(Self.none, at: d)
        let tags: [Bytes]
        switch code {
        case Self.none:
            return []
        case Self.multiple:
            tags = multiTagged.removeValue(forKey: doc) ?? []
        default:
            tags = [tagById[Int(code)]!]
            release(code)
        }
        totalTags -= tags.count
        return tags
    }

    /// A document's tags (for tests and diagnostics).
    func tags(of doc: UInt32) -> [Bytes] {
        let d = Int(doc)
        guard d < codes.count else { return [] }
        switch codes[d] {
        case Self.none: return []
        case Self.multiple: return multiTagged[doc] ?? []
        case let code: return [tagById[Int(code)]!]
        }
    }

    /// Distinct single tags currently interned (for tests: unused ones must not linger).
    var internedCount: Int { idByTag.count }

    /// True while codes take one byte per document (for tests).
    var codesAreBytes: Bool { codes.isNarrow }

    private mutating func intern(_ tag: Bytes) -> UInt32 {
        if let id = idByTag[tag] {
            usesById[Int(id)] += 1
            return id
        }
        let id: UInt32
        if let reused = freeIds.popLast() {
            id = reused
            tagById[Int(id)] = tag
            usesById[Int(id)] = 1
        } else {
            id = UInt32(tagById.count)
            precondition(id < Self.multiple, "too many distinct tags")
            tagById.append(tag)
            usesById.append(1)
        }
        idByTag[tag] = id
        return id
    }

    private mutating func release(_ id: UInt32) {
        usesById[Int(id)] -= 1
        guard usesById[Int(id)] == 0, let tag = tagById[Int(id)] else { return }
        idByTag.removeValue(forKey: tag)
        tagById[Int(id)] = nil
        freeIds.append(id)
    }
}

/// One code per doc id: bytes while every code is below 255 (255 stands for `UInt32.max`, several tags), `UInt32`s
/// from the first larger id on. Reads past the end are 0 (no tags).
private struct DocCodes {
    private static let narrowMultiple: UInt8 = .max
    private enum Storage {
        case narrow([UInt8])
        case wide([UInt32])
    }
    private var storage = Storage.narrow([0])

    var count: Int {
        switch storage {
        case .narrow(let codes): return codes.count
        case .wide(let codes): return codes.count
        }
    }

    subscript(doc: Int) -> UInt32 {
        switch storage {
        case .narrow(let codes):
            guard doc < codes.count else { return 0 }
            return codes[doc] == Self.narrowMultiple ? .max : UInt32(codes[doc])
        case .wide(let codes):
            return doc < codes.count ? codes[doc] : 0
        }
    }

    mutating func set(_ code: UInt32, at doc: Int) {
        switch storage {
        case .narrow(var codes):
            storage = .narrow([])  // drop the enum's reference so the array is mutated in place
            if code == .max || code < UInt32(Self.narrowMultiple) {
                Self.store(code == .max ? Self.narrowMultiple : UInt8(code), at: doc, in: &codes)
                storage = .narrow(codes)
            } else {
                var wide = codes.map { $0 == Self.narrowMultiple ? UInt32.max : UInt32($0) }
                wide.reserveCapacity(codes.capacity)
                Self.store(code, at: doc, in: &wide)
                storage = .wide(wide)
            }
        case .wide(var codes):
            storage = .narrow([])
            Self.store(code, at: doc, in: &codes)
            storage = .wide(codes)
        }
    }

    private static func store<T: FixedWidthInteger>(_ code: T, at doc: Int, in codes: inout [T]) {
        if doc >= codes.count {
            codes.reserveGrowingByAnEighth(toHold: doc + 1)
            codes.append(contentsOf: repeatElement(0, count: doc + 1 - codes.count))
        }
        codes[doc] = code
    }

    /// True while codes are single bytes (for tests).
    var isNarrow: Bool { if case .narrow = storage { return true }; return false }
}

// TagAssignments: each document's tags in one TAG field, about 4 bytes per document, kept to undo its postings.
import Keyspace

/// Which tags each document has, so a document can be taken out of the postings when it changes or leaves.
///
/// Nearly every document has exactly one tag, from a small vocabulary, so a document costs one `UInt32` code: 0 for
/// none, an interned tag id for one tag, or `Self.multiple` with its tags in a side table. An array of tags per
/// document would cost a heap allocation (~56 bytes) each.
struct TagAssignments {
    private static let none: UInt32 = 0
    private static let multiple: UInt32 = .max

    /// Per doc id (index 0 unused, as doc ids start at 1).
    private var codes: [UInt32] = [0]
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
        if d >= codes.count { codes.append(contentsOf: repeatElement(Self.none, count: d - codes.count + 1)) }
        if codes[d] != Self.none { _ = removeTags(of: doc) }
        totalTags += tags.count
        switch tags.count {
        case 0:
            return
        case 1:
            codes[d] = intern(tags[0])
        default:
            codes[d] = Self.multiple
            multiTagged[doc] = tags
        }
    }

    /// Forgets a document's tags and returns them.
    mutating func removeTags(of doc: UInt32) -> [Bytes] {
        let d = Int(doc)
        guard d < codes.count else { return [] }
        let code = codes[d]
        codes[d] = Self.none
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

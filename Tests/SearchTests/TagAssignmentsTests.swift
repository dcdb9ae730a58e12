// Per-document TAG bookkeeping: one code per document, interned single tags, a side table for several.
import Testing
@testable import Search
import Keyspace

@Suite("TagAssignments")
struct TagAssignmentsTests {
    @Test("single, multiple and no tags read back and are removed exactly")
    func roundTrip() {
        var a = TagAssignments()
        a.assign(["red"], to: 1)
        a.assign(["red", "blue"], to: 2)
        a.assign([], to: 3)
        a.assign(["blue"], to: 70)
        #expect(a.tags(of: 1) == ["red"] && a.tags(of: 2) == ["red", "blue"])
        #expect(a.tags(of: 3).isEmpty && a.tags(of: 4).isEmpty && a.tags(of: 1000).isEmpty)
        #expect(a.tags(of: 70) == ["blue"])
        #expect(a.totalTags == 4)
        #expect(a.internedCount == 2)  // only single tags are interned
        #expect(a.removeTags(of: 2) == ["red", "blue"])
        #expect(a.removeTags(of: 2).isEmpty)
        #expect(a.removeTags(of: 999).isEmpty)
        #expect(a.totalTags == 2)
        #expect(a.removeTags(of: 1) == ["red"])
        #expect(a.internedCount == 1)  // "red" is no longer used by anyone
        #expect(a.tags(of: 70) == ["blue"])
    }

    @Test("tag ids of unused tags are reused, and reassigning replaces")
    func reuse() {
        var a = TagAssignments()
        for doc in UInt32(1)...100 { a.assign([Bytes("t\(doc)")], to: doc) }
        #expect(a.internedCount == 100)
        for doc in UInt32(1)...100 { _ = a.removeTags(of: doc) }
        #expect(a.internedCount == 0 && a.totalTags == 0)
        for doc in UInt32(1)...100 { a.assign([Bytes("u\(doc)")], to: doc) }
        #expect(a.tags(of: 42) == ["u42"] && a.internedCount == 100)
        a.assign(["x", "y"], to: 42)
        #expect(a.tags(of: 42) == ["x", "y"] && a.internedCount == 99 && a.totalTags == 101)
    }

    @Test("codes are bytes until a tag id passes 254; widening keeps every document's tags")
    func widening() {
        var a = TagAssignments()
        a.assign(["a", "b"], to: 3)  // several tags: the byte form's marker
        for doc in UInt32(10)..<UInt32(10 + 254) { a.assign([Bytes("t\(doc)")], to: doc) }
        #expect(a.codesAreBytes && a.internedCount == 254)
        a.assign(["one more"], to: 5000)
        #expect(!a.codesAreBytes && a.internedCount == 255)
        #expect(a.tags(of: 3) == ["a", "b"] && a.tags(of: 5000) == ["one more"] && a.tags(of: 4999).isEmpty)
        for doc in UInt32(10)..<UInt32(10 + 254) { #expect(a.tags(of: doc) == [Bytes("t\(doc)")]) }
        a.assign(["c", "d"], to: 11)
        #expect(a.removeTags(of: 11) == ["c", "d"] && a.removeTags(of: 3) == ["a", "b"] && a.totalTags == 254)
    }
}

// SlotKeys against a Dictionary model: inserts, updates and removals across the linear/indexed boundary and resizes.
import Testing
@testable import Keyspace

/// Short keys are inline `Bytes`, long ones (> 14 bytes) heap arrays: both forms must behave alike.
private func key(_ i: Int) -> Bytes { i % 3 == 0 ? Bytes("a-rather-long-key:\(i)") : Bytes("k:\(i)") }

private func check(_ table: SlotKeys, _ model: [Bytes: Value]) {
    #expect(table.count == model.count && table.isEmpty == model.isEmpty)
    var seen: [Bytes: Value] = [:]
    table.forEach { k, v in seen[k] = v }
    #expect(seen.count == model.count)
    for (k, v) in model {
        guard case .string(let expected) = v, case .string(let got)? = table[k], case .string(let listed)? = seen[k] else {
            Issue.record("missing \(k)")
            continue
        }
        #expect(got == expected && listed == expected)
        #expect(table.find(k).map { table.key(at: $0) } == k)
    }
    if let r = table.randomKey() { #expect(model[r] != nil) } else { #expect(model.isEmpty) }
}

@Suite("SlotKeys")
struct KeyTableTests {
    @Test("random inserts, updates and removals agree with a Dictionary at every size", arguments: [12, 40, 3000])
    func againstModel(keySpace: Int) {
        var rng = SplitMix(seed: UInt64(keySpace))
        var table = SlotKeys()
        var model: [Bytes: Value] = [:]
        for step in 0..<(keySpace * 20) {
            let k = key(Int.random(in: 0..<keySpace, using: &rng))
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                let v = Value.string(Bytes("v\(step)"))
                let old = table.updateValue(v, forKey: k)
                #expect((old == nil) == (model[k] == nil))
                model[k] = v
            case 5..<8:
                let existed = table.removeValue(forKey: k) != nil
                #expect(existed == (model.removeValue(forKey: k) != nil))
            case 8:
                if let i = table.find(k) { table.remove(at: i); model[k] = nil } else { #expect(model[k] == nil) }
            default:
                table[k] = nil
                model[k] = nil
            }
            if step % 97 == 0 { check(table, model) }
        }
        check(table, model)
        // Emptying shrinks back through the linear form.
        for k in model.keys { table.removeValue(forKey: k) }
        check(table, [:])
        #expect(table.isEmpty)
    }

    @Test("grows one key at a time past the linear limit and back, values kept in place")
    func growAndShrink() {
        var table = SlotKeys()
        var model: [Bytes: Value] = [:]
        for i in 0..<200 {
            table.insertNew(key(i), .string(Bytes("\(i)")))
            model[key(i)] = .string(Bytes("\(i)"))
            if i == KeyTable.linearLimit || i == KeyTable.linearLimit + 1 { check(table, model) }
        }
        check(table, model)
        for i in 0..<200 where i % 2 == 0 {
            let index = table.find(key(i))!
            table.setValue(.string(Bytes("even")), at: index)
            model[key(i)] = .string(Bytes("even"))
        }
        check(table, model)
        for i in stride(from: 199, through: 5, by: -1) {
            table.removeValue(forKey: key(i))
            model[key(i)] = nil
        }
        check(table, model)
        table.removeAll()
        #expect(table.isEmpty && table[key(1)] == nil)
    }

    @Test("values holding objects are released when removed or replaced")
    func releases() {
        var table = SlotKeys()
        var h = HashValue()
        h.set("f", Bytes(Array(repeating: 1, count: 40)))
        table.insertNew("k", .hash(h))
        guard case .hash(var stored)? = table["k"], case .compact(var buffer) = stored.storage else {
            Issue.record("no hash")
            return
        }
        stored = HashValue()
        h = HashValue()
        #expect(!isKnownUniquelyReferenced(&buffer))  // the table holds it too
        table.removeValue(forKey: "k")
        #expect(isKnownUniquelyReferenced(&buffer))
        withExtendedLifetime(stored) {}
    }

    /// The chunk arithmetic of `KeyTable`'s layout comment: a 24-byte object before the entries.
    @Test("the header is one word, so the object is 24 bytes before its entries")
    func compactHeader() {
        #expect(MemoryLayout<KeyTable.Header>.size == 8)
        #expect(MemoryLayout<KeyTable.Entry>.stride == 32)
        var slot = SlotKeys()
        slot.insertNew("k", .string("v"))
        #expect(slot.count == 1)
        #expect(slot["k"] != nil)
    }
}

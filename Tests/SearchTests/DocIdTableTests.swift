// The key → doc id table: agrees with a dictionary through inserts, removals and growth.
import Testing
@testable import Search
import Keyspace

@Suite("DocIdTable")
struct DocIdTableTests {
    /// The default keeps 4-byte slots throughout; a limit of 500 moves the table to 8-byte slots mid-run.
    @Test("lookups agree with a dictionary under random churn", arguments: [UInt32.max, 500])
    func churn(narrowIdLimit: UInt32) {
        var keys: [Bytes?] = [nil]
        var table = DocIdTable(narrowIdLimit: narrowIdLimit)
        var expected: [Bytes: UInt32] = [:]
        var rng = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            let name = Bytes("doc:\(Int.random(in: 0..<3_000, using: &rng))\(step % 3 == 0 ? ":with-a-longer-suffix" : "")")
            if let id = expected[name] {
                #expect(table.remove(name, keys: keys) == id)
                keys[Int(id)] = nil
                expected.removeValue(forKey: name)
            } else {
                let id = UInt32(keys.count)
                keys.append(name)
                table.insert(id, keys: keys)
                expected[name] = id
            }
            if step % 997 == 0 {
                for (k, id) in expected { #expect(table.id(of: k, keys: keys) == id) }
            }
        }
        #expect(table.count == expected.count)
        for (k, id) in expected { #expect(table.id(of: k, keys: keys) == id) }
        #expect(Set(table.ids) == Set(expected.values))
        #expect(table.isWide == (narrowIdLimit == 500))
        #expect(table.id(of: "missing", keys: keys) == nil)
        #expect(table.remove("missing", keys: keys) == nil)
        table.removeAll()
        #expect(table.count == 0 && table.ids.isEmpty)
    }

    @Test("50,000 ids fit 65,536 four-byte buckets")
    func density() {
        var keys: [Bytes?] = [nil]
        var table = DocIdTable()
        for n in 0..<50_000 {
            keys.append(Bytes("doc:\(n)"))
            table.insert(UInt32(keys.count - 1), keys: keys)
        }
        #expect(table.bucketCount == 65_536 && !table.isWide)
        for (id, key) in keys.enumerated().dropFirst() { #expect(table.id(of: key!, keys: keys) == UInt32(id)) }
        #expect(table.id(of: "doc:50000", keys: keys) == nil)
    }
}

// Slot map and routing decisions: which node serves a slot, MOVED targets, CROSSSLOT, CLUSTERDOWN, replica reads.
import Testing
import Keyspace
@testable import Cluster

@Suite("Slot map and routing")
struct RoutingTests {
    @Test("slot owners and runs follow the file")
    func slotMap() throws {
        let v = try Fixture.view(as: "m1")
        #expect(v.slots.master(of: 0) == 0)
        #expect(v.slots.master(of: 5460) == 0)
        #expect(v.slots.master(of: 5461) == 1)
        #expect(v.slots.master(of: 10923) == 2)
        #expect(v.slots.master(of: 16383) == 2)
        #expect(v.slots.assignedCount == 16384)
        #expect(v.slots.assignments.map(\.range) == [SlotRange(0, 5460), SlotRange(5461, 10922), SlotRange(10923, 16383)])
        #expect(v.slots.mastersWithSlots == [0, 1, 2])
        #expect(v.configEpochs == [1, 2, 3, 1, 2, 3])
        #expect(v.currentEpoch == 3)
    }

    @Test("interleaved ranges make one run per change of owner, in slot order")
    func interleaved() throws {
        let text = """
            node a \(Fixture.m1) h 1 - master 0-99 200-16383
            node b \(Fixture.m2) h 2 - master 100-199
            """
        let v = try ClusterView(topology: Topology.parse(text), nodeName: "b")
        #expect(v.slots.assignments == [SlotAssignment(range: SlotRange(0, 99), master: 0),
                                        SlotAssignment(range: SlotRange(100, 199), master: 1),
                                        SlotAssignment(range: SlotRange(200, 16383), master: 0)])
        #expect(v.slots.ranges(of: 0) == [SlotRange(0, 99), SlotRange(200, 16383)])
    }

    @Test("KeySlots folds key slots: none, one, cross")
    func keySlots() {
        #expect(KeySlots(slots: []) == .none)
        #expect(KeySlots(slots: [5, 5, 5]) == .single(5))
        #expect(KeySlots(slots: [5, 6, 5]) == .cross)
        var k = KeySlots.none
        for key in ["{user}:1", "{user}:2"] { key.utf8CString.withUnsafeBytes { k.add(key: UnsafeRawBufferPointer(rebasing: $0.dropLast())) } }
        #expect(k == .single(5474))
    }

    @Test("a master serves its slots and redirects the rest with the owner's address")
    func masterRouting() throws {
        let m2 = try Fixture.view(as: "m2")
        #expect(m2.route(.single(5461), isWrite: true, readOnly: false) == .serve)
        #expect(m2.route(.single(10922), isWrite: false, readOnly: false) == .serve)
        let moved = m2.route(.single(12182), isWrite: false, readOnly: false)
        #expect(moved == .moved(slot: 12182, host: "127.0.0.1", port: 7002))
        #expect(moved.message == "MOVED 12182 127.0.0.1:7002")
        #expect(m2.route(.single(0), isWrite: true, readOnly: true).message == "MOVED 0 127.0.0.1:7000")
        #expect(m2.route(.none, isWrite: true, readOnly: false) == .serve)
    }

    @Test("CROSSSLOT comes before any redirect, with Redis's text")
    func crossSlot() throws {
        let m1 = try Fixture.view(as: "m1")
        #expect(m1.route(.cross, isWrite: true, readOnly: false).message == "CROSSSLOT Keys in request don't hash to the same slot")
    }

    @Test("a replica redirects to its master unless READONLY and the command only reads")
    func replicaRouting() throws {
        let r1 = try Fixture.view(as: "r1")
        #expect(r1.myMaster == 0)
        #expect(r1.route(.single(100), isWrite: false, readOnly: false) == .moved(slot: 100, host: "127.0.0.1", port: 7000))
        #expect(r1.route(.single(100), isWrite: true, readOnly: true) == .moved(slot: 100, host: "127.0.0.1", port: 7000))
        #expect(r1.route(.single(100), isWrite: false, readOnly: true) == .serve)
        // Slots of another master: MOVED to that master even with READONLY.
        #expect(r1.route(.single(6000), isWrite: false, readOnly: true) == .moved(slot: 6000, host: "127.0.0.1", port: 7001))
    }

    @Test("an unowned slot is CLUSTERDOWN (only reachable with a partial map; files must cover every slot)")
    func clusterDown() {
        let nodes = [TopologyNode(name: "a", id: Fixture.m1, host: "h", port: 1, busPort: 2, role: .master,
                                  slots: [SlotRange(0, 99)], line: 1)]
        let v = ClusterView(topology: Topology(nodes: nodes), myself: 0)
        #expect(v.route(.single(5), isWrite: true, readOnly: false) == .serve)
        #expect(v.route(.single(100), isWrite: true, readOnly: false).message == "CLUSTERDOWN Hash slot not served")
        #expect(v.infoText().hasPrefix("cluster_state:fail\r\ncluster_slots_assigned:100\r\n"))
    }

    @Test("slots of the documented keys match Redis (CLUSTER KEYSLOT)")
    func keySlotVectors() {
        let vectors: [(String, Int)] = [("123456789", 12739), ("foo", 12182), ("user:1", 10778), ("{user}:1", 5474),
                                        ("{}foo", 9500), ("foo{}{bar}", 8363), ("foo{{bar}}zap", 4015),
                                        ("foo{bar}{zap}", 5061), ("{user1000}.following", 3443), ("", 0)]
        for (key, slot) in vectors { #expect(Int(HashSlot(key: Bytes(key)).rawValue) == slot, "\(key)") }
    }
}

// Topology file parsing and validation: the accepted syntax and one clear message per kind of mistake.
import Testing
@testable import Cluster

@Suite("Topology file")
struct TopologyTests {
    @Test("the shipped layout parses: names, ids, roles, bus ports")
    func parsesThreeByTwo() throws {
        let t = try Topology.parse(Fixture.threeByTwo)
        #expect(t.nodes.map(\.name) == ["m1", "m2", "m3", "r1", "r2", "r3"])
        #expect(t.nodes[0].role == .master && t.nodes[0].slots == [SlotRange(0, 5460)])
        #expect(t.nodes[3].role == .replica(of: 0))
        #expect(t.nodes[5].role == .replica(of: 2))
        #expect(t.nodes[4].busPort == 17004)
        #expect(t.masterIndexes == [0, 1, 2])
        #expect(t.replicas(of: 1) == [4])
        #expect(t.index(id: Fixture.r2.uppercased()) == 4)
    }

    @Test("comments, blank lines, tabs, single slots, several ranges, `-` bus port, upper-case ids")
    func syntaxVariants() throws {
        let text = """
            # header

            node\ta \(Fixture.m1.uppercased())\th1 7000 - master 0 1-100 101-8000   # trailing comment
            node b \(Fixture.m2) h2 7001 17001 MASTER 8001-16383
            node c \(Fixture.m3) h3 7002 - replicaof b
            """
        let t = try Topology.parse(text)
        #expect(t.nodes[0].id == Fixture.m1)
        #expect(t.nodes[0].busPort == 17000)
        #expect(t.nodes[0].slots == [SlotRange(0, 0), SlotRange(1, 100), SlotRange(101, 8000)])
        #expect(t.nodes[2].role == .replica(of: 1))
        // Adjacent ranges print merged, the same way on every node.
        #expect(SlotMap(nodes: t.nodes).ranges(of: 0) == [SlotRange(0, 8000)])
    }

    /// (file text, a fragment of the expected problem)
    static let badFiles: [(String, String)] = [
        ("", "no nodes"),
        ("# only a comment\n", "no nodes"),
        ("nod m1 \(Fixture.m1) h 1 2 master 0-16383", "line 1: unknown directive 'nod'"),
        ("node m1 \(Fixture.m1) h 1 2", "line 1: too few fields"),
        ("node m1 abc h 7000 - master 0-16383", "node id 'abc' of 'm1' must be exactly 40 hex characters"),
        ("node m1 \(String(Fixture.m1.dropLast()))z h 7000 - master 0-16383", "must be exactly 40 hex characters"),
        ("node m1 \(Fixture.m1) h 70000 - master 0-16383", "port '70000' of 'm1' must be 1-65535"),
        ("node m1 \(Fixture.m1) h 7000 x master 0-16383", "bus port 'x' of 'm1'"),
        ("node m1 \(Fixture.m1) h 7000 - leader 0-16383", "role 'leader' of 'm1' must be `master` or `replica-of <master-name>`"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-16384", "slot range '0-16384' of 'm1'"),
        ("node m1 \(Fixture.m1) h 7000 - master 10-5", "slot range '10-5' of 'm1'"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-100", "16283 of 16384 slots are not assigned to any master: 101-16383"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-100 102-16383", "1 of 16384 slots are not assigned to any master: 101 "),
        ("node m1 \(Fixture.m1) h 7000 - master 0-9000\nnode m2 \(Fixture.m2) h 7001 - master 9000-16383",
         "line 2: slot 9000 of 'm2' is already assigned to 'm1' (line 1)"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-16383\nnode m1 \(Fixture.m2) h 7001 - master",
         "line 2: node name 'm1' already used on line 1"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-16383\nnode m2 \(Fixture.m1) h 7001 - master",
         "line 2: node id \(Fixture.m1) already used on line 1"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-16383\nnode m2 \(Fixture.m2) h 7000 - master",
         "line 2: address h:7000 already used on line 1"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-16383\nnode r1 \(Fixture.r1) h 7001 - replica-of m9",
         "line 2: 'r1' is a replica of 'm9', which is not declared in the file"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-16383\nnode r1 \(Fixture.r1) h 7001 - replica-of m1\nnode r2 \(Fixture.r2) h 7002 - replica-of r1",
         "line 3: 'r2' is a replica of 'r1', which is itself a replica (line 2)"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-16383\nnode r1 \(Fixture.r1) h 7001 - replica-of r1",
         "'r1' can't be a replica of itself"),
        ("node m1 \(Fixture.m1) h 7000 - master 0-16383\nnode r1 \(Fixture.r1) h 7001 - replica-of m1 0-10",
         "replica 'r1' needs exactly one master name"),
    ]

    @Test("invalid files are refused with a precise message", arguments: badFiles)
    func refuses(_ text: String, _ expected: String) {
        do {
            _ = try Topology.parse(text, source: "bad.conf")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.hasPrefix("Bad cluster topology 'bad.conf':\n  - "))
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test("every problem of a file is reported at once")
    func reportsAll() {
        let text = "node a \(Fixture.m1) h 1 - master 0-10\nnode a xyz h 2 - master\nbogus"
        do {
            _ = try Topology.parse(text)
            Issue.record("accepted")
        } catch {
            #expect(error.problems.count == 3, "\(error.problems)")
        }
    }

    @Test("--cluster-node must name a node of the file")
    func unknownNodeName() throws {
        let t = try Topology.parse(Fixture.threeMasters)
        #expect(throws: TopologyError.self) { try ClusterView(topology: t, nodeName: "m4") }
        do { _ = try ClusterView(topology: t, nodeName: "m4", source: "x.conf") } catch {
            #expect(error.description == "Bad cluster topology 'x.conf':\n  - cluster-node 'm4' is not declared in the file (nodes: m1, m2, m3)")
        }
    }

    @Test("a missing file is a clear error")
    func missingFile() {
        do { _ = try Topology.load(path: "/nonexistent/topology.conf") } catch {
            #expect(error.description.contains("can't open the file: No such file or directory"))
        }
    }

    @Test("the shipped cluster-config files are valid")
    func shippedFiles() throws {
        let dir = String(#filePath.split(separator: "/").dropLast(3).joined(separator: "/"))
        for name in ["local-3.conf", "local-3x2.conf"] {
            let t = try Topology.load(path: "/\(dir)/cluster-config/\(name)")
            #expect(t.masterIndexes.count == 3)
            #expect(t.nodes.map(\.port) == Array(7000..<(7000 + t.nodes.count)))
        }
        let t = try Topology.load(path: "/\(dir)/cluster-config/local-3x2.conf")
        #expect(t == (try Topology.parse(Fixture.threeByTwo)).withLines(of: t))
    }
}

extension Topology {
    /// The same nodes with `other`'s line numbers (files and fixtures differ only in comments).
    func withLines(of other: Topology) -> Topology {
        Topology(nodes: zip(nodes, other.nodes).map { a, b in
            TopologyNode(name: a.name, id: a.id, host: a.host, port: a.port, busPort: a.busPort, role: a.role, slots: a.slots, line: b.line)
        })
    }
}

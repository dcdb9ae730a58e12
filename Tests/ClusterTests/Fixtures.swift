// Topology texts shared by the cluster tests (the same nodes as cluster-config/local-3x2.conf).
@testable import Cluster

enum Fixture {
    static let m1 = "97dc3795122f3a3c9822db1a98056071aba94eda"
    static let m2 = "e900263e5c7827cc1d66cae2f81d5b93e8b2f09a"
    static let m3 = "eeefd8ddc37413ca81595f9de19510d0f489a46a"
    static let r1 = "f33646fc24fb1e8b08be7a560f1ec021f21ea22a"
    static let r2 = "687c3ecc3d055f5d68f9cacf64c6336fa9d731ad"
    static let r3 = "6ebe744cc80dd95d206e2d94210ab8c0ac024bda"

    static let threeMasters = """
        # three masters
        node m1 \(m1) 127.0.0.1 7000 17000 master 0-5460
        node m2 \(m2) 127.0.0.1 7001 17001 master 5461-10922
        node m3 \(m3) 127.0.0.1 7002 17002 master 10923-16383
        """

    static let threeByTwo = threeMasters + """

        node r1 \(r1) 127.0.0.1 7003 17003 replica-of m1
        node r2 \(r2) 127.0.0.1 7004 17004 replica-of m2
        node r3 \(r3) 127.0.0.1 7005 17005 replica-of m3
        """

    static func view(_ text: String = threeByTwo, as name: String) throws -> ClusterView {
        try ClusterView(topology: Topology.parse(text), nodeName: name)
    }
}

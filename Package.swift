// swift-tools-version:6.0
// VecShard: a Redis-Cluster-compatible vector-search shard server. Toolchain only; C libraries come from Debian.
import PackageDescription

// Swift SIMD types lower to AVX2/FMA only when clang may emit them (see shared/docs/swift-notes.md).
let simdFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"])]
// The loop thread owns the keyspace and connections; dynamic exclusivity checks cost ~9% of a SET (perf, -P 16) and
// guard nothing the design does not already guarantee. A search's scoring nodes are its own (one thread); the checks
// on their fields took ~13% of a scored `*` query (perf). Debug builds (the unit tests) keep them.
let hotPathFlags: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "vecshard",
    products: [
        .executable(name: "vecshard-server", targets: ["vecshard-server"]),
        .executable(name: "vector-bench", targets: ["vector-bench"]),
        .executable(name: "storage-bench", targets: ["storage-bench"]),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CURing", providers: [.apt(["liburing-dev"])]),
        .target(name: "CStorageShims"),
        .target(name: "CVectorKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CNumberFormat"),
        .target(name: "RESP", swiftSettings: hotPathFlags),
        .target(name: "Keyspace", swiftSettings: hotPathFlags),
        .target(name: "VectorIndex", dependencies: ["CVectorKernels"], swiftSettings: simdFlags),
        .target(name: "Tiering", dependencies: ["VectorIndex", "Storage", "CVectorKernels", "CStorageShims"]),
        .target(name: "Search", dependencies: ["RESP", "Keyspace", "VectorIndex", "Tiering", "CNumberFormat"],
                swiftSettings: hotPathFlags),
        .target(name: "Cluster", dependencies: ["RESP", "Keyspace"]),
        .target(name: "Storage", dependencies: ["CURing", "CStorageShims"]),
        .target(name: "Server", dependencies: ["CLibUV", "CStorageShims", "RESP", "Keyspace", "Search", "Storage", "Tiering", "Cluster"], swiftSettings: hotPathFlags),
        .executableTarget(name: "vecshard-server", dependencies: ["Server"]),
        .executableTarget(name: "vector-bench", dependencies: ["VectorIndex", "Tiering"], swiftSettings: simdFlags),
        .executableTarget(name: "storage-bench", dependencies: ["Storage"]),
        // `make fuzz` builds it with -sanitize=fuzzer -D FUZZING; a plain build replays saved inputs.
        .executableTarget(name: "vecshard-fuzz", dependencies: ["Server", "RESP", "Keyspace"]),
        .testTarget(name: "RESPTests", dependencies: ["RESP"]),
        .testTarget(name: "KeyspaceTests", dependencies: ["Keyspace"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "RESP", "Keyspace"]),
        .testTarget(name: "SearchTests", dependencies: ["Search", "Keyspace", "VectorIndex", "Tiering", "RESP"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Keyspace", "RESP"]),
        .testTarget(name: "VectorIndexTests", dependencies: ["VectorIndex"], swiftSettings: simdFlags),
        .testTarget(name: "StorageTests", dependencies: ["Storage"]),
        .testTarget(name: "TieringTests", dependencies: ["Tiering", "VectorIndex", "Storage"]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version: 6.1
// Arca's benchmarks (ordo-one/benchmark): `swift package benchmark` in this folder.
import PackageDescription

let package = Package(
    name: "ArcaBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Arca", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        .executableTarget(
            name: "DICOMParsing",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DICOM", package: "Arca"),
            ],
            path: "Benchmarks/DICOMParsing",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "IndexRate",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Archive", package: "Arca"),
                .product(name: "DICOM", package: "Arca"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/IndexRate",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "BLAKE3Hashing",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "BLAKE3", package: "Arca"),
            ],
            path: "Benchmarks/BLAKE3Hashing",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)

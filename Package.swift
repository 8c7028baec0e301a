// swift-tools-version: 6.1
import PackageDescription

// BLAKE3's wide kernels (x86_64 Linux): in release builds BLAKE3AVX2 is compiled for x86-64-v3 (AVX2) and
// BLAKE3AVX512 for x86-64-v4 (swiftc knows these levels only as CPUs: haswell, skylake-avx512); BLAKE3 calls
// them only after a CPUID check (CBLAKE3CPU). Debug builds compile them for the baseline: unoptimized code
// keeps standard-library helpers out of line, and the linker would merge those with the portable code's.
// Elsewhere they compile to nothing and BLAKE3 uses its portable code.
#if arch(x86_64)
let blake3Wide: [SwiftSetting] = [.define("BLAKE3_WIDE_KERNELS", .when(platforms: [.linux]))]
func blake3Kernel(cpu: String) -> [SwiftSetting] {
    blake3Wide + [.unsafeFlags(["-target-cpu", cpu], .when(platforms: [.linux], configuration: .release))]
}
#else
let blake3Wide: [SwiftSetting] = []
func blake3Kernel(cpu: String) -> [SwiftSetting] { [] }
#endif

let package = Package(
    name: "Arca",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "arca", targets: ["arca"]),
        .library(name: "DICOM", targets: ["DICOM"]),
        .library(name: "DICOMNetwork", targets: ["DICOMNetwork"]),
        .library(name: "BLAKE3", targets: ["BLAKE3"]),
        .library(name: "EDCKV", targets: ["EDCKV"]),
        .library(name: "Archive", targets: ["Archive"]),
        .library(name: "Pixels", targets: ["Pixels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // DICOM TLS (PS3.15 B.1) and HTTPS; password hashing (PBKDF2) for the HTTP users.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // The DICOM data layer: tags, VRs, the dictionary, datasets, the streaming reader and the writer.
        // zlib, for the Deflated Explicit VR Little Endian transfer syntax.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "DICOM", dependencies: ["CZlib"]),
        // BLAKE3 hashing (file hashes of the archive, names of eDCKV files).
        .target(name: "BLAKE3", dependencies: ["BLAKE3AVX2", "BLAKE3AVX512", "CBLAKE3CPU"], swiftSettings: blake3Wide),
        .target(name: "BLAKE3AVX2", swiftSettings: blake3Kernel(cpu: "haswell")),
        .target(name: "BLAKE3AVX512", swiftSettings: blake3Kernel(cpu: "skylake-avx512")),
        .target(name: "CBLAKE3CPU"),
        // Times BLAKE3 on a file (scripts/bench-blake3 runs it beside b3sum).
        .executableTarget(name: "b3bench", dependencies: ["BLAKE3", "CBLAKE3CPU"]),
        // Generates a large index and times C-FIND round trips (scripts/bench-qr runs it beside Orthanc).
        .executableTarget(name: "qrbench", dependencies: [
            "Archive", "DICOM", "DICOMNetwork", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // The eDCKV key-value study store.
        .target(name: "EDCKV", dependencies: [
            "DICOM", "BLAKE3", "CArcaIO", "Archive", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // DICOM Upper Layer (PS3.8) and DIMSE (PS3.7) over SwiftNIO.
        .target(
            name: "DICOMNetwork",
            dependencies: [
                "DICOM",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // Linux file calls Glibc's module does not export (sync_file_range).
        .target(name: "CArcaIO"),
        // A SQLite VFS whose reads fail instead of waiting for the device: short queries run on the event loop.
        .target(name: "CSQLiteNoWait", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The archive: file naming, duplicate policy, durable writes, the index.
        .target(
            name: "Archive",
            dependencies: [
                "DICOM", "BLAKE3", "CArcaIO", "CSQLiteNoWait",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The archive's DIMSE services beyond storage: C-FIND, C-MOVE, C-GET, storage commitment, over the
        // query engine of `Archive`.
        .target(
            name: "ArchiveServices",
            dependencies: [
                "DICOM", "DICOMNetwork", "Archive", "BLAKE3",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // DICOMweb (QIDO-RS, WADO-RS, STOW-RS, WADO-URI), the web page, /metrics and /health on Hummingbird.
        .target(
            name: "DICOMweb",
            dependencies: [
                "DICOM", "DICOMNetwork", "Archive",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            resources: [.copy("Page")]
        ),
        // Wiring: configuration, the storage service behind the SCP, logging, lifecycle.
        .target(
            name: "ArcaServer",
            dependencies: [
                "DICOM", "DICOMNetwork", "Archive", "ArchiveServices", "BLAKE3", "EDCKV", "DICOMweb", "Pixels",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "arca",
            dependencies: [
                "DICOM",
                "DICOMNetwork",
                "Archive",
                "ArchiveServices",
                "ArcaServer",
                "EDCKV",
                "Pixels",
                "DICOMweb",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Pixel data: frames of any instance, decoders and encoders for the transfer syntaxes, rendering to
        // 8-bit PNG/JPEG. The codec libraries of the field come from Debian through one small shim target each
        // (error handling that C libraries do with longjmp or callbacks stays in C).
        .target(
            name: "Pixels",
            dependencies: ["DICOM", "CZlib", "CJPEGTurbo", "CCharLS", "COpenJPEG", "COpenJPH"]
        ),
        // Times decoding, thumbnails and PNG output (scripts/bench-pixels runs it beside DCMTK and GDCM).
        .executableTarget(name: "pixbench", dependencies: ["Pixels"]),
        // libjpeg-turbo (libjpeg62-turbo-dev): 8-bit DCT JPEG decode, and JPEG output of rendered images.
        .target(name: "CJPEGTurbo", linkerSettings: [.linkedLibrary("jpeg")]),
        // CharLS (libcharls-dev): JPEG-LS.
        .target(name: "CCharLS", linkerSettings: [.linkedLibrary("charls")]),
        // OpenJPEG (libopenjp2-7-dev): JPEG 2000, and HTJ2K decode.
        .target(name: "COpenJPEG", linkerSettings: [.linkedLibrary("openjp2")]),
        // OpenJPH (libopenjph-dev, C++): HTJ2K.
        .target(name: "COpenJPH", linkerSettings: [.linkedLibrary("openjph")]),
        // Helpers the tests share: running DCMTK, pydicom and pynetdicom, temporary folders.
        .target(name: "TestSupport", dependencies: ["DICOM"], path: "Tests/TestSupport"),
        .testTarget(name: "DICOMTests", dependencies: ["DICOM", "TestSupport"]),
        .testTarget(
            name: "InteropTests",
            dependencies: [
                "DICOM", "DICOMNetwork", "Archive", "ArcaServer", "EDCKV", "TestSupport",
                "DICOMweb",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ArchiveTests",
            dependencies: ["Archive", "DICOM", "BLAKE3", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(name: "BLAKE3Tests", dependencies: ["BLAKE3"]),
        .testTarget(name: "PixelsTests", dependencies: ["Pixels", "DICOM", "TestSupport"]),
        .testTarget(name: "EDCKVTests", dependencies: ["EDCKV", "TestSupport"]),
        .testTarget(
            name: "DICOMNetworkTests",
            dependencies: [
                "DICOM", "DICOMNetwork", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // The DICOMweb request parsers alone (multipart bodies, QIDO-RS parameters); regressions of Fuzz/.
        .testTarget(
            name: "DICOMwebTests",
            dependencies: ["DICOMweb", "Archive", "DICOM", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
    ]
)

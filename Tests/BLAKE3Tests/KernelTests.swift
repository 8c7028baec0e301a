import Foundation
import Testing

@testable import BLAKE3

/// Every kernel this CPU runs (portable 4-lane, AVX2 8-lane, AVX-512 16-lane) must give the same hashes.
@Suite struct KernelTests {
    static let kernels = BLAKE3.Kernel.supported

    /// CPU flags as Linux reports them (empty elsewhere).
    static let cpuFlags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }()

    @Test func detectionAgreesWithProcCpuinfo() {
        #expect(Self.kernels.first == .portable)
        #if arch(x86_64) && os(Linux)
        let v3: Set = ["avx", "avx2", "bmi1", "bmi2", "fma", "f16c", "movbe", "abm", "xsave"]
        let v4: Set = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
        #expect(Self.kernels.contains(.avx2) == v3.isSubset(of: Self.cpuFlags), "flags: \(Self.cpuFlags.sorted())")
        #expect(Self.kernels.contains(.avx512) == v3.union(v4).isSubset(of: Self.cpuFlags))
        #endif
        print("BLAKE3 kernels on this CPU: \(Self.kernels.map(\.rawValue)), preferred \(BLAKE3.Kernel.preferred)")
    }

    @Test func preferredIsTheWidestUnlessTheEnvironmentSaysOtherwise() {
        if ProcessInfo.processInfo.environment["ARCA_BLAKE3_KERNEL"] == nil {
            #expect(BLAKE3.Kernel.preferred == Self.kernels.max())
            #expect(BLAKE3().kernel == Self.kernels.max())
        }
        #expect(Self.kernels.contains(BLAKE3.Kernel.preferred))
    }

    @Test(arguments: kernels)
    func officialVectors(kernel: BLAKE3.Kernel) {
        for (length, xof131) in BLAKE3Tests.officialVectors {
            var hasher = BLAKE3(kernel: kernel)
            hasher.update(vectorInput(length))
            #expect(BLAKE3.hex(hasher.finalize(outputLength: 131)) == xof131, "\(kernel), length \(length)")
        }
    }

    /// Subtrees of every size each kernel takes (up to 256 chunks), at counters with high bits set (a subtree of
    /// the 2^32nd chunk onwards), against the portable code.
    @Test(arguments: kernels)
    func subtreesMatchPortable(kernel: BLAKE3.Kernel) {
        let input = randomBytes(256 * 1024)
        input.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            for chunks in [2, 4, 8, 16, 32, 64, 128, 256] {
                for counter: UInt64 in [0, UInt64(chunks), 1 << 32, (5 << 32) + UInt64(4 * chunks), (1 << 40) - UInt64(chunks)] {
                    let wide = BLAKE3.hashSubtree(base, chunks: chunks, counter: counter, kernel: kernel)
                    let portable = BLAKE3.hashSubtree(base, chunks: chunks, counter: counter, kernel: .portable)
                    #expect(wide == portable, "\(kernel), \(chunks) chunks at counter \(counter)")
                }
            }
        }
    }

    /// Lengths around the kernels' group sizes, in one piece and in odd pieces, against the portable code.
    @Test(arguments: kernels)
    func lengthsAndPiecesMatchPortable(kernel: BLAKE3.Kernel) {
        let input = randomBytes(600 * 1024 + 3)
        let lengths = [0, 1, 1024, 1025, 2048, 4097, 8 * 1024, 8 * 1024 + 1, 16 * 1024, 16 * 1024 + 1, 17 * 1024 - 1,
                       31 * 1024, 33 * 1024 + 5, 64 * 1024 + 1, 256 * 1024, 256 * 1024 + 1, 513 * 1024 + 77, input.count]
        for length in lengths {
            let bytes = Array(input.prefix(length))
            var wide = BLAKE3(kernel: kernel), portable = BLAKE3(kernel: .portable)
            wide.update(bytes)
            portable.update(bytes)
            #expect(wide.finalize(outputLength: 64) == portable.finalize(outputLength: 64), "\(kernel), length \(length)")
        }
        for pieceSize in [1000, 4096, 8 * 1024 + 3, 65 * 1024 + 1, 200 * 1024] {
            var hasher = BLAKE3(kernel: kernel)
            hasher.update(input, inPiecesOf: pieceSize)
            var portable = BLAKE3(kernel: .portable)
            portable.update(input)
            #expect(hasher.finalize() == portable.finalize(), "\(kernel), pieces of \(pieceSize)")
        }
    }

    /// Streams fed in pieces that start and end on either side of the multiples of 64 KiB where the hasher stops
    /// staging input (as a server feeds it each PDU's data), against the reference CLI.
    @Test(.enabled(if: B3Sum.isInstalled || B3Sum.isCI, "b3sum is not installed (/usr/bin/b3sum); skipped (fails when CI=true)"),
          arguments: kernels)
    func piecesAroundStagingBoundariesAgainstB3sum(kernel: BLAKE3.Kernel) throws {
        for length in [65536, 65537, 131072, 3 * 65536 + 1024, 300_001] {
            let bytes = randomBytes(length)
            let url = FileManager.default.temporaryDirectory
                .appendingPathComponent("blake3-staging-test-\(UUID().uuidString).bin")
            try Data(bytes).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            let expected = try B3Sum.hash(file: url)
            for piece in [997, 16372, 32768, 65535, 65536, 65537, 131060] {
                var hasher = BLAKE3(kernel: kernel)
                hasher.update(bytes, inPiecesOf: piece)
                #expect(BLAKE3.hex(hasher.finalize()) == expected, "\(kernel), length \(length), pieces of \(piece)")
            }
        }
    }

    /// Each kernel against the reference CLI, on a few MB of random data.
    @Test(.enabled(if: B3Sum.isInstalled || B3Sum.isCI, "b3sum is not installed (/usr/bin/b3sum); skipped (fails when CI=true)"),
          arguments: kernels)
    func randomInputAgainstB3sum(kernel: BLAKE3.Kernel) throws {
        let bytes = randomBytes(3 * 1024 * 1024 + 1025 + 17)
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("blake3-kernel-test-\(UUID().uuidString).bin")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        var hasher = BLAKE3(kernel: kernel)
        hasher.update(bytes)
        #expect(BLAKE3.hex(hasher.finalize()) == (try B3Sum.hash(file: url)), "\(kernel)")
    }
}

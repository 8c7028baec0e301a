import BLAKE3
import Benchmark
import Foundation

/// BLAKE3 over 64 MiB of pseudo-random bytes on one core: the one-shot hash of a buffer in memory, the same in
/// 1 MiB updates (as `hashFile` feeds it), and a file read from the page cache. Throughput is in hashes/s; MB/s
/// = 67.1 × that. `scripts/bench-blake3` compares with `b3sum --num-threads 1` on a 1 GiB file.
let size = 64 * 1024 * 1024

func pseudoRandomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    bytes.withUnsafeMutableBytes { buffer in
        var i = 0
        while i + 8 <= buffer.count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            buffer.storeBytes(of: state, toByteOffset: i, as: UInt64.self)
            i += 8
        }
    }
    return bytes
}

let benchmarks: @Sendable () -> Void = {
    let input = pseudoRandomBytes(size)
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal],
        timeUnits: .milliseconds,
        maxDuration: .seconds(5), maxIterations: 50)

    Benchmark("BLAKE3 64 MiB (one-shot)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(input.withUnsafeBytes { BLAKE3.hash($0) })
        }
    }
    Benchmark("BLAKE3 64 MiB (1 MiB updates)") { benchmark in
        for _ in benchmark.scaledIterations {
            var hasher = BLAKE3()
            input.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let end = min(offset + (1 << 20), bytes.count)
                    hasher.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                    offset = end
                }
            }
            blackHole(hasher.finalize())
        }
    }
    let path = "/tmp/arca-bench-blake3-64m.bin"
    if (try? Data(input).write(to: URL(fileURLWithPath: path))) != nil {
        Benchmark("BLAKE3 64 MiB (hashFile, page cache)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try BLAKE3.hashFile(atPath: path)) }
        }
    }
}

// Runtime choice of the code that hashes whole chunks: the portable 4-lane SIMD code of this module, or a wide
// kernel compiled for a newer x86-64 level in its own module (BLAKE3AVX2, BLAKE3AVX512), used only when CPUID
// says the CPU has that level. Package.swift defines BLAKE3_WIDE_KERNELS on x86_64 Linux.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if arch(x86_64) && BLAKE3_WIDE_KERNELS
import BLAKE3AVX2
import BLAKE3AVX512
import CBLAKE3CPU
#endif

extension BLAKE3 {
    /// The code that hashes subtrees of whole chunks.
    enum Kernel: String, Sendable, CaseIterable, Comparable {
        /// 4 chunks at a time in 128-bit vectors: any CPU.
        case portable
        /// 8 chunks at a time in 256-bit vectors: x86-64-v3 (AVX2).
        case avx2
        /// 16 chunks at a time in 512-bit vectors: x86-64-v4 (AVX-512).
        case avx512

        /// Fewest whole chunks the kernel hashes as one subtree (its lane count); smaller subtrees are portable.
        var minimumChunks: Int {
            switch self {
            case .portable: 2
            case .avx2: 8
            case .avx512: 16
            }
        }

        static func < (a: Kernel, b: Kernel) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }

        /// Every kernel this CPU (and this build) can run, portable first.
        static let supported: [Kernel] = {
            var kernels: [Kernel] = [.portable]
            #if arch(x86_64) && BLAKE3_WIDE_KERNELS
            let features = Int(arca_blake3_cpu_features())
            if features & Int(ARCA_BLAKE3_X86_64_V3) != 0 { kernels.append(.avx2) }
            if features & Int(ARCA_BLAKE3_X86_64_V4) != 0 { kernels.append(.avx512) }
            #endif
            return kernels
        }()

        /// The kernel `BLAKE3()` uses: the widest supported one, or a narrower one named by the environment
        /// variable ARCA_BLAKE3_KERNEL (`portable`, `avx2`, `avx512`; for benchmarks and for ruling the wide
        /// code out). A kernel the CPU lacks is never chosen, whatever the variable says.
        static let preferred: Kernel = {
            let best = supported.max() ?? .portable
            guard let raw = getenv("ARCA_BLAKE3_KERNEL"), let asked = Kernel(rawValue: String(cString: raw)) else {
                return best
            }
            return min(asked, best)
        }()
    }
}

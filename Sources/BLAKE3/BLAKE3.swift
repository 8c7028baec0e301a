// BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs): one-shot and incremental hashing.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Lanes the portable code uses to hash whole chunks (and parent nodes) in parallel: with the x86-64 baseline
/// (SSE2, 16 vector registers) 4 lanes are fastest. Wider kernels, chosen at run time, are in Kernel.swift.
typealias WideLanes = SIMD4<UInt32>

#if arch(x86_64) && BLAKE3_WIDE_KERNELS
import BLAKE3AVX2
import BLAKE3AVX512
#endif

/// Largest number of chunks hashed as one subtree by the parallel path (a power of two).
private let maxSubtreeChunks = 256

/// The hasher hashes input in whole subtrees that the wide kernels take, stretches that end at multiples of this
/// many bytes (64 chunks) and parts of them, and stages the bytes that do not make one yet in `staged`. Fed as it
/// arrives (16 KiB pieces, the data of one PDU, at any offset), a stream otherwise falls into single chunks and
/// small subtrees that the wide kernels cannot take: 3 times the instructions per byte with the AVX2 kernel,
/// against copying each byte once into `staged` (16 KiB pieces) or about one in eight (128 KiB pieces) here.
private var stageLength: Int { 64 * blake3ChunkLength }

/// An incremental BLAKE3 hasher (default hash mode). A value type: copying it forks the state.
public struct BLAKE3: Sendable {
    /// Chaining value of the current chunk.
    private var chunkCV: SIMD8<UInt32> = blake3IV
    /// The current block's buffered bytes (`blockFill` of them, the rest zero).
    private var block: SIMD16<UInt32> = .zero
    private var blockFill = 0
    /// Blocks of the current chunk already compressed.
    private var blocksCompressed = 0
    /// Number of chunks already added to the tree, i.e. the counter of the current chunk.
    private var chunkCounter: UInt64 = 0
    /// Chaining values of complete subtrees, largest first: one per set bit of `chunkCounter`.
    private var stack: [SIMD8<UInt32>] = []
    /// Input not hashed yet, up to the next multiple of `stageLength` (at least one byte once any input came, so
    /// that what was hashed is never the end of the stream).
    private var staged: [UInt8] = []
    /// The code that hashes whole chunks (see `Kernel`).
    let kernel: Kernel

    public init() {
        kernel = Kernel.preferred
    }

    /// A hasher that uses `kernel` (tests run every supported one); the CPU must support it.
    init(kernel: Kernel) {
        precondition(Kernel.supported.contains(kernel), "BLAKE3: this CPU cannot run the \(kernel) kernel")
        self.kernel = kernel
    }

    private var chunkLength: Int { blocksCompressed * blake3BlockLength + blockFill }

    // MARK: Update

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        if !staged.isEmpty {
            // Bytes to the next multiple of `stageLength`; the staged stretch is hashed once a byte follows it.
            let fill = stageLength - Int(streamPosition % UInt64(stageLength)) - staged.count
            if remaining <= fill {
                staged.append(contentsOf: bytes)
                return
            }
            staged.append(contentsOf: UnsafeRawBufferPointer(start: p, count: fill))
            staged.withUnsafeBytes { absorb($0, moreFollows: true) }
            staged.removeAll(keepingCapacity: true)
            p += fill
            remaining -= fill
        }
        // Now at a multiple of `stageLength` (or the start). Straight from the input: up to the last multiple that
        // a byte follows, then the subtrees after it that the kernel takes whole (64 chunks split 32, 16, 8, …).
        // The rest, at least one byte, is staged.
        var direct = (remaining - 1) / stageLength * stageLength
        var subtree = stageLength / 2
        while subtree >= kernel.minimumChunks * blake3ChunkLength {
            if remaining - direct > subtree { direct += subtree }
            subtree /= 2
        }
        if direct > 0 {
            absorb(UnsafeRawBufferPointer(start: p, count: direct), moreFollows: true)
            p += direct
            remaining -= direct
        }
        staged.append(contentsOf: UnsafeRawBufferPointer(start: p, count: remaining))
    }

    /// Bytes hashed into the tree or held in the current chunk (not those staged).
    private var streamPosition: UInt64 { chunkCounter * UInt64(blake3ChunkLength) + UInt64(chunkLength) }

    /// Hashes `bytes` into the tree; `moreFollows` tells that the stream does not end with them, so that their
    /// last chunk can be hashed as a non-root node.
    private mutating func absorb(_ bytes: UnsafeRawBufferPointer, moreFollows: Bool) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        while remaining > 0 {
            if chunkLength == blake3ChunkLength {
                // The current chunk is complete and more input follows, so it is not the root.
                let cv = chunkOutput().chainingValue
                pushSubtree(cv, chunks: 1)
                resetChunk()
            }
            if chunkLength == 0 && (remaining > blake3ChunkLength || moreFollows && remaining == blake3ChunkLength) {
                // Whole chunks that are not the end of the stream: hash the largest aligned power-of-two
                // subtree in parallel.
                var n = 1
                let whole = moreFollows ? remaining / blake3ChunkLength : (remaining - 1) / blake3ChunkLength
                let available = min(whole, maxSubtreeChunks)
                while n * 2 <= available { n *= 2 }
                if chunkCounter != 0 {
                    let alignment = chunkCounter & (0 &- chunkCounter)
                    if alignment < UInt64(n) { n = Int(alignment) }
                }
                if n >= 2 {
                    let cv = Self.hashSubtree(p, chunks: n, counter: chunkCounter, kernel: kernel)
                    pushSubtree(cv, chunks: n)
                    p += n * blake3ChunkLength
                    remaining -= n * blake3ChunkLength
                    continue
                }
            }
            let take = min(blake3ChunkLength - chunkLength, remaining)
            updateChunk(p, count: take)
            p += take
            remaining -= take
        }
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        if done != nil { return }
        var pending: [UInt8] = []
        pending.reserveCapacity(16 * 1024)
        for byte in bytes {
            pending.append(byte)
            if pending.count == 16 * 1024 {
                pending.withUnsafeBytes { update($0) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        pending.withUnsafeBytes { update($0) }
    }

    /// Feeds at most the rest of the current chunk.
    private mutating func updateChunk(_ input: UnsafeRawPointer, count: Int) {
        var p = input
        var remaining = count
        while remaining > 0 {
            if blockFill == blake3BlockLength {
                chunkCV = compressCV(cv: chunkCV, block: block, counter: chunkCounter,
                                     blockLength: UInt32(blake3BlockLength), flags: startFlag)
                blocksCompressed += 1
                blockFill = 0
                block = .zero
            }
            if blockFill == 0 && remaining > blake3BlockLength {
                // Compress straight from the input; the last block always stays buffered.
                chunkCV = compressCV(cv: chunkCV, block: loadBlock(p), counter: chunkCounter,
                                     blockLength: UInt32(blake3BlockLength), flags: startFlag)
                blocksCompressed += 1
                p += blake3BlockLength
                remaining -= blake3BlockLength
                continue
            }
            let take = min(blake3BlockLength - blockFill, remaining)
            let fill = blockFill
            withUnsafeMutableBytes(of: &block) { buffer in
                UnsafeMutableRawBufferPointer(rebasing: buffer[fill..<fill + take])
                    .copyMemory(from: UnsafeRawBufferPointer(start: p, count: take))
            }
            blockFill += take
            p += take
            remaining -= take
        }
    }

    private var startFlag: UInt32 { blocksCompressed == 0 ? Flag.chunkStart : 0 }

    private mutating func resetChunk() {
        chunkCV = blake3IV
        block = .zero
        blockFill = 0
        blocksCompressed = 0
    }

    /// Adds the chaining value of a complete subtree of `chunks` chunks (a power of two that
    /// divides `chunkCounter`) and merges equal-sized subtrees eagerly.
    private mutating func pushSubtree(_ cv: SIMD8<UInt32>, chunks: Int) {
        stack.append(cv)
        chunkCounter += UInt64(chunks)
        while stack.count > chunkCounter.nonzeroBitCount {
            let right = stack.removeLast()
            let left = stack.removeLast()
            stack.append(Self.parentOutput(left, right).chainingValue)
        }
    }

    /// Hashes `chunks` (a power of two ≥ 2, at most `maxSubtreeChunks`) whole chunks as one subtree, the first
    /// chunk's counter being `counter` (a multiple of `chunks`); returns its chaining value.
    static func hashSubtree(_ input: UnsafeRawPointer, chunks: Int, counter: UInt64,
                            kernel: Kernel) -> SIMD8<UInt32> {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 8 * chunks + 8) { scratch in
            guard let cvs = scratch.baseAddress else { return blake3IV }
            #if arch(x86_64) && BLAKE3_WIDE_KERNELS
            // The widest kernel that the CPU has and the subtree fills (an AVX-512 CPU has AVX2 too).
            let out = cvs + 8 * chunks
            if kernel >= .avx512 && chunks >= Kernel.avx512.minimumChunks {
                blake3AVX512Subtree(input, chunks: chunks, counter: counter, scratch: cvs, cv: out)
                return SIMD8(out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7])
            }
            if kernel >= .avx2 && chunks >= Kernel.avx2.minimumChunks {
                blake3AVX2Subtree(input, chunks: chunks, counter: counter, scratch: cvs, cv: out)
                return SIMD8(out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7])
            }
            #endif
            let lanes = WideLanes.laneCount
            var i = 0
            while i < chunks {
                let n = min(lanes, chunks - i)
                hashChunks(WideLanes.self, input: input + i * blake3ChunkLength, count: n,
                           counter: counter &+ UInt64(i), out: cvs + 8 * i)
                i += n
            }
            var width = chunks
            while width > 1 {
                let parents = width / 2
                var j = 0
                while j < parents {
                    let n = min(lanes, parents - j)
                    if n == 1 {
                        hashParents(UInt32.self, blocks: cvs + 16 * j, count: 1, out: cvs + 8 * j)
                    } else {
                        hashParents(WideLanes.self, blocks: cvs + 16 * j, count: n, out: cvs + 8 * j)
                    }
                    j += n
                }
                width = parents
            }
            return SIMD8(cvs[0], cvs[1], cvs[2], cvs[3], cvs[4], cvs[5], cvs[6], cvs[7])
        }
    }

    // MARK: Finalize

    private func chunkOutput() -> Output {
        Output(inputCV: chunkCV, block: block, counter: chunkCounter, blockLength: UInt32(blockFill),
               flags: startFlag | Flag.chunkEnd)
    }

    private static func parentOutput(_ left: SIMD8<UInt32>, _ right: SIMD8<UInt32>) -> Output {
        Output(inputCV: blake3IV, block: SIMD16(lowHalf: left, highHalf: right), counter: 0,
               blockLength: UInt32(blake3BlockLength), flags: Flag.parent)
    }

    private func rootOutput() -> Output {
        var output = chunkOutput()
        for cv in stack.reversed() {
            output = Self.parentOutput(cv, output.chainingValue)
        }
        return output
    }

    /// The 32-byte digest of everything added so far (the hasher stays usable).
    public func finalize() -> [UInt8] {
        finalize(outputLength: 32)
    }

    /// `outputLength` bytes of extendable output (the first 32 are the digest).
    public func finalize(outputLength: Int) -> [UInt8] {
        precondition(outputLength >= 0, "BLAKE3 output length must not be negative")
        var last = self
        staged.withUnsafeBytes { last.absorb($0, moreFollows: false) }
        return last.rootOutput().rootBytes(outputLength)
    }

    // MARK: One-shot

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = BLAKE3()
        hasher.absorb(bytes, moreFollows: false)  // the whole stream at once: nothing to stage
        return hasher.finalize()
    }

    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return digest }
        var hasher = BLAKE3()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Lowercase hexadecimal.
    public static func hex(_ digest: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(digest.count * 2)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Files

    /// A file could not be opened or read.
    public struct FileError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let operation: String
        public let errno: Int32
        public var description: String {
            "BLAKE3: cannot \(operation) \(path): \(String(cString: strerror(errno)))"
        }
    }

    /// Hashes a file, reading it 1 MiB at a time.
    public static func hashFile(atPath path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw FileError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { return hash([UInt8]()) }
        var hasher = BLAKE3()
        while true {
            let n = read(fd, base, bufferSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(start: base, count: n))
        }
        return hasher.finalize()
    }
}

/// The inputs of a node's final compression, kept so that it can be done as a chaining value or as
/// (extendable) root output.
private struct Output {
    var inputCV: SIMD8<UInt32>
    var block: SIMD16<UInt32>
    var counter: UInt64
    var blockLength: UInt32
    var flags: UInt32

    var chainingValue: SIMD8<UInt32> {
        compressCV(cv: inputCV, block: block, counter: counter, blockLength: blockLength, flags: flags)
    }

    func rootBytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var outputCounter: UInt64 = 0
        while out.count < count {
            let words = compressBlock(cv: inputCV, block: block, counter: outputCounter,
                                      blockLength: blockLength, flags: flags | Flag.root)
            for i in 0..<16 where out.count < count {
                let word = words[i]
                for shift in stride(from: 0, to: 32, by: 8) where out.count < count {
                    out.append(UInt8(truncatingIfNeeded: word >> UInt32(shift)))
                }
            }
            outputCounter += 1
        }
        return out
    }
}

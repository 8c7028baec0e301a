// The 16-lane BLAKE3 kernel for x86-64-v4 (AVX-512): hashes sixteen 1024-byte chunks at once, one per 32-bit
// lane of a 512-bit vector, then the parent nodes above them sixteen at a time. The same code as BLAKE3AVX2
// but for the lane count and the transposing load; AVX-512 adds the one-instruction rotation (vprold) and
// 32 vector registers.
//
// Package.swift compiles this module with `-target-cpu skylake-avx512` (x86-64-v4) in release builds on x86_64
// Linux, so every function in it may use AVX-512; BLAKE3 calls its entry point only after its CPUID check found
// all of x86-64-v4 (see `BLAKE3.Kernel`). The module is self-contained (it does not import BLAKE3) and
// everything in it is inlined into that one entry point, so that no AVX-512 code lands in a function the linker
// could share with other modules (scripts/bench-blake3 checks the binary). Keep it so. (Debug builds compile it
// for the baseline, where nothing is inlined.)

#if arch(x86_64) && BLAKE3_WIDE_KERNELS

// Constants are computed properties, not stored globals: a global is initialized lazily behind swift_once and
// loaded lane by lane, and LLVM then scalarizes the vector arithmetic it feeds.
private typealias V = SIMD16<UInt32>
private var laneCount: Int { 16 }
private var laneIndex: V { V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) }

private var chunkLength: Int { 1024 }
private var blockLength: Int { 64 }
private var flagChunkStart: UInt32 { 1 }
private var flagChunkEnd: UInt32 { 2 }
private var flagParent: UInt32 { 4 }
private var iv: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) {
    (0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A, 0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19)
}

// MARK: Vector helpers

@inline(__always) private func splat(_ x: UInt32) -> V { V(repeating: x) }

// Rotations. The halves are added rather than or-ed: the standard library's vector shifts and `|` are lane loops
// that LLVM re-vectorizes, and an or of two shifts becomes a scalar rotate per lane before that; `&+` is a true
// vector add, and the sum of the two disjoint halves is the same value. Each becomes one vprold.
@inline(__always) private func rotr16(_ x: V) -> V { (x &>> 16) &+ (x &<< 16) }
@inline(__always) private func rotr12(_ x: V) -> V { (x &>> 12) &+ (x &<< 20) }
@inline(__always) private func rotr8(_ x: V) -> V { (x &>> 8) &+ (x &<< 24) }
@inline(__always) private func rotr7(_ x: V) -> V { (x &>> 7) &+ (x &<< 25) }

// Interleaves within each 128-bit quarter, as the x86 unpack instructions do.
@inline(__always) private func unpackLo32(_ a: V, _ b: V) -> V {
    V(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5], a[8], b[8], a[9], b[9], a[12], b[12], a[13], b[13])
}
@inline(__always) private func unpackHi32(_ a: V, _ b: V) -> V {
    V(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7], a[10], b[10], a[11], b[11], a[14], b[14], a[15], b[15])
}
@inline(__always) private func unpackLo64(_ a: V, _ b: V) -> V {
    V(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5], a[8], a[9], b[8], b[9], a[12], a[13], b[12], b[13])
}
@inline(__always) private func unpackHi64(_ a: V, _ b: V) -> V {
    V(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7], a[10], a[11], b[10], b[11], a[14], a[15], b[14], b[15])
}

/// Words `4g..<4g+4` (bytes `16g..<16g+16`) of the rows at `r0`…`r3`, one row per 128-bit quarter.
@inline(__always)
private func quarters(_ r0: UnsafeRawPointer, _ r1: UnsafeRawPointer, _ r2: UnsafeRawPointer,
                      _ r3: UnsafeRawPointer, _ g: Int) -> V {
    @inline(__always) func q(_ r: UnsafeRawPointer) -> SIMD4<UInt32> {
        r.loadUnaligned(fromByteOffset: 16 * g, as: SIMD4<UInt32>.self)
    }
    return V(lowHalf: SIMD8(lowHalf: q(r0), highHalf: q(r1)), highHalf: SIMD8(lowHalf: q(r2), highHalf: q(r3)))
}

// MARK: Compression

/// The 16 message words of one 64-byte block per lane, transposed: lane `i` of `m[j]` is word `j` of block `i`.
private struct Message {
    var m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15: V

    /// Loads lane `i`'s block from `base + stride * min(i, count - 1)`.
    @inline(__always)
    init(_ base: UnsafeRawPointer, stride: Int, count: Int) {
        let last = count - 1
        @inline(__always) func row(_ i: Int) -> UnsafeRawPointer { base + stride * min(i, last) }
        let p0 = row(0), p1 = row(1), p2 = row(2), p3 = row(3), p4 = row(4), p5 = row(5), p6 = row(6), p7 = row(7)
        let p8 = row(8), p9 = row(9), p10 = row(10), p11 = row(11)
        let p12 = row(12), p13 = row(13), p14 = row(14), p15 = row(15)
        // Per 4-word group: x_k's quarters = rows k, k + 4, k + 8, k + 12, then a 4×4 transpose in each quarter.
        @inline(__always) func group(_ g: Int) -> (V, V, V, V) {
            let x0 = quarters(p0, p4, p8, p12, g), x1 = quarters(p1, p5, p9, p13, g)
            let x2 = quarters(p2, p6, p10, p14, g), x3 = quarters(p3, p7, p11, p15, g)
            let t0 = unpackLo32(x0, x1), t1 = unpackHi32(x0, x1), t2 = unpackLo32(x2, x3), t3 = unpackHi32(x2, x3)
            return (unpackLo64(t0, t2), unpackHi64(t0, t2), unpackLo64(t1, t3), unpackHi64(t1, t3))
        }
        (m0, m1, m2, m3) = group(0)
        (m4, m5, m6, m7) = group(1)
        (m8, m9, m10, m11) = group(2)
        (m12, m13, m14, m15) = group(3)
    }

    @inline(__always)
    init(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V, _ m6: V, _ m7: V,
         _ m8: V, _ m9: V, _ m10: V, _ m11: V, _ m12: V, _ m13: V, _ m14: V, _ m15: V) {
        (self.m0, self.m1, self.m2, self.m3, self.m4, self.m5, self.m6, self.m7) = (m0, m1, m2, m3, m4, m5, m6, m7)
        (self.m8, self.m9, self.m10, self.m11, self.m12, self.m13, self.m14, self.m15) =
            (m8, m9, m10, m11, m12, m13, m14, m15)
    }

    /// The message permutation between rounds: word `i` of the next round is word `P[i]` of this one.
    @inline(__always)
    var permuted: Message { Message(m2, m6, m3, m10, m7, m0, m4, m13, m1, m11, m12, m5, m9, m14, m15, m8) }
}

private struct State {
    var v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15: V

    @inline(__always)
    init(cv: (V, V, V, V, V, V, V, V), counterLow: V, counterHigh: V, blockLength: V, flags: V) {
        (v0, v1, v2, v3, v4, v5, v6, v7) = cv
        (v8, v9, v10, v11) = (splat(iv.0), splat(iv.1), splat(iv.2), splat(iv.3))
        (v12, v13, v14, v15) = (counterLow, counterHigh, blockLength, flags)
    }

    @inline(__always)
    static func g(_ a: inout V, _ b: inout V, _ c: inout V, _ d: inout V, _ x: V, _ y: V) {
        a = a &+ b &+ x
        d = rotr16(d ^ a)
        c = c &+ d
        b = rotr12(b ^ c)
        a = a &+ b &+ y
        d = rotr8(d ^ a)
        c = c &+ d
        b = rotr7(b ^ c)
    }

    @inline(__always)
    mutating func round(_ m: Message) {
        Self.g(&v0, &v4, &v8, &v12, m.m0, m.m1)
        Self.g(&v1, &v5, &v9, &v13, m.m2, m.m3)
        Self.g(&v2, &v6, &v10, &v14, m.m4, m.m5)
        Self.g(&v3, &v7, &v11, &v15, m.m6, m.m7)
        Self.g(&v0, &v5, &v10, &v15, m.m8, m.m9)
        Self.g(&v1, &v6, &v11, &v12, m.m10, m.m11)
        Self.g(&v2, &v7, &v8, &v13, m.m12, m.m13)
        Self.g(&v3, &v4, &v9, &v14, m.m14, m.m15)
    }

    /// The seven rounds; returns the first half of the output (the chaining value).
    @inline(__always)
    mutating func compress(_ message: Message) -> (V, V, V, V, V, V, V, V) {
        var m = message
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m)
        return (v0 ^ v8, v1 ^ v9, v2 ^ v10, v3 ^ v11, v4 ^ v12, v5 ^ v13, v6 ^ v14, v7 ^ v15)
    }
}

/// Writes lane `i` of the eight words `h` to `out + 8 * i`, for `i < count`.
@inline(__always)
private func store(_ h: (V, V, V, V, V, V, V, V), count: Int, _ out: UnsafeMutablePointer<UInt32>) {
    for i in 0..<count {
        let o = out + 8 * i
        o[0] = h.0[i]; o[1] = h.1[i]; o[2] = h.2[i]; o[3] = h.3[i]
        o[4] = h.4[i]; o[5] = h.5[i]; o[6] = h.6[i]; o[7] = h.7[i]
    }
}

/// Hashes `laneCount` whole chunks at `input` (lane `i`'s counter is lane `i` of `counterLow` and `counterHigh`);
/// writes their chaining values to `out`.
@inline(__always)
private func hashChunks(_ input: UnsafeRawPointer, counterLow: V, counterHigh: V, _ out: UnsafeMutablePointer<UInt32>) {
    var h = (splat(iv.0), splat(iv.1), splat(iv.2), splat(iv.3), splat(iv.4), splat(iv.5), splat(iv.6), splat(iv.7))
    var offset = 0
    while offset < chunkLength {
        var flags: UInt32 = 0
        if offset == 0 { flags |= flagChunkStart }
        if offset == chunkLength - blockLength { flags |= flagChunkEnd }
        var s = State(cv: h, counterLow: counterLow, counterHigh: counterHigh,
                      blockLength: splat(UInt32(blockLength)), flags: splat(flags))
        h = s.compress(Message(input + offset, stride: chunkLength, count: laneCount))
        offset += blockLength
    }
    store(h, count: laneCount, out)
}

/// Compresses `count` (1...laneCount) parent nodes, node `i` being the 16 words at `blocks + 16 * i`;
/// writes their chaining values to `out` (which may be `blocks`).
@inline(__always)
private func hashParents(_ blocks: UnsafeMutablePointer<UInt32>, count: Int, _ out: UnsafeMutablePointer<UInt32>) {
    let m = Message(UnsafeRawPointer(blocks), stride: blockLength, count: count)
    var s = State(cv: (splat(iv.0), splat(iv.1), splat(iv.2), splat(iv.3),
                       splat(iv.4), splat(iv.5), splat(iv.6), splat(iv.7)),
                  counterLow: splat(0), counterHigh: splat(0),
                  blockLength: splat(UInt32(blockLength)), flags: splat(flagParent))
    store(s.compress(m), count: count, out)
}

/// Hashes `chunks` whole 1024-byte chunks at `input` as one complete BLAKE3 subtree (`chunks` is a power of
/// two, at least 8; the first chunk's counter is `counter`, a multiple of `chunks`) and writes its chaining
/// value (8 words) to `cv`. `scratch` has room for `8 * chunks` words.
///
/// Only to be called when the CPU has everything of x86-64-v4 (BLAKE3 checks with CPUID).
@inline(never)
public func blake3AVX512Subtree(_ input: UnsafeRawPointer, chunks: Int, counter: UInt64,
                              scratch: UnsafeMutablePointer<UInt32>, cv: UnsafeMutablePointer<UInt32>) {
    precondition(chunks >= laneCount && chunks & (chunks - 1) == 0, "blake3AVX512Subtree: bad chunk count")
    // `counter` is a multiple of `chunks`, so adding a chunk's index never carries into the high word. The
    // counters stay one vector from chunk group to chunk group: LLVM scalarizes arithmetic on a vector it sees
    // assembled lane by lane, and would do so to every compression that starts from it.
    var counterLow = splat(UInt32(truncatingIfNeeded: counter)) | laneIndex
    let counterHigh = splat(UInt32(truncatingIfNeeded: counter >> 32))
    var i = 0
    while i < chunks {
        hashChunks(input + i * chunkLength, counterLow: counterLow, counterHigh: counterHigh, scratch + 8 * i)
        counterLow = counterLow &+ splat(UInt32(laneCount))
        i += laneCount
    }
    var width = chunks
    while width > 1 {
        let parents = width / 2
        var j = 0
        while j < parents {
            hashParents(scratch + 16 * j, count: min(laneCount, parents - j), scratch + 8 * j)
            j += laneCount
        }
        width = parents
    }
    for k in 0..<8 { cv[k] = scratch[k] }
}

#endif

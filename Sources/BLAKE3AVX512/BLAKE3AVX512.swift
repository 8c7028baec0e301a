// The 16-lane BLAKE3 kernel for x86-64-v4 (AVX-512): hashes sixteen 1024-byte chunks at once, one per 32-bit
// lane of a 512-bit vector, then the parent nodes above them sixteen at a time. The same design as BLAKE3AVX2
// (read its comments first) but for the lane count and the transposing load; AVX-512 adds the one-instruction
// rotation (vprold, so no byte shuffles are needed) and 32 vector registers.
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

// MARK: Transposition

// A 16×16 transpose of 32-bit words in four steps of 16 shuffles, as the x86 unpack and 128-bit lane shuffle
// instructions do it. Each step works on another lane type (32-bit, 64-bit integer, 64-bit float, 32-bit float):
// with one type throughout, LLVM merges the steps into two-source permutes (vpermt2d), about 3 times as many
// shuffles, plus a register copy for each.
private typealias V64 = SIMD8<UInt64>
private typealias VD = SIMD8<Double>
private typealias VF = SIMD16<Float>
@inline(__always) private func cast<A: SIMD, B: SIMD>(_ a: A, to: B.Type) -> B { unsafeBitCast(a, to: B.self) }

@inline(__always) private func unpackLo32(_ a: V, _ b: V) -> V {
    V(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5], a[8], b[8], a[9], b[9], a[12], b[12], a[13], b[13])
}
@inline(__always) private func unpackHi32(_ a: V, _ b: V) -> V {
    V(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7], a[10], b[10], a[11], b[11], a[14], b[14], a[15], b[15])
}
@inline(__always) private func unpackLo64(_ a: V, _ b: V) -> V {
    let a = cast(a, to: V64.self), b = cast(b, to: V64.self)
    return cast(V64(a[0], b[0], a[2], b[2], a[4], b[4], a[6], b[6]), to: V.self)
}
@inline(__always) private func unpackHi64(_ a: V, _ b: V) -> V {
    let a = cast(a, to: V64.self), b = cast(b, to: V64.self)
    return cast(V64(a[1], b[1], a[3], b[3], a[5], b[5], a[7], b[7]), to: V.self)
}
/// 128-bit lanes 0, 1 of `a`, then 0, 1 of `b`.
@inline(__always) private func lanes01(_ a: V, _ b: V) -> V {
    let a = cast(a, to: VD.self), b = cast(b, to: VD.self)
    return cast(VD(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]), to: V.self)
}
/// 128-bit lanes 2, 3 of `a`, then 2, 3 of `b`.
@inline(__always) private func lanes23(_ a: V, _ b: V) -> V {
    let a = cast(a, to: VD.self), b = cast(b, to: VD.self)
    return cast(VD(a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]), to: V.self)
}
/// 128-bit lanes 0, 2 of `a`, then 0, 2 of `b`.
@inline(__always) private func lanes02(_ a: V, _ b: V) -> V {
    let a = cast(a, to: VF.self), b = cast(b, to: VF.self)
    return cast(VF(a[0], a[1], a[2], a[3], a[8], a[9], a[10], a[11],
                   b[0], b[1], b[2], b[3], b[8], b[9], b[10], b[11]), to: V.self)
}
/// 128-bit lanes 1, 3 of `a`, then 1, 3 of `b`.
@inline(__always) private func lanes13(_ a: V, _ b: V) -> V {
    let a = cast(a, to: VF.self), b = cast(b, to: VF.self)
    return cast(VF(a[4], a[5], a[6], a[7], a[12], a[13], a[14], a[15],
                   b[4], b[5], b[6], b[7], b[12], b[13], b[14], b[15]), to: V.self)
}

// MARK: Compression

/// The 16 message words of one 64-byte block per lane, transposed: lane `i` of `m[j]` is word `j` of block `i`.
private struct Message {
    var m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15: V

    /// Loads lane `i`'s block from `base + stride * i`: one 64-byte load per block, then a transpose.
    @inline(__always)
    init(_ base: UnsafeRawPointer, stride: Int) {
        @inline(__always) func row(_ i: Int) -> V { base.loadUnaligned(fromByteOffset: stride * i, as: V.self) }
        let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5), r6 = row(6), r7 = row(7)
        let r8 = row(8), r9 = row(9), r10 = row(10), r11 = row(11)
        let r12 = row(12), r13 = row(13), r14 = row(14), r15 = row(15)
        let t0 = unpackLo32(r0, r1), t1 = unpackHi32(r0, r1), t2 = unpackLo32(r2, r3), t3 = unpackHi32(r2, r3)
        let t4 = unpackLo32(r4, r5), t5 = unpackHi32(r4, r5), t6 = unpackLo32(r6, r7), t7 = unpackHi32(r6, r7)
        let t8 = unpackLo32(r8, r9), t9 = unpackHi32(r8, r9), t10 = unpackLo32(r10, r11), t11 = unpackHi32(r10, r11)
        let t12 = unpackLo32(r12, r13), t13 = unpackHi32(r12, r13)
        let t14 = unpackLo32(r14, r15), t15 = unpackHi32(r14, r15)
        // Lane L (128 bits) of u[4q + c]: word 4L + c of rows 4q…4q+3.
        let u0 = unpackLo64(t0, t2), u1 = unpackHi64(t0, t2), u2 = unpackLo64(t1, t3), u3 = unpackHi64(t1, t3)
        let u4 = unpackLo64(t4, t6), u5 = unpackHi64(t4, t6), u6 = unpackLo64(t5, t7), u7 = unpackHi64(t5, t7)
        let u8 = unpackLo64(t8, t10), u9 = unpackHi64(t8, t10), u10 = unpackLo64(t9, t11), u11 = unpackHi64(t9, t11)
        let u12 = unpackLo64(t12, t14), u13 = unpackHi64(t12, t14)
        let u14 = unpackLo64(t13, t15), u15 = unpackHi64(t13, t15)
        // Words c, 4 + c, 8 + c, 12 + c: a 4×4 transpose of the 128-bit lanes of u[c], u[4 + c], u[8 + c], u[12 + c].
        @inline(__always) func words(_ a: V, _ b: V, _ c: V, _ d: V) -> (V, V, V, V) {
            let x0 = lanes01(a, b), x1 = lanes23(a, b), x2 = lanes01(c, d), x3 = lanes23(c, d)
            return (lanes02(x0, x2), lanes13(x0, x2), lanes02(x1, x3), lanes13(x1, x3))
        }
        (m0, m4, m8, m12) = words(u0, u4, u8, u12)
        (m1, m5, m9, m13) = words(u1, u5, u9, u13)
        (m2, m6, m10, m14) = words(u2, u6, u10, u14)
        (m3, m7, m11, m15) = words(u3, u7, u11, u15)
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

private typealias Words = (V, V, V, V, V, V, V, V)

private struct State {
    var v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15: V

    @inline(__always)
    init(cv: Words, counterLow: V, counterHigh: V, blockLength: V, flags: V) {
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
    mutating func compress(_ message: Message) -> Words {
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

// MARK: Subtrees

// Chaining values stay transposed from the chunks up to the subtree's root, in groups of 16 nodes (vector `j`
// holds word `j` of nodes 0…15); the parents above take the even and the odd lanes of two groups (one vpermt2d
// each). See BLAKE3AVX2 for why.

@inline(__always) private func evenLanes(_ a: V, _ b: V) -> V {
    V(a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14])
}
@inline(__always) private func oddLanes(_ a: V, _ b: V) -> V {
    V(a[1], a[3], a[5], a[7], a[9], a[11], a[13], a[15], b[1], b[3], b[5], b[7], b[9], b[11], b[13], b[15])
}

@inline(__always)
private func loadGroup(_ p: UnsafeRawPointer) -> Words {
    @inline(__always) func word(_ j: Int) -> V { p.loadUnaligned(fromByteOffset: 64 * j, as: V.self) }
    return (word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7))
}

@inline(__always)
private func storeGroup(_ h: Words, _ p: UnsafeMutableRawPointer) {
    @inline(__always) func put(_ j: Int, _ x: V) { p.storeBytes(of: x, toByteOffset: 64 * j, as: V.self) }
    put(0, h.0); put(1, h.1); put(2, h.2); put(3, h.3); put(4, h.4); put(5, h.5); put(6, h.6); put(7, h.7)
}

/// Hashes `laneCount` whole chunks at `input` (lane `i`'s counter is lane `i` of `counterLow` and `counterHigh`);
/// writes their chaining values to `out` as a group.
@inline(__always)
private func hashChunks(_ input: UnsafeRawPointer, counterLow: V, counterHigh: V, _ out: UnsafeMutableRawPointer) {
    var h = (splat(iv.0), splat(iv.1), splat(iv.2), splat(iv.3), splat(iv.4), splat(iv.5), splat(iv.6), splat(iv.7))
    var offset = 0
    while offset < chunkLength {
        var flags: UInt32 = 0
        if offset == 0 { flags |= flagChunkStart }
        if offset == chunkLength - blockLength { flags |= flagChunkEnd }
        var s = State(cv: h, counterLow: counterLow, counterHigh: counterHigh,
                      blockLength: splat(UInt32(blockLength)), flags: splat(flags))
        h = s.compress(Message(input + offset, stride: chunkLength))
        offset += blockLength
    }
    storeGroup(h, out)
}

/// The parents of the 32 nodes of groups `left` and `right` (which may be the same group: then lanes 8…15 of the
/// result repeat lanes 0…7), as a group at `out` (which may be `left`).
@inline(__always)
private func hashParents(_ left: UnsafeRawPointer, _ right: UnsafeRawPointer, _ out: UnsafeMutableRawPointer) {
    let a = loadGroup(left), b = loadGroup(right)
    let m = Message(evenLanes(a.0, b.0), evenLanes(a.1, b.1), evenLanes(a.2, b.2), evenLanes(a.3, b.3),
                    evenLanes(a.4, b.4), evenLanes(a.5, b.5), evenLanes(a.6, b.6), evenLanes(a.7, b.7),
                    oddLanes(a.0, b.0), oddLanes(a.1, b.1), oddLanes(a.2, b.2), oddLanes(a.3, b.3),
                    oddLanes(a.4, b.4), oddLanes(a.5, b.5), oddLanes(a.6, b.6), oddLanes(a.7, b.7))
    var s = State(cv: (splat(iv.0), splat(iv.1), splat(iv.2), splat(iv.3),
                       splat(iv.4), splat(iv.5), splat(iv.6), splat(iv.7)),
                  counterLow: splat(0), counterHigh: splat(0),
                  blockLength: splat(UInt32(blockLength)), flags: splat(flagParent))
    storeGroup(s.compress(m), out)
}

/// Hashes `chunks` whole 1024-byte chunks at `input` as one complete BLAKE3 subtree (`chunks` is a power of
/// two, at least 16; the first chunk's counter is `counter`, a multiple of `chunks`) and writes its chaining
/// value (8 words) to `cv`. `scratch` has room for `8 * chunks` words.
///
/// Only to be called when the CPU has everything of x86-64-v4 (BLAKE3 checks with CPUID).
@inline(never)
public func blake3AVX512Subtree(_ input: UnsafeRawPointer, chunks: Int, counter: UInt64,
                                scratch: UnsafeMutablePointer<UInt32>, cv: UnsafeMutablePointer<UInt32>) {
    precondition(chunks >= laneCount && chunks & (chunks - 1) == 0, "blake3AVX512Subtree: bad chunk count")
    let groupBytes = 4 * laneCount * 8
    let groups = UnsafeMutableRawPointer(scratch)
    // `counter` is a multiple of `chunks`, so adding a chunk's index never carries into the high word. The
    // counters stay one vector from chunk group to chunk group: LLVM scalarizes arithmetic on a vector it sees
    // assembled lane by lane, and would do so to every compression that starts from it.
    var counterLow = splat(UInt32(truncatingIfNeeded: counter)) | laneIndex
    let counterHigh = splat(UInt32(truncatingIfNeeded: counter >> 32))
    var count = 0
    while count * laneCount < chunks {
        hashChunks(input + count * laneCount * chunkLength, counterLow: counterLow, counterHigh: counterHigh,
                   groups + count * groupBytes)
        counterLow = counterLow &+ splat(UInt32(laneCount))
        count += 1
    }
    // Each level pairs the groups (group k of the level above goes where group k was read, or before it).
    while count > 1 {
        count /= 2
        for k in 0..<count {
            hashParents(groups + 2 * k * groupBytes, groups + (2 * k + 1) * groupBytes, groups + k * groupBytes)
        }
    }
    // One group of 16 nodes left: 4 more levels in lanes 0…7, 0…3, 0…1, 0.
    for _ in 0..<4 { hashParents(groups, groups, groups) }
    for j in 0..<8 { cv[j] = scratch[laneCount * j] }
}

#endif

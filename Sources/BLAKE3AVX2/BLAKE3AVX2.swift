// The 8-lane BLAKE3 kernel for x86-64-v3 (AVX2): hashes eight 1024-byte chunks at once, one per 32-bit lane
// of a 256-bit vector, then the parent nodes above them eight at a time.
//
// Package.swift compiles this module with `-target-cpu haswell` (x86-64-v3) in release builds on x86_64 Linux, so
// every function in it may use AVX2; BLAKE3 calls its entry point only after its CPUID check found all of
// x86-64-v3 (see `BLAKE3.Kernel`). The module is self-contained (it does not import BLAKE3) and everything in it
// is inlined into that one entry point, so that no AVX2 code lands in a function the linker could share with
// other modules (scripts/bench-blake3 checks the binary). Keep it so. (Debug builds compile it for the
// baseline, where nothing is inlined.)
//
// The code is written for what LLVM makes of it. The loop that compresses one block of 8 chunks is 1,245
// instructions with the choices below (1,700 without them, of which 1,008 are the rounds' arithmetic); under
// valgrind a whole run takes 3% more instructions than b3sum's AVX2 code (scripts/bench-blake3 prints both).
// Check a change there, in the disassembly (`objdump -d` of b3bench, `blake3AVX2Subtree`) and with llvm-mca on
// the loop for the CPUs it runs on (-mcpu=znver3, icelake-server).

#if arch(x86_64) && BLAKE3_WIDE_KERNELS

// Constants are computed properties, not stored globals: a global is initialized lazily behind swift_once and
// loaded lane by lane, and LLVM then scalarizes the vector arithmetic it feeds.
private typealias V = SIMD8<UInt32>
private var laneCount: Int { 8 }
private var laneIndex: V { V(0, 1, 2, 3, 4, 5, 6, 7) }

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

// Rotations by 12 and 7: two shifts whose halves are added rather than or-ed (the standard library's vector
// shifts and `|` are lane loops that LLVM re-vectorizes, and an or of two shifts becomes a scalar rotate (rorx) per
// lane before that; `&+` is a true vector add, and the sum of the two disjoint halves is the same value).
@inline(__always) private func rotr12(_ x: V) -> V { (x &>> 12) &+ (x &<< 20) }
@inline(__always) private func rotr7(_ x: V) -> V { (x &>> 7) &+ (x &<< 25) }

// Rotations by 16 and 8 move whole bytes: one byte shuffle (vpshufb) each. They are written as byte shuffles
// and are only ever applied to `xorForByteRotation(d, a)`, whose xor is done on 64-bit lanes: LLVM otherwise
// pushes the shuffle back through an xor whose operand came out of the previous byte shuffle (rotr8(rotr16(…)
// ^ a) becomes rotr24(…) ^ rotr8(a)), which adds a shuffle to every G: 112 more per compression, 7% of it.
@inline(__always) private func bytes(_ x: V) -> SIMD32<UInt8> { unsafeBitCast(x, to: SIMD32<UInt8>.self) }
@inline(__always) private func rotr16(_ x: V) -> V {
    let b = bytes(x)
    return unsafeBitCast(SIMD32<UInt8>(
        b[2], b[3], b[0], b[1], b[6], b[7], b[4], b[5], b[10], b[11], b[8], b[9], b[14], b[15], b[12], b[13],
        b[18], b[19], b[16], b[17], b[22], b[23], b[20], b[21], b[26], b[27], b[24], b[25], b[30], b[31], b[28], b[29]
    ), to: V.self)
}
@inline(__always) private func rotr8(_ x: V) -> V {
    let b = bytes(x)
    return unsafeBitCast(SIMD32<UInt8>(
        b[1], b[2], b[3], b[0], b[5], b[6], b[7], b[4], b[9], b[10], b[11], b[8], b[13], b[14], b[15], b[12],
        b[17], b[18], b[19], b[16], b[21], b[22], b[23], b[20], b[25], b[26], b[27], b[24], b[29], b[30], b[31], b[28]
    ), to: V.self)
}
@inline(__always) private func xorForByteRotation(_ a: V, _ b: V) -> V {
    unsafeBitCast(unsafeBitCast(a, to: SIMD4<UInt64>.self) ^ unsafeBitCast(b, to: SIMD4<UInt64>.self), to: V.self)
}

// MARK: Transposition

// An 8×8 transpose of 32-bit words in three steps, as the x86 unpack and 128-bit permute instructions do it (24
// shuffles for 8 vectors). The middle step works on 64-bit lanes: with all three on 32-bit lanes, LLVM merges
// the steps into other shuffles, blends and broadcasts, about 3 times as many instructions.
private typealias V64 = SIMD4<UInt64>
@inline(__always) private func wide(_ x: V) -> V64 { unsafeBitCast(x, to: V64.self) }
@inline(__always) private func narrow(_ x: V64) -> V { unsafeBitCast(x, to: V.self) }
@inline(__always) private func unpackLo32(_ a: V, _ b: V) -> V { V(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]) }
@inline(__always) private func unpackHi32(_ a: V, _ b: V) -> V { V(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]) }
@inline(__always) private func unpackLo64(_ a: V, _ b: V) -> V {
    let a = wide(a), b = wide(b)
    return narrow(V64(a[0], b[0], a[2], b[2]))
}
@inline(__always) private func unpackHi64(_ a: V, _ b: V) -> V {
    let a = wide(a), b = wide(b)
    return narrow(V64(a[1], b[1], a[3], b[3]))
}
@inline(__always) private func low128s(_ a: V, _ b: V) -> V { V(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]) }
@inline(__always) private func high128s(_ a: V, _ b: V) -> V { V(a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]) }

private typealias Rows = (V, V, V, V, V, V, V, V)

/// Lane `i` of result `j` is lane `j` of `r.i`.
@inline(__always)
private func transpose(_ r: Rows) -> Rows {
    let t0 = unpackLo32(r.0, r.1), t1 = unpackHi32(r.0, r.1), t2 = unpackLo32(r.2, r.3), t3 = unpackHi32(r.2, r.3)
    let t4 = unpackLo32(r.4, r.5), t5 = unpackHi32(r.4, r.5), t6 = unpackLo32(r.6, r.7), t7 = unpackHi32(r.6, r.7)
    let u0 = unpackLo64(t0, t2), u1 = unpackHi64(t0, t2), u2 = unpackLo64(t1, t3), u3 = unpackHi64(t1, t3)
    let u4 = unpackLo64(t4, t6), u5 = unpackHi64(t4, t6), u6 = unpackLo64(t5, t7), u7 = unpackHi64(t5, t7)
    return (low128s(u0, u4), low128s(u1, u5), low128s(u2, u6), low128s(u3, u7),
            high128s(u0, u4), high128s(u1, u5), high128s(u2, u6), high128s(u3, u7))
}

// MARK: Compression

/// The 16 message words of one 64-byte block per lane, transposed: lane `i` of `m[j]` is word `j` of block `i`.
private struct Message {
    var m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15: V

    /// Loads lane `i`'s block from `base + stride * i`.
    @inline(__always)
    init(_ base: UnsafeRawPointer, stride: Int) {
        /// Words `8h..<8h+8` of every lane's block: one 32-byte load per block, then a transpose.
        @inline(__always) func half(_ h: Int) -> Rows {
            @inline(__always) func row(_ i: Int) -> V { base.loadUnaligned(fromByteOffset: stride * i + 32 * h, as: V.self) }
            return transpose((row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)))
        }
        (m0, m1, m2, m3, m4, m5, m6, m7) = half(0)
        (m8, m9, m10, m11, m12, m13, m14, m15) = half(1)
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
    init(cv: Rows, counterLow: V, counterHigh: V, blockLength: V, flags: V) {
        (v0, v1, v2, v3, v4, v5, v6, v7) = cv
        (v8, v9, v10, v11) = (splat(iv.0), splat(iv.1), splat(iv.2), splat(iv.3))
        (v12, v13, v14, v15) = (counterLow, counterHigh, blockLength, flags)
    }

    /// The four G functions of a half round, written step by step side by side (as b3sum's assembly is): LLVM then
    /// keeps the four chains interleaved, which llvm-mca's models of Zen 2 and Zen 3 (the EPYC this kernel is for)
    /// price at 23% and 12% fewer cycles per block than G after G; on the Intel Xeon (AVX-512 hidden) where both
    /// were timed they ran alike, and this form takes 6% more instructions (more spills).
    @inline(__always)
    static func g4(_ a0: inout V, _ a1: inout V, _ a2: inout V, _ a3: inout V,
                   _ b0: inout V, _ b1: inout V, _ b2: inout V, _ b3: inout V,
                   _ c0: inout V, _ c1: inout V, _ c2: inout V, _ c3: inout V,
                   _ d0: inout V, _ d1: inout V, _ d2: inout V, _ d3: inout V,
                   _ x0: V, _ y0: V, _ x1: V, _ y1: V, _ x2: V, _ y2: V, _ x3: V, _ y3: V) {
        a0 = a0 &+ x0; a1 = a1 &+ x1; a2 = a2 &+ x2; a3 = a3 &+ x3
        a0 = a0 &+ b0; a1 = a1 &+ b1; a2 = a2 &+ b2; a3 = a3 &+ b3
        d0 = rotr16(xorForByteRotation(d0, a0)); d1 = rotr16(xorForByteRotation(d1, a1))
        d2 = rotr16(xorForByteRotation(d2, a2)); d3 = rotr16(xorForByteRotation(d3, a3))
        c0 = c0 &+ d0; c1 = c1 &+ d1; c2 = c2 &+ d2; c3 = c3 &+ d3
        b0 = rotr12(b0 ^ c0); b1 = rotr12(b1 ^ c1); b2 = rotr12(b2 ^ c2); b3 = rotr12(b3 ^ c3)
        a0 = a0 &+ y0; a1 = a1 &+ y1; a2 = a2 &+ y2; a3 = a3 &+ y3
        a0 = a0 &+ b0; a1 = a1 &+ b1; a2 = a2 &+ b2; a3 = a3 &+ b3
        d0 = rotr8(xorForByteRotation(d0, a0)); d1 = rotr8(xorForByteRotation(d1, a1))
        d2 = rotr8(xorForByteRotation(d2, a2)); d3 = rotr8(xorForByteRotation(d3, a3))
        c0 = c0 &+ d0; c1 = c1 &+ d1; c2 = c2 &+ d2; c3 = c3 &+ d3
        b0 = rotr7(b0 ^ c0); b1 = rotr7(b1 ^ c1); b2 = rotr7(b2 ^ c2); b3 = rotr7(b3 ^ c3)
    }

    /// Columns, then diagonals.
    @inline(__always)
    mutating func round(_ m: Message) {
        Self.g4(&v0, &v1, &v2, &v3, &v4, &v5, &v6, &v7, &v8, &v9, &v10, &v11, &v12, &v13, &v14, &v15,
                m.m0, m.m1, m.m2, m.m3, m.m4, m.m5, m.m6, m.m7)
        Self.g4(&v0, &v1, &v2, &v3, &v5, &v6, &v7, &v4, &v10, &v11, &v8, &v9, &v15, &v12, &v13, &v14,
                m.m8, m.m9, m.m10, m.m11, m.m12, m.m13, m.m14, m.m15)
    }

    /// The seven rounds; returns the first half of the output (the chaining value).
    @inline(__always)
    mutating func compress(_ message: Message) -> Rows {
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

// Chaining values stay transposed from the chunks up to the subtree's root: a group is the chaining values of 8
// nodes as 8 vectors (vector `j` holds word `j` of nodes 0…7, 64 words in all), which is what a compression
// yields and what the parents above take, after a split into even and odd lanes (2 shuffles per vector). Storing
// them node by node instead costs a transpose on the way out and another on the way in, and LLVM moves part of
// the first into the compression loop (about 200 instructions per block of 1,300).

@inline(__always) private func evenLanes(_ a: V, _ b: V) -> V { V(a[0], a[2], a[4], a[6], b[0], b[2], b[4], b[6]) }
@inline(__always) private func oddLanes(_ a: V, _ b: V) -> V { V(a[1], a[3], a[5], a[7], b[1], b[3], b[5], b[7]) }

@inline(__always)
private func loadGroup(_ p: UnsafeRawPointer) -> Rows {
    @inline(__always) func word(_ j: Int) -> V { p.loadUnaligned(fromByteOffset: 32 * j, as: V.self) }
    return (word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7))
}

@inline(__always)
private func storeGroup(_ h: Rows, _ p: UnsafeMutableRawPointer) {
    @inline(__always) func put(_ j: Int, _ x: V) { p.storeBytes(of: x, toByteOffset: 32 * j, as: V.self) }
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

/// The parents of the 16 nodes of groups `left` and `right` (which may be the same group: then lanes 4…7 of the
/// result repeat lanes 0…3), as a group at `out` (which may be `left`).
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
/// two, at least 8; the first chunk's counter is `counter`, a multiple of `chunks`) and writes its chaining
/// value (8 words) to `cv`. `scratch` has room for `8 * chunks` words.
///
/// Only to be called when the CPU has everything of x86-64-v3 (BLAKE3 checks with CPUID).
@inline(never)
public func blake3AVX2Subtree(_ input: UnsafeRawPointer, chunks: Int, counter: UInt64,
                              scratch: UnsafeMutablePointer<UInt32>, cv: UnsafeMutablePointer<UInt32>) {
    precondition(chunks >= laneCount && chunks & (chunks - 1) == 0, "blake3AVX2Subtree: bad chunk count")
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
    // One group of 8 nodes left: 3 more levels in lanes 0…3, 0…1, 0.
    for _ in 0..<3 { hashParents(groups, groups, groups) }
    for j in 0..<8 { cv[j] = scratch[laneCount * j] }
}

#endif

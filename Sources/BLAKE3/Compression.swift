// BLAKE3 compression function, written once over a "lane" type so that the same code
// compresses one block (UInt32 lanes) or several independent blocks at once (SIMD lanes,
// message words transposed so that lane i holds word j of block i).

#if !_endian(little)
#error("The BLAKE3 module assumes a little-endian target.")
#endif

@usableFromInline let blake3ChunkLength = 1024
@usableFromInline let blake3BlockLength = 64

@usableFromInline enum Flag {
    @usableFromInline static let chunkStart: UInt32 = 1
    @usableFromInline static let chunkEnd: UInt32 = 2
    @usableFromInline static let parent: UInt32 = 4
    @usableFromInline static let root: UInt32 = 8
}

@usableFromInline let blake3IV = SIMD8<UInt32>(
    0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A,
    0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19
)

// MARK: - Lane types

/// A 32-bit word, or a vector of independent 32-bit words (one per block compressed in parallel).
protocol Lanes {
    static var laneCount: Int { get }
    static func splat(_ x: UInt32) -> Self
    static func &+ (lhs: Self, rhs: Self) -> Self
    static func ^ (lhs: Self, rhs: Self) -> Self
    func rotr16() -> Self
    func rotr12() -> Self
    func rotr8() -> Self
    func rotr7() -> Self
    /// Lane `i` = `f(i)`.
    static func lanes(_ f: (Int) -> UInt32) -> Self
    func lane(_ i: Int) -> UInt32
    /// Loads the 16 message words of `laneCount` 64-byte blocks, transposed: lane `i` reads the block at
    /// `base + stride * Swift.min(i, count - 1)` (lanes past `count` repeat the last block).
    static func loadMessage(_ base: UnsafeRawPointer, stride: Int, count: Int) -> Message<Self>
}

extension UInt32: Lanes {
    @inline(__always) static var laneCount: Int { 1 }
    @inline(__always) static func splat(_ x: UInt32) -> UInt32 { x }
    @inline(__always) func rotr16() -> UInt32 { (self &>> 16) | (self &<< 16) }
    @inline(__always) func rotr12() -> UInt32 { (self &>> 12) | (self &<< 20) }
    @inline(__always) func rotr8() -> UInt32 { (self &>> 8) | (self &<< 24) }
    @inline(__always) func rotr7() -> UInt32 { (self &>> 7) | (self &<< 25) }
    @inline(__always) static func lanes(_ f: (Int) -> UInt32) -> UInt32 { f(0) }
    @inline(__always) func lane(_ i: Int) -> UInt32 { self }
    @inline(__always) static func loadMessage(_ base: UnsafeRawPointer, stride: Int, count: Int) -> Message<UInt32> {
        let p = base
        @inline(__always) func w(_ i: Int) -> UInt32 {
            UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        }
        return Message(w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7),
                       w(8), w(9), w(10), w(11), w(12), w(13), w(14), w(15))
    }
}

// SIMD rotations are written with `&+` rather than `|`: LLVM turns `(x >> n) | (x << (32 - n))` on vectors
// into a funnel shift, which it then scalarizes on baseline x86-64 (SSE2); the sum of the two disjoint
// halves is the same value and stays in vector registers.
extension SIMD4: Lanes where Scalar == UInt32 {
    @inline(__always) static var laneCount: Int { 4 }
    @inline(__always) static func splat(_ x: UInt32) -> SIMD4<UInt32> { SIMD4(repeating: x) }
    @inline(__always) func rotr16() -> SIMD4<UInt32> { (self &>> 16) &+ (self &<< 16) }
    @inline(__always) func rotr12() -> SIMD4<UInt32> { (self &>> 12) &+ (self &<< 20) }
    @inline(__always) func rotr8() -> SIMD4<UInt32> { (self &>> 8) &+ (self &<< 24) }
    @inline(__always) func rotr7() -> SIMD4<UInt32> { (self &>> 7) &+ (self &<< 25) }
    @inline(__always) static func lanes(_ f: (Int) -> UInt32) -> SIMD4<UInt32> { SIMD4(f(0), f(1), f(2), f(3)) }
    @inline(__always) func lane(_ i: Int) -> UInt32 { self[i] }
    @inline(__always)
    static func loadMessage(_ base: UnsafeRawPointer, stride: Int, count: Int) -> Message<SIMD4<UInt32>> {
        let p0 = base, p1 = base + stride * Swift.min(1, count - 1)
        let p2 = base + stride * Swift.min(2, count - 1), p3 = base + stride * Swift.min(3, count - 1)
        // 4x4 transpose of each 16-byte group of the four blocks.
        @inline(__always) func group(_ g: Int) -> (SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>) {
            let a = p0.loadUnaligned(fromByteOffset: 16 * g, as: SIMD4<UInt32>.self)
            let b = p1.loadUnaligned(fromByteOffset: 16 * g, as: SIMD4<UInt32>.self)
            let c = p2.loadUnaligned(fromByteOffset: 16 * g, as: SIMD4<UInt32>.self)
            let d = p3.loadUnaligned(fromByteOffset: 16 * g, as: SIMD4<UInt32>.self)
            let ab01 = SIMD4(a[0], b[0], a[1], b[1]), cd01 = SIMD4(c[0], d[0], c[1], d[1])
            let ab23 = SIMD4(a[2], b[2], a[3], b[3]), cd23 = SIMD4(c[2], d[2], c[3], d[3])
            return (SIMD4(ab01[0], ab01[1], cd01[0], cd01[1]), SIMD4(ab01[2], ab01[3], cd01[2], cd01[3]),
                    SIMD4(ab23[0], ab23[1], cd23[0], cd23[1]), SIMD4(ab23[2], ab23[3], cd23[2], cd23[3]))
        }
        let (m0, m1, m2, m3) = group(0)
        let (m4, m5, m6, m7) = group(1)
        let (m8, m9, m10, m11) = group(2)
        let (m12, m13, m14, m15) = group(3)
        return Message(m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15)
    }
}

extension SIMD8: Lanes where Scalar == UInt32 {
    @inline(__always) static var laneCount: Int { 8 }
    @inline(__always) static func splat(_ x: UInt32) -> SIMD8<UInt32> { SIMD8(repeating: x) }
    @inline(__always) func rotr16() -> SIMD8<UInt32> {
        SIMD8(lowHalf: lowHalf.rotr16(), highHalf: highHalf.rotr16())
    }
    @inline(__always) func rotr12() -> SIMD8<UInt32> { (self &>> 12) &+ (self &<< 20) }
    @inline(__always) func rotr8() -> SIMD8<UInt32> { (self &>> 8) &+ (self &<< 24) }
    @inline(__always) func rotr7() -> SIMD8<UInt32> { (self &>> 7) &+ (self &<< 25) }
    @inline(__always) static func lanes(_ f: (Int) -> UInt32) -> SIMD8<UInt32> {
        SIMD8(f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7))
    }
    @inline(__always) func lane(_ i: Int) -> UInt32 { self[i] }
    @inline(__always)
    static func loadMessage(_ base: UnsafeRawPointer, stride: Int, count: Int) -> Message<SIMD8<UInt32>> {
        let lo = SIMD4<UInt32>.loadMessage(base, stride: stride, count: Swift.min(count, 4))
        let hi = SIMD4<UInt32>.loadMessage(base + stride * Swift.min(4, count - 1), stride: stride, count: Swift.max(count - 4, 1))
        @inline(__always) func j(_ a: SIMD4<UInt32>, _ b: SIMD4<UInt32>) -> SIMD8<UInt32> { SIMD8(lowHalf: a, highHalf: b) }
        return Message(j(lo.m0, hi.m0), j(lo.m1, hi.m1), j(lo.m2, hi.m2), j(lo.m3, hi.m3),
                       j(lo.m4, hi.m4), j(lo.m5, hi.m5), j(lo.m6, hi.m6), j(lo.m7, hi.m7),
                       j(lo.m8, hi.m8), j(lo.m9, hi.m9), j(lo.m10, hi.m10), j(lo.m11, hi.m11),
                       j(lo.m12, hi.m12), j(lo.m13, hi.m13), j(lo.m14, hi.m14), j(lo.m15, hi.m15))
    }
}

// MARK: - Compression

struct Message<V: Lanes> {
    var m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15: V

    @inline(__always)
    init(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V, _ m6: V, _ m7: V,
         _ m8: V, _ m9: V, _ m10: V, _ m11: V, _ m12: V, _ m13: V, _ m14: V, _ m15: V) {
        (self.m0, self.m1, self.m2, self.m3, self.m4, self.m5, self.m6, self.m7) = (m0, m1, m2, m3, m4, m5, m6, m7)
        (self.m8, self.m9, self.m10, self.m11, self.m12, self.m13, self.m14, self.m15) = (m8, m9, m10, m11, m12, m13, m14, m15)
    }

    /// The BLAKE3 message permutation: `new[i] = old[P[i]]`, P = 2 6 3 10 7 0 4 13 1 11 12 5 9 14 15 8.
    @inline(__always)
    var permuted: Message {
        Message(m2, m6, m3, m10, m7, m0, m4, m13, m1, m11, m12, m5, m9, m14, m15, m8)
    }
}

struct CompressionState<V: Lanes> {
    var v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15: V

    @inline(__always)
    init(cv: (V, V, V, V, V, V, V, V), counterLow: V, counterHigh: V, blockLength: V, flags: V) {
        (v0, v1, v2, v3, v4, v5, v6, v7) = cv
        v8 = .splat(blake3IV[0]); v9 = .splat(blake3IV[1]); v10 = .splat(blake3IV[2]); v11 = .splat(blake3IV[3])
        v12 = counterLow; v13 = counterHigh; v14 = blockLength; v15 = flags
    }

    @inline(__always)
    static func g(_ a: inout V, _ b: inout V, _ c: inout V, _ d: inout V, _ x: V, _ y: V) {
        a = a &+ b &+ x
        d = (d ^ a).rotr16()
        c = c &+ d
        b = (b ^ c).rotr12()
        a = a &+ b &+ y
        d = (d ^ a).rotr8()
        c = c &+ d
        b = (b ^ c).rotr7()
    }

    @inline(__always)
    mutating func round(_ m: Message<V>) {
        Self.g(&v0, &v4, &v8, &v12, m.m0, m.m1)
        Self.g(&v1, &v5, &v9, &v13, m.m2, m.m3)
        Self.g(&v2, &v6, &v10, &v14, m.m4, m.m5)
        Self.g(&v3, &v7, &v11, &v15, m.m6, m.m7)
        Self.g(&v0, &v5, &v10, &v15, m.m8, m.m9)
        Self.g(&v1, &v6, &v11, &v12, m.m10, m.m11)
        Self.g(&v2, &v7, &v8, &v13, m.m12, m.m13)
        Self.g(&v3, &v4, &v9, &v14, m.m14, m.m15)
    }

    @inline(__always)
    mutating func rounds(_ message: Message<V>) {
        var m = message
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m); m = m.permuted
        round(m)
    }
}

/// Loads the 16 little-endian message words of the 64 bytes at `block`.
@inline(__always)
func loadBlock(_ block: UnsafeRawPointer) -> SIMD16<UInt32> {
    SIMD16(lowHalf: SIMD8(lowHalf: block.loadUnaligned(as: SIMD4<UInt32>.self),
                          highHalf: block.loadUnaligned(fromByteOffset: 16, as: SIMD4<UInt32>.self)),
           highHalf: SIMD8(lowHalf: block.loadUnaligned(fromByteOffset: 32, as: SIMD4<UInt32>.self),
                           highHalf: block.loadUnaligned(fromByteOffset: 48, as: SIMD4<UInt32>.self)))
}

/// Compresses one block (message words `block`), returning all 16 output words.
@inline(__always)
func compressBlock(cv: SIMD8<UInt32>, block b: SIMD16<UInt32>, counter: UInt64,
                   blockLength: UInt32, flags: UInt32) -> SIMD16<UInt32> {
    let m = Message<UInt32>(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                            b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
    var s = CompressionState<UInt32>(
        cv: (cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7]),
        counterLow: UInt32(truncatingIfNeeded: counter), counterHigh: UInt32(truncatingIfNeeded: counter >> 32),
        blockLength: blockLength, flags: flags)
    s.rounds(m)
    return SIMD16(s.v0 ^ s.v8, s.v1 ^ s.v9, s.v2 ^ s.v10, s.v3 ^ s.v11,
                  s.v4 ^ s.v12, s.v5 ^ s.v13, s.v6 ^ s.v14, s.v7 ^ s.v15,
                  s.v8 ^ cv[0], s.v9 ^ cv[1], s.v10 ^ cv[2], s.v11 ^ cv[3],
                  s.v12 ^ cv[4], s.v13 ^ cv[5], s.v14 ^ cv[6], s.v15 ^ cv[7])
}

/// The chaining value after compressing one block.
@inline(__always)
func compressCV(cv: SIMD8<UInt32>, block: SIMD16<UInt32>, counter: UInt64,
                blockLength: UInt32, flags: UInt32) -> SIMD8<UInt32> {
    compressBlock(cv: cv, block: block, counter: counter, blockLength: blockLength, flags: flags).lowHalf
}

/// Hashes `count` (1...V.laneCount) whole, consecutive 1024-byte chunks starting at `input`, which
/// have chunk counters `counter`, `counter + 1`, …; writes their chaining values (8 words each) to `out`.
@inline(__always)
func hashChunks<V: Lanes>(_: V.Type, input: UnsafeRawPointer, count: Int, counter: UInt64,
                          out: UnsafeMutablePointer<UInt32>) {
        let counterLow = V.lanes { UInt32(truncatingIfNeeded: counter &+ UInt64($0)) }
        let counterHigh = V.lanes { UInt32(truncatingIfNeeded: (counter &+ UInt64($0)) >> 32) }
        let blockLength = V.splat(UInt32(blake3BlockLength))
        var h = (V.splat(blake3IV[0]), V.splat(blake3IV[1]), V.splat(blake3IV[2]), V.splat(blake3IV[3]),
                 V.splat(blake3IV[4]), V.splat(blake3IV[5]), V.splat(blake3IV[6]), V.splat(blake3IV[7]))
        var offset = 0
        while offset < blake3ChunkLength {
            var flags: UInt32 = 0
            if offset == 0 { flags |= Flag.chunkStart }
            if offset == blake3ChunkLength - blake3BlockLength { flags |= Flag.chunkEnd }
            let m = V.loadMessage(input + offset, stride: blake3ChunkLength, count: count)
            var s = CompressionState(cv: h, counterLow: counterLow, counterHigh: counterHigh,
                                     blockLength: blockLength, flags: V.splat(flags))
            s.rounds(m)
            h = (s.v0 ^ s.v8, s.v1 ^ s.v9, s.v2 ^ s.v10, s.v3 ^ s.v11,
                 s.v4 ^ s.v12, s.v5 ^ s.v13, s.v6 ^ s.v14, s.v7 ^ s.v15)
            offset += blake3BlockLength
        }
        storeTransposed(h, count: count, out: out)
}

/// Compresses `count` (1...V.laneCount) parent nodes; parent `i` is the 16 words (two chaining values)
/// at `blocks + 16 * i`. Writes the `count` resulting chaining values to `out` (may alias `blocks`).
@inline(__always)
func hashParents<V: Lanes>(_: V.Type, blocks: UnsafePointer<UInt32>, count: Int, out: UnsafeMutablePointer<UInt32>) {
        let m = V.loadMessage(UnsafeRawPointer(blocks), stride: blake3BlockLength, count: count)
        let iv = (V.splat(blake3IV[0]), V.splat(blake3IV[1]), V.splat(blake3IV[2]), V.splat(blake3IV[3]),
                  V.splat(blake3IV[4]), V.splat(blake3IV[5]), V.splat(blake3IV[6]), V.splat(blake3IV[7]))
        var s = CompressionState(cv: iv, counterLow: .splat(0), counterHigh: .splat(0),
                                 blockLength: .splat(UInt32(blake3BlockLength)), flags: .splat(Flag.parent))
        s.rounds(m)
        storeTransposed((s.v0 ^ s.v8, s.v1 ^ s.v9, s.v2 ^ s.v10, s.v3 ^ s.v11,
                         s.v4 ^ s.v12, s.v5 ^ s.v13, s.v6 ^ s.v14, s.v7 ^ s.v15), count: count, out: out)
}

@inline(__always)
private func storeTransposed<V: Lanes>(_ h: (V, V, V, V, V, V, V, V), count: Int, out: UnsafeMutablePointer<UInt32>) {
    for i in 0..<count {
        let o = out + 8 * i
        o[0] = h.0.lane(i); o[1] = h.1.lane(i); o[2] = h.2.lane(i); o[3] = h.3.lane(i)
        o[4] = h.4.lane(i); o[5] = h.5.lane(i); o[6] = h.6.lane(i); o[7] = h.7.lane(i)
    }
}

import BLAKE3

/// The sums of an instance's journaled bytes, computed in the one pass that reads them (a copy into place, a
/// spool, recovery's check): the checksum its final record names, checked at the end, and the BLAKE3 the index
/// keeps when it is wanted. Only what is asked for is computed: a CRC-32C costs 25 µs a 512 KB instance, a
/// BLAKE3 250 µs.
struct JournalSums {
    /// What the bytes must have (nil: nothing is checked).
    let expecting: JournalChecksum?
    private var crc: CRC32C?
    private var hasher: BLAKE3?

    /// `blake3`: whether the BLAKE3 is wanted whatever `expecting` names (a journal of kind 2 names one).
    init(expecting: JournalChecksum?, blake3: Bool) {
        self.expecting = expecting
        var wantsCRC = false
        var wantsBLAKE3 = blake3
        switch expecting {
        case .crc32c: wantsCRC = true
        case .blake3: wantsBLAKE3 = true
        case nil: break
        }
        crc = wantsCRC ? CRC32C() : nil
        hasher = wantsBLAKE3 ? BLAKE3() : nil
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        crc?.update(bytes)
        hasher?.update(bytes)
    }

    /// After the last piece: the BLAKE3 (empty when it was not computed). Bytes without the expected checksum
    /// throw `Materializer.ChecksumMismatch`.
    func finish() throws -> [UInt8] {
        let hash = hasher?.finalize() ?? []
        switch expecting {
        case .crc32c(let expected): if crc?.value != expected { throw Materializer.ChecksumMismatch() }
        case .blake3(let expected): if hash != expected { throw Materializer.ChecksumMismatch() }
        case nil: break
        }
        return hash
    }
}

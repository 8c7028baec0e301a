import BLAKE3
import Testing

@testable import Archive

/// The sums of journaled bytes in one pass: the checksum the final record names is checked, the BLAKE3 computed
/// when wanted, and pieces of any size give the sums of the whole.
@Suite struct JournalSumsTests {
    /// 300 KB of varied bytes, given in uneven pieces.
    let bytes: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }

    func pass(_ sums: inout JournalSums) {
        var offset = 0
        var size = 1
        bytes.withUnsafeBytes { all in
            while offset < all.count {
                let end = min(all.count, offset + size)
                sums.update(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
                size = size * 3 + 7
            }
        }
    }

    @Test func theNamedCRCPassesAndTheBLAKE3IsOfTheWhole() throws {
        var sums = JournalSums(expecting: .crc32c(CRC32C.checksum(bytes)), blake3: true)
        pass(&sums)
        #expect(try sums.finish() == BLAKE3.hash(bytes))
    }

    @Test func anotherCRCThrows() {
        var sums = JournalSums(expecting: .crc32c(CRC32C.checksum(bytes) ^ 1), blake3: true)
        pass(&sums)
        #expect(throws: Materializer.ChecksumMismatch.self) { try sums.finish() }
    }

    @Test func aBLAKE3NamedByAnOldJournalIsChecked() throws {
        var good = JournalSums(expecting: .blake3(BLAKE3.hash(bytes)), blake3: false)
        pass(&good)
        #expect(try good.finish() == BLAKE3.hash(bytes))
        var damaged = JournalSums(expecting: .blake3(BLAKE3.hash(bytes.dropLast())), blake3: false)
        pass(&damaged)
        #expect(throws: Materializer.ChecksumMismatch.self) { try damaged.finish() }
    }

    @Test func onlyWhatIsAskedForIsComputed() throws {
        var checkOnly = JournalSums(expecting: .crc32c(CRC32C.checksum(bytes)), blake3: false)
        pass(&checkOnly)
        #expect(try checkOnly.finish().isEmpty)
        var nothingChecked = JournalSums(expecting: nil, blake3: true)
        pass(&nothingChecked)
        #expect(try nothingChecked.finish() == BLAKE3.hash(bytes))
    }
}

import BLAKE3

extension BLAKE3 {
    /// Feeds `input` in consecutive pieces of `size` bytes (the last one shorter): incremental hashing as a
    /// stream delivers it.
    mutating func update(_ input: [UInt8], inPiecesOf size: Int) {
        input.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + size, bytes.count)
                update(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
        }
    }
}

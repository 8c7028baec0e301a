/// Bulk copies out of raw buffers. `Array(rawBuffer)` and `append(contentsOf: rawBuffer)` go byte by byte
/// (a raw buffer offers no typed contiguous storage); these are one memcpy.
extension Array where Element == UInt8 {
    @inlinable
    public init(copying raw: UnsafeRawBufferPointer) {
        self.init(unsafeUninitializedCapacity: raw.count) { buffer, count in
            if let src = raw.baseAddress, let dst = buffer.baseAddress, raw.count > 0 {
                UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: raw.count)
            }
            count = raw.count
        }
    }

    @inlinable
    public mutating func append(copying raw: UnsafeRawBufferPointer) {
        guard !raw.isEmpty else { return }
        append(contentsOf: raw.bindMemory(to: UInt8.self))
    }
}

/// Bulk copies out of raw buffers.
extension Array where Element == UInt8 {
    /// `Array(raw)`: measured with Swift 6.3 on this machine, 44 ns for 26 bytes against 97 ns through
    /// `init(unsafeUninitializedCapacity:)` (whose unspecialized array allocation looks up generic metadata on
    /// every call: 6% of a C-FIND client's time), and the same memcpy speed for 1 MiB (26 µs).
    @inlinable
    public init(copying raw: UnsafeRawBufferPointer) {
        self.init(raw)
    }

    @inlinable
    public mutating func append(copying raw: UnsafeRawBufferPointer) {
        guard !raw.isEmpty else { return }
        append(contentsOf: raw.bindMemory(to: UInt8.self))
    }
}

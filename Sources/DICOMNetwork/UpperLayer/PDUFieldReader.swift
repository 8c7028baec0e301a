import NIOCore

/// Bounds-checked reading of big-endian fields from a slice of a PDU. Every read that would
/// pass the end of the slice throws a ``PDUError`` naming the field and its byte offset
/// (counted from the start of the PDU).
struct PDUFieldReader {
    private(set) var buffer: ByteBuffer
    /// Offset, from the start of the PDU, of `buffer`'s index 0.
    let base: Int

    init(_ buffer: ByteBuffer, base: Int) {
        self.buffer = buffer
        self.base = base
    }

    /// Offset of the next unread byte, from the start of the PDU.
    var offset: Int { base + buffer.readerIndex }
    var remaining: Int { buffer.readableBytes }
    var isAtEnd: Bool { buffer.readableBytes == 0 }

    private func overrun(_ what: String, needed: Int) -> PDUError {
        PDUError(
            .lengthOverrun,
            "\(what) needs \(needed) byte(s) but only \(remaining) remain in its enclosing item/PDU",
            offset: offset
        )
    }

    mutating func readUInt8(_ what: String) throws(PDUError) -> UInt8 {
        guard let value = buffer.readInteger(as: UInt8.self) else { throw overrun(what, needed: 1) }
        return value
    }

    mutating func readUInt16(_ what: String) throws(PDUError) -> UInt16 {
        guard let value = buffer.readInteger(endianness: .big, as: UInt16.self) else { throw overrun(what, needed: 2) }
        return value
    }

    mutating func readUInt32(_ what: String) throws(PDUError) -> UInt32 {
        guard let value = buffer.readInteger(endianness: .big, as: UInt32.self) else { throw overrun(what, needed: 4) }
        return value
    }

    mutating func skip(_ count: Int, _ what: String) throws(PDUError) {
        guard count >= 0, count <= remaining else { throw overrun(what, needed: count) }
        buffer.moveReaderIndex(forwardBy: count)
    }

    /// A reader over the next `length` bytes; `self` moves past them.
    mutating func readSubReader(_ length: Int, _ what: String) throws(PDUError) -> PDUFieldReader {
        let start = offset
        guard length >= 0, length <= remaining, let slice = buffer.readSlice(length: length) else {
            throw overrun(what, needed: length)
        }
        return PDUFieldReader(slice, base: start)
    }

    /// The next `length` bytes as a slice of the underlying storage (no copy).
    mutating func readSlice(_ length: Int, _ what: String) throws(PDUError) -> ByteBuffer {
        guard length >= 0, length <= remaining, let slice = buffer.readSlice(length: length) else {
            throw overrun(what, needed: length)
        }
        return slice
    }

    /// The next `length` bytes copied into an array (length is bounded by bytes actually received).
    mutating func readBytes(_ length: Int, _ what: String) throws(PDUError) -> [UInt8] {
        guard length >= 0, length <= remaining, let bytes = buffer.readBytes(length: length) else {
            throw overrun(what, needed: length)
        }
        return bytes
    }

    /// All remaining bytes, copied.
    mutating func readRemainingBytes() -> [UInt8] {
        buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    /// The next `length` bytes as text with leading/trailing spaces and NULs removed
    /// (UIDs may be NUL-padded, AE titles are space-padded). Invalid UTF-8 is repaired, never fatal.
    mutating func readTrimmedString(_ length: Int, _ what: String) throws(PDUError) -> String {
        let bytes = try readSlice(length, what)
        return bytes.withUnsafeReadableBytes { raw -> String in
            var lower = raw.startIndex
            var upper = raw.endIndex
            while lower < upper, raw[lower] == 0x20 || raw[lower] == 0x00 { lower += 1 }
            while upper > lower, raw[upper - 1] == 0x20 || raw[upper - 1] == 0x00 { upper -= 1 }
            return String(decoding: raw[lower..<upper], as: UTF8.self)
        }
    }

    /// Remaining bytes as trimmed text.
    mutating func readRemainingTrimmedString(_ what: String) throws(PDUError) -> String {
        try readTrimmedString(remaining, what)
    }
}

extension UInt8 {
    /// "0x20"-style rendering for error messages.
    var hexByte: String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String(digits[Int(self >> 4)]) + String(digits[Int(self & 0x0F)])
    }
}

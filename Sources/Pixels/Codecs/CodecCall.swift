/// Calls a C shim that returns 0 or -1 with a message in a caller-provided buffer, and turns -1 into a
/// `PixelError` that names the codec.
func codecCall(_ codec: String, kind: PixelError.Kind = .corrupt,
               _ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
    var message = [CChar](repeating: 0, count: 512)
    let rc = message.withUnsafeMutableBufferPointer { buffer -> Int32 in
        guard let base = buffer.baseAddress else { return -1 }
        return body(base, buffer.count)
    }
    guard rc == 0 else {
        let text = message.withUnsafeBufferPointer { b in
            String(decoding: b.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        throw PixelError(kind, "\(codec): \(text.isEmpty ? "decoding failed" : text)")
    }
}

extension PixelFormat {
    /// The format of a frame a codec decoded: interleaved, stored bits in the low bits.
    var codecOutput: PixelFormat {
        var f = decoded
        f.highBit = f.bitsStored - 1
        return f
    }

    /// The same, for a codestream of `precision` bits: one that codes whole stored words (a High Bit above
    /// Bits Stored - 1, coded as is by some encoders) keeps the file's High Bit.
    func codecOutput(precision: Int) -> PixelFormat {
        var f = codecOutput
        if precision > bitsStored && precision >= highBit + 1 { f.highBit = highBit }
        return f
    }
}

/// Checks a codestream's own header against the DICOM attributes before anything is allocated for it.
func checkDimensions(_ codec: String, width: Int, height: Int, components: Int, format f: PixelFormat) throws {
    guard width == f.columns, height == f.rows, components == f.samplesPerPixel else {
        throw PixelError(.corrupt, "\(codec) codestream is \(width)×\(height) with \(components) components; "
                         + "the attributes say \(f.columns)×\(f.rows) with \(f.samplesPerPixel)")
    }
}

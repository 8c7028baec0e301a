/// Typed reading of element values. Text is decoded with the dataset's character set; numbers come from
/// their binary VRs (held little-endian) or from their decimal/integer string VRs.
extension DataSet {
    /// The whole value as text, character set applied, trailing padding removed (leading spaces too for
    /// VRs where they are not significant). Nil when absent or not a string VR.
    public func string(_ tag: Tag) -> String? {
        guard let e = self[tag], case .bytes(let b) = e.value, e.vr.isString || e.vr == .UN else { return nil }
        return TextValue.trim(characterSet.decode(b, vr: e.vr == .UN ? .LO : e.vr), vr: e.vr)
    }

    /// Each value of a multi-valued string element, trimmed.
    public func strings(_ tag: Tag) -> [String] {
        guard let e = self[tag], case .bytes(let b) = e.value, e.vr.isString else { return [] }
        let text = characterSet.decode(b, vr: e.vr)
        guard e.vr.allowsBackslashMultiplicity else { return [TextValue.trim(text, vr: e.vr)] }
        return text.split(separator: "\\", omittingEmptySubsequences: false).map { TextValue.trim(String($0), vr: e.vr) }
    }

    /// A UID value without its padding; nil when absent or empty.
    public func uid(_ tag: Tag) -> String? {
        self[tag]?.uid
    }

    /// The first value as an integer: US, SS, UL, SL, SV, UV or IS. A binary value is read in place: a
    /// command set's fields are read several times per message, and `ints(_:).first` allocated an array.
    public func int(_ tag: Tag) -> Int? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        guard let binary = Self.binaryInteger(e.vr) else { return ints(tag).first }
        return LittleEndian.first(b, width: binary.width).flatMap(binary.convert)
    }

    public func ints(_ tag: Tag) -> [Int] {
        guard let e = self[tag], case .bytes(let b) = e.value else { return [] }
        if let binary = Self.binaryInteger(e.vr) { return LittleEndian.values(b, width: binary.width).compactMap(binary.convert) }
        return e.vr == .IS ? strings(tag).compactMap { Int($0) } : []
    }

    /// The width and meaning of each binary integer VR's values (nil for a UV beyond `Int`).
    private static func binaryInteger(_ vr: VR) -> (width: Int, convert: (UInt64) -> Int?)? {
        switch vr {
        case .US: return (2, { Int($0) })
        case .SS: return (2, { Int(Int16(truncatingIfNeeded: $0)) })
        case .UL: return (4, { Int($0) })
        case .SL: return (4, { Int(Int32(truncatingIfNeeded: $0)) })
        case .SV: return (8, { Int(Int64(bitPattern: $0)) })
        case .UV: return (8, { Int(exactly: $0) })
        default: return nil
        }
    }

    /// The first value as a floating-point number: FL, FD or DS (and the integer VRs).
    public func double(_ tag: Tag) -> Double? { doubles(tag).first }

    public func doubles(_ tag: Tag) -> [Double] {
        guard let e = self[tag], case .bytes(let b) = e.value else { return [] }
        switch e.vr {
        case .FL: return LittleEndian.values(b, width: 4).map { Double(Float(bitPattern: UInt32(truncatingIfNeeded: $0))) }
        case .FD: return LittleEndian.values(b, width: 8).map { Double(bitPattern: $0) }
        case .DS: return strings(tag).compactMap { Double($0) }
        default: return ints(tag).map(Double.init)
        }
    }

    public func date(_ tag: Tag) -> DICOMDate? {
        string(tag).flatMap(DICOMDate.init)
    }

    public func personName(_ tag: Tag) -> PersonName? {
        string(tag).map(PersonName.init)
    }

    /// The items of a sequence element (empty when absent or not a sequence).
    public func items(_ tag: Tag) -> [DataSet] {
        guard let e = self[tag], case .sequence(let s) = e.value else { return [] }
        return s.items.map(\.dataSet)
    }
}

/// Typed writing of element values, padded to even length as PS3.5 requires.
extension DataSet {
    /// Sets a string value (several values joined with `\`), encoded in the dataset's character set,
    /// falling back to UTF-8 when that set cannot hold the text. The VR comes from the dictionary when omitted.
    public mutating func setString(_ value: String, for tag: Tag, vr: VR? = nil) {
        let vr = vr ?? DataDictionary.vr(for: tag)
        var bytes = characterSet.encode(value) ?? Array(value.utf8)
        if bytes.count % 2 == 1 { bytes.append(vr.paddingByte) }
        set(Element(tag: tag, vr: vr, bytes: bytes))
    }

    public mutating func setStrings(_ values: [String], for tag: Tag, vr: VR? = nil) {
        setString(values.joined(separator: "\\"), for: tag, vr: vr)
    }

    public mutating func setUInt16(_ value: UInt16, for tag: Tag, vr: VR = .US) {
        set(Element(tag: tag, vr: vr, bytes: [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]))
    }

    public mutating func setUInt32(_ value: UInt32, for tag: Tag, vr: VR = .UL) {
        set(Element(tag: tag, vr: vr, bytes: (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }))
    }

    public mutating func setItems(_ items: [DataSet], for tag: Tag) {
        set(Element(tag: tag, vr: .SQ, value: .sequence(SequenceValue(items: items.map { SequenceItem(dataSet: $0) }))))
    }
}

/// Reading fixed-width little-endian values out of a byte array without trusting its length.
enum LittleEndian {
    /// The first `width`-byte value, nil when fewer bytes are there.
    static func first(_ b: [UInt8], width: Int) -> UInt64? {
        guard b.count >= width else { return nil }
        var v: UInt64 = 0
        for k in 0..<width { v |= UInt64(b[k]) << (8 * UInt64(k)) }
        return v
    }

    static func values(_ b: [UInt8], width: Int) -> [UInt64] {
        let n = b.count / width
        var out: [UInt64] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            var v: UInt64 = 0
            for k in 0..<width { v |= UInt64(b[i * width + k]) << (8 * UInt64(k)) }
            out.append(v)
        }
        return out
    }
}

public enum TextValue {
    /// Trailing spaces and NULs are padding for every string VR; leading spaces are padding except in
    /// the "text" VRs (LT, ST, UT, UR) where they are significant.
    public static func trim(_ s: String, vr: VR) -> String {
        var u = Substring(s)
        while let last = u.last, last == " " || last == "\0" { u.removeLast() }
        if vr != .LT && vr != .ST && vr != .UT && vr != .UR {
            while let first = u.first, first == " " { u.removeFirst() }
        }
        return String(u)
    }
}

extension Element {
    /// The value as a UID (padding trimmed); nil when empty or not a byte value.
    public var uid: String? {
        guard case .bytes(let b) = value else { return nil }
        let s = UIDString.trim(String(decoding: b, as: UTF8.self))
        return s.isEmpty ? nil : s
    }
}

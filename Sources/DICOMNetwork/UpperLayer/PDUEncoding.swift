import NIOCore

extension PDU {
    /// Appends the encoded PDU to `buffer`.
    ///
    /// Throws ``PDUError/Kind/encodingOverflow`` when a value does not fit its length field
    /// (e.g. a user information item above 65535 bytes); `buffer` is then left as it was.
    public func encode(into buffer: inout ByteBuffer) throws(PDUError) {
        let saved = buffer.writerIndex
        do {
            try encodeUnchecked(into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: saved)
            throw error
        }
    }

    /// The encoded PDU in a new buffer.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(PDUError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        try encode(into: &buffer)
        return buffer
    }

    private func encodeUnchecked(into buffer: inout ByteBuffer) throws(PDUError) {
        switch self {
        case .associateRQ(let rq):
            try Self.writePDU(type: .associateRQ, into: &buffer) { (out: inout ByteBuffer) throws(PDUError) in
                try rq.encodeBody(into: &out)
            }
        case .associateAC(let ac):
            try Self.writePDU(type: .associateAC, into: &buffer) { (out: inout ByteBuffer) throws(PDUError) in
                try ac.encodeBody(into: &out)
            }
        case .associateRJ(let rj):
            try Self.writePDU(type: .associateRJ, into: &buffer) { (out: inout ByteBuffer) throws(PDUError) in
                out.writeInteger(UInt8(0))
                out.writeInteger(rj.result.rawValue)
                out.writeInteger(rj.source.rawValue)
                out.writeInteger(rj.reason.rawValue)
            }
        case .dataTF(let dataTransfer):
            try Self.writePDU(type: .dataTF, into: &buffer) { (out: inout ByteBuffer) throws(PDUError) in
                for pdv in dataTransfer.pdvs {
                    guard let itemLength = UInt32(exactly: pdv.data.readableBytes + 2) else {
                        throw PDUError(.encodingOverflow, "PDV of \(pdv.data.readableBytes) bytes does not fit a 32-bit item length")
                    }
                    out.writeInteger(itemLength, endianness: .big)
                    out.writeInteger(pdv.contextID)
                    out.writeInteger(pdv.messageControlHeader)
                    out.writeImmutableBuffer(pdv.data)
                }
            }
        case .releaseRQ:
            try Self.writePDU(type: .releaseRQ, into: &buffer) { (out: inout ByteBuffer) throws(PDUError) in
                out.writeInteger(UInt32(0))
            }
        case .releaseRP:
            try Self.writePDU(type: .releaseRP, into: &buffer) { (out: inout ByteBuffer) throws(PDUError) in
                out.writeInteger(UInt32(0))
            }
        case .abort(let abort):
            try Self.writePDU(type: .abort, into: &buffer) { (out: inout ByteBuffer) throws(PDUError) in
                out.writeInteger(UInt16(0))
                out.writeInteger(abort.source.rawValue)
                out.writeInteger(abort.reason.rawValue)
            }
        case .encoded(let bytes):
            buffer.writeImmutableBuffer(bytes)
        }
    }

    /// Writes the 6-byte PDU header, the body, then patches the 4-byte PDU length.
    private static func writePDU(
        type: PDUType, into buffer: inout ByteBuffer, body: (inout ByteBuffer) throws(PDUError) -> Void
    ) throws(PDUError) {
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(UInt8(0))
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        try body(&buffer)
        guard let length = UInt32(exactly: buffer.writerIndex - lengthIndex - 4) else {
            throw PDUError(.encodingOverflow, "\(type) body does not fit a 32-bit PDU length")
        }
        buffer.setInteger(length, at: lengthIndex, endianness: .big)
    }

    /// Writes the header of a P-DATA-TF PDU holding exactly one PDV of `payloadLength` bytes:
    /// PDU header (6 bytes) + PDV item length (4) + context ID (1) + message control header (1),
    /// i.e. ``DataTransfer/singlePDVHeaderLength`` bytes. Send the payload right after it
    /// (for instance as a second buffer of the same gathered write) to avoid copying it.
    public static func writeDataHeader(
        into buffer: inout ByteBuffer, contextID: UInt8, isCommand: Bool, isLast: Bool, payloadLength: Int
    ) throws(PDUError) {
        guard payloadLength >= 0, payloadLength <= Int(clamping: UInt32.max) - 6,
            let itemLength = UInt32(exactly: payloadLength + 2),
            let pduLength = UInt32(exactly: payloadLength + 6)
        else {
            throw PDUError(.encodingOverflow, "PDV payload length \(payloadLength) does not fit a P-DATA-TF PDU")
        }
        buffer.writeInteger(PDUType.dataTF.rawValue)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(pduLength, endianness: .big)
        buffer.writeInteger(itemLength, endianness: .big)
        buffer.writeInteger(contextID)
        buffer.writeInteger((isCommand ? UInt8(0x01) : 0) | (isLast ? UInt8(0x02) : 0))
    }
}

// MARK: - Item writing helpers

extension ByteBuffer {
    /// Writes an item/sub-item: type, reserved byte, 2-byte length patched after `body`.
    mutating func writeULItem(type: UInt8, _ body: (inout ByteBuffer) throws(PDUError) -> Void) throws(PDUError) {
        writeInteger(type)
        writeInteger(UInt8(0))
        let lengthIndex = writerIndex
        writeInteger(UInt16(0))
        try body(&self)
        guard let length = UInt16(exactly: writerIndex - lengthIndex - 2) else {
            throw PDUError(.encodingOverflow, "item \(type.hexByte) is longer than 65535 bytes")
        }
        setInteger(length, at: lengthIndex, endianness: .big)
    }

    /// Writes an item whose content is one string (UIDs are written unpadded).
    mutating func writeULStringItem(type: UInt8, _ value: String) throws(PDUError) {
        try writeULItem(type: type) { (out: inout ByteBuffer) throws(PDUError) in
            out.writeString(value)
        }
    }

    /// Writes a 2-byte length followed by the bytes of `value`.
    mutating func writeUInt16LengthPrefixed(_ value: String, field: String) throws(PDUError) {
        try writeUInt16LengthPrefixed(Array(value.utf8), field: field)
    }

    mutating func writeUInt16LengthPrefixed(_ bytes: [UInt8], field: String) throws(PDUError) {
        guard let length = UInt16(exactly: bytes.count) else {
            throw PDUError(.encodingOverflow, "\(field) is longer than 65535 bytes")
        }
        writeInteger(length, endianness: .big)
        writeBytes(bytes)
    }

    /// Writes an AE title as a 16-byte field: truncated to 16 bytes, padded with spaces.
    mutating func writeAETitle(_ title: String) {
        let bytes = Array(title.utf8.prefix(16))
        writeBytes(bytes)
        writeRepeatingByte(0x20, count: 16 - bytes.count)
    }
}

extension AssociateRequest {
    func encodeBody(into out: inout ByteBuffer) throws(PDUError) {
        out.writeInteger(protocolVersion, endianness: .big)
        out.writeInteger(UInt16(0))
        out.writeAETitle(calledAETitle)
        out.writeAETitle(callingAETitle)
        out.writeRepeatingByte(0, count: 32)
        try out.writeULStringItem(type: 0x10, applicationContextName)
        for context in presentationContexts {
            try out.writeULItem(type: 0x20) { (item: inout ByteBuffer) throws(PDUError) in
                item.writeInteger(context.id)
                item.writeRepeatingByte(0, count: 3)
                try item.writeULStringItem(type: 0x30, context.abstractSyntax)
                for syntax in context.transferSyntaxes {
                    try item.writeULStringItem(type: 0x40, syntax)
                }
            }
        }
        try userInformation.encode(into: &out)
    }
}

extension AssociateAccept {
    func encodeBody(into out: inout ByteBuffer) throws(PDUError) {
        out.writeInteger(protocolVersion, endianness: .big)
        out.writeInteger(UInt16(0))
        out.writeAETitle(calledAETitle)
        out.writeAETitle(callingAETitle)
        out.writeRepeatingByte(0, count: 32)
        try out.writeULStringItem(type: 0x10, applicationContextName)
        for context in presentationContexts {
            try out.writeULItem(type: 0x21) { (item: inout ByteBuffer) throws(PDUError) in
                item.writeInteger(context.id)
                item.writeInteger(UInt8(0))
                item.writeInteger(context.result.rawValue)
                item.writeInteger(UInt8(0))
                // Always present; not significant (and may be empty) when the context is rejected.
                try item.writeULStringItem(type: 0x40, context.transferSyntax)
            }
        }
        try userInformation.encode(into: &out)
    }
}

extension UserInformation {
    /// Writes the user information item (0x50); sub-items in increasing type order.
    func encode(into out: inout ByteBuffer) throws(PDUError) {
        try out.writeULItem(type: 0x50) { (item: inout ByteBuffer) throws(PDUError) in
            if let maxPDULength {
                try item.writeULItem(type: 0x51) { (sub: inout ByteBuffer) throws(PDUError) in
                    sub.writeInteger(maxPDULength, endianness: .big)
                }
            }
            if let implementationClassUID {
                try item.writeULStringItem(type: 0x52, implementationClassUID)
            }
            if let asyncOperationsWindow {
                try item.writeULItem(type: 0x53) { (sub: inout ByteBuffer) throws(PDUError) in
                    sub.writeInteger(asyncOperationsWindow.maxInvoked, endianness: .big)
                    sub.writeInteger(asyncOperationsWindow.maxPerformed, endianness: .big)
                }
            }
            for role in roleSelections {
                try item.writeULItem(type: 0x54) { (sub: inout ByteBuffer) throws(PDUError) in
                    try sub.writeUInt16LengthPrefixed(role.sopClassUID, field: "SOP class UID")
                    sub.writeInteger(role.scuRole ? UInt8(1) : 0)
                    sub.writeInteger(role.scpRole ? UInt8(1) : 0)
                }
            }
            if let implementationVersionName {
                try item.writeULStringItem(type: 0x55, implementationVersionName)
            }
            for negotiation in extendedNegotiations {
                try item.writeULItem(type: 0x56) { (sub: inout ByteBuffer) throws(PDUError) in
                    try sub.writeUInt16LengthPrefixed(negotiation.sopClassUID, field: "SOP class UID")
                    sub.writeBytes(negotiation.info)
                }
            }
            for negotiation in commonExtendedNegotiations {
                try item.writeULItem(type: 0x57) { (sub: inout ByteBuffer) throws(PDUError) in
                    try sub.writeUInt16LengthPrefixed(negotiation.sopClassUID, field: "SOP class UID")
                    try sub.writeUInt16LengthPrefixed(negotiation.serviceClassUID, field: "service class UID")
                    let lengthIndex = sub.writerIndex
                    sub.writeInteger(UInt16(0))
                    for uid in negotiation.relatedGeneralSOPClassUIDs {
                        try sub.writeUInt16LengthPrefixed(uid, field: "related general SOP class UID")
                    }
                    guard let length = UInt16(exactly: sub.writerIndex - lengthIndex - 2) else {
                        throw PDUError(.encodingOverflow, "related general SOP class identification is longer than 65535 bytes")
                    }
                    sub.setInteger(length, at: lengthIndex, endianness: .big)
                }
            }
            if let identity = userIdentityRequest {
                try item.writeULItem(type: 0x58) { (sub: inout ByteBuffer) throws(PDUError) in
                    sub.writeInteger(identity.type.rawValue)
                    sub.writeInteger(identity.positiveResponseRequested ? UInt8(1) : 0)
                    try sub.writeUInt16LengthPrefixed(identity.primaryField, field: "user identity primary field")
                    try sub.writeUInt16LengthPrefixed(identity.secondaryField, field: "user identity secondary field")
                }
            }
            if let response = userIdentityResponse {
                try item.writeULItem(type: 0x59) { (sub: inout ByteBuffer) throws(PDUError) in
                    try sub.writeUInt16LengthPrefixed(response.serverResponse, field: "user identity server response")
                }
            }
            for unknown in unknownSubItems {
                try item.writeULItem(type: unknown.type) { (sub: inout ByteBuffer) throws(PDUError) in
                    sub.writeBytes(unknown.data)
                }
            }
        }
    }
}

import NIOCore

extension PDU {
    /// PDU-type (1) + reserved (1) + PDU-length (4).
    public static let headerLength = 6
    /// Fixed fields of A-ASSOCIATE-RQ/AC after the header: protocol version (2), reserved (2),
    /// called AE (16), calling AE (16), reserved (32).
    public static let associateFixedFieldsLength = 68

    /// Decodes one PDU from the front of `buffer`.
    ///
    /// Returns `nil` (leaving `buffer` untouched) when more bytes are needed. The PDU type and
    /// the declared length are validated as soon as they are available, so hostile input such as
    /// an HTTP request or a 4 GB declared length is rejected before anything is buffered.
    /// On success the reader index moves past the PDU; P-DATA-TF fragments are slices of `buffer`.
    /// On error the reader index is left unchanged.
    public static func decode(from buffer: inout ByteBuffer, limits: PDULimits) throws(PDUError) -> PDU? {
        let start = buffer.readerIndex
        guard let typeByte = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        guard let type = PDUType(rawValue: typeByte) else {
            throw PDUError(.unrecognizedPDUType, "unrecognized PDU type \(typeByte.hexByte)", offset: 0)
        }
        guard buffer.readableBytes >= headerLength,
            let declared = buffer.getInteger(at: start + 2, endianness: .big, as: UInt32.self)
        else { return nil }
        try validateHeader(type: type, length: declared, limits: limits)
        // validateHeader bounds `declared` by limits that fit in UInt32; convert without trapping.
        guard let bodyLength = Int(exactly: declared), bodyLength <= buffer.readableBytes - headerLength else {
            return nil
        }
        guard let body = buffer.getSlice(at: start + headerLength, length: bodyLength) else { return nil }
        let pdu = try decodeBody(type: type, body: PDUFieldReader(body, base: headerLength))
        buffer.moveReaderIndex(forwardBy: headerLength + bodyLength)
        return pdu
    }

    /// Decodes exactly one complete PDU occupying all of `bytes`.
    public static func decode(exactly bytes: ByteBuffer, limits: PDULimits) throws(PDUError) -> PDU {
        var copy = bytes
        guard let pdu = try decode(from: &copy, limits: limits) else {
            throw PDUError(.truncated, "the buffer ends before the PDU is complete", offset: bytes.readableBytes)
        }
        guard copy.readableBytes == 0 else {
            throw PDUError(.invalidPDULength, "\(copy.readableBytes) byte(s) follow the PDU", offset: bytes.readableBytes - copy.readableBytes)
        }
        return pdu
    }

    /// Checks the PDU-length field against the PDU type and the limits (PS3.8 9.3).
    static func validateHeader(type: PDUType, length: UInt32, limits: PDULimits) throws(PDUError) {
        switch type {
        case .associateRQ, .associateAC:
            if length > limits.maxAssociatePDULength {
                throw PDUError(
                    .pduTooLarge,
                    "\(type) declares length \(length), above the limit of \(limits.maxAssociatePDULength)",
                    offset: 2
                )
            }
            if length < UInt32(associateFixedFieldsLength) {
                throw PDUError(
                    .invalidPDULength,
                    "\(type) declares length \(length), shorter than its \(associateFixedFieldsLength) bytes of fixed fields",
                    offset: 2
                )
            }
        case .associateRJ, .releaseRQ, .releaseRP, .abort:
            if length != 4 {
                throw PDUError(.invalidPDULength, "\(type) must have length 4, declares \(length)", offset: 2)
            }
        case .dataTF:
            if length == 0 {
                throw PDUError(.invalidPDULength, "P-DATA-TF with length 0 (at least one PDV item is required)", offset: 2)
            }
            let limit = limits.effectiveMaxDataPDULength
            if length > limit {
                throw PDUError(
                    .pduTooLarge,
                    "P-DATA-TF declares length \(length), above the advertised maximum of \(limit)",
                    offset: 2
                )
            }
            if length < 6 {
                throw PDUError(
                    .invalidPDULength,
                    "P-DATA-TF declares length \(length), too short for a PDV item (6 bytes minimum)",
                    offset: 2
                )
            }
        }
    }

    static func decodeBody(type: PDUType, body: PDUFieldReader) throws(PDUError) -> PDU {
        var reader = body
        switch type {
        case .associateRQ:
            return .associateRQ(try AssociateRequest.decodeBody(&reader))
        case .associateAC:
            return .associateAC(try AssociateAccept.decodeBody(&reader))
        case .associateRJ:
            try reader.skip(1, "A-ASSOCIATE-RJ reserved byte")
            let result = try reader.readUInt8("A-ASSOCIATE-RJ result")
            let source = try reader.readUInt8("A-ASSOCIATE-RJ source")
            let reason = try reader.readUInt8("A-ASSOCIATE-RJ reason/diag")
            return .associateRJ(AssociateReject(
                result: .init(rawValue: result), source: .init(rawValue: source), reason: .init(rawValue: reason)))
        case .dataTF:
            return .dataTF(try DataTransfer.decodeBody(&reader))
        case .releaseRQ:
            return .releaseRQ  // 4 reserved bytes, not tested (length already checked).
        case .releaseRP:
            return .releaseRP
        case .abort:
            try reader.skip(2, "A-ABORT reserved bytes")
            let source = try reader.readUInt8("A-ABORT source")
            let reason = try reader.readUInt8("A-ABORT reason/diag")
            return .abort(Abort(source: .init(rawValue: source), reason: .init(rawValue: reason)))
        }
    }
}

// MARK: - Items

/// Item header: item-type (1), reserved (1), item-length (2).
struct ItemHeader {
    var type: UInt8
    var offset: Int
    var content: PDUFieldReader

    /// Reads an item or sub-item header and its content; the content must lie within `reader`.
    static func read(from reader: inout PDUFieldReader, context: String) throws(PDUError) -> ItemHeader {
        let offset = reader.offset
        guard reader.remaining >= 4 else {
            throw PDUError(
                .lengthOverrun,
                "\(reader.remaining) trailing byte(s) in \(context), too few for an item header",
                offset: offset
            )
        }
        let type = try reader.readUInt8("item type")
        try reader.skip(1, "item reserved byte")
        let length = Int(try reader.readUInt16("item length"))
        guard length <= reader.remaining else {
            throw PDUError(
                .lengthOverrun,
                "item \(type.hexByte) in \(context) declares length \(length) but only \(reader.remaining) byte(s) remain",
                offset: offset
            )
        }
        let content = try reader.readSubReader(length, "item \(type.hexByte)")
        return ItemHeader(type: type, offset: offset, content: content)
    }
}

/// Fields shared by A-ASSOCIATE-RQ and A-ASSOCIATE-AC.
struct AssociateCommonFields {
    var protocolVersion: UInt16
    var calledAETitle: String
    var callingAETitle: String

    static func read(from reader: inout PDUFieldReader) throws(PDUError) -> AssociateCommonFields {
        let version = try reader.readUInt16("protocol version")
        try reader.skip(2, "reserved bytes")
        let called = try reader.readTrimmedString(16, "called AE title")
        let calling = try reader.readTrimmedString(16, "calling AE title")
        try reader.skip(32, "reserved bytes")
        return AssociateCommonFields(protocolVersion: version, calledAETitle: called, callingAETitle: calling)
    }
}

extension AssociateRequest {
    static func decodeBody(_ reader: inout PDUFieldReader) throws(PDUError) -> AssociateRequest {
        let fixed = try AssociateCommonFields.read(from: &reader)
        var applicationContext: String?
        var contexts: [PresentationContextProposal] = []
        var seenIDs = Set<UInt8>()
        var userInformation: UserInformation?
        while !reader.isAtEnd {
            var item = try ItemHeader.read(from: &reader, context: "A-ASSOCIATE-RQ")
            switch item.type {
            case 0x10:
                guard applicationContext == nil else {
                    throw PDUError(.unexpectedParameter, "second application context item", offset: item.offset)
                }
                applicationContext = try item.content.readRemainingTrimmedString("application context name")
            case 0x20:
                let context = try PresentationContextProposal.decode(&item)
                guard seenIDs.insert(context.id).inserted else {
                    throw PDUError(
                        .invalidParameterValue, "presentation context ID \(context.id) proposed twice", offset: item.offset)
                }
                contexts.append(context)
            case 0x21:
                throw PDUError(
                    .unexpectedParameter, "A-ASSOCIATE-AC presentation context item (0x21) in an A-ASSOCIATE-RQ",
                    offset: item.offset)
            case 0x50:
                guard userInformation == nil else {
                    throw PDUError(.unexpectedParameter, "second user information item", offset: item.offset)
                }
                userInformation = try UserInformation.decode(&item)
            default:
                break  // PS3.8 9.3.1: items of unrecognized types are ignored and skipped.
            }
        }
        guard let applicationContext else {
            throw PDUError(.invalidParameterValue, "A-ASSOCIATE-RQ without an application context item", offset: 6)
        }
        return AssociateRequest(
            protocolVersion: fixed.protocolVersion,
            calledAETitle: fixed.calledAETitle,
            callingAETitle: fixed.callingAETitle,
            applicationContextName: applicationContext,
            presentationContexts: contexts,
            userInformation: userInformation ?? UserInformation()
        )
    }
}

extension AssociateAccept {
    static func decodeBody(_ reader: inout PDUFieldReader) throws(PDUError) -> AssociateAccept {
        let fixed = try AssociateCommonFields.read(from: &reader)
        var applicationContext: String?
        var contexts: [PresentationContextResult] = []
        var seenIDs = Set<UInt8>()
        var userInformation: UserInformation?
        while !reader.isAtEnd {
            var item = try ItemHeader.read(from: &reader, context: "A-ASSOCIATE-AC")
            switch item.type {
            case 0x10:
                guard applicationContext == nil else {
                    throw PDUError(.unexpectedParameter, "second application context item", offset: item.offset)
                }
                applicationContext = try item.content.readRemainingTrimmedString("application context name")
            case 0x21:
                let context = try PresentationContextResult.decode(&item)
                guard seenIDs.insert(context.id).inserted else {
                    throw PDUError(
                        .invalidParameterValue, "presentation context ID \(context.id) answered twice", offset: item.offset)
                }
                contexts.append(context)
            case 0x20:
                throw PDUError(
                    .unexpectedParameter, "A-ASSOCIATE-RQ presentation context item (0x20) in an A-ASSOCIATE-AC",
                    offset: item.offset)
            case 0x50:
                guard userInformation == nil else {
                    throw PDUError(.unexpectedParameter, "second user information item", offset: item.offset)
                }
                userInformation = try UserInformation.decode(&item)
            default:
                break  // PS3.8 9.3.1: items of unrecognized types are ignored and skipped.
            }
        }
        guard let applicationContext else {
            throw PDUError(.invalidParameterValue, "A-ASSOCIATE-AC without an application context item", offset: 6)
        }
        return AssociateAccept(
            protocolVersion: fixed.protocolVersion,
            calledAETitle: fixed.calledAETitle,
            callingAETitle: fixed.callingAETitle,
            applicationContextName: applicationContext,
            presentationContexts: contexts,
            userInformation: userInformation ?? UserInformation()
        )
    }
}

extension PresentationContextProposal {
    static func decode(_ item: inout ItemHeader) throws(PDUError) -> PresentationContextProposal {
        var reader = item.content
        guard reader.remaining >= 4 else {
            throw PDUError(
                .invalidParameterValue, "presentation context item shorter than its 4 fixed bytes", offset: item.offset)
        }
        let id = try reader.readUInt8("presentation context ID")
        try reader.skip(3, "reserved bytes")
        var abstractSyntax: String?
        var transferSyntaxes: [String] = []
        while !reader.isAtEnd {
            var sub = try ItemHeader.read(from: &reader, context: "presentation context item \(id)")
            switch sub.type {
            case 0x30:
                guard abstractSyntax == nil else {
                    throw PDUError(
                        .unexpectedParameter, "second abstract syntax in presentation context \(id)", offset: sub.offset)
                }
                abstractSyntax = try sub.content.readRemainingTrimmedString("abstract syntax name")
            case 0x40:
                transferSyntaxes.append(try sub.content.readRemainingTrimmedString("transfer syntax name"))
            default:
                break  // unrecognized sub-items are skipped
            }
        }
        guard let abstractSyntax else {
            throw PDUError(
                .invalidParameterValue, "presentation context \(id) has no abstract syntax sub-item", offset: item.offset)
        }
        return PresentationContextProposal(id: id, abstractSyntax: abstractSyntax, transferSyntaxes: transferSyntaxes)
    }
}

extension PresentationContextResult {
    static func decode(_ item: inout ItemHeader) throws(PDUError) -> PresentationContextResult {
        var reader = item.content
        guard reader.remaining >= 4 else {
            throw PDUError(
                .invalidParameterValue, "presentation context item shorter than its 4 fixed bytes", offset: item.offset)
        }
        let id = try reader.readUInt8("presentation context ID")
        try reader.skip(1, "reserved byte")
        let resultOffset = reader.offset
        let rawResult = try reader.readUInt8("result/reason")
        try reader.skip(1, "reserved byte")
        guard let result = Reason(rawValue: rawResult) else {
            throw PDUError(
                .invalidParameterValue, "presentation context \(id) has result/reason \(rawResult)", offset: resultOffset)
        }
        var transferSyntax: String?
        while !reader.isAtEnd {
            var sub = try ItemHeader.read(from: &reader, context: "presentation context item \(id)")
            switch sub.type {
            case 0x40:
                guard transferSyntax == nil else {
                    throw PDUError(
                        .unexpectedParameter, "second transfer syntax in accepted context \(id)", offset: sub.offset)
                }
                transferSyntax = try sub.content.readRemainingTrimmedString("transfer syntax name")
            default:
                break
            }
        }
        if result == .acceptance, transferSyntax?.isEmpty ?? true {
            throw PDUError(
                .invalidParameterValue, "accepted presentation context \(id) has no transfer syntax", offset: item.offset)
        }
        return PresentationContextResult(id: id, result: result, transferSyntax: transferSyntax ?? "")
    }
}

extension UserInformation {
    static func decode(_ item: inout ItemHeader) throws(PDUError) -> UserInformation {
        var reader = item.content
        var info = UserInformation()
        while !reader.isAtEnd {
            var sub = try ItemHeader.read(from: &reader, context: "user information item")
            let offset = sub.offset
            func duplicate(_ name: String) -> PDUError {
                PDUError(.unexpectedParameter, "second \(name) sub-item", offset: offset)
            }
            func wrongLength(_ name: String, _ expected: Int) -> PDUError {
                PDUError(
                    .invalidParameterValue,
                    "\(name) sub-item has length \(sub.content.remaining), expected \(expected)",
                    offset: offset
                )
            }
            switch sub.type {
            case 0x51:
                guard info.maxPDULength == nil else { throw duplicate("maximum length") }
                guard sub.content.remaining == 4 else { throw wrongLength("maximum length", 4) }
                info.maxPDULength = try sub.content.readUInt32("maximum length received")
            case 0x52:
                guard info.implementationClassUID == nil else { throw duplicate("implementation class UID") }
                info.implementationClassUID = try sub.content.readRemainingTrimmedString("implementation class UID")
            case 0x53:
                guard info.asyncOperationsWindow == nil else { throw duplicate("asynchronous operations window") }
                guard sub.content.remaining == 4 else { throw wrongLength("asynchronous operations window", 4) }
                let invoked = try sub.content.readUInt16("maximum number operations invoked")
                let performed = try sub.content.readUInt16("maximum number operations performed")
                info.asyncOperationsWindow = AsyncOperationsWindow(maxInvoked: invoked, maxPerformed: performed)
            case 0x54:
                let uidLength = Int(try sub.content.readUInt16("SOP class UID length"))
                let uid = try sub.content.readTrimmedString(uidLength, "SOP class UID")
                let scu = try sub.content.readUInt8("SCU role")
                let scp = try sub.content.readUInt8("SCP role")
                guard sub.content.isAtEnd else {
                    throw PDUError(
                        .invalidParameterValue, "\(sub.content.remaining) extra byte(s) in SCP/SCU role selection sub-item",
                        offset: sub.content.offset)
                }
                info.roleSelections.append(RoleSelection(sopClassUID: uid, scuRole: scu != 0, scpRole: scp != 0))
            case 0x55:
                guard info.implementationVersionName == nil else { throw duplicate("implementation version name") }
                info.implementationVersionName = try sub.content.readRemainingTrimmedString("implementation version name")
            case 0x56:
                let uidLength = Int(try sub.content.readUInt16("SOP class UID length"))
                let uid = try sub.content.readTrimmedString(uidLength, "SOP class UID")
                info.extendedNegotiations.append(
                    ExtendedNegotiation(sopClassUID: uid, info: sub.content.readRemainingBytes()))
            case 0x57:
                let uidLength = Int(try sub.content.readUInt16("SOP class UID length"))
                let uid = try sub.content.readTrimmedString(uidLength, "SOP class UID")
                let serviceLength = Int(try sub.content.readUInt16("service class UID length"))
                let service = try sub.content.readTrimmedString(serviceLength, "service class UID")
                let relatedLength = Int(try sub.content.readUInt16("related general SOP class identification length"))
                var related = try sub.content.readSubReader(relatedLength, "related general SOP class identification")
                var relatedUIDs: [String] = []
                while !related.isAtEnd {
                    let length = Int(try related.readUInt16("related general SOP class UID length"))
                    relatedUIDs.append(try related.readTrimmedString(length, "related general SOP class UID"))
                }
                // Any bytes after the identification field are reserved and ignored.
                info.commonExtendedNegotiations.append(
                    CommonExtendedNegotiation(sopClassUID: uid, serviceClassUID: service, relatedGeneralSOPClassUIDs: relatedUIDs))
            case 0x58:
                guard info.userIdentityRequest == nil else { throw duplicate("user identity") }
                let type = try sub.content.readUInt8("user identity type")
                let positive = try sub.content.readUInt8("positive response requested")
                let primaryLength = Int(try sub.content.readUInt16("primary field length"))
                let primary = try sub.content.readBytes(primaryLength, "primary field")
                let secondaryLength = Int(try sub.content.readUInt16("secondary field length"))
                let secondary = try sub.content.readBytes(secondaryLength, "secondary field")
                info.userIdentityRequest = UserIdentityRequest(
                    type: .init(rawValue: type), positiveResponseRequested: positive == 1,
                    primaryField: primary, secondaryField: secondary)
            case 0x59:
                guard info.userIdentityResponse == nil else { throw duplicate("user identity response") }
                let length = Int(try sub.content.readUInt16("server response length"))
                info.userIdentityResponse = UserIdentityResponse(
                    serverResponse: try sub.content.readBytes(length, "server response"))
            default:
                info.unknownSubItems.append(UnknownSubItem(type: sub.type, data: sub.content.readRemainingBytes()))
            }
        }
        return info
    }
}

extension DataTransfer {
    static func decodeBody(_ reader: inout PDUFieldReader) throws(PDUError) -> DataTransfer {
        var pdvs: [PDV] = []
        while !reader.isAtEnd {
            let offset = reader.offset
            try checkRoomForItem(reader.remaining, offset: offset)
            let length = try itemLength(try reader.readUInt32("PDV item length"), remaining: reader.remaining, offset: offset)
            let contextID = try reader.readUInt8("presentation context ID")
            let control = try reader.readUInt8("message control header")
            let data = try reader.readSlice(length - 2, "PDV data")
            pdvs.append(PDV(contextID: contextID, isCommand: control & 0x01 != 0, isLast: control & 0x02 != 0, data: data))
        }
        return DataTransfer(pdvs: pdvs)
    }

    /// `remaining` bytes of a P-DATA-TF's body are left where a PDV item should start: at least its 4-byte length.
    static func checkRoomForItem(_ remaining: Int, offset: Int) throws(PDUError) {
        guard remaining >= 4 else {
            throw PDUError(.lengthOverrun, "\(remaining) trailing byte(s) in P-DATA-TF, too few for a PDV item", offset: offset)
        }
    }

    /// A PDV item's declared length checked against the body bytes `remaining` after that length field: at least
    /// the context ID and control header, and within the PDU.
    static func itemLength(_ declared: UInt32, remaining: Int, offset: Int) throws(PDUError) -> Int {
        guard declared >= 2 else {
            throw PDUError(.invalidParameterValue, "PDV item length \(declared) is below 2 (context ID + control header)", offset: offset)
        }
        guard let length = Int(exactly: declared), length <= remaining else {
            throw PDUError(.lengthOverrun, "PDV item length \(declared) overruns the P-DATA-TF (\(remaining) byte(s) remain)", offset: offset)
        }
        return length
    }
}

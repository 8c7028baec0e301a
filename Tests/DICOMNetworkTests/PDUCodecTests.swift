import TestSupport
import DICOM
import NIOCore
import NIOEmbedded
import Testing

@testable import DICOMNetwork

// MARK: - Helpers

private let allocator = ByteBufferAllocator()
private let defaultLimits = PDULimits(maxDataPDULength: 16384)

private func buffer(_ bytes: [UInt8]) -> ByteBuffer {
    var b = allocator.buffer(capacity: bytes.count)
    b.writeBytes(bytes)
    return b
}

private func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8.filter { !$0.isASCIIWhitespace })
    var out: [UInt8] = []
    var i = 0
    while i + 1 < digits.count {
        out.append(UInt8(nibble(digits[i]) << 4 | nibble(digits[i + 1])))
        i += 2
    }
    return out
}

private func nibble(_ c: UInt8) -> UInt8 {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return 0
    }
}

extension UInt8 {
    fileprivate var isASCIIWhitespace: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }
}

private func be16(_ v: Int) -> [UInt8] { [UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
private func be32(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
}
private func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

/// An item/sub-item with a correct length.
private func item(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
    [type, 0] + be16(content.count) + content
}

/// An item/sub-item with an arbitrary declared length.
private func rawItem(_ type: UInt8, declared: Int, _ content: [UInt8]) -> [UInt8] {
    [type, 0] + be16(declared) + content
}

private func pdu(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
    [type, 0] + be32(UInt32(body.count)) + body
}

private func aeField(_ s: String) -> [UInt8] {
    let b = Array(s.utf8.prefix(16))
    return b + Array(repeating: 0x20, count: 16 - b.count)
}

private let appContextItem = item(0x10, ascii("1.2.840.10008.3.1.1.1"))
private let verificationContext = item(
    0x20, [1, 0, 0, 0] + item(0x30, ascii("1.2.840.10008.1.1")) + item(0x40, ascii("1.2.840.10008.1.2")))
private let basicUserInfo = item(0x50, item(0x51, be32(16384)) + item(0x52, ascii("1.2.3.4")))

/// A-ASSOCIATE-RQ (type 1) or -AC (type 2) with the given variable items.
private func associate(_ type: UInt8 = 1, called: String = "STORE_SCP", calling: String = "ECHOSCU", items: [UInt8]) -> [UInt8] {
    let fixed: [UInt8] = [0, 1, 0, 0] + aeField(called) + aeField(calling) + Array(repeating: 0, count: 32)
    return pdu(type, fixed + items)
}

private func decodeOne(_ bytes: [UInt8], limits: PDULimits = defaultLimits) throws(PDUError) -> PDU? {
    var b = buffer(bytes)
    return try PDU.decode(from: &b, limits: limits)
}

private func expectError(
    _ bytes: [UInt8], _ kind: PDUError.Kind, limits: PDULimits = defaultLimits,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let result = try decodeOne(bytes, limits: limits)
        Issue.record("expected PDUError.\(kind), decoded \(String(describing: result))", sourceLocation: sourceLocation)
    } catch {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
    }
}

private func roundTrip(_ value: PDU) throws -> PDU? {
    var b = allocator.buffer(capacity: 64)
    try value.encode(into: &b)
    let decoded = try PDU.decode(from: &b, limits: PDULimits(maxDataPDULength: 1 << 20))
    #expect(b.readableBytes == 0)
    return decoded
}

// MARK: - Real A-ASSOCIATE-RQ from DCMTK

/// Captured from `/usr/bin/echoscu -aec STORE_SCP 127.0.0.1 PORT` (DCMTK 3.6.7).
let dcmtkEchoAssociateRQ = """
    0100000000cd0001000053544f52455f534350202020202020204543484f534355202020202020202020000000000000\
    000000000000000000000000000000000000000000000000000010000015312e322e3834302e31303030382e332e312e\
    312e312000002e0100ff0030000011312e322e3834302e31303030382e312e3140000011312e322e3834302e31303030\
    382e312e325000003a51000004000040005200001b312e322e3237362e302e373233303031302e332e302e332e362e37\
    5500000f4f464649535f44434d544b5f333637
    """

/// A-ASSOCIATE-AC sent by DCMTK 3.6.7 `/usr/bin/storescp -aet STORE_SCP` in reply to an
/// A-ASSOCIATE-RQ produced by this codec (Verification + CT Image Storage, role selection,
/// async window, user identity).
let dcmtkStorescpAssociateAC = """
    0200000000d90001000053544f52455f5343502020202020202041524341202020202020202020202020000000000000\
    000000000000000000000000000000000000000000000000000010000015312e322e3834302e31303030382e332e312e\
    312e312100001b0100000040000013312e322e3834302e31303030382e312e322e312100001b0300000040000013312e\
    322e3834302e31303030382e312e322e315000003a51000004000040005200001b312e322e3237362e302e3732333030\
    31302e332e302e332e362e375500000f4f464649535f44434d544b5f333637
    """

/// P-DATA-TF (C-ECHO-RQ command) sent by DCMTK `echoscu` after accepting our A-ASSOCIATE-AC.
let dcmtkEchoDataTF = """
    04000000004a0000004601030000000004000000380000000000020012000000312e322e3834302e31303030382e312e\
    3100000000010200000030000000100102000000010000000008020000000101
    """

@Suite struct DCMTKCaptureTests {
    @Test func decodesEchoscuAssociateRequest() throws {
        let bytes = hexBytes(dcmtkEchoAssociateRQ)
        #expect(bytes.count == 211)
        var b = buffer(bytes)
        let decoded = try PDU.decode(from: &b, limits: defaultLimits)
        #expect(b.readableBytes == 0)
        guard case .associateRQ(let rq) = decoded else {
            Issue.record("not an A-ASSOCIATE-RQ: \(String(describing: decoded))")
            return
        }
        #expect(rq.protocolVersion == 1)
        #expect(rq.calledAETitle == "STORE_SCP")
        #expect(rq.callingAETitle == "ECHOSCU")
        #expect(rq.applicationContextName == "1.2.840.10008.3.1.1.1")
        #expect(rq.presentationContexts == [
            PresentationContextProposal(id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ["1.2.840.10008.1.2"])
        ])
        #expect(rq.userInformation.maxPDULength == 16384)
        #expect(rq.userInformation.implementationClassUID == "1.2.276.0.7230010.3.0.3.6.7")
        #expect(rq.userInformation.implementationVersionName == "OFFIS_DCMTK_367")
        #expect(rq.userInformation.asyncOperationsWindow == nil)
        #expect(rq.userInformation.roleSelections.isEmpty)
        #expect(rq.userInformation.unknownSubItems.isEmpty)

        // Re-encoding gives a PDU that decodes to the same value. (Not byte-identical:
        // DCMTK puts 0xFF in a reserved byte of the presentation context item.)
        #expect(try roundTrip(.associateRQ(rq)) == .associateRQ(rq))
    }

    @Test func decodesStorescpAssociateAccept() throws {
        var b = buffer(hexBytes(dcmtkStorescpAssociateAC))
        guard case .associateAC(let ac)? = try PDU.decode(from: &b, limits: defaultLimits) else {
            Issue.record("not an A-ASSOCIATE-AC")
            return
        }
        #expect(b.readableBytes == 0)
        #expect(ac.calledAETitle == "STORE_SCP")
        #expect(ac.callingAETitle == "ARCA")
        #expect(ac.presentationContexts == [
            PresentationContextResult(id: 1, result: .acceptance, transferSyntax: "1.2.840.10008.1.2.1"),
            PresentationContextResult(id: 3, result: .acceptance, transferSyntax: "1.2.840.10008.1.2.1"),
        ])
        #expect(ac.userInformation.maxPDULength == 16384)
        #expect(ac.userInformation.implementationVersionName == "OFFIS_DCMTK_367")
        #expect(ac.userInformation.roleSelections.isEmpty)
        #expect(ac.userInformation.userIdentityResponse == nil)
    }

    @Test func decodesEchoscuDataTransfer() throws {
        var b = buffer(hexBytes(dcmtkEchoDataTF))
        guard case .dataTF(let dt)? = try PDU.decode(from: &b, limits: defaultLimits) else {
            Issue.record("not a P-DATA-TF")
            return
        }
        #expect(dt.pdvs.count == 1)
        #expect(dt.pdvs.first?.contextID == 1)
        #expect(dt.pdvs.first?.isCommand == true)
        #expect(dt.pdvs.first?.isLast == true)
        #expect(dt.pdvs.first?.data.readableBytes == 68)
    }

    @Test func decodesEchoscuRequestOneByteAtATimeThroughNIO() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384)))
        for byte in hexBytes(dcmtkEchoAssociateRQ) {
            try channel.writeInbound(buffer([byte]))
        }
        let pdu = try channel.readInbound(as: PDU.self)
        guard case .associateRQ(let rq) = pdu else {
            Issue.record("expected A-ASSOCIATE-RQ")
            return
        }
        #expect(rq.callingAETitle == "ECHOSCU")
        #expect(try channel.readInbound(as: PDU.self) == nil)
        _ = try channel.finish()
    }
}

// MARK: - Round trips

private func samplePDUs() -> [PDU] {
    let userInfo = UserInformation(
        maxPDULength: 32768,
        implementationClassUID: DICOMImplementation.classUID,
        implementationVersionName: DICOMImplementation.versionName,
        asyncOperationsWindow: AsyncOperationsWindow(maxInvoked: 4, maxPerformed: 2),
        roleSelections: [RoleSelection(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", scuRole: false, scpRole: true)],
        extendedNegotiations: [ExtendedNegotiation(sopClassUID: "1.2.840.10008.5.1.4.1.2.2.2", info: [1, 0, 1])],
        commonExtendedNegotiations: [
            CommonExtendedNegotiation(
                sopClassUID: "1.2.840.10008.5.1.4.1.1.88.22", serviceClassUID: "1.2.840.10008.4.2",
                relatedGeneralSOPClassUIDs: ["1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.33"])
        ],
        userIdentityRequest: UserIdentityRequest(
            type: .usernameAndPasscode, positiveResponseRequested: true,
            primaryField: ascii("alice"), secondaryField: ascii("s3cret")),
        unknownSubItems: [UnknownSubItem(type: 0x5F, data: [9, 8, 7])]
    )
    let rq = AssociateRequest(
        calledAETitle: "STORE_SCP", callingAETitle: "ARCA",
        presentationContexts: [
            PresentationContextProposal(id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ["1.2.840.10008.1.2"]),
            PresentationContextProposal(
                id: 3, abstractSyntax: "1.2.840.10008.5.1.4.1.1.2",
                transferSyntaxes: ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]),
        ],
        userInformation: userInfo)
    var acInfo = UserInformation(maxPDULength: 0, implementationClassUID: "1.2.3", implementationVersionName: "X")
    acInfo.userIdentityResponse = UserIdentityResponse(serverResponse: [0xAB, 0xCD])
    let ac = AssociateAccept(
        calledAETitle: "STORE_SCP", callingAETitle: "ARCA",
        presentationContexts: [
            PresentationContextResult(id: 1, result: .acceptance, transferSyntax: "1.2.840.10008.1.2"),
            PresentationContextResult(id: 3, result: .transferSyntaxesNotSupported, transferSyntax: ""),
            PresentationContextResult(id: 5, result: .abstractSyntaxNotSupported, transferSyntax: ""),
            PresentationContextResult(id: 7, result: .userRejection, transferSyntax: ""),
            PresentationContextResult(id: 9, result: .noReason, transferSyntax: ""),
        ],
        userInformation: acInfo)
    let data = DataTransfer(pdvs: [
        PDV(contextID: 1, isCommand: true, isLast: true, data: buffer([1, 2, 3, 4])),
        PDV(contextID: 3, isCommand: false, isLast: false, data: buffer(Array(repeating: 0x55, count: 1000))),
        PDV(contextID: 3, isCommand: false, isLast: true, data: buffer([])),
    ])
    return [
        .associateRQ(rq),
        .associateAC(ac),
        .associateRJ(AssociateReject(result: .transient, source: .serviceProviderPresentation, reason: .localLimitExceeded)),
        .associateRJ(AssociateReject(result: .permanent, source: .serviceUser, reason: .calledAETitleNotRecognized)),
        .dataTF(data),
        .releaseRQ,
        .releaseRP,
        .abort(Abort(source: .serviceProvider, reason: .invalidPDUParameterValue)),
        .abort(.userInitiated),
    ]
}

@Suite struct RoundTripTests {
    @Test(arguments: samplePDUs())
    func roundTrips(_ value: PDU) throws {
        #expect(try roundTrip(value) == value)
    }

    @Test func everyPDUTypeIsCovered() {
        #expect(Set(samplePDUs().map(\.type)) == Set(PDUType.allCases))
    }

    @Test func fixedPDUEncodings() throws {
        #expect(try Array(buffer: PDU.releaseRQ.encoded()) == [5, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        #expect(try Array(buffer: PDU.releaseRP.encoded()) == [6, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        #expect(
            try Array(buffer: PDU.abort(Abort(source: .serviceProvider, reason: .unexpectedPDU)).encoded())
                == [7, 0, 0, 0, 0, 4, 0, 0, 2, 2])
        #expect(
            try Array(buffer: PDU.associateRJ(AssociateReject(result: .permanent, source: .serviceUser, reason: .callingAETitleNotRecognized)).encoded())
                == [3, 0, 0, 0, 0, 4, 0, 1, 1, 3])
    }

    @Test func aeTitlesArePaddedAndTrimmed() throws {
        let rq = AssociateRequest(calledAETitle: "A", callingAETitle: "ABCDEFGHIJKLMNOPQRST", presentationContexts: [])
        let encoded = try Array(buffer: PDU.associateRQ(rq).encoded())
        #expect(Array(encoded[10..<26]) == aeField("A"))
        #expect(Array(encoded[26..<42]) == ascii("ABCDEFGHIJKLMNOP"))
        guard case .associateRQ(let back)? = try decodeOne(encoded) else {
            Issue.record("not decoded")
            return
        }
        #expect(back.calledAETitle == "A")
        #expect(back.callingAETitle == "ABCDEFGHIJKLMNOP")
    }

    @Test func leadingSpacesAndNULPaddingAreTrimmed() throws {
        let bytes = associate(
            called: "  CALLED", items: item(0x10, ascii("1.2.840.10008.3.1.1.1") + [0]) + basicUserInfo)
        guard case .associateRQ(let rq)? = try decodeOne(bytes) else {
            Issue.record("not decoded")
            return
        }
        #expect(rq.calledAETitle == "CALLED")
        #expect(rq.applicationContextName == "1.2.840.10008.3.1.1.1")
    }

    @Test func dataHeaderPlusPayloadDecodes() throws {
        let payload = buffer(Array(0..<200))
        var header = allocator.buffer(capacity: DataTransfer.singlePDVHeaderLength)
        try PDU.writeDataHeader(into: &header, contextID: 5, isCommand: false, isLast: true, payloadLength: payload.readableBytes)
        #expect(header.readableBytes == DataTransfer.singlePDVHeaderLength)
        var whole = header
        whole.writeImmutableBuffer(payload)
        let expected = PDU.dataTF(DataTransfer(pdvs: [PDV(contextID: 5, isCommand: false, isLast: true, data: payload)]))
        #expect(try decodeOne(Array(buffer: whole)) == expected)
        // Same bytes as the ordinary encoder.
        #expect(try Array(buffer: expected.encoded()) == Array(buffer: whole))
    }

    @Test func pdvDataIsASliceOfTheInput() throws {
        let bytes = pdu(4, be32(6) + [1, 3, 0xAA, 0xBB, 0xCC, 0xDD])
        var b = buffer(bytes)
        let inputBase = b.withUnsafeReadableBytes { $0.baseAddress }
        guard case .dataTF(let dt)? = try PDU.decode(from: &b, limits: defaultLimits), let pdv = dt.pdvs.first else {
            Issue.record("not decoded")
            return
        }
        #expect(pdv.contextID == 1 && pdv.isCommand && pdv.isLast)
        #expect(Array(buffer: pdv.data) == [0xAA, 0xBB, 0xCC, 0xDD])
        // Shares storage with the input buffer: the fragment starts 12 bytes into the PDU.
        let sliceBase = pdv.data.withUnsafeReadableBytes { $0.baseAddress }
        if let inputBase, let sliceBase {
            #expect(sliceBase - inputBase == 12)
        } else {
            Issue.record("no base address")
        }
    }

    @Test func partialInputReturnsNilAndConsumesNothing() throws {
        let bytes = hexBytes(dcmtkEchoAssociateRQ)
        for cut in [0, 1, 5, 6, 100, bytes.count - 1] {
            var b = buffer(Array(bytes.prefix(cut)))
            #expect(try PDU.decode(from: &b, limits: defaultLimits) == nil)
            #expect(b.readableBytes == cut)
        }
    }

    @Test func dataPDUExactlyAtAdvertisedLimitIsAccepted() throws {
        let limits = PDULimits(maxDataPDULength: 16384)
        let body = be32(16380) + [1, 2] + Array(repeating: 0, count: 16378)
        #expect(body.count == 16384)
        guard case .dataTF(let dt)? = try decodeOne(pdu(4, body), limits: limits) else {
            Issue.record("not decoded")
            return
        }
        #expect(dt.pdvs.count == 1 && dt.pdvs[0].data.readableBytes == 16378)
    }

    @Test func encoderRejectsOversizedItems() throws {
        let hugeUID = String(repeating: "1", count: 70000)
        let rq = AssociateRequest(
            calledAETitle: "A", callingAETitle: "B",
            presentationContexts: [PresentationContextProposal(id: 1, abstractSyntax: hugeUID, transferSyntaxes: [])])
        var b = allocator.buffer(capacity: 16)
        b.writeInteger(UInt8(42))
        #expect(throws: PDUError.self) { try PDU.associateRQ(rq).encode(into: &b) }
        #expect(Array(buffer: b) == [42])  // untouched on failure
        var h = allocator.buffer(capacity: 16)
        #expect(throws: PDUError.self) {
            try PDU.writeDataHeader(into: &h, contextID: 1, isCommand: false, isLast: true, payloadLength: -1)
        }
        #expect(throws: PDUError.self) {
            try PDU.writeDataHeader(into: &h, contextID: 1, isCommand: false, isLast: true, payloadLength: Int.max)
        }
        #expect(h.readableBytes == 0)
        #expect(DataTransfer.maxFragmentLength(peerMaxPDULength: 16384) == 16378)
        #expect(DataTransfer.maxFragmentLength(peerMaxPDULength: 0) == 1 << 20)
    }
}

// MARK: - Hostile input

@Suite struct MalformedInputTests {
    @Test func httpRequestFailsOnFirstByte() {
        expectError(ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), .unrecognizedPDUType)
        expectError(ascii("G"), .unrecognizedPDUType)
        do {
            _ = try decodeOne(ascii("GET "))
        } catch {
            #expect(error.abortReason == .unrecognizedPDU)
            #expect(error.offset == 0)
        }
    }

    @Test(arguments: [UInt8(0x00), 0x08, 0x10, 0x47, 0xFF])
    func unknownPDUTypes(_ type: UInt8) {
        expectError([type, 0, 0, 0, 0, 4, 0, 0, 0, 0], .unrecognizedPDUType)
    }

    @Test func fourGigabyteLengthsFailWithOnlyTheHeader() {
        expectError([4, 0, 0xFF, 0xFF, 0xFF, 0xFF], .pduTooLarge)
        expectError([1, 0, 0xFF, 0xFF, 0xFF, 0xFF], .pduTooLarge)
        expectError([2, 0, 0xFF, 0xFF, 0xFF, 0xFF], .pduTooLarge)
        expectError([5, 0, 0xFF, 0xFF, 0xFF, 0xFF], .invalidPDULength)
        // Even with "unlimited" (0) advertised, a hard ceiling applies.
        expectError([4, 0, 0xFF, 0xFF, 0xFF, 0xFF], .pduTooLarge, limits: PDULimits(maxDataPDULength: 0))
    }

    @Test func zeroLengthDataPDU() {
        expectError([4, 0, 0, 0, 0, 0], .invalidPDULength)
        expectError(pdu(4, [0, 0, 0, 2, 1]), .invalidPDULength)  // 5 bytes: no room for a PDV header
    }

    @Test func dataPDULongerThanAdvertised() {
        expectError([4, 0] + be32(16385), .pduTooLarge)
        expectError([4, 0] + be32(4097), .pduTooLarge, limits: PDULimits(maxDataPDULength: 4096))
    }

    @Test func associateRequestAboveOneMebibyte() {
        expectError([1, 0] + be32((1 << 20) + 1), .pduTooLarge)
        expectError([2, 0] + be32((1 << 20) + 1), .pduTooLarge)
        expectError([1, 0] + be32(5000), .pduTooLarge, limits: PDULimits(maxDataPDULength: 16384, maxAssociatePDULength: 4096))
    }

    @Test func fixedLengthPDUsWithWrongLength() {
        expectError(pdu(5, [0, 0, 0, 0, 0]), .invalidPDULength)  // release RQ, length 5
        expectError(pdu(5, [0, 0, 0]), .invalidPDULength)  // release RQ, length 3
        expectError(pdu(6, []), .invalidPDULength)  // release RP, length 0
        expectError(pdu(7, [0, 0, 2]), .invalidPDULength)  // abort, length 3
        expectError(pdu(3, [0, 1, 1, 1, 0, 0]), .invalidPDULength)  // reject, length 6
    }

    @Test func truncatedAETitles() {
        // Declared length too short for the fixed fields (AE titles cut off).
        expectError(pdu(1, [0, 1, 0, 0] + ascii("STORE_SCP")), .invalidPDULength)
        expectError(pdu(2, [0, 1, 0, 0] + aeField("A") + ascii("B")), .invalidPDULength)
    }

    @Test func itemLengthOverrunningThePDU() {
        expectError(associate(items: rawItem(0x10, declared: 500, ascii("1.2.840.10008.3.1.1.1"))), .lengthOverrun)
        expectError(associate(items: appContextItem + rawItem(0x50, declared: 0xFFFF, [])), .lengthOverrun)
        // Unknown item types must still respect the PDU bounds.
        expectError(associate(items: appContextItem + rawItem(0x77, declared: 10, [1, 2])), .lengthOverrun)
    }

    @Test func truncatedItemHeader() {
        expectError(associate(items: appContextItem + [0x20, 0]), .lengthOverrun)
    }

    @Test func pdvItemLengthBelowTwo() {
        expectError(pdu(4, be32(1) + [1, 3]), .invalidParameterValue)
        expectError(pdu(4, be32(0) + [1, 3]), .invalidParameterValue)
    }

    @Test func pdvOverrunningThePDU() {
        expectError(pdu(4, be32(100) + [1, 3, 0, 0]), .lengthOverrun)
        expectError(pdu(4, be32(0xFFFF_FFFF) + [1, 3, 0, 0]), .lengthOverrun)
        // A valid PDV followed by 3 stray bytes.
        expectError(pdu(4, be32(3) + [1, 3, 9] + [0, 0, 0]), .lengthOverrun)
    }

    @Test func presentationContextSubItemOverruns() {
        let pc = rawItem(0x20, declared: 4 + 4 + 17, [1, 0, 0, 0] + rawItem(0x30, declared: 40, ascii("1.2.840.10008.1.1")))
        expectError(associate(items: appContextItem + pc + basicUserInfo), .lengthOverrun)
    }

    @Test func userInformationSubItemOverruns() {
        // Max length sub-item claims 8 bytes but the user information item holds only 4 after its header.
        let ui = item(0x50, rawItem(0x51, declared: 8, be32(16384)))
        expectError(associate(items: appContextItem + verificationContext + ui), .lengthOverrun)
        // Role selection UID length past the sub-item.
        let role = item(0x50, item(0x54, be16(60) + ascii("1.2.3") + [0, 1]))
        expectError(associate(items: appContextItem + verificationContext + role), .lengthOverrun)
        // User identity primary field length past the sub-item.
        let identity = item(0x50, item(0x58, [1, 1] + be16(50) + ascii("bob") + be16(0)))
        expectError(associate(items: appContextItem + verificationContext + identity), .lengthOverrun)
        // Common extended negotiation related-identification length past the sub-item.
        let common = item(0x50, item(0x57, be16(3) + ascii("1.2") + be16(3) + ascii("3.4") + be16(99) + be16(1) + ascii("5")))
        expectError(associate(items: appContextItem + verificationContext + common), .lengthOverrun)
        // Extended negotiation UID length past the sub-item.
        let ext = item(0x50, item(0x56, be16(200) + ascii("1.2")))
        expectError(associate(items: appContextItem + verificationContext + ext), .lengthOverrun)
        // Server response length past the sub-item (A-ASSOCIATE-AC).
        let acceptedPC = item(0x21, [1, 0, 0, 0] + item(0x40, ascii("1.2.840.10008.1.2")))
        let response = item(0x50, item(0x59, be16(10) + [1, 2]))
        expectError(associate(2, items: appContextItem + acceptedPC + response), .lengthOverrun)
    }

    @Test func fixedSizeSubItemsWithWrongLength() {
        let maxLen = item(0x50, item(0x51, [0, 0x40]))
        expectError(associate(items: appContextItem + verificationContext + maxLen), .invalidParameterValue)
        let window = item(0x50, item(0x53, [0, 1, 0, 1, 0]))
        expectError(associate(items: appContextItem + verificationContext + window), .invalidParameterValue)
        let role = item(0x50, item(0x54, be16(3) + ascii("1.2") + [0, 1, 7]))
        expectError(associate(items: appContextItem + verificationContext + role), .invalidParameterValue)
    }

    @Test func missingMandatoryParts() {
        expectError(associate(items: verificationContext + basicUserInfo), .invalidParameterValue)  // no app context
        let noAbstract = item(0x20, [1, 0, 0, 0] + item(0x40, ascii("1.2.840.10008.1.2")))
        expectError(associate(items: appContextItem + noAbstract + basicUserInfo), .invalidParameterValue)
        let shortPC = item(0x20, [1, 0])
        expectError(associate(items: appContextItem + shortPC), .invalidParameterValue)
        let acceptedWithoutTS = item(0x21, [1, 0, 0, 0])
        expectError(associate(2, items: appContextItem + acceptedWithoutTS + basicUserInfo), .invalidParameterValue)
        let badResult = item(0x21, [1, 0, 9, 0] + item(0x40, ascii("1.2.840.10008.1.2")))
        expectError(associate(2, items: appContextItem + badResult + basicUserInfo), .invalidParameterValue)
    }

    @Test func unexpectedOrRepeatedItems() {
        let acItemInRQ = item(0x21, [1, 0, 0, 0] + item(0x40, ascii("1.2.840.10008.1.2")))
        expectError(associate(items: appContextItem + acItemInRQ), .unexpectedParameter)
        expectError(associate(2, items: appContextItem + verificationContext), .unexpectedParameter)
        expectError(associate(items: appContextItem + appContextItem + verificationContext), .unexpectedParameter)
        expectError(associate(items: appContextItem + verificationContext + basicUserInfo + basicUserInfo), .unexpectedParameter)
        expectError(associate(items: appContextItem + verificationContext + verificationContext), .invalidParameterValue)
        let twoAbstract = item(
            0x20, [1, 0, 0, 0] + item(0x30, ascii("1.2")) + item(0x30, ascii("1.3")) + item(0x40, ascii("1.2.840.10008.1.2")))
        expectError(associate(items: appContextItem + twoAbstract), .unexpectedParameter)
        let twoMax = item(0x50, item(0x51, be32(1)) + item(0x51, be32(2)))
        expectError(associate(items: appContextItem + verificationContext + twoMax), .unexpectedParameter)
    }

    @Test func unknownItemsAreToleratedWhereTheStandardSaysToIgnoreThem() throws {
        // Unknown item (0x77) in the variable field, unknown sub-item (0x41) in a presentation
        // context, unknown user information sub-item (0x5F): all tolerated.
        let pc = item(
            0x20, [1, 0xFF, 0xFF, 0xFF] + item(0x30, ascii("1.2.840.10008.1.1")) + item(0x41, [1, 2, 3])
                + item(0x40, ascii("1.2.840.10008.1.2")))
        let ui = item(0x50, item(0x51, be32(16384)) + item(0x5F, [7, 7]))
        let bytes = associate(items: item(0x77, [1, 2, 3]) + appContextItem + pc + ui + item(0x99, []))
        guard case .associateRQ(let rq)? = try decodeOne(bytes) else {
            Issue.record("not decoded")
            return
        }
        #expect(rq.presentationContexts.count == 1)
        #expect(rq.presentationContexts.first?.transferSyntaxes == ["1.2.840.10008.1.2"])
        #expect(rq.userInformation.unknownSubItems == [UnknownSubItem(type: 0x5F, data: [7, 7])])
        // A rejected context in an A-ASSOCIATE-AC may omit its transfer syntax.
        let ac = associate(2, items: appContextItem + item(0x21, [1, 0, 3, 0]) + basicUserInfo)
        guard case .associateAC(let accept)? = try decodeOne(ac) else {
            Issue.record("not decoded")
            return
        }
        #expect(accept.presentationContexts == [PresentationContextResult(id: 1, result: .abstractSyntaxNotSupported, transferSyntax: "")])
        // Missing user information is tolerated (all fields nil).
        guard case .associateRQ(let bare)? = try decodeOne(associate(items: appContextItem + verificationContext)) else {
            Issue.record("not decoded")
            return
        }
        #expect(bare.userInformation == UserInformation())
    }

    @Test func errorsMapToAbortReasons() {
        #expect(PDUError(.unrecognizedPDUType, "").abortReason == .unrecognizedPDU)
        #expect(PDUError(.unexpectedPDU, "").abortReason == .unexpectedPDU)
        #expect(PDUError(.unrecognizedParameter, "").abortReason == .unrecognizedPDUParameter)
        #expect(PDUError(.unexpectedParameter, "").abortReason == .unexpectedPDUParameter)
        #expect(PDUError(.lengthOverrun, "").abortReason == .invalidPDUParameterValue)
        #expect(PDUError(.pduTooLarge, "").abortReason == .invalidPDUParameterValue)
        #expect(PDUError(.invalidPDULength, "").abortReason == .invalidPDUParameterValue)
        #expect(PDUError(.truncated, "").abortReason == .notSpecified)
        #expect(PDUError(.lengthOverrun, "").abort == Abort(source: .serviceProvider, reason: .invalidPDUParameterValue))
    }

    @Test func errorNamesTheOffset() {
        do {
            _ = try decodeOne(pdu(4, be32(3) + [1, 3, 9] + be32(1) + [1, 3]))
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 13)  // second PDV item starts after header (6) + first PDV (7)
            #expect(error.description.contains("13"))
        }
    }

    /// Random corruption of valid PDUs and random garbage: the decoder returns or throws, never traps.
    @Test func mutationsNeverCrash() throws {
        var rng = SplitMix64(seed: 0xA5CA)
        var seeds = samplePDUs().compactMap { try? Array(buffer: $0.encoded()) }
        seeds.append(hexBytes(dcmtkEchoAssociateRQ))
        var decoded = 0
        var failed = 0
        for _ in 0..<20000 {
            var bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
            let mutations = 1 + Int(rng.next() % 4)
            for _ in 0..<mutations where !bytes.isEmpty {
                let index = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 4 {
                case 0: bytes[index] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes[index] ^= 0xFF
                case 2: bytes.removeSubrange(index..<min(bytes.count, index + 1 + Int(rng.next() % 8)))
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: index)
                }
            }
            do {
                var b = buffer(bytes)
                while let _ = try PDU.decode(from: &b, limits: defaultLimits) { decoded += 1 }
            } catch {
                failed += 1
            }
        }
        #expect(decoded + failed > 0)
    }
}


// MARK: - NIO handlers

@Suite struct NIOHandlerTests {
    /// Byte by byte, a P-DATA-TF's dataset PDVs come up in pieces as their bytes arrive (no read is gathered
    /// behind another); a message reader sees the same bytes, in the same order, with the same ends.
    @Test func byteAtATimeProducesTheSameMessages() throws {
        let pdus = samplePDUs()
        var stream = allocator.buffer(capacity: 4096)
        for p in pdus { try p.encode(into: &stream) }
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 1 << 20)))
        var received: [PDU] = []
        while let byte = stream.readSlice(length: 1) {
            try channel.writeInbound(byte)
            while let p = try channel.readInbound(as: PDU.self) { received.append(p) }
        }
        #expect(PDU.received(received) == PDU.received(pdus))
        #expect(received.filter { if case .dataTF = $0 { false } else { true } } == pdus.filter { if case .dataTF = $0 { false } else { true } })
        _ = try channel.finish()
    }

    /// A dataset PDV cut by the end of a read goes up at once as a slice of that read, flagged last only in the
    /// piece that ends it; a command PDV waits until it is whole; nothing is left in the handler between reads.
    @Test func aDataSetValueGoesUpAsItsBytesArrive() throws {
        let command = PDV(contextID: 3, isCommand: true, isLast: true, data: buffer(Array(repeating: 0xC0, count: 40)))
        let data = PDV(contextID: 3, isCommand: false, isLast: true, data: buffer((0..<1000).map { UInt8($0 % 251) }))
        var stream = allocator.buffer(capacity: 2048)
        try PDU.dataTF(DataTransfer(pdvs: [command, data])).encode(into: &stream)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384)))
        func read(_ length: Int) throws -> [PDV] {
            try channel.writeInbound(stream.readSlice(length: length) ?? buffer([]))
            var pdvs: [PDV] = []
            while let p = try channel.readInbound(as: PDU.self) {
                guard case .dataTF(let t) = p else { Issue.record("expected P-DATA-TF, got \(p)"); continue }
                pdvs += t.pdvs
            }
            return pdvs
        }
        // PDU header, command PDV cut in its data: nothing yet.
        #expect(try read(6 + 6 + 20).isEmpty)
        // The rest of the command, the data PDV's header and 300 of its bytes.
        let first = try read(20 + 6 + 300)
        #expect(first.map(\.isCommand) == [true, false])
        #expect(first.first == command)
        #expect(first.last?.isLast == false)
        #expect(first.last?.data.readableBytes == 300)
        let rest = try read(700)
        #expect(rest.count == 1)
        #expect(rest.first?.isLast == true)
        #expect(rest.first?.data.readableBytes == 700)
        var joined = first[1].data
        var tail = rest[0].data
        joined.writeBuffer(&tail)
        #expect(joined == data.data)
        _ = try channel.finish()
    }

    /// A piece a read cut from a PDV is copied out of the read's buffer when it is small next to it (a slice would
    /// keep the whole buffer alive while the writer's queue counts only the piece); a whole PDV stays a slice.
    @Test func aSmallPieceOfALargeReadIsCopiedAndAWholeValueIsNot() throws {
        var stream = allocator.buffer(capacity: 64 * 1024)
        let whole = PDV(contextID: 1, isCommand: false, isLast: true, data: buffer(Array(repeating: 1, count: 100)))
        let cut = PDV(contextID: 1, isCommand: false, isLast: true, data: buffer(Array(repeating: 2, count: 1000)))
        try PDU.dataTF(DataTransfer(pdvs: [whole])).encode(into: &stream)
        try PDU.dataTF(DataTransfer(pdvs: [cut])).encode(into: &stream)
        // The read ends 100 bytes into the second PDV's data, in a buffer of 64 KiB.
        let read = stream.getSlice(at: 0, length: 12 + 100 + 12 + 100) ?? buffer([])
        #expect(read.storageCapacity >= 64 * 1024)
        var decoder = PDUStreamDecoder(limits: defaultLimits)
        var input = read
        var pdvs: [PDV] = []
        try decoder.decode(&input) { if case .dataTF(let t) = $0 { pdvs += t.pdvs } }
        #expect(input.readableBytes == 0)
        #expect(pdvs.map(\.data.readableBytes) == [100, 100])
        #expect(pdvs.first?.data.storageCapacity == read.storageCapacity)  // a slice of the read
        #expect((pdvs.last?.data.storageCapacity ?? .max) < 4096)  // a copy of its own
        #expect(pdvs.last?.isLast == false)
        #expect(decoder.bytesMissingFromPDU == 900)
    }

    /// The stream ending inside a P-DATA-TF whose start went up already is a truncation, as one ending inside
    /// any other PDU; and a bad PDV after a good one in one PDU: the good one goes up first, then the error.
    @Test func aStreamCutInsideADataTransferIsTruncated() throws {
        var stream = allocator.buffer(capacity: 256)
        try PDU.dataTF(DataTransfer(pdvs: [PDV(contextID: 1, isCommand: false, isLast: true, data: buffer(Array(repeating: 7, count: 100)))]))
            .encode(into: &stream)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384)))
        try channel.writeInbound(stream.getSlice(at: 0, length: 60) ?? buffer([]))
        #expect(try channel.readInbound(as: PDU.self) != nil)
        #expect(throws: PDUError.self) { _ = try channel.finish() }

        // One PDU: a good PDV of 4 bytes, then a PDV item whose length overruns the PDU.
        let bad = buffer([4, 0, 0, 0, 0, 16,  0, 0, 0, 6, 1, 0, 1, 2, 3, 4,  0, 0, 0, 99, 1, 2])
        let second = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384)))
        do {
            try second.writeInbound(bad)
            Issue.record("expected an error")
        } catch let error as PDUError {
            #expect(error.kind == .lengthOverrun)
        }
        let good = try second.readInbound(as: PDU.self)
        #expect(good == .dataTF(DataTransfer(pdvs: [PDV(contextID: 1, isCommand: false, isLast: false, data: buffer([1, 2, 3, 4]))])))
        _ = try? second.finish()
    }

    @Test func wholeStreamAtOnceProducesTheSamePDUs() throws {
        let pdus = samplePDUs()
        var stream = allocator.buffer(capacity: 4096)
        for p in pdus { try p.encode(into: &stream) }
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 1 << 20)))
        try channel.writeInbound(stream)
        var received: [PDU] = []
        while let p = try channel.readInbound(as: PDU.self) { received.append(p) }
        #expect(received == pdus)
        _ = try channel.finish()
    }

    /// A coalescing decoder gives a read's consecutive P-DATA-TF PDUs as one, their PDVs in order, and every
    /// other PDU as it is; a dataset PDV cut by the end of what was read goes up in two pieces.
    @Test func coalescedDataTransfersKeepEveryPDVInOrder() throws {
        func data(_ n: Int, command: Bool = false) -> PDU {
            .dataTF(DataTransfer(pdvs: [PDV(contextID: 1, isCommand: command, isLast: true, data: buffer((0..<(n % 9 + 1)).map { UInt8($0 + n) }))]))
        }
        let pdus: [PDU] = [data(1, command: true), data(2), data(3), .releaseRQ, data(4), data(5)]
        var stream = allocator.buffer(capacity: 1024)
        for p in pdus { try p.encode(into: &stream) }
        // The last PDU's final byte arrives in a read of its own.
        let lastByte = stream.getSlice(at: stream.writerIndex - 1, length: 1) ?? buffer([])
        stream.moveWriterIndex(to: stream.writerIndex - 1)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384, coalescesDataTransfers: true)))
        try channel.writeInbound(stream)
        var received: [PDU] = []
        while let p = try channel.readInbound(as: PDU.self) { received.append(p) }
        try channel.writeInbound(lastByte)
        while let p = try channel.readInbound(as: PDU.self) { received.append(p) }
        func pdvs(_ list: [PDU]) -> [PDV] {
            list.flatMap { (pdu: PDU) -> [PDV] in
                guard case .dataTF(let t) = pdu else { return [] }
                return t.pdvs
            }
        }
        #expect(received.count == 4)  // 1-3 as one, the release, 4 and what came of 5, then 5's last byte
        #expect(received[1] == .releaseRQ)
        #expect(pdvs(received).dropLast(2) == pdvs(pdus).dropLast())
        #expect(PDU.received(received) == PDU.received(pdus))
        _ = try channel.finish()
    }

    /// A bad PDU after good ones: the good ones' PDVs go up first, then the error.
    @Test func coalescingStopsAtABadPDUAfterDeliveringWhatPrecedesIt() throws {
        var stream = allocator.buffer(capacity: 256)
        let good = PDU.dataTF(DataTransfer(pdvs: [PDV(contextID: 1, isCommand: true, isLast: true, data: buffer([1, 2, 3, 4]))]))
        try good.encode(into: &stream)
        try good.encode(into: &stream)
        stream.writeBytes([4, 0, 0xFF, 0xFF, 0xFF, 0xFF])  // a P-DATA-TF far over the Maximum Length
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384, coalescesDataTransfers: true)))
        #expect(throws: PDUError.self) { try channel.writeInbound(stream) }
        let first = try channel.readInbound(as: PDU.self)
        guard case .dataTF(let transfer)? = first else {
            Issue.record("expected the good PDUs first, got \(String(describing: first))")
            return
        }
        #expect(transfer.pdvs.count == 2)
        _ = try? channel.finish()
    }

    @Test func decoderFailsImmediatelyOnHostileHeaders() throws {
        let http = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384)))
        #expect(throws: PDUError.self) { try http.writeInbound(buffer(ascii("GET / HTTP/1.1\r\n"))) }
        _ = try? http.finish()

        let huge = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384)))
        #expect(throws: PDUError.self) { try huge.writeInbound(buffer([4, 0, 0xFF, 0xFF, 0xFF, 0xFF])) }
        _ = try? huge.finish()
    }

    @Test func truncatedPDUAtEOFIsReported() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maxDataPDULength: 16384)))
        try channel.writeInbound(buffer([5, 0, 0, 0, 0, 4, 0]))
        #expect(try channel.readInbound(as: PDU.self) == nil)
        do {
            _ = try channel.finish()
            Issue.record("expected an error at EOF")
        } catch let error as PDUError {
            #expect(error.kind == .truncated)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func encoderWritesPDUs() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(PDUEncoder()))
        try channel.writeOutbound(PDU.releaseRQ)
        let out = try channel.readOutbound(as: ByteBuffer.self)
        #expect(out.map { Array(buffer: $0) } == [5, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        _ = try channel.finish()
    }
}

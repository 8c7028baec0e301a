import DICOM
import NIOCore

/// A DIMSE command set (group 0000), always encoded implicit VR little endian (PS3.7 6.3.1).
public struct CommandSet: Sendable, Equatable {
    public var dataSet: DataSet

    /// Commands are small; anything larger is not a command set.
    public static let maxEncodedLength = 64 * 1024

    public init(_ dataSet: DataSet = DataSet()) { self.dataSet = dataSet }

    /// (0000,0800): 0x0101 means no dataset follows.
    public static let noDataSet: UInt16 = 0x0101

    public var commandField: CommandField? { dataSet.int(.commandField).map { CommandField(rawValue: UInt16(truncatingIfNeeded: $0)) } }
    public var messageID: UInt16? { dataSet.int(.messageID).map { UInt16(truncatingIfNeeded: $0) } }
    public var messageIDBeingRespondedTo: UInt16? { dataSet.int(.messageIDBeingRespondedTo).map { UInt16(truncatingIfNeeded: $0) } }
    public var hasDataSet: Bool { dataSet.int(.commandDataSetType).map { $0 != Int(Self.noDataSet) } ?? false }
    public var affectedSOPClassUID: String? { dataSet.uid(.affectedSOPClassUID) }
    public var affectedSOPInstanceUID: String? { dataSet.uid(.affectedSOPInstanceUID) }
    public var status: DIMSEStatus? { dataSet.int(.status).map { DIMSEStatus(rawValue: UInt16(truncatingIfNeeded: $0)) } }
    public var errorComment: String? { dataSet.string(.errorComment) }
    public var priority: UInt16 { dataSet.int(.priority).map { UInt16(truncatingIfNeeded: $0) } ?? 0 }
    public var moveOriginatorAETitle: String? { dataSet.string(.moveOriginatorApplicationEntityTitle) }
    public var moveOriginatorMessageID: UInt16? { dataSet.int(.moveOriginatorMessageID).map { UInt16(truncatingIfNeeded: $0) } }

    /// Decodes a received command set; errors name what is wrong.
    public static func decode(_ bytes: ByteBuffer) throws -> CommandSet {
        guard bytes.readableBytes <= maxEncodedLength else {
            throw DIMSEError("command set of \(bytes.readableBytes) bytes exceeds \(maxEncodedLength)")
        }
        let dataSet = try bytes.withUnsafeReadableBytes { raw in try flatElements(raw) } ?? parsed(bytes)
        let command = CommandSet(dataSet)
        guard command.commandField != nil else { throw DIMSEError("command set without Command Field (0000,0100)") }
        return command
    }

    /// A command set through the general parser (sequences, unknown tags, damage reported with its offset).
    static func parsed(_ bytes: ByteBuffer) throws -> DataSet {
        var parser = DataSetParser(transferSyntax: .implicitVRLittleEndian, options: ParseOptions(maxDepth: 4))
        var builder = DataSetBuilder()
        do {
            try bytes.withUnsafeReadableBytes { try parser.feed($0, to: &builder) }
            try parser.finish(&builder)
        } catch {
            throw DIMSEError("unreadable command set: \(error)")
        }
        return builder.dataSet
    }

    /// The common command set read directly (`FlatDataSetReader`: elements of defined length, ascending, no
    /// sequence). Every message carries a command, so the general parser's events and builder were a fifth of
    /// a C-FIND client's time per answer. Anything else returns nil and takes the general parser, which gives
    /// the same elements for what this accepts (`CommandSetTests` compare them).
    static func flatElements(_ raw: UnsafeRawBufferPointer) -> DataSet? {
        FlatDataSetReader.read(raw, syntax: .implicitVRLittleEndian)
    }

    /// Implicit VR LE bytes, led by the Command Group Length (0000,0000) computed here.
    public func encoded() throws -> [UInt8] {
        try flatEncoding() ?? writerEncoding()
    }

    /// `encoded()` through the dataset writer (any element, sequences included).
    func writerEncoding() throws -> [UInt8] {
        var body = dataSet
        body.remove(.commandGroupLength)
        let content = try DataSetWriter.encode(body, syntax: .implicitVRLittleEndian)
        var withLength = DataSet()
        withLength.setUInt32(UInt32(truncatingIfNeeded: content.count), for: .commandGroupLength)
        return try DataSetWriter.encode(withLength, syntax: .implicitVRLittleEndian) + content
    }

    /// `encoded()` for the usual command (every element a value, none a sequence), written in one pass.
    func flatEncoding() -> [UInt8]? {
        var size = 12
        // Only the command's own group length is computed anew: another group's length element (a peer's command
        // may carry one) is written as the dataset writer writes it, so what was read encodes back to itself.
        for e in dataSet.elements where e.tag != .commandGroupLength {
            guard case .bytes(let b) = e.value, b.count <= Int(UInt32.max) else { return nil }
            size += 8 + b.count
        }
        guard let contentLength = UInt32(exactly: size - 12) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        func append32(_ v: UInt32) {
            out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v >> 16)); out.append(UInt8(truncatingIfNeeded: v >> 24))
        }
        // Implicit VR LE: group and element little-endian, then a 4-byte length (PS3.5 7.1.3).
        func header(_ tag: Tag, _ length: UInt32) {
            append32(UInt32(tag.group) | UInt32(tag.element) << 16)
            append32(length)
        }
        header(.commandGroupLength, 4)
        append32(contentLength)
        for e in dataSet.elements where e.tag != .commandGroupLength {
            let b = e.bytes
            header(e.tag, UInt32(truncatingIfNeeded: b.count))
            out.append(contentsOf: b)
        }
        return out
    }

    // MARK: - Building

    public mutating func setUID(_ uid: String, _ tag: Tag) { dataSet.setString(uid, for: tag, vr: .UI) }
    public mutating func setUS(_ v: UInt16, _ tag: Tag) { dataSet.setUInt16(v, for: tag) }

    public static func echoRequest(messageID: UInt16) -> CommandSet {
        var c = CommandSet()
        c.setUID("1.2.840.10008.1.1", .affectedSOPClassUID)
        c.setUS(CommandField.cEchoRQ.rawValue, .commandField)
        c.setUS(messageID, .messageID)
        c.setUS(noDataSet, .commandDataSetType)
        return c
    }

    public static func storeRequest(messageID: UInt16, sopClassUID: String, sopInstanceUID: String, priority: UInt16 = 0) -> CommandSet {
        var c = CommandSet()
        c.setUID(sopClassUID, .affectedSOPClassUID)
        c.setUS(CommandField.cStoreRQ.rawValue, .commandField)
        c.setUS(messageID, .messageID)
        c.setUS(priority, .priority)
        c.setUS(0x0000, .commandDataSetType)
        c.setUID(sopInstanceUID, .affectedSOPInstanceUID)
        return c
    }

    /// The response to `request` whatever its command: the response field of its request field, its SOP class
    /// and instance (an N-service's Requested ones become the Affected ones of the response, PS3.7 10.3).
    public static func response(answering request: CommandSet, status: DIMSEStatus, comment: String? = nil) -> CommandSet {
        let field = request.commandField.map(\.response) ?? CommandField(rawValue: 0x8000)
        var response = CommandSet.response(to: request, field: field, status: status, comment: comment)
        if response.affectedSOPClassUID == nil, let requested = request.dataSet.uid(.requestedSOPClassUID) {
            response.setUID(requested, .affectedSOPClassUID)
        }
        if response.affectedSOPInstanceUID == nil, let requested = request.dataSet.uid(.requestedSOPInstanceUID) {
            response.setUID(requested, .affectedSOPInstanceUID)
        }
        return response
    }

    /// The response to `request`: same SOP class/instance, the status, and an Error Comment on failure.
    public static func response(to request: CommandSet, field: CommandField, status: DIMSEStatus, comment: String? = nil) -> CommandSet {
        var c = CommandSet()
        if let cls = request.affectedSOPClassUID { c.setUID(cls, .affectedSOPClassUID) }
        c.setUS(field.rawValue, .commandField)
        c.setUS(request.messageID ?? 0, .messageIDBeingRespondedTo)
        c.setUS(noDataSet, .commandDataSetType)
        c.setUS(status.rawValue, .status)
        if let inst = request.affectedSOPInstanceUID { c.setUID(inst, .affectedSOPInstanceUID) }
        if let comment, !status.isSuccess {
            // Error Comment is LO: at most 64 characters.
            c.dataSet.setString(String(comment.prefix(64)), for: .errorComment, vr: .LO)
        }
        return c
    }
}

public struct DIMSEError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

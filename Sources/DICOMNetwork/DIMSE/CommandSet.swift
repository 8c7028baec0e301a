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
        var parser = DataSetParser(transferSyntax: .implicitVRLittleEndian, options: ParseOptions(maxDepth: 4))
        var builder = DataSetBuilder()
        do {
            try bytes.withUnsafeReadableBytes { try parser.feed($0, to: &builder) }
            try parser.finish(&builder)
        } catch {
            throw DIMSEError("unreadable command set: \(error)")
        }
        let command = CommandSet(builder.dataSet)
        guard command.commandField != nil else { throw DIMSEError("command set without Command Field (0000,0100)") }
        return command
    }

    /// Implicit VR LE bytes, led by the Command Group Length (0000,0000) computed here.
    public func encoded() throws -> [UInt8] {
        var body = dataSet
        body.remove(.commandGroupLength)
        let content = try DataSetWriter.encode(body, syntax: .implicitVRLittleEndian)
        var withLength = DataSet()
        withLength.setUInt32(UInt32(truncatingIfNeeded: content.count), for: .commandGroupLength)
        return try DataSetWriter.encode(withLength, syntax: .implicitVRLittleEndian) + content
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

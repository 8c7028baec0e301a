import DICOM
import NIOCore
import Testing

@testable import DICOMNetwork

/// Command sets are read and written by a direct path for the usual shape and by the general dataset parser
/// and writer otherwise: both must give the same bytes and the same elements, and hostile bytes must still
/// get the general parser's verdict.
@Suite struct CommandSetTests {
    static var commands: [CommandSet] {
        let find = CommandSet.storeRequest(messageID: 1, sopClassUID: "1.2.840.10008.5.1.4.1.2.2.1", sopInstanceUID: "1.2.3")
        var move = CommandSet.storeRequest(messageID: 9, sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: "1.2.3.4.5")
        move.dataSet.setString("MOVER", for: .moveOriginatorApplicationEntityTitle, vr: .AE)
        move.setUS(77, .moveOriginatorMessageID)
        return [
            CommandSet.echoRequest(messageID: 65535),
            find,
            move,
            CommandSet.response(answering: find, status: .pending),
            CommandSet.response(answering: find, status: DIMSEStatus(rawValue: 0xA900), comment: String(repeating: "x", count: 63)),
            CommandSet.response(answering: move, status: .success),
            CommandSet(),
        ]
    }

    @Test func directEncodingEqualsTheWriters() throws {
        for command in Self.commands {
            #expect(command.flatEncoding() == (try command.writerEncoding()))
        }
    }

    /// A command carrying another group's length element (as two fuzz inputs did: (FFFF,0000), (0800,0000)) reads
    /// back as itself once encoded: the direct writer had left every group length out, the general one only the
    /// command's.
    @Test func anotherGroupsLengthEncodesBackToItself() throws {
        var command = CommandSet.echoRequest(messageID: 3)
        command.dataSet.setUInt32(98, for: Tag(0xFFFF, 0x0000))
        command.dataSet.setUInt32(0, for: Tag(0x0800, 0x0000))
        #expect(command.flatEncoding() == (try command.writerEncoding()))
        var again = try CommandSet.decode(ByteBuffer(bytes: try command.encoded()))
        var original = command
        again.dataSet.remove(.commandGroupLength)
        original.dataSet.remove(.commandGroupLength)
        #expect(again == original)
    }

    @Test func directReadingEqualsTheParsers() throws {
        for command in Self.commands where command.commandField != nil {
            let bytes = ByteBuffer(bytes: try command.encoded())
            let direct = bytes.withUnsafeReadableBytes { CommandSet.flatElements($0) }
            #expect(direct != nil)
            #expect(direct == (try CommandSet.parsed(bytes)))
            #expect(try CommandSet.decode(bytes) == command.withGroupLength())
        }
    }

    /// What the direct path declines goes to the parser: tags out of order, undefined lengths, values running
    /// past the end, a header cut short.
    @Test func unusualCommandsTakeTheParser() throws {
        let echo = try CommandSet.echoRequest(messageID: 3).encoded()
        func element(_ group: UInt16, _ element: UInt16, _ value: [UInt8], length: UInt32? = nil) -> [UInt8] {
            let n = length ?? UInt32(value.count)
            return [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8),
                    UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)] + value
        }
        // Read directly, as the parser reads them.
        for bytes in [echo + element(0x0008, 0x0018, Array("1.2".utf8) + [0]),  // another group
                      echo + element(0x0000, 0x7777, [1, 2])] {                 // unknown to the dictionary: UN
            let buffer = ByteBuffer(bytes: bytes)
            let direct = buffer.withUnsafeReadableBytes { CommandSet.flatElements($0) }
            #expect(direct != nil)
            #expect(direct == (try CommandSet.parsed(buffer)))
        }
        let declined: [[UInt8]] = [
            element(0x0000, 0x0100, [0x30, 0x00]) + element(0x0000, 0x0002, Array("1.2".utf8) + [0]),  // out of order
            echo + element(0x0000, 0x0900, [], length: 0xFFFF_FFFF),             // undefined length
            echo + element(0x0000, 0x0900, [0, 0], length: 40),                  // runs past the end
            echo + [0x00, 0x00, 0x00, 0x09],                                     // header cut short
        ]
        for bytes in declined {
            let buffer = ByteBuffer(bytes: bytes)
            #expect(buffer.withUnsafeReadableBytes { CommandSet.flatElements($0) } == nil)
            let viaDecode = Result { try CommandSet.decode(buffer) }
            let viaParser = Result { try CommandSet(CommandSet.parsed(buffer)) }
            switch (viaDecode, viaParser) {
            case (.success(let a), .success(let b)): #expect(a == b)
            case (.failure, .failure): break
            case (.success, .failure): break  // the parser read it, but it has no Command Field
            case (.failure(let e), .success(let b)):
                #expect(b.commandField == nil, "decode failed (\(e)) where the parser read \(b.dataSet.count) elements")
            }
        }
    }

    /// Every one-byte change of a valid command: whenever the direct path accepts the bytes, the parser reads
    /// the same elements from them.
    @Test func mutatedCommandsReadAlike() throws {
        let bytes = try CommandSet.response(answering: Self.commands[2], status: .success).encoded()
        var accepted = 0
        for i in bytes.indices {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0xFF, bytes[i] &+ 1] {
                var mutated = bytes
                mutated[i] = value
                let buffer = ByteBuffer(bytes: mutated)
                guard let direct = buffer.withUnsafeReadableBytes({ CommandSet.flatElements($0) }) else { continue }
                accepted += 1
                #expect(direct == (try CommandSet.parsed(buffer)), "byte \(i) set to \(value)")
            }
        }
        #expect(accepted > bytes.count)
    }

    @Test func intReadsTheFirstValueInPlace() {
        var ds = DataSet()
        ds.set(Element(tag: .messageID, vr: .US, bytes: [0x34, 0x12, 0x01, 0x00]))
        ds.set(Element(tag: .status, vr: .US, bytes: [0x01]))
        ds.set(Element(tag: Tag(0x0028, 0x0106), vr: .SS, bytes: [0xFF, 0xFF]))
        ds.set(Element(tag: Tag(0x0020, 0x0013), vr: .IS, bytes: Array(" 42 ".utf8)))
        #expect(ds.int(.messageID) == 0x1234)
        #expect(ds.int(.status) == nil)
        #expect(ds.int(Tag(0x0028, 0x0106)) == -1)
        #expect(ds.int(Tag(0x0020, 0x0013)) == 42)
        #expect(ds.int(.affectedSOPClassUID) == nil)
    }
}

extension CommandSet {
    /// As decoded: with the Command Group Length the encoding put first.
    func withGroupLength() throws -> CommandSet {
        var c = self
        let content = try encoded().count - 12
        c.dataSet.setUInt32(UInt32(content), for: .commandGroupLength)
        return c
    }
}

/// The quick-ACK handler skips its system call only after a read that ends a message this side answers (a
/// request); a response, a message still open, or anything it cannot read for certain is acknowledged at once
/// (the old behaviour).
@Suite struct QuickAckTests {
    static func pdu(_ bytes: [UInt8], command: Bool, last: Bool) -> PDU {
        .dataTF(DataTransfer(pdvs: [PDV(contextID: 1, isCommand: command, isLast: last, data: ByteBuffer(bytes: bytes))]))
    }

    static let echo = (try? CommandSet.echoRequest(messageID: 1).encoded()) ?? []
    static var find: [UInt8] {
        var find = CommandSet.storeRequest(messageID: 2, sopClassUID: "1.2.840.10008.5.1.4.1.2.2.1", sopInstanceUID: "1.2.3")
        find.setUS(CommandField.cFindRQ.rawValue, .commandField)
        find.setUS(0x0000, .commandDataSetType)
        return (try? find.encoded()) ?? []
    }
    static func response(_ field: CommandField, status: DIMSEStatus, dataSet: Bool) -> [UInt8] {
        var request = CommandSet.storeRequest(messageID: 3, sopClassUID: "1.2.3", sopInstanceUID: "1.2.3.4")
        request.setUS(field.rawValue & 0x7FFF, .commandField)
        var response = CommandSet.response(answering: request, status: status)
        if dataSet { response.setUS(0x0000, .commandDataSetType) }
        return (try? response.encoded()) ?? []
    }

    @Test func requestsAreAnsweredResponsesAreNot() {
        let handler = QuickAckHandler()
        // Requests: ended (and answered) at a command without a dataset, or at the dataset's last fragment.
        #expect(handler.see(Self.pdu(Self.echo, command: true, last: true)))
        #expect(!handler.see(Self.pdu(Self.find, command: true, last: true)))
        #expect(!handler.see(Self.pdu([1, 2, 3, 4], command: false, last: false)))
        #expect(handler.see(Self.pdu([1, 2, 3, 4], command: false, last: true)))
        #expect(!handler.see(Self.pdu(Self.echo, command: true, last: false)))
        // Responses are never answered: a pending C-GET-RSP (a C-STORE sub-operation may follow), a C-FIND
        // answer, a final response.
        #expect(!handler.see(Self.pdu(Self.response(.cGetRSP, status: .pending, dataSet: false), command: true, last: true)))
        #expect(!handler.see(Self.pdu(Self.response(.cFindRSP, status: .pending, dataSet: true), command: true, last: true)))
        #expect(!handler.see(Self.pdu([1, 2, 3, 4], command: false, last: true)))
        #expect(!handler.see(Self.pdu(Self.response(.cEchoRSP, status: .success, dataSet: false), command: true, last: true)))
        // A C-CANCEL-RQ has no response.
        var cancel = CommandSet.echoRequest(messageID: 4)
        cancel.setUS(CommandField.cCancelRQ.rawValue, .commandField)
        #expect(!handler.see(Self.pdu((try? cancel.encoded()) ?? [], command: true, last: true)))
        #expect(handler.see(.releaseRQ))
        #expect(!handler.see(.releaseRP))
        // Several PDVs in one PDU: the last decides.
        let both = PDU.dataTF(DataTransfer(pdvs: [PDV(contextID: 1, isCommand: true, isLast: true, data: ByteBuffer(bytes: Self.find)),
                                                  PDV(contextID: 1, isCommand: false, isLast: true, data: ByteBuffer(bytes: [0, 0]))]))
        #expect(handler.see(both))
    }

    @Test func aCommandItCannotReadIsNotAnswered() {
        let echo = Self.echo
        #expect(QuickAckHandler.commandFacts(ByteBuffer(bytes: echo)).field == CommandField.cEchoRQ.rawValue)
        #expect(QuickAckHandler.commandFacts(ByteBuffer(bytes: echo)).noDataSet)
        // The command's tail only (a command in two PDVs, misaligned), cut short, or with an overlong length.
        let handler = QuickAckHandler()
        #expect(!handler.see(Self.pdu(Array(echo.suffix(12)), command: true, last: true)))
        for cut in 0..<echo.count {
            let facts = QuickAckHandler.commandFacts(ByteBuffer(bytes: echo.prefix(cut)))
            #expect(!(facts.noDataSet && facts.field.map(QuickAckHandler.isAnsweredRequest) == true), "cut at \(cut)")
        }
        var overlong = echo
        overlong[4...7] = [0xFF, 0xFF, 0xFF, 0xFF]
        let damaged = QuickAckHandler.commandFacts(ByteBuffer(bytes: overlong))
        #expect(damaged.field == nil && !damaged.noDataSet)
        #expect(!handler.see(Self.pdu(overlong, command: true, last: true)))
    }
}

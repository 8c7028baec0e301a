import DICOM
import NIOCore
import Testing

@testable import DICOMNetwork

/// The message rules both the SCP and the SCU read PDVs with (PS3.7 6.3.1, PS3.8 9.3.5).
@Suite struct MessageAssemblerTests {
    static func commandBytes(_ command: CommandSet) throws -> ByteBuffer { ByteBuffer(bytes: try command.encoded()) }

    static func pdv(_ bytes: ByteBuffer, context: UInt8 = 1, command: Bool, last: Bool) -> PDV {
        PDV(contextID: context, isCommand: command, isLast: last, data: bytes)
    }

    @Test func commandInFragmentsThenDataSetPieces() throws {
        var a = MessageAssembler()
        let store = try Self.commandBytes(CommandSet.storeRequest(messageID: 7, sopClassUID: "1.2.3", sopInstanceUID: "1.2.3.4"))
        var rest = store
        let head = rest.readSlice(length: 10) ?? ByteBuffer()
        #expect(try a.feed(Self.pdv(head, command: true, last: false)) == nil)
        guard case .command(let command, let context, let expects)? = try a.feed(Self.pdv(rest, command: true, last: true)) else {
            Issue.record("no command")
            return
        }
        #expect(command.messageID == 7 && context == 1 && expects)
        #expect(a.isMidMessage)
        guard case .dataSet(let piece, _, false)? = try a.feed(Self.pdv(ByteBuffer(bytes: [1, 2]), command: false, last: false)) else {
            Issue.record("no piece")
            return
        }
        #expect(piece.readableBytes == 2)
        guard case .dataSet(_, _, true)? = try a.feed(Self.pdv(ByteBuffer(bytes: [3]), command: false, last: true)) else {
            Issue.record("no last piece")
            return
        }
        #expect(!a.isMidMessage)
    }

    /// A command that repeats the last one (a C-FIND's pending answers) is decoded once; one that differs, in
    /// fragments or whole, is its own.
    @Test func aRepeatedCommandIsTheSameAndAnotherIsItsOwn() throws {
        var a = MessageAssembler()
        func command(_ bytes: ByteBuffer, pieces: Int = 1) throws -> CommandSet? {
            var rest = bytes
            for _ in 1..<pieces {
                let head = rest.readSlice(length: rest.readableBytes / 2) ?? ByteBuffer()
                #expect(try a.feed(Self.pdv(head, command: true, last: false)) == nil)
            }
            guard case .command(let c, _, false)? = try a.feed(Self.pdv(rest, command: true, last: true)) else { return nil }
            return c
        }
        let echo7 = try Self.commandBytes(CommandSet.echoRequest(messageID: 7))
        let echo8 = try Self.commandBytes(CommandSet.echoRequest(messageID: 8))
        #expect(try command(echo7)?.messageID == 7)
        #expect(try command(echo7)?.messageID == 7)
        #expect(try command(echo8, pieces: 2)?.messageID == 8)
        #expect(try command(echo8)?.messageID == 8)
        #expect(try command(echo7, pieces: 3)?.messageID == 7)
    }

    @Test func violations() throws {
        let echo = try Self.commandBytes(CommandSet.echoRequest(messageID: 1))
        var a = MessageAssembler()
        #expect(throws: MessageAssembler.Violation.self) { try a.feed(Self.pdv(ByteBuffer(bytes: [0]), command: false, last: true)) }

        var b = MessageAssembler()
        _ = try b.feed(Self.pdv(ByteBuffer(bytes: [0, 0]), context: 1, command: true, last: false))
        #expect(throws: MessageAssembler.Violation.self) { try b.feed(Self.pdv(echo, context: 3, command: true, last: true)) }

        var c = MessageAssembler()
        let store = try Self.commandBytes(CommandSet.storeRequest(messageID: 2, sopClassUID: "1.2", sopInstanceUID: "1.2.3"))
        _ = try c.feed(Self.pdv(store, command: true, last: true))
        #expect(throws: MessageAssembler.Violation.self) { try c.feed(Self.pdv(echo, command: true, last: true)) }

        var d = MessageAssembler(maxDataSetLength: 4)
        _ = try d.feed(Self.pdv(store, command: true, last: true))
        _ = try d.feed(Self.pdv(ByteBuffer(bytes: [1, 2, 3]), command: false, last: false))
        #expect(throws: MessageAssembler.Violation.self) { try d.feed(Self.pdv(ByteBuffer(bytes: [4, 5]), command: false, last: false)) }

        var e = MessageAssembler()
        let big = ByteBuffer(repeating: 0, count: CommandSet.maxEncodedLength + 1)
        #expect(throws: MessageAssembler.Violation.self) { try e.feed(Self.pdv(big, command: true, last: false)) }
        var f = MessageAssembler()
        #expect(throws: MessageAssembler.Violation.self) { try f.feed(Self.pdv(ByteBuffer(bytes: [1, 2, 3]), command: true, last: true)) }
    }

    /// The registry answers negotiation from its services; roles add up across services of one SOP class.
    @Test func registryMergesServices() {
        struct Getter: CollectingDIMSEService {
            var commands: Set<CommandField> { [.cGetRQ] }
            func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
                AbstractSyntaxSupport(transferSyntaxes: .uncompressed, acceptsRequestorSCU: false, acceptsRequestorSCP: true)
            }
            func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws {}
        }
        let registry = DIMSEServiceRegistry([VerificationService(), Getter()])
        #expect(registry.support(for: UpperLayerUID.verificationSOPClass)?.acceptsRequestorSCP == true)
        #expect(registry.support(for: UpperLayerUID.verificationSOPClass)?.acceptsRequestorSCU == true)
        #expect(registry.service(for: .cEchoRQ, abstractSyntax: UpperLayerUID.verificationSOPClass) is VerificationService)
        #expect(registry.service(for: .cFindRQ, abstractSyntax: UpperLayerUID.verificationSOPClass) == nil)
        #expect(registry.performs(.cGetRQ) && !registry.performs(.cFindRQ))
    }

    /// A command and dataset that fill the peer's Maximum Length exactly go in one PDU (the one-pass path); one
    /// byte more and the dataset is split: every PDU within the limit, every byte there, in order.
    @Test func aMessageThatFillsThePDUExactlyIsOnePDUAndOneByteMoreIsTwo() throws {
        var request = CommandSet.storeRequest(messageID: 9, sopClassUID: "1.2.840.10008.5.1.4.1.2.2.1", sopInstanceUID: "1.2.3")
        request.setUS(CommandField.cFindRQ.rawValue, .commandField)
        var pending = CommandSet.response(answering: request, status: .pending)
        pending.setUS(0x0000, .commandDataSetType)
        let command = Array(buffer: try Self.commandBytes(pending))
        let max: UInt32 = 1000
        for extra in [0, 1] {
            let dataSet = (0..<(Int(max) - 12 - command.count + extra)).map { UInt8(truncatingIfNeeded: $0) }
            var written = ByteBuffer()
            MessageFragmenter(peerMaxPDULength: max).writePacked(command: command, dataSets: [dataSet], contextID: 3, into: &written)
            var pdus: [PDU] = []
            while let pdu = try PDU.decode(from: &written, limits: PDULimits(maxDataPDULength: max)) { pdus.append(pdu) }
            #expect(written.readableBytes == 0)
            #expect(pdus.count == 1 + extra)
            var commandRead: [UInt8] = []
            var dataRead: [UInt8] = []
            for case .dataTF(let transfer) in pdus {
                for var pdv in transfer.pdvs {
                    let bytes = pdv.data.readBytes(length: pdv.data.readableBytes) ?? []
                    if pdv.isCommand { commandRead += bytes } else { dataRead += bytes }
                }
            }
            #expect(commandRead == command)
            #expect(dataRead == dataSet)
        }
    }

    /// Small messages packed: every PDU within the peer's Maximum Length, no PDU carrying two messages (peers
    /// drop what follows a completed message), and the PDVs read back through the assembler give every message
    /// whole and in order.
    @Test(arguments: [UInt32(300), 1000, 16384])
    func packedMessagesStayWithinMaxLengthAndReassemble(maxPDULength: UInt32) throws {
        var request = CommandSet.storeRequest(messageID: 9, sopClassUID: "1.2.840.10008.5.1.4.1.2.2.1", sopInstanceUID: "1.2.3")
        request.setUS(CommandField.cFindRQ.rawValue, .commandField)
        var pending = CommandSet.response(answering: request, status: .pending)
        pending.setUS(0x0000, .commandDataSetType)
        let command = try Self.commandBytes(pending)
        let dataSets = (0..<60).map { i in (0..<(i * 37 % 700)).map { UInt8(truncatingIfNeeded: $0 &+ i) } }
        // Written after bytes already in the buffer (a batch's earlier PDUs).
        var written = ByteBuffer(bytes: [9, 9, 9])
        MessageFragmenter(peerMaxPDULength: maxPDULength)
            .writePacked(command: Array(buffer: command), dataSets: dataSets, contextID: 3, into: &written)
        #expect(written.readBytes(length: 3) == [9, 9, 9])
        let bytes = written
        var pdus: [PDU] = []
        while let pdu = try PDU.decode(from: &written, limits: PDULimits(maxDataPDULength: maxPDULength)) { pdus.append(pdu) }
        #expect(written.readableBytes == 0)
        // The bytes are the PDUs' own encoding, as the PDU encoder writes them.
        var encoded = ByteBuffer()
        for pdu in pdus { try pdu.encode(into: &encoded) }
        #expect(encoded == bytes)
        #expect(maxPDULength < 1000 || pdus.count == dataSets.count)
        var assembler = MessageAssembler()
        var commands = 0
        var received: [[UInt8]] = []
        var current: [UInt8] = []
        for pdu in pdus {
            var encoded = ByteBuffer()
            try pdu.encode(into: &encoded)
            let length = encoded.getInteger(at: 2, as: UInt32.self) ?? .max
            #expect(length <= maxPDULength)
            guard case .dataTF(let transfer) = pdu else {
                Issue.record("not a P-DATA-TF")
                return
            }
            for (i, pdv) in transfer.pdvs.enumerated() {
                #expect(!(pdv.isCommand && i > 0 && !transfer.pdvs[i - 1].isCommand), "a PDU carries two messages")
                switch try assembler.feed(pdv) {
                case .command(let c, let context, let expects)?:
                    #expect(try c.encoded() == pending.encoded() && context == 3 && expects)
                    commands += 1
                case .dataSet(var piece, _, let last)?:
                    current += piece.readBytes(length: piece.readableBytes) ?? []
                    if last {
                        received.append(current)
                        current = []
                    }
                case nil: break
                }
            }
        }
        #expect(commands == dataSets.count)
        #expect(received == dataSets)
    }
}

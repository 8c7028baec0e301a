import DICOM
import DICOMNetwork
import Foundation
import NIOCore
import Testing
import TestSupport

/// Hostile bytes on the wire: each case ends in an A-ABORT (or a rejection, or a failure status), the server
/// keeps serving (a C-ECHO succeeds afterwards), nothing half-received is archived, and memory stays bounded.
@Suite(.serialized, .stopsServers) struct MalformedPDUTests {
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"

    static func associateRQ(called: String = "STORE_SCP", contexts: [PresentationContextProposal]? = nil, maxPDU: UInt32 = 16384) throws -> [UInt8] {
        let rq = AssociateRequest(
            calledAETitle: called, callingAETitle: "FUZZER",
            presentationContexts: contexts ?? AssociateRequest.presentationContexts(
                abstractSyntaxes: [UpperLayerUID.verificationSOPClass, ctImage]),
            maxPDULength: maxPDU)
        return Array(buffer: try PDU.associateRQ(rq).encoded())
    }

    static func pdata(_ pdvs: [(UInt8, UInt8, [UInt8])]) -> [UInt8] {
        var body: [UInt8] = []
        for (ctx, control, data) in pdvs {
            body += be32(UInt32(data.count + 2)) + [ctx, control] + data
        }
        return [0x04, 0x00] + be32(UInt32(body.count)) + body
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }

    static func command(_ c: CommandSet) throws -> [UInt8] { try c.encoded() }

    /// A connection that has an established association (context 1 = Verification, 3 = CT).
    static func associated(_ server: TestServer) throws -> RawConnection {
        let conn = try RawConnection(port: server.port)
        conn.send(try associateRQ())
        let reply = conn.readPDU()
        #expect(reply?.first == 0x02, "expected A-ASSOCIATE-AC")
        return conn
    }

    /// The bytes of each malformed case, sent after an association is established when `associate` is set.
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let associate: Bool
        /// The client closes its side after the bytes (a peer that hangs up mid-PDU).
        var thenClose = false
        let bytes: @Sendable () throws -> [UInt8]
        var description: String { name }
    }

    static let storeCommand: @Sendable () throws -> [UInt8] = {
        try command(CommandSet.storeRequest(messageID: 7, sopClassUID: ctImage, sopInstanceUID: "1.2.3.4.5.6.7"))
    }

    static let cases: [Case] = [
        Case(name: "HTTP GET", associate: false) { Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8) },
        Case(name: "4 GB A-ASSOCIATE-RQ length", associate: false) { [0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 64) },
        Case(name: "1.5 MB A-ASSOCIATE-RQ", associate: false) { [0x01, 0x00] + be32(1_500_000) + [UInt8](repeating: 0x20, count: 4096) },
        Case(name: "zero-length PDU", associate: true) { [0x04, 0x00, 0, 0, 0, 0] },
        Case(name: "4 GB P-DATA length", associate: true) { [0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 16) },
        Case(name: "P-DATA larger than advertised", associate: true) { [0x04, 0x00] + be32(200_000) + [UInt8](repeating: 0, count: 1024) },
        Case(name: "unknown PDU type", associate: true) { [0x09, 0x00, 0, 0, 0, 4, 0, 0, 0, 0] },
        Case(name: "PDV length overruns its PDU", associate: true) { [0x04, 0x00, 0, 0, 0, 10] + be32(5000) + [1, 3, 0, 0] },
        Case(name: "PDV length below 2", associate: true) { [0x04, 0x00, 0, 0, 0, 6] + be32(1) + [1, 3] },
        Case(name: "P-DATA before association", associate: false) { pdata([(1, 3, [0, 0, 0, 0])]) },
        Case(name: "A-RELEASE-RQ before association", associate: false) { [0x05, 0x00, 0, 0, 0, 4, 0, 0, 0, 0] },
        Case(name: "second A-ASSOCIATE-RQ", associate: true) { try associateRQ() },
        Case(name: "PDV on an unaccepted context", associate: true) { pdata([(9, 3, try command(.echoRequest(messageID: 1)))]) },
        Case(name: "garbage command set", associate: true) { pdata([(1, 3, [0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03])]) },
        Case(name: "command set over 64 KB without last fragment", associate: true) {
            (0..<6).flatMap { _ in pdata([(1, 1, [UInt8](repeating: 0, count: 15000))]) }
        },
        Case(name: "dataset fragment without a command", associate: true) { pdata([(3, 2, [0x08, 0x00, 0x18, 0x00])]) },
        Case(name: "release RQ with wrong length", associate: true) { [0x05, 0x00, 0, 0, 0, 2, 0, 0] },
        Case(name: "abort with wrong length", associate: true) { [0x07, 0x00, 0, 0, 0, 9] + [UInt8](repeating: 0, count: 9) },
        Case(name: "A-ASSOCIATE-RQ item overruns the PDU", associate: false) {
            var rq = try associateRQ()
            rq[74 + 2] = 0x7F  // first item's length (application context) made huge
            return rq
        },
        Case(name: "A-ASSOCIATE-RQ without application context", associate: false) {
            var rq = try associateRQ()
            rq[74] = 0x33  // application context item type turned into an unknown type
            return rq
        },
        Case(name: "truncated PDU, then close", associate: true, thenClose: true) { [0x04, 0x00, 0, 0, 0x10, 0x00, 0, 0] },
        Case(name: "garbage after A-RELEASE-RQ", associate: true) { [0x05, 0x00, 0, 0, 0, 4, 0, 0, 0, 0] + [UInt8](repeating: 0xAB, count: 300) },
        Case(name: "dataset that never ends (no last fragment) past the maximum object size", associate: true) {
            pdata([(3, 3, try storeCommand())]) + (0..<80).flatMap { _ in pdata([(3, 0, [UInt8](repeating: 0x41, count: 16000))]) }
        },
        Case(name: "random bytes", associate: false) {
            var rng = SplitMix64(seed: 0x5EED_0D1C)  // the same bytes every run, so a failure can be replayed
            return (0..<512).map { _ in UInt8.random(in: 0...255, using: &rng) }
        },
        Case(name: "random bytes after association", associate: true) {
            [0x04] + (0..<511).map { i in UInt8(truncatingIfNeeded: i &* 37) }
        },
    ]

    @Test func atLeastTwentyCases() { #expect(Self.cases.count >= 20) }

    @Test(arguments: cases)
    func malformedInputEndsInAbortAndServerKeepsServing(_ c: Case) async throws {
        let server = try await TestServer.start { $0.maxObjectSize = 1 << 20 }
        defer { Task { await server.stop() } }
        let before = residentMemoryBytes()
        let conn = c.associate ? try Self.associated(server) : try RawConnection(port: server.port)
        conn.send(try c.bytes())
        if c.thenClose { conn.finishSending() }
        let (reply, closed) = await Task.detached { conn.readUntilClosed() }.value
        // The server answers with an A-ABORT (07), an A-ASSOCIATE-RJ (03) or, after a release, an A-RELEASE-RP (06),
        // or says nothing to what is no DICOM at all, and closes the connection: it does not wait for more.
        #expect(closed, "\(c.name): the connection was left open")
        if let first = reply.first { #expect([0x03, 0x06, 0x07].contains(first), "\(c.name): first PDU type \(first)") }
        #expect(try await server.echo() == .success, "\(c.name): no C-ECHO afterwards")
        #expect(server.archivedFiles().isEmpty, "\(c.name): something was archived")
        // Received bytes go to the ingest journal: once the sessions have ended, nothing may still hold its records.
        #expect(await server.journalHoldsWhenQuiet() == 0, "\(c.name): a stream left in the journal")
        // Other suites run in this process at the same time: the bound is loose, but a length-sized allocation
        // (a 4 GB PDU, a never-ending dataset) would blow through it.
        #expect(residentMemoryBytes() - before < 256 << 20, "\(c.name): memory grew by \((residentMemoryBytes() - before) >> 20) MB")
    }

    @Test func wrongCalledAETitleIsRejectedWithReason7() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let conn = try RawConnection(port: server.port)
        conn.send(try Self.associateRQ(called: "NOT_ME"))
        let reply = conn.readPDU() ?? []
        // A-ASSOCIATE-RJ: result 1 (permanent), source 1 (service user), reason 7 (called AE title not recognised).
        #expect(reply.count == 10 && reply[0] == 0x03 && reply[7] == 1 && reply[8] == 1 && reply[9] == 7, "\(reply)")
        #expect(try await server.echo() == .success)
    }

    @Test func unsupportedAbstractSyntaxIsRejectedPerContext() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let contexts = [
            PresentationContextProposal(id: 1, abstractSyntax: UpperLayerUID.verificationSOPClass, transferSyntaxes: [UpperLayerUID.implicitVRLittleEndian]),
            PresentationContextProposal(id: 3, abstractSyntax: "1.2.840.10008.5.1.4.31", transferSyntaxes: [UpperLayerUID.implicitVRLittleEndian]),
        ]
        let conn = try RawConnection(port: server.port)
        conn.send(try Self.associateRQ(contexts: contexts))
        let reply = conn.readPDU() ?? []
        let ac = try PDU.decode(exactly: ByteBuffer(bytes: reply), limits: PDULimits(maxDataPDULength: 1 << 20))
        guard case .associateAC(let accept) = ac else { Issue.record("expected A-ASSOCIATE-AC"); return }
        #expect(accept.presentationContexts.first { $0.id == 1 }?.result == .acceptance)
        #expect(accept.presentationContexts.first { $0.id == 3 }?.result == .abstractSyntaxNotSupported)
        #expect(try await server.echo() == .success)
    }

    /// An A-ABORT after 200 KB of a dataset: the instance is not stored, and its journal records are given up.
    /// Past `ArchiveSink.holdLimit` (64 KiB) the bytes are in the journal already; the session reads PDUs in order,
    /// so they are there before the abort is read, without a pause to hope for it.
    @Test func peerAbortMidDatasetStoresNothing() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let conn = try Self.associated(server)
        let file = SampleImage.secondaryCapture(rows: 512, columns: 512)
        var request = CommandSet.storeRequest(messageID: 1, sopClassUID: file.dataSet.uid(.sopClassUID) ?? "",
                                              sopInstanceUID: file.dataSet.uid(.sopInstanceUID) ?? "")
        request.setUID(Self.ctImage, .affectedSOPClassUID)
        let data = try DataSetWriter.encode(file.dataSet, syntax: .explicitVRLittleEndian)
        let part = Array(data[0..<(200 << 10)])
        let pieces = stride(from: 0, to: part.count, by: 16000).map { Self.pdata([(3, 0, Array(part[$0..<min($0 + 16000, part.count)]))]) }
        conn.send(Self.pdata([(3, 3, try Self.command(request))]) + pieces.flatMap { $0 })
        conn.send([0x07, 0x00, 0, 0, 0, 4, 0, 0, 0, 0])  // A-ABORT
        _ = conn.readUntilClosed()
        #expect(await server.journalHoldsWhenQuiet() == 0)
        #expect(server.archivedFiles().isEmpty)
        #expect(try await server.echo() == .success)
    }

    @Test func traversalUIDIsRefusedWithC000() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        var ds = SampleImage.secondaryCapture().dataSet
        ds.setString("../../../../tmp/arca-escape", for: .studyInstanceUID, vr: .UI)
        let conn = try Self.associated(server)
        let request = CommandSet.storeRequest(messageID: 1, sopClassUID: Self.ctImage, sopInstanceUID: ds.uid(.sopInstanceUID) ?? "")
        ds.setString(Self.ctImage, for: .sopClassUID, vr: .UI)
        // Context 3 was proposed with explicit and implicit VR LE; the server prefers explicit.
        let explicit = try DataSetWriter.encode(ds, syntax: .explicitVRLittleEndian)
        conn.send(Self.pdata([(3, 3, try Self.command(request))]) + Self.pdata([(3, 2, explicit)]))
        let rsp = conn.readPDU() ?? []
        // P-DATA with the C-STORE-RSP: find the Status (0000,0900) value in the command.
        let status = Self.statusIn(rsp)
        #expect(status == 0xC000, "status \(String(describing: status))")
        #expect(server.archivedFiles().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/arca-escape"))
        #expect(try await server.echo() == .success)
    }

    /// The Status value of a C-STORE-RSP carried in a P-DATA PDU.
    static func statusIn(_ pdu: [UInt8]) -> UInt16? {
        guard pdu.count > 12, pdu[0] == 0x04 else { return nil }
        let command = Array(pdu[12...])
        guard let c = try? CommandSet.decode(ByteBuffer(bytes: command)) else { return nil }
        return c.status?.rawValue
    }
}

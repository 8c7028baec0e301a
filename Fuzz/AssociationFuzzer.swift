// libFuzzer target for the DICOM Upper Layer as the SCP meets it: the input is the byte stream a peer sends
// on one connection. Compiled into the DICOMNetwork module's UpperLayer and DIMSE sources by Fuzz/run-all.sh
// (internal API in reach; NIOCore linked from a SwiftPM build).
//
// The stream is cut into PDUs as the channel's decoder does (whole, and again in pieces whose sizes the input
// chooses: the same PDUs and the same error), each PDU is encoded back and decoded again, and the PDUs drive
// the association's transitions as AssociationSession does: A-ASSOCIATE-RQ → negotiation against a policy like
// the server's → our A-ASSOCIATE-AC/RJ encoded → P-DATA-TF through the message assembler, commands answered,
// request datasets collected (bounded) and parsed → release or abort. The session itself is async over a NIO
// channel; this drives the same pure parts in the same order. A thrown PDUError/Violation/DIMSEError is a
// correct answer; a crash, a sanitizer report, or a broken invariant (fatalError) is a bug.

import DICOM
import NIOCore

private let limits = PDULimits(maxDataPDULength: 16384)
private let allTransferSyntaxes = AbstractSyntaxSupport(transferSyntaxes: .storage, acceptsRequestorSCP: true,
                                                        extendedNegotiation: { info in Array(info.prefix(4)) })
private let queries = AbstractSyntaxSupport(transferSyntaxes: .uncompressed)
private let policy = AssociationPolicy(
    aeTitle: "ARCA", strictCalledAETitle: false,
    abstractSyntaxes: { uid in
        switch uid {
        case "1.2.840.10008.1.1", "1.2.840.10008.1.20.1": return queries  // verification, storage commitment
        case "1.2.840.10008.5.1.4.1.2.1.1", "1.2.840.10008.5.1.4.1.2.2.1",  // patient/study root FIND
             "1.2.840.10008.5.1.4.1.2.1.2", "1.2.840.10008.5.1.4.1.2.2.2",  // MOVE
             "1.2.840.10008.5.1.4.1.2.1.3", "1.2.840.10008.5.1.4.1.2.2.3":  // GET
            return queries
        default:
            return uid.hasPrefix("1.2.840.10008.5.1.4.1.1.") ? allTransferSyntaxes : nil
        }
    },
    maxPDULength: 16384, asyncOperationsWindow: AsyncOperationsWindow(maxInvoked: 4, maxPerformed: 4))

/// Request datasets (identifiers) are collected up to this, as `CollectingDIMSEService.maxRequestDataSetLength`.
private let maxCollected = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAssociation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)

    // 1. The stream as one read, then in pieces: the decoder must not depend on how TCP cut it.
    let whole = decodeStream(input, chunkSizes: [size])
    var sizes: [Int] = []
    var seed = UInt32(truncatingIfNeeded: size) &* 2_654_435_761 | 1
    var covered = 0
    while covered < size {
        seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5
        let n = 1 + Int(seed % 97)
        sizes.append(n)
        covered += n
    }
    let pieces = decodeStream(input, chunkSizes: sizes)
    guard whole.pdus == pieces.pdus, whole.error == pieces.error else {
        fatalError("the stream decodes differently in pieces: \(whole.pdus.count) vs \(pieces.pdus.count) PDUs, \(String(describing: whole.error)) vs \(String(describing: pieces.error))")
    }

    // 1b. The channel's decoder as the server runs it (dataset PDVs handed on as they arrive, a read's PDVs as
    //     one), in the same pieces: a message reader sees what the whole-PDU decoding gives. Where that fails,
    //     this one fails too, having handed on at least as much (the PDVs of a PDU before its bad one, which a
    //     whole-PDU decoder drops), and with the same error unless the stream merely ended early.
    let streamed = decodeStream(input, chunkSizes: sizes, streaming: true)
    let expected = PDU.received(whole.pdus), seen = PDU.received(streamed.pdus)
    if let error = whole.error {
        guard streamed.error != nil, seen.starts(with: expected),
              error.kind == .truncated || streamed.error == error else {
            fatalError("the streaming decoder differs on a bad stream: \(String(describing: streamed.error)) vs \(error)")
        }
    } else {
        guard streamed.error == nil, seen == expected else {
            fatalError("the streaming decoder differs: \(String(describing: streamed.error)), \(seen.count) vs \(expected.count) parts")
        }
    }

    // 2. Every PDU encodes back, and that decodes to itself (AE titles are cut to 16 bytes by design: only
    //    titles that fit are compared).
    for pdu in whole.pdus { checkRoundTrip(pdu) }

    // 3. The association's transitions.
    var session = Session()
    for pdu in whole.pdus where !session.isClosed { session.receive(pdu) }
    // Again with the pieces the channel's decoder gives (the session must not depend on PDV boundaries).
    var streamedSession = Session()
    for pdu in streamed.pdus where !streamedSession.isClosed { streamedSession.receive(pdu) }
    return 0
}

/// What the channel's decoder would pass on: the PDUs, then the error that aborts the connection (or the
/// truncation at the end of the stream).
struct DecodedStream {
    var pdus: [PDU] = []
    var error: PDUError?
}

/// With `streaming`, through `PDUStreamDecoder` as `PDUDecoder` runs it in the server's channel (dataset PDVs
/// handed on as they arrive, a read's PDVs as one); otherwise whole PDUs (`PDU.decode(from:limits:)`).
func decodeStream(_ input: UnsafeRawBufferPointer, chunkSizes: [Int], streaming: Bool = false) -> DecodedStream {
    var out = DecodedStream()
    var decoder = PDUStreamDecoder(limits: limits, coalescesDataTransfers: true)
    var buffer = ByteBuffer()
    var start = 0
    for n in chunkSizes where start < input.count {
        let end = min(input.count, start + n)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: input[start..<end]))
        start = end
        do {
            if streaming {
                try decoder.decode(&buffer) { out.pdus.append($0) }
            } else {
                while let pdu = try PDU.decode(from: &buffer, limits: limits) { out.pdus.append(pdu) }
            }
        } catch {
            out.error = error
            return out
        }
        buffer.discardReadBytes()
    }
    if buffer.readableBytes > 0 || decoder.bytesMissingFromPDU != nil {
        out.error = PDUError(.truncated, "connection closed with \(buffer.readableBytes) byte(s) of an incomplete PDU")
    }
    return out
}

func checkRoundTrip(_ pdu: PDU) {
    func titlesFit(_ titles: String...) -> Bool { titles.allSatisfy { $0.utf8.count <= 16 && $0.utf8.allSatisfy { $0 < 0x80 } } }
    switch pdu {
    case .associateRQ(let rq) where !titlesFit(rq.calledAETitle, rq.callingAETitle): return
    case .associateAC(let ac) where !titlesFit(ac.calledAETitle, ac.callingAETitle): return
    default: break
    }
    let encoded: ByteBuffer
    do { encoded = try pdu.encoded() } catch { return }  // a value that does not fit its length field: refused
    let generous = PDULimits(maxDataPDULength: UInt32.max, maxAssociatePDULength: UInt32.max)
    do {
        let again = try PDU.decode(exactly: encoded, limits: generous)
        if again != pdu { fatalError("\(pdu.type) decodes differently after encoding") }
    } catch {
        fatalError("\(pdu.type) encoded by us does not decode: \(error)")
    }
}

/// The SCP side of one association, as AssociationSession runs it, without the channel.
struct Session {
    enum Incoming {
        case none
        case streamed(received: Int)
        case collected(bytes: ByteBuffer, syntax: String)
        case dropped
    }

    var association: NegotiatedAssociation?
    var assembler = MessageAssembler(maxDataSetLength: 64 << 20)
    var incoming = Incoming.none
    var outstanding = 0
    private(set) var isClosed = false

    mutating func receive(_ pdu: PDU) {
        guard let association else {
            guard case .associateRQ(let rq) = pdu else { return close(sending: .abort(Abort(source: .serviceProvider, reason: .unexpectedPDU))) }
            return associate(rq)
        }
        switch pdu {
        case .dataTF(let data):
            for pdv in data.pdvs where !isClosed {
                guard association.acceptedContexts[pdv.contextID] != nil else {
                    return close(sending: .abort(Abort(source: .serviceProvider, reason: .invalidPDUParameterValue)))
                }
                do {
                    switch try assembler.feed(pdv) {
                    case nil: continue
                    case .command(let command, let contextID, let expectsDataSet)?:
                        received(command, contextID: contextID, expectsDataSet: expectsDataSet, association)
                    case .dataSet(let bytes, _, let isLast)?:
                        dataSetFragment(bytes, isLast: isLast, association)
                    }
                } catch let violation as MessageAssembler.Violation {
                    return close(sending: .abort(violation.abort))
                } catch {
                    fatalError("the assembler threw something else than a Violation: \(error)")
                }
            }
        case .releaseRQ:
            assembler.reset()
            close(sending: .releaseRP)
        case .abort:
            assembler.reset()
            isClosed = true
        case .associateRQ, .associateAC, .associateRJ, .releaseRP, .encoded:
            close(sending: .abort(Abort(source: .serviceProvider, reason: .unexpectedPDU)))
        }
    }

    private mutating func associate(_ rq: AssociateRequest) {
        switch negotiate(rq, policy: policy, activeAssociations: 0) {
        case .reject(let rj):
            close(sending: .associateRJ(rj))
        case .accept(let ac, let negotiated):
            // What we accept was proposed, in a syntax that was proposed for it.
            for (id, context) in negotiated.acceptedContexts {
                guard let proposal = rq.presentationContexts.first(where: { $0.id == id }),
                      proposal.abstractSyntax == context.abstractSyntax,
                      proposal.transferSyntaxes.contains(context.transferSyntax)
                else { fatalError("accepted context \(id) was not proposed as accepted") }
            }
            send(.associateAC(ac))
            association = negotiated
        }
    }

    private mutating func received(_ command: CommandSet, contextID: UInt8, expectsDataSet: Bool, _ association: NegotiatedAssociation) {
        guard let context = association.acceptedContexts[contextID], let field = command.commandField else {
            return close(sending: .abort(Abort(source: .serviceProvider, reason: .unexpectedPDU)))
        }
        if field.isResponse || field == .cCancelRQ {
            incoming = expectsDataSet ? .dropped : .none
            return
        }
        outstanding += 1
        switch field {
        case .cFindRQ, .cMoveRQ, .cGetRQ, .nActionRQ, .nEventReportRQ:
            incoming = expectsDataSet ? .collected(bytes: ByteBuffer(), syntax: context.transferSyntax) : .none
        case .cStoreRQ:
            incoming = expectsDataSet ? .streamed(received: 0) : .none
        default:
            incoming = expectsDataSet ? .dropped : .none
        }
        if !expectsDataSet { respond(to: command, contextID: contextID, association) }
        else { pendingCommand = (command, contextID) }
    }

    private var pendingCommand: (CommandSet, UInt8)?

    private mutating func dataSetFragment(_ fragment: ByteBuffer, isLast: Bool, _ association: NegotiatedAssociation) {
        switch incoming {
        case .none:
            return close(sending: .abort(Abort(source: .serviceProvider, reason: .unexpectedPDU)))
        case .dropped:
            break
        case .streamed(let received):
            incoming = .streamed(received: received + fragment.readableBytes)
        case .collected(var bytes, let syntax):
            guard bytes.readableBytes + fragment.readableBytes <= maxCollected else {
                incoming = .dropped
                break
            }
            var piece = fragment
            bytes.writeBuffer(&piece)
            incoming = .collected(bytes: bytes, syntax: syntax)
            if isLast { _ = decodeRequestDataSet(bytes, syntax: syntax) }
        }
        if isLast {
            incoming = .none
            if let (command, contextID) = pendingCommand { respond(to: command, contextID: contextID, association) }
            pendingCommand = nil
        }
    }

    /// As AssociationSession.decode: the collected dataset in its context's transfer syntax.
    private func decodeRequestDataSet(_ bytes: ByteBuffer, syntax uid: String) -> DataSet? {
        guard let syntax = TransferSyntax(uid: uid) else { return nil }
        var parser = DataSetParser(transferSyntax: syntax, options: ParseOptions(maxDepth: 16))
        var builder = DataSetBuilder()
        do {
            try bytes.withUnsafeReadableBytes { try parser.feed($0, to: &builder) }
            try parser.finish(&builder)
        } catch is DICOMParseError {
            return nil
        } catch {
            fatalError("the dataset parser threw something else than a DICOMParseError: \(error)")
        }
        return builder.dataSet
    }

    /// The response our session sends, fragmented for the peer's Maximum Length: the fragments must carry it whole.
    private mutating func respond(to command: CommandSet, contextID: UInt8, _ association: NegotiatedAssociation) {
        outstanding = max(0, outstanding - 1)
        let response = CommandSet.response(answering: command, status: .success)
        guard let bytes = try? response.encoded() else { return }
        let fragmenter = MessageFragmenter(peerMaxPDULength: association.peerMaxPDULength)
        var reassembled: [UInt8] = []
        for pdu in fragmenter.pdus(ByteBuffer(bytes: bytes), contextID: contextID, isCommand: true) {
            guard case .dataTF(let data) = pdu else { fatalError("the fragmenter made a \(pdu.type)") }
            for pdv in data.pdvs { reassembled += pdv.data.readableBytesView }
            let encoded: ByteBuffer
            do { encoded = try pdu.encoded() } catch { fatalError("a response fragment does not encode: \(error)") }
            // Below 7 no PDV fits; the fragmenter then sends 1-byte fragments (the peer asked for it).
            if association.peerMaxPDULength >= 7, encoded.readableBytes - PDU.headerLength > Int(association.peerMaxPDULength) {
                fatalError("a fragment of \(encoded.readableBytes) bytes exceeds the peer's maximum \(association.peerMaxPDULength)")
            }
        }
        if reassembled != bytes { fatalError("the fragments do not carry the response") }
    }

    private mutating func send(_ pdu: PDU) {
        do { _ = try pdu.encoded() } catch { fatalError("our own \(pdu.type) does not encode: \(error)") }
    }

    private mutating func close(sending pdu: PDU) {
        send(pdu)
        isClosed = true
    }
}

import DICOM
import NIOCore
import Testing

@testable import DICOMNetwork

/// What `MessageWriter` puts on the wire for a peer with a tiny Maximum Length, and the bound on what one
/// write gathers.
@Suite struct MessageWriterTests {
    /// A peer announcing a Maximum Length of 7 gets 1-byte PDVs: the dataset arrives whole, in order, with one
    /// last fragment, though it is written a batch at a time.
    @Test func aDataSetInOneBytePDVsEndsOnce() async throws {
        let (outbound, sink) = NIOAsyncChannelOutboundWriter<PDU>.makeTestingWriter()
        let writer = MessageWriter(outbound: outbound, peerMaxPDULength: 7)
        let dataSet = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let command = CommandSet.storeRequest(messageID: 1, sopClassUID: "1.2.3", sopInstanceUID: "1.2.3.4")
        try await writer.send(command, contextID: 1, dataSet: dataSet)
        outbound.finish()
        var received: [UInt8] = []
        var lasts = 0
        var dataPDVs = 0
        for await pdu in sink {
            guard case .dataTF(let transfer) = pdu else { continue }
            for pdv in transfer.pdvs where !pdv.isCommand {
                dataPDVs += 1
                #expect(pdv.data.readableBytes == 1)
                received += pdv.data.readableBytesView
                if pdv.isLast { lasts += 1 }
            }
        }
        #expect(received == dataSet)
        #expect(dataPDVs == 5_000 && lasts == 1)
    }

    /// A batch is full at a megabyte of data or at `maxPDUs` PDUs, whichever comes first.
    @Test func aBatchOfTinyPDUsIsFullByCount() {
        var batch = PDUBatch()
        let tiny = PDU.dataTF(DataTransfer(pdvs: [PDV(contextID: 1, isCommand: false, isLast: false, data: ByteBuffer(bytes: [1]))]))
        for _ in 1..<PDUBatch.maxPDUs { batch.append(tiny, bytes: 1) }
        #expect(!batch.isFull)
        batch.append(tiny, bytes: 1)
        #expect(batch.isFull)
        batch.removeAll()
        #expect(!batch.isFull && batch.pdus.isEmpty && batch.bytes == 0)
        batch.append(tiny, bytes: PDUBatch.maxBytes)
        #expect(batch.isFull)
    }
}

import Archive
import DICOM
import DICOMNetwork
import NIOCore

/// Sends stored instances to a peer over DIMSE: which accepted context an instance goes on, and its dataset
/// as a `DataSetProducer` in that context's syntax (`InstanceReading` decides how).
struct InstanceTransfer: Sendable {
    let reading: InstanceReading

    /// The context of `contexts` to send `instance` on: its stored syntax first, else one it converts to.
    func context(for instance: ArchivedInstance, among contexts: [AcceptedPresentationContext]) -> AcceptedPresentationContext? {
        let candidates = contexts.filter { $0.abstractSyntax == instance.sopClassUID }
        for ts in reading.syntaxes(from: instance.transferSyntaxUID) {
            if let c = candidates.first(where: { $0.transferSyntax == ts }) { return c }
        }
        return candidates.first { reading.canConvert(from: instance.transferSyntaxUID, to: $0.transferSyntax) }
    }

    /// Calls `body` with each instance, the context it goes on (nil: the peer accepted none for it) and its
    /// dataset as a producer cut to the peer's fragment size, or why it could not be opened or converted (a
    /// failed sub-operation, not a broken message). The next instance is read while `body` sends the current
    /// one; `body` returns false to stop.
    func forEach(_ instances: [ArchivedInstance], among contexts: [AcceptedPresentationContext],
                 _ body: (ArchivedInstance, AcceptedPresentationContext?, Result<DataSetProducer, any Error>?) async throws -> Bool) async throws {
        try await reading.forEachPrepared(instances, in: { context(for: $0, among: contexts)?.transferSyntax }) { instance, prepared in
            try await body(instance, context(for: instance, among: contexts), prepared.map { $0.map(Self.producer) })
        }
    }

    static func producer(_ prepared: PreparedDataSet) -> DataSetProducer {
        { maxChunk, emit in
            try await prepared.read { piece in
                var buffer = piece
                while buffer.readableBytes > 0, let chunk = buffer.readSlice(length: min(maxChunk, buffer.readableBytes)) {
                    try await emit(chunk)
                }
            }
        }
    }
}

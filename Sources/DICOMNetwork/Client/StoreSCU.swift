import DICOM
import NIOCore
import NIOPosix
import NIOSSL

/// Sends files with C-STORE over one association: proposes each file's own transfer syntax with the
/// uncompressed ones as fallbacks, streams a file as it is when its syntax was accepted, re-encodes it
/// otherwise (uncompressed only).
public struct StoreSCU: Sendable {
    public struct Result: Sendable {
        public var path: String
        public var status: DIMSEStatus?
        public var comment: String?
        public var bytes: UInt64
        public var error: String?
        /// Something the sender noticed and worked around (a meta header naming the wrong syntax).
        public var warning: String?
        public var succeeded: Bool { status.map { $0.isSuccess || $0.isWarning } ?? false }
    }

    public var host: String
    public var port: Int
    public var callingAETitle: String
    public var calledAETitle: String
    public var maxPDULength: UInt32
    /// TLS (DICOM's secure transport) when set.
    public var tls: NIOSSLContext?

    public init(host: String, port: Int, callingAETitle: String = "ARCA_SCU", calledAETitle: String = "STORE_SCP",
                maxPDULength: UInt32 = 131_072) {
        self.host = host
        self.port = port
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.maxPDULength = maxPDULength
    }

    struct Prepared {
        var path: String
        var sopClassUID: String
        var sopInstanceUID: String
        /// The syntax the dataset's bytes are in, which is the one proposed and sent.
        var syntax: TransferSyntax
        var offset: UInt64
        var warning: String?
    }

    /// Sends `paths` over one association, calling `progress` after each file.
    public func send(_ paths: [String], progress: @Sendable (Result) -> Void = { _ in }) async throws -> [Result] {
        var results: [Result] = []
        var prepared: [Prepared] = []
        for path in paths {
            do {
                let location = try DICOMFile.locateDataSet(path: path)
                var sopClass = location.meta.uid(.mediaStorageSOPClassUID)
                var sopInstance = location.meta.uid(.mediaStorageSOPInstanceUID)
                if sopClass == nil || sopInstance == nil {
                    let header = try DICOMFile.read(path: path, options: .headerOnly).dataSet
                    sopClass = sopClass ?? header.uid(.sopClassUID)
                    sopInstance = sopInstance ?? header.uid(.sopInstanceUID)
                }
                guard let cls = sopClass, let inst = sopInstance else { throw AssociationError("no SOP Class/Instance UID") }
                // A dataset in another syntax than its meta header says is sent as it is, in the syntax it is in.
                prepared.append(Prepared(path: path, sopClassUID: cls, sopInstanceUID: inst, syntax: location.transferSyntax,
                                         offset: location.offset, warning: location.encodingMismatch.map { "\($0)" }))
            } catch {
                let r = Result(path: path, status: nil, comment: nil, bytes: 0, error: "\(error)")
                results.append(r)
                progress(r)
            }
        }
        guard !prepared.isEmpty else { return results }
        var pairs: [String: [String]] = [:]
        var order: [String] = []
        for p in prepared {
            let key = p.sopClassUID + "|" + p.syntax.uid
            if pairs[key] == nil { order.append(key) }
            pairs[key] = Self.proposal(for: p.syntax)
        }
        guard order.count <= 128 else { throw AssociationError("more than 128 SOP class / transfer syntax pairs in one association") }
        var contexts: [PresentationContextProposal] = []
        for (i, key) in order.enumerated() {
            let cls = String(key.split(separator: "|")[0])
            contexts.append(PresentationContextProposal(id: UInt8(2 * i + 1), abstractSyntax: cls, transferSyntaxes: pairs[key] ?? []))
        }
        let request = AssociateRequest(calledAETitle: calledAETitle, callingAETitle: callingAETitle,
                                       presentationContexts: contexts, maxPDULength: maxPDULength)
        let sent: [Result] = try await ClientAssociation.withAssociation(host: host, port: port, request: request, tls: tls) { association in
            var out: [Result] = []
            for p in prepared {
                let r = await send(p, over: association)
                out.append(r)
                progress(r)
            }
            return out
        }
        return results + sent
    }

    static func proposal(for syntax: TransferSyntax) -> [String] {
        var list = [syntax.uid]
        // Uncompressed data can be re-encoded if the peer prefers another uncompressed syntax.
        if !syntax.isEncapsulated {
            for ts in [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian] where ts != syntax { list.append(ts.uid) }
        }
        return list
    }

    private func send(_ p: Prepared, over association: ClientAssociation) async -> Result {
        // The file's own syntax, or one it can be re-encoded in: with files of one SOP class in several syntaxes,
        // a file whose own context was accepted in another syntax fell back to the class's first context, a JPEG
        // 2000 one, and its native pixels went out labelled as JPEG 2000 (and were stored so).
        var acceptable = Self.proposal(for: p.syntax)
        if !p.syntax.isEncapsulated && !acceptable.contains(TransferSyntax.explicitVRBigEndian.uid) {
            acceptable.append(TransferSyntax.explicitVRBigEndian.uid)
        }
        guard let ctx = association.context(for: p.sopClassUID, preferring: acceptable), acceptable.contains(ctx.transferSyntax) else {
            return Result(path: p.path, status: nil, comment: nil, bytes: 0,
                          error: "no presentation context accepted for \(p.sopClassUID) in \(p.syntax.uid) or a syntax it can be re-encoded in",
                          warning: p.warning)
        }
        do {
            var total: UInt64 = 0
            let response: CommandSet
            if ctx.transferSyntax == p.syntax.uid {
                let reader = try FileReader(path: p.path)
                try reader.seek(to: p.offset)
                response = try await association.store(sopClassUID: p.sopClassUID, sopInstanceUID: p.sopInstanceUID, contextID: ctx.id) { maxChunk, emit in
                    while true {
                        let chunk = try reader.readChunk(maxLength: maxChunk)
                        if chunk.isEmpty { break }
                        total += UInt64(chunk.count)
                        try await emit(ByteBuffer(bytes: chunk))
                    }
                }
            } else {
                // The peer chose a fallback syntax: re-encode (possible for uncompressed data only).
                guard let target = ctx.syntax, !p.syntax.isEncapsulated else {
                    throw AssociationError("cannot convert \(p.syntax.uid) to \(ctx.transferSyntax)")
                }
                let file = try DICOMFile.read(path: p.path)
                let bytes = try DataSetWriter.encode(file.dataSet, syntax: target)
                total = UInt64(bytes.count)
                response = try await association.store(sopClassUID: p.sopClassUID, sopInstanceUID: p.sopInstanceUID, contextID: ctx.id) { maxChunk, emit in
                    var start = 0
                    repeat {
                        let end = min(bytes.count, start + maxChunk)
                        try await emit(ByteBuffer(bytes: bytes[start..<end]))
                        start = end
                    } while start < bytes.count
                }
            }
            return Result(path: p.path, status: response.status, comment: response.errorComment, bytes: total, error: nil,
                          warning: p.warning)
        } catch {
            return Result(path: p.path, status: nil, comment: nil, bytes: 0, error: "\(error)", warning: p.warning)
        }
    }
}

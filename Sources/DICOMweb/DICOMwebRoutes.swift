import Archive
import DICOM
import DICOMNetwork
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// QIDO-RS, WADO-RS, STOW-RS (PS3.18 10.4–10.6) and WADO-URI (PS3.18 9) over the archive's operations.
struct DICOMwebRoutes: Sendable {
    let configuration: DICOMwebConfiguration
    let services: DICOMwebServices
    let logger: Logger
    let metadata = MetadataCache()
    /// Plain HTTP: stored instances are sent as file regions (`sendfile`); nil with TLS.
    let fileRegions: FileRegionMarkers?

    static let root = "/dicom-web"
    static let explicitLittle = "1.2.840.10008.1.2.1"
    /// About how many bytes of a multipart body one write to the channel carries (WADO-RS instances).
    static let writeSize = 1 << 20
    /// Instances whose files are opened per trip to the pool when they are sent as file regions (the next four
    /// batches while the current one is written); a write to the channel goes out once it carries as many (so a
    /// connection holds at most about seven batches of descriptors: four being opened, one being written, one
    /// waiting in the writer, one queued in the channel up to its high watermark).
    static let regionBatch = 8

    func register(on router: Router<ArcaRequestContext>) {
        let r = Self.root
        // QIDO-RS
        router.get("\(r)/studies") { request, _ in try await search(.study, request) }
        router.get("\(r)/series") { request, _ in try await search(.series, request) }
        router.get("\(r)/instances") { request, _ in try await search(.image, request) }
        router.get("\(r)/studies/:study/series") { request, context in
            try await search(.series, request, study: try context.parameters.require("study"))
        }
        router.get("\(r)/studies/:study/instances") { request, context in
            try await search(.image, request, study: try context.parameters.require("study"))
        }
        router.get("\(r)/studies/:study/series/:series/instances") { request, context in
            try await search(.image, request, study: try context.parameters.require("study"), series: try context.parameters.require("series"))
        }
        // WADO-RS
        router.get("\(r)/studies/:study") { request, context in
            try await retrieve(request, try uids(context), channel: context.channel)
        }
        router.get("\(r)/studies/:study/series/:series") { request, context in
            try await retrieve(request, try uids(context), channel: context.channel)
        }
        router.get("\(r)/studies/:study/series/:series/instances/:instance") { request, context in
            try await retrieve(request, try uids(context), channel: context.channel)
        }
        for suffix in ["/studies/:study", "/studies/:study/series/:series", "/studies/:study/series/:series/instances/:instance"] {
            router.get("\(r)\(suffix)/metadata") { request, context in try await metadata(request, try uids(context)) }
            router.get("\(r)\(suffix)/rendered") { request, context in try await rendered(request, try uids(context), frames: nil, thumbnail: false) }
            router.get("\(r)\(suffix)/thumbnail") { request, context in try await rendered(request, try uids(context), frames: nil, thumbnail: true) }
        }
        router.get("\(r)/studies/:study/series/:series/instances/:instance/frames/:frames") { request, context in
            try await frames(request, try uids(context), list: try context.parameters.require("frames"))
        }
        router.get("\(r)/studies/:study/series/:series/instances/:instance/frames/:frames/rendered") { request, context in
            try await rendered(request, try uids(context), frames: try Self.frameList(try context.parameters.require("frames")), thumbnail: false)
        }
        router.get("\(r)/studies/:study/series/:series/instances/:instance/frames/:frames/thumbnail") { request, context in
            try await rendered(request, try uids(context), frames: try Self.frameList(try context.parameters.require("frames")), thumbnail: true)
        }
        router.get("\(r)/studies/:study/series/:series/instances/:instance/bulkdata/:tag") { request, context in
            try await bulkdata(request, try uids(context), tag: try context.parameters.require("tag"))
        }
        // STOW-RS
        router.post("\(r)/studies") { request, _ in try await store(request, study: nil) }
        router.post("\(r)/studies/:study") { request, context in try await store(request, study: try context.parameters.require("study")) }
        // WADO-URI
        router.get("/wado") { request, _ in try await wadoURI(request) }
    }

    /// The UIDs a path names, each checked: a UID becomes an SQL argument and a URL, never a path.
    struct UIDs: Sendable {
        var study: String
        var series: String?
        var instance: String?
        var level: QueryLevel { instance != nil ? .image : series != nil ? .series : .study }
    }

    func uids(_ context: ArcaRequestContext) throws -> UIDs {
        func check(_ name: String) throws -> String? {
            guard let v = context.parameters.get(name) else { return nil }
            guard UIDString.isValid(v) else { throw HTTPError(.badRequest, message: "\(name) \(v.prefix(70)) is not a UID") }
            return v
        }
        guard let study = try check("study") else { throw HTTPError(.badRequest, message: "no study") }
        return UIDs(study: study, series: try check("series"), instance: try check("instance"))
    }

    // MARK: - QIDO-RS

    func search(_ level: QueryLevel, _ request: Request, study: String? = nil, series: String? = nil) async throws -> Response {
        // The path's UIDs are checked as WADO-RS's are: a study that cannot exist is the client's error, not `[]`.
        for (name, uid) in [("study", study), ("series", series)] {
            if let uid, !UIDString.isValid(uid) { throw HTTPError(.badRequest, message: "\(name) \(uid.prefix(70)) is not a UID") }
        }
        let accept = MediaRange.parse(request.headers[.accept])
        guard accept.isEmpty || accept.contains(where: { $0.admits("application/dicom+json") || $0.admits("application/json") }) else {
            throw HTTPError(.notAcceptable, message: "QIDO-RS answers application/dicom+json")
        }
        let parameters = request.uri.queryParameters.map { (String($0.0), String($0.1)) }
        let qido = try QIDOQuery(parameters, level: level, study: study, series: series,
                                 maxParameters: configuration.maxQueryParameters)
        let query = qido.query
        var warnings = qido.warnings
        let base = Self.baseURL(request)
        let engine = services.engine
        // The JSON is written where the search ended: on this loop for a short search whose index pages are
        // cached, else on the I/O thread that read it (up to `maxResults` answers: not work for the loop).
        // Each answer's JSON is written from its values (no dataset built) unless it needs a character set chosen
        // or holds a sequence.
        let (body, truncated, count) = try await engine.findValues(query) { answers, truncated -> ([UInt8], Bool, Int) in
            let encoder = DICOMJSONEncoder()
            var body: [UInt8] = []
            body.reserveCapacity(answers.count * 600 + 2)
            body.append(UInt8(ascii: "["))
            for (n, answer) in answers.enumerated() {
                if n > 0 { body.append(UInt8(ascii: ",")) }
                if var elements = answer.flatASCIIElements {
                    // An empty Retrieve URL asked for by `includefield` is replaced, as `setString` replaces it below.
                    elements.removeAll { Self.notInQIDOAnswers.contains($0.tag) || $0.tag == .retrieveURL }
                    let url = Self.retrieveURL(base, level) { tag in elements.first { $0.tag == tag }?.uid }
                    let at = elements.firstIndex { $0.tag > .retrieveURL } ?? elements.endIndex
                    elements.insert(Element(tag: .retrieveURL, vr: .UR, bytes: Array(url.utf8)), at: at)
                    encoder.write(elements: elements, into: &body)
                } else {
                    var answer = answer.dataSet
                    for tag in Self.notInQIDOAnswers { answer.remove(tag) }
                    answer.setString(Self.retrieveURL(base, level) { answer.uid($0) }, for: .retrieveURL, vr: .UR)
                    encoder.write(answer, into: &body)
                }
            }
            body.append(UInt8(ascii: "]"))
            return (body, truncated, answers.count)
        }
        if truncated {
            warnings.append("the number of results exceeded the limit; request more with offset=\(query.offset + count)")
        }
        var headers: HTTPFields = [.contentType: "application/dicom+json"]
        if let warning = HTTPField.Name("Warning") {
            for w in warnings { headers.append(HTTPField(name: warning, value: "299 Arca \"\(w.replacingOccurrences(of: "\"", with: "'"))\"")) }
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// C-FIND's attributes that a QIDO-RS answer does not carry (its Retrieve URL says where instead).
    static let notInQIDOAnswers: [Tag] = [.queryRetrieveLevel, .specificCharacterSet, .retrieveAETitle]

    /// The Retrieve URL (0008,1190) of an answer at `level`, from its unique keys.
    static func retrieveURL(_ base: String, _ level: QueryLevel, uid: (Tag) -> String?) -> String {
        var url = base + "/studies/" + (uid(.studyInstanceUID) ?? "")
        if level >= .series, let s = uid(.seriesInstanceUID) { url += "/series/" + s }
        if level == .image, let i = uid(.sopInstanceUID) { url += "/instances/" + i }
        return url
    }

    /// The DICOMweb root as the client reached it (`Forwarded` / `X-Forwarded-*` when behind a proxy).
    static func baseURL(_ request: Request) -> String {
        let origin = PublicOrigin(request)
        return "\(origin.scheme)://\(origin.authority)\(root)"
    }

    // MARK: - WADO-RS instances

    /// The instances a path names (404 when none).
    func instances(_ uids: UIDs) async throws -> [ArchivedInstance] {
        var keys = [QueryKey(tag: .studyInstanceUID, vr: .UI, match: .single(uids.study))]
        if let s = uids.series { keys.append(QueryKey(tag: .seriesInstanceUID, vr: .UI, match: .single(s))) }
        if let i = uids.instance { keys.append(QueryKey(tag: .sopInstanceUID, vr: .UI, match: .single(i))) }
        let found = try await services.engine.instances(Query(model: .studyRoot, level: uids.level, keys: keys))
        guard !found.isEmpty else { throw HTTPError(.notFound, message: "no such \(uids.level == .image ? "instance" : uids.level == .series ? "series" : "study")") }
        return found
    }

    /// The transfer syntaxes the Accept ranges ask for in `multipart/related; type="application/dicom";
    /// transfer-syntax=…`, most preferred first: nil for `*` (as stored, `webSyntax`); Explicit VR Little Endian
    /// for a range that names none (PS3.18 8.7.3.5). A range naming Implicit VR Little Endian or Explicit VR Big
    /// Endian is passed over: web services do not use them (PS3.18 8.7.3).
    static func requestedSyntaxes(_ accept: [MediaRange]) throws -> [String?] {
        if accept.isEmpty { return [explicitLittle] }
        var out: [String?] = []
        for range in accept {
            let dicomPart = range.type == "multipart/related" && (range.parameters["type"].map { $0 == "application/dicom" } ?? true)
            guard dicomPart || range.type == "application/dicom" || range.type == "*/*" || range.type == "multipart/*" else { continue }
            guard let ts = range.parameters["transfer-syntax"] else { out.append(explicitLittle); continue }
            if ts == "*" { out.append(nil) } else if !notForTheWeb.contains(ts) { out.append(ts) }
        }
        guard !out.isEmpty else {
            throw HTTPError(.notAcceptable, message: "WADO-RS instances are multipart/related; type=\"application/dicom\" in a syntax other than Implicit VR Little Endian or Explicit VR Big Endian")
        }
        return out
    }

    /// Implicit VR Little Endian and Explicit VR Big Endian, which web services do not use (PS3.18 8.7.3).
    static let notForTheWeb: Set<String> = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.2"]

    /// What `transfer-syntax=*` sends an instance in: as stored, but Explicit VR Little Endian for the two
    /// syntaxes the web does not use.
    static func webSyntax(_ stored: String) -> String { notForTheWeb.contains(stored) ? explicitLittle : stored }

    func retrieve(_ request: Request, _ uids: UIDs, channel: any Channel) async throws -> Response {
        let asked = try Self.requestedSyntaxes(MediaRange.parse(request.headers[.accept]))
        let found = try await instances(uids)
        let reading = services.reading
        // The first syntax asked for that every instance can be sent in (PS3.18 8.7.5: an acceptable one, else 406).
        guard let target = asked.first(where: { t in found.allSatisfy { reading.canConvert(from: $0.transferSyntaxUID, to: t ?? Self.webSyntax($0.transferSyntaxUID)) } }) else {
            let stuck = found.first { !reading.canConvert(from: $0.transferSyntaxUID, to: asked[0] ?? Self.webSyntax($0.transferSyntaxUID)) }
            throw HTTPError(.notAcceptable, message: "\(stuck?.sopInstanceUID ?? "an instance") is stored in \(stuck?.transferSyntaxUID ?? "a syntax") and cannot be sent in any syntax asked for")
        }
        let syntax: @Sendable (ArchivedInstance) -> String = { target ?? Self.webSyntax($0.transferSyntaxUID) }
        let multipart = MultipartWriter()
        let body = ResponseBody { writer in
            // Buffers are gathered until about `writeSize` and written together: each write is a hop to the
            // channel's event loop, which costs more than a small part's header, its end and a small instance.
            // The instances' bytes are the buffers they were read into, never copied here.
            var pending: [ByteBuffer] = []
            var pendingBytes = 0
            var pendingRegions = 0
            // `region`: the buffer is a file region's marker, which counts as the region's bytes and as one of
            // the descriptors a write may carry (`regionBatch`).
            func add(_ buffer: ByteBuffer, region: StoredRegion? = nil) async throws {
                pending.append(buffer)
                pendingBytes += region?.length ?? buffer.readableBytes
                pendingRegions += region == nil ? 0 : 1
                if pendingBytes >= Self.writeSize || pendingRegions >= Self.regionBatch {
                    try await writer.write(contentsOf: pending)
                    pending.removeAll(keepingCapacity: true)
                    pendingBytes = 0
                    pendingRegions = 0
                }
            }
            // `meta`: the stored file meta information, for a Part-10 header made anew before the dataset; nil when
            // what `dataSet` sends is a whole Part-10 file as stored.
            func send(_ instance: ArchivedInstance, syntax: String, meta: DataSet?, _ dataSet: () async throws -> Void) async throws {
                var head = multipart.partHeader(contentType: "application/dicom; transfer-syntax=\(syntax)")
                if let meta { head.writeBytes(try Self.partTenHeader(instance, syntax: syntax, stored: meta)) }
                try await add(head)
                try await dataSet()
                try await add(multipart.partEnd)
            }
            if let markers = fileRegions, found.allSatisfy({ syntax($0) == $0.transferSyntaxUID }) {
                // Sent as stored: the files of a batch opened in one trip to the pool, each handed to the kernel
                // (a small one read in that trip): the whole file when it is a Part-10 file as Arca writes them
                // (every file ingest wrote), else its dataset after a header made here. One whose file turns out
                // to be in another syntax than its row says is read and converted as below.
                try await reading.forEachRegionBatch(found, batchSize: Self.regionBatch) { batch, regions in
                    for (instance, region) in zip(batch, regions) {
                        let syntax = syntax(instance)
                        if region.transferSyntax == syntax {
                            try await send(instance, syntax: syntax, meta: region.isWholeFile ? nil : region.meta) {
                                if let bytes = region.bytes {
                                    try await add(bytes)
                                } else {
                                    try await add(markers.marker(for: region, on: channel), region: region)
                                }
                            }
                        } else {
                            region.close()
                            let dataSet = try await reading.prepare(instance, in: syntax)
                            try await send(instance, syntax: syntax, meta: dataSet.meta) { try await dataSet.read { try await add($0) } }
                        }
                    }
                }
            } else {
                // Over TLS, or some instance to convert: the next instance is read (and converted) while the
                // current one is written.
                try await reading.forEachPrepared(found, in: syntax) { instance, prepared in
                    guard let prepared else { return true }
                    let syntax = syntax(instance)
                    let dataSet = try prepared.get()
                    try await send(instance, syntax: syntax, meta: dataSet.meta) { try await dataSet.read { try await add($0) } }
                    return true
                }
            }
            pending.append(multipart.closing)
            try await writer.write(contentsOf: pending)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: multipart.contentType(type: "application/dicom")], body: body)
    }

    /// Preamble, `DICM` and the meta information of a Part-10 file in `syntax` (Source AE Title kept).
    static func partTenHeader(_ instance: ArchivedInstance, syntax: String, stored meta: DataSet) throws -> [UInt8] {
        guard let ts = TransferSyntax(uid: syntax) else { throw HTTPError(.notAcceptable, message: "unknown transfer syntax \(syntax)") }
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + (try FileMeta.encode(FileMeta.make(
            sopClassUID: instance.sopClassUID, sopInstanceUID: instance.sopInstanceUID, transferSyntax: ts,
            sourceAETitle: meta.string(.sourceApplicationEntityTitle))))
    }

    // MARK: - Metadata and bulk data

    func metadata(_ request: Request, _ uids: UIDs) async throws -> Response {
        let accept = MediaRange.parse(request.headers[.accept])
        guard accept.isEmpty || accept.contains(where: { $0.admits("application/dicom+json") || $0.admits("application/json") }) else {
            throw HTTPError(.notAcceptable, message: "metadata is application/dicom+json")
        }
        let found = try await instances(uids)
        let base = Self.baseURL(request)
        let source = services.engine.source
        let cache = metadata
        let json = try await services.reading.threadPool.runIfActive { () -> String in
            var parts: [String] = []
            parts.reserveCapacity(found.count)
            for instance in found {
                parts.append(try cache.json(for: instance, base: base) {
                    try source.header(of: instance)
                })
            }
            return "[" + parts.joined(separator: ",") + "]"
        }
        return Response(status: .ok, headers: [.contentType: "application/dicom+json"], body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }

    func bulkdata(_ request: Request, _ uids: UIDs, tag text: String) async throws -> Response {
        guard let tag = QIDOQuery.tag(text) else { throw HTTPError(.badRequest, message: "\(text) is not a tag") }
        guard let instance = try await instances(uids).first else { throw HTTPError(.notFound) }
        if tag == .pixelData { return try await frames(request, uids, list: nil) }
        let source = services.engine.source
        let value = try await services.reading.threadPool.runIfActive { () -> [UInt8]? in
            let path = try source.filePath(of: instance)
            // Read up to the element asked for, and of the others only the short ones: the whole file (the pixel
            // data of a multi-frame instance) was read into memory for a value of a few kilobytes.
            var options = ParseOptions(stopBefore: Tag(rawValue: tag.rawValue &+ 1))
            options.skipValuesLongerThan = 64 << 10
            options.keepsValueOf = tag
            return try DICOMFile.read(path: path, options: options).dataSet[tag]?.bytes
        }
        guard let value else { throw HTTPError(.notFound, message: "no \(text) in the instance") }
        let multipart = MultipartWriter()
        var body = multipart.partHeader(contentType: "application/octet-stream")
        body.writeBytes(value)
        var end = multipart.partEnd
        body.writeBuffer(&end)
        var closing = multipart.closing
        body.writeBuffer(&closing)
        return Response(status: .ok, headers: [.contentType: multipart.contentType(type: "application/octet-stream")],
                        body: ResponseBody(byteBuffer: body))
    }

    // MARK: - Frames and rendered images

    static func frameList(_ text: String) throws -> [Int] {
        let list = text.split(separator: ",", omittingEmptySubsequences: false).map { Int(String($0).trimmed) ?? 0 }
        guard !list.isEmpty, list.count <= 10_000, list.allSatisfy({ $0 >= 1 }) else {
            throw HTTPError(.badRequest, message: "frames are 1-based numbers separated by commas")
        }
        return list
    }

    func pixels() throws -> any PixelRendering {
        guard let pixels = services.pixels else { throw HTTPError(.notImplemented, message: "no pixel pipeline in this server") }
        return pixels
    }

    /// How an instance's frames go out.
    enum FrameEncoding { case asStored, native }

    /// The first Accept range, most preferred first, that an instance's frames can be sent in (PS3.18 8.7.3-8.7.5):
    /// as stored for `transfer-syntax=*`, the stored syntax, or the stored syntax's media type (`image/jls` for
    /// JPEG-LS); decoded to native samples for `application/octet-stream` in Explicit VR Little Endian (the
    /// default). Frames are not re-encoded into another compressed syntax: a range asking for one is passed over,
    /// and with none left the answer is 406 (a client asking for JPEG 2000 got JPEG-LS bytes, or raw samples
    /// labelled as neither).
    static func frameEncoding(_ accept: [MediaRange], stored: String) -> FrameEncoding? {
        if accept.isEmpty { return .native }
        let storedType = frameMediaType(stored)
        for range in accept {
            let part: String?
            switch range.type {
            case "multipart/related": part = range.parameters["type"] ?? "application/octet-stream"
            case "*/*", "multipart/*": part = range.parameters["type"]
            case "application/octet-stream": part = range.type  // answered as multipart/related, as such clients expect
            default: continue
            }
            let ts = range.parameters["transfer-syntax"]
            // A part type may be a range too (`type="*/*"`, dicomweb-client's default, or `image/*`).
            let partRange = part.map { MediaRange(type: $0, parameters: [:]) }
            let admitsNative = partRange?.admits("application/octet-stream") ?? true
            let admitsStored = partRange?.admits(storedType) ?? true
            // `*`: as stored, but the two syntaxes the web does not use are decoded (PS3.18 8.7.3).
            if ts == "*" && (admitsStored || admitsNative) { return notForTheWeb.contains(stored) ? .native : .asStored }
            // The stored syntax named: as stored, whatever part type the range names (OHIF's
            // `requestTransferSyntaxUID` asks `type=application/octet-stream; transfer-syntax=<stored>`).
            if ts == stored && !notForTheWeb.contains(stored) { return .asStored }
            // No syntax named: the stored one when the type leaves the choice (`*/*`, `image/*`) or names the
            // stored syntax's media type and it is that type's default syntax (PS3.18 Table 8.7.3-2: `image/jpeg`
            // is baseline, which a browser decodes; lossless JPEG is not).
            if ts == nil, let part, admitsStored, storedType != "application/octet-stream",
               part.contains("*") || defaultSyntax(of: storedType) == stored { return .asStored }
            if admitsNative && (ts == nil || ts == explicitLittle) { return .native }
        }
        return nil
    }

    /// Frames as stored or decoded to native samples (`frameEncoding`), one part each, with no encapsulation
    /// items (CP-1509).
    func frames(_ request: Request, _ uids: UIDs, list text: String?) async throws -> Response {
        let pixels = try pixels()
        let asked = try text.map(Self.frameList)
        guard let instance = try await instances(uids).first else { throw HTTPError(.notFound) }
        guard let encoding = Self.frameEncoding(MediaRange.parse(request.headers[.accept]), stored: instance.transferSyntaxUID) else {
            throw HTTPError(.notAcceptable, message: "this instance's frames are multipart/related; type=\"\(Self.frameMediaType(instance.transferSyntaxUID))\" as stored (\(instance.transferSyntaxUID)) or type=\"application/octet-stream\" decoded")
        }
        let asStored = encoding == .asStored
        let source = services.engine.source
        let path = try await services.reading.threadPool.runIfActive { try source.filePath(of: instance) }
        let count = try await services.reading.threadPool.runIfActive { try pixels.numberOfFrames(path: path) }
        let numbers = asked ?? Array(1...max(1, count))
        guard numbers.allSatisfy({ $0 <= count }) else { throw HTTPError(.notFound, message: "the instance has \(count) frame(s)") }
        let multipart = MultipartWriter()
        let pool = services.reading.threadPool
        let partType = asStored ? Self.frameMediaType(instance.transferSyntaxUID) : "application/octet-stream"
        let body = ResponseBody { writer in
            for n in numbers {
                let bytes = try await pool.runIfActive { () -> [UInt8] in
                    asStored ? try pixels.storedFrame(path: path, frame: n - 1).bytes : try pixels.nativeFrame(path: path, frame: n - 1)
                }
                let suffix = asStored ? "; transfer-syntax=\(instance.transferSyntaxUID)" : ""
                try await writer.write(multipart.partHeader(contentType: partType + suffix))
                try await writer.write(ByteBuffer(bytes: bytes))
                try await writer.write(multipart.partEnd)
            }
            try await writer.write(multipart.closing)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: multipart.contentType(type: partType)], body: body)
    }

    /// The transfer syntax a frame media type means when none is named (PS3.18 Table 8.7.3-2).
    static func defaultSyntax(of mediaType: String) -> String? {
        switch mediaType {
        case "image/jpeg": return "1.2.840.10008.1.2.4.50"
        case "image/jls": return "1.2.840.10008.1.2.4.80"
        case "image/jp2": return "1.2.840.10008.1.2.4.90"
        case "image/jphc": return "1.2.840.10008.1.2.4.201"
        case "image/x-dicom-rle": return "1.2.840.10008.1.2.5"
        default: return nil
        }
    }

    /// The media type of a frame stored in `syntax` (PS3.18 Table 8.7.3-2).
    static func frameMediaType(_ syntax: String) -> String {
        switch syntax {
        case "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70": return "image/jpeg"
        case "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81": return "image/jls"
        case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91": return "image/jp2"
        case "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203": return "image/jphc"
        case "1.2.840.10008.1.2.5": return "image/x-dicom-rle"
        default: return "application/octet-stream"
        }
    }

    /// Rendered (PS3.18 10.4.1.1.3) and thumbnail (10.4.1.1.4): JPEG by default, PNG when asked; `window`,
    /// `viewport`, `quality`. An instance gives its first frame (or those listed); a series or study its middle
    /// instance for a thumbnail, every instance's first frame as multipart for rendered.
    func rendered(_ request: Request, _ uids: UIDs, frames: [Int]?, thumbnail: Bool) async throws -> Response {
        let pixels = try pixels()
        let params = request.uri.queryParameters
        guard let mediaType = Self.renderedType(MediaRange.parse(request.headers[.accept])) else {
            throw HTTPError(.notAcceptable, message: "rendered images are image/jpeg or image/png")
        }
        let png = mediaType == "image/png"
        let quality = try Self.quality(params["quality"].map(String.init))
        let window = try Self.window(params["window"].map(String.init))
        let viewport = try Self.viewport(params["viewport"].map(String.init)) ?? (thumbnail ? (128, 128) : nil)
        let found = try await instances(uids).filter { !$0.sopClassUID.hasPrefix("1.2.840.10008.5.1.4.1.1.88") }  // no pixels in SR
        guard !found.isEmpty else { throw HTTPError(.notFound, message: "nothing to render") }
        let source = services.engine.source
        let pool = services.reading.threadPool
        let renderOne: @Sendable (ArchivedInstance, Int) async throws -> [UInt8] = { instance, frame in
            try await pool.runIfActive {
                let path = try source.filePath(of: instance)
                return try pixels.render(path: path, frame: frame, window: window, viewport: viewport, jpeg: !png, quality: quality)
            }
        }
        // An instance's frames (all checked before the response starts), or the first frame of each instance of a
        // series or study; for their thumbnail the middle instance, or the nearest one with pixels.
        let single = thumbnail || uids.instance != nil && (frames?.count ?? 1) == 1
        var targets: [(ArchivedInstance, Int)]
        if uids.instance != nil {
            let asked = frames ?? [1]
            if asked.count > 1 {
                let count = try await pool.runIfActive { try pixels.numberOfFrames(path: try source.filePath(of: found[0])) }
                guard asked.allSatisfy({ $0 <= count }) else { throw HTTPError(.notFound, message: "the instance has \(count) frame(s)") }
            }
            targets = asked.map { (found[0], $0 - 1) }
        } else {
            let middle = found.count / 2
            targets = (thumbnail ? found.indices.sorted { (abs($0 - middle), $0) < (abs($1 - middle), $1) }.map { found[$0] } : found).map { ($0, 0) }
        }
        // The first image is made before anything is sent: a request with nothing to render gets its status (404
        // for an instance without pixels) instead of a 200 cut short. A series or a study passes over instances
        // without pixels (presentation states, documents).
        var next = 0
        var first: [UInt8]?
        while first == nil && next < targets.count {
            let (instance, frame) = targets[next]
            next += 1
            do {
                first = try await renderOne(instance, frame)
            } catch is NotInTheInstance where uids.instance == nil && next < targets.count {
                continue
            }
        }
        guard let first else { throw HTTPError(.notFound, message: "nothing to render") }
        if single {
            return Response(status: .ok, headers: [.contentType: mediaType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: first)))
        }
        let multipart = MultipartWriter()
        let rest = targets[next...]
        let skipsInstancesWithoutPixels = uids.instance == nil
        let body = ResponseBody { writer in
            func part(_ image: [UInt8]) async throws {
                try await writer.write(multipart.partHeader(contentType: mediaType))
                try await writer.write(ByteBuffer(bytes: image))
                try await writer.write(multipart.partEnd)
            }
            try await part(first)
            for (instance, frame) in rest {
                do {
                    try await part(try await renderOne(instance, frame))
                } catch is NotInTheInstance where skipsInstancesWithoutPixels {
                    continue
                }
            }
            try await writer.write(multipart.closing)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: multipart.contentType(type: mediaType)], body: body)
    }

    /// The image type of a rendered answer: the first Accept range, most preferred first, that admits PNG or JPEG,
    /// alone or as the parts of `multipart/related` (how series and studies are answered); JPEG when none is
    /// named; nil (406) when no range admits either.
    static func renderedType(_ accept: [MediaRange]) -> String? {
        if accept.isEmpty { return "image/jpeg" }
        for range in accept {
            let type = range.type == "multipart/related" ? range.parameters["type"] ?? "image/jpeg" : range.type
            if type == "image/png" { return "image/png" }
            if MediaRange(type: type, parameters: [:]).admits("image/jpeg") { return "image/jpeg" }
        }
        return nil
    }

    /// `quality`: 1 to 100 (out of range is clamped), 90 when absent; not a number is 400.
    static func quality(_ text: String?) throws -> Int {
        guard let text else { return 90 }
        guard let value = Int(text.trimmed) else { throw HTTPError(.badRequest, message: "quality is a number from 1 to 100") }
        return min(100, max(1, value))
    }

    static func window(_ text: String?) throws -> (Double, Double, String)? {
        guard let text else { return nil }
        let parts = text.split(separator: ",").map(String.init)
        // PS3.18 spells the exact function `linear-exact`; the VOI LUT Function's term (LINEAR_EXACT) is taken too.
        let function = parts.count > 2 ? parts[2].trimmed.lowercased().replacingOccurrences(of: "-", with: "_") : "linear"
        guard (2...3).contains(parts.count), let c = Double(parts[0]), let width = Double(parts[1]), width > 0,
              ["linear", "linear_exact", "sigmoid"].contains(function) else {
            throw HTTPError(.badRequest, message: "window is center,width[,linear|linear-exact|sigmoid]")
        }
        return (c, width, function)
    }

    static func viewport(_ text: String?) throws -> (Int, Int)? {
        guard let text else { return nil }
        let parts = text.split(separator: ",").compactMap { Int($0) }
        guard parts.count >= 2, (1...8192).contains(parts[0]), (1...8192).contains(parts[1]) else {
            throw HTTPError(.badRequest, message: "viewport is width,height (at most 8192)")
        }
        return (parts[0], parts[1])
    }

    // MARK: - WADO-URI

    func wadoURI(_ request: Request) async throws -> Response {
        let p = request.uri.queryParameters
        guard p["requestType"] == "WADO" else { throw HTTPError(.badRequest, message: "requestType must be WADO") }
        guard let study = p["studyUID"].map(String.init), let object = p["objectUID"].map(String.init) else {
            throw HTTPError(.badRequest, message: "studyUID and objectUID are required")
        }
        let uids = UIDs(study: study, series: p["seriesUID"].map(String.init), instance: object)
        for uid in [uids.study, uids.series, uids.instance].compactMap({ $0 }) where !UIDString.isValid(uid) {
            throw HTTPError(.badRequest, message: "\(uid.prefix(70)) is not a UID")
        }
        var keys = [QueryKey(tag: .studyInstanceUID, vr: .UI, match: .single(study)), QueryKey(tag: .sopInstanceUID, vr: .UI, match: .single(object))]
        if let s = uids.series { keys.append(QueryKey(tag: .seriesInstanceUID, vr: .UI, match: .single(s))) }
        guard let instance = try await services.engine.instances(Query(model: .studyRoot, level: .image, keys: keys)).first else {
            throw HTTPError(.notFound, message: "no such object")
        }
        // `contentType` is a list in order of preference (PS3.18 9.4.1.1); without it an image is answered as JPEG
        // and any other object as application/dicom (below, once rendering finds no pixels).
        let served = ["application/dicom", "image/jpeg", "image/png"]
        let named = p["contentType"].map { $0.split(separator: ",").map { String($0).trimmed.lowercased() } }
        let chosen = named.map { $0.first { type in served.contains { type.hasPrefix($0) } } ?? $0.first ?? "" }
        if chosen == nil, !instance.sopClassUID.hasPrefix("1.2.840.10008.5.1.4.1.1.88"),
           let image = try await wadoImage(request, instance, jpeg: true, asked: false) {
            return Response(status: .ok, headers: [.contentType: "image/jpeg"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: image)))
        }
        let contentType = chosen ?? "application/dicom"
        if contentType.hasPrefix("application/dicom") {
            // Explicit VR Little Endian unless another syntax is named (PS3.18 9.4.2.4), as WADO-RS; as stored when
            // it cannot be made (video, a private syntax, compressed without a pixel pipeline).
            let named = p["transferSyntax"].map(String.init)
            let syntax = named ?? (services.reading.canConvert(from: instance.transferSyntaxUID, to: Self.explicitLittle)
                ? Self.explicitLittle : instance.transferSyntaxUID)
            guard services.reading.canConvert(from: instance.transferSyntaxUID, to: syntax) else {
                throw HTTPError(.notAcceptable, message: "cannot send \(instance.transferSyntaxUID) as \(syntax)")
            }
            let prepared = try await services.reading.prepare(instance, in: syntax)
            let header = try Self.partTenHeader(instance, syntax: syntax, stored: prepared.meta)
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(bytes: header))
                try await prepared.read { try await writer.write($0) }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/dicom"], body: body)
        }
        guard contentType == "image/jpeg" || contentType == "image/png" else {
            throw HTTPError(.notAcceptable, message: "contentType \(contentType) is not served")
        }
        let image = try await wadoImage(request, instance, jpeg: contentType == "image/jpeg", asked: true) ?? []
        return Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: image)))
    }

    /// A WADO-URI rendered image. `asked`: the client named the type, so an instance without pixels is its 404;
    /// otherwise nil, and the object goes out as application/dicom.
    func wadoImage(_ request: Request, _ instance: ArchivedInstance, jpeg: Bool, asked: Bool) async throws -> [UInt8]? {
        let p = request.uri.queryParameters
        let pixels = try pixels()
        let center = p["windowCenter"].flatMap { Double($0) }, width = p["windowWidth"].flatMap { Double($0) }
        let window: (Double, Double, String)? = center.flatMap { c in width.flatMap { w in w > 0 ? (c, w, "linear") : nil } }
        let rows = p["rows"].flatMap { Int($0) }, columns = p["columns"].flatMap { Int($0) }
        let viewport: (Int, Int)? = rows == nil && columns == nil ? nil
            : (min(8192, max(1, columns ?? rows ?? 1)), min(8192, max(1, rows ?? columns ?? 1)))
        let frame = max(1, p["frameNumber"].flatMap { Int($0) } ?? 1) - 1
        let quality = p["imageQuality"].flatMap { Int($0) }.map { min(100, max(1, $0)) } ?? 90
        let source = services.engine.source
        do {
            return try await services.reading.threadPool.runIfActive {
                try pixels.render(path: try source.filePath(of: instance), frame: frame, window: window, viewport: viewport,
                                  jpeg: jpeg, quality: quality)
            }
        } catch let error as NotInTheInstance where !asked && error.what == .pixelData {
            return nil
        }
    }
}

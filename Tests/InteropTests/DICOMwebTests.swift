import ArcaServer
import DICOM
import DICOMNetwork
import Foundation
import NIOCore
import Testing
import TestSupport

@testable import DICOMweb

/// DICOMweb with clients written elsewhere (dicomweb-client, a browser through Selenium, prometheus_client)
/// and hostile HTTP requests.
@Suite(.serialized, .stopsServers) struct DICOMwebTests {
    static let interop = ExternalTool.repositoryRoot.appendingPathComponent("scripts/interop").path
    static let web = ExternalTool.repositoryRoot.appendingPathComponent("scripts/web").path

    /// dicomweb-client stores a study (STOW-RS), searches (QIDO-RS) and retrieves it (WADO-RS: instances,
    /// metadata, frames, rendered, thumbnail; WADO-URI): what comes back equals the files; a duplicate and an
    /// instance without Patient ID are refused with their reasons.
    @Test(.needs(.pydicom, .dicomwebClient)) func dicomwebClient() async throws {
        let study = try CTStudy.make(count: 4)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        let r = try await ExternalTool.runAsync("python3", [Self.interop + "/dicomweb-check.py", server.dicomweb] + study.files.map(\.path))
        #expect(r.status == 0, "\(r.stdout)\(r.stderr.suffix(2000))")
        #expect(r.stdout.contains("0 failed"))
    }

    /// A QIDO-RS answer names each attribute once, whatever `includefield` asks: Retrieve URL asked for is the
    /// answer's own (not an empty one beside it), group lengths and file meta elements never appear.
    @Test(.needs(.pydicom, .curl)) func qidoAnswersCarryEachKeyOnce() async throws {
        let study = try CTStudy.make(count: 2, rows: 16)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        try await QueryRetrieveInteropTests.store(study.files, into: server)
        for level in ["studies", "series", "instances"] {
            let url = server.dicomweb + "/\(level)?StudyInstanceUID=\(study.studyUID)&includefield=00081190&includefield=00100000"
                + "&includefield=00020010&includefield=RetrieveURL"
            let r = try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", url])
            #expect(r.status == 0, "\(r.stderr)")
            let answers = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
            #expect(answers.count == (level == "instances" ? 2 : 1))
            // Duplicate keys collapse in the parsed objects: count them in the text.
            #expect(r.stdout.components(separatedBy: "\"00081190\"").count - 1 == answers.count, "\(r.stdout.prefix(600))")
            #expect(!r.stdout.contains("\"00100000\"") && !r.stdout.contains("\"00020010\""), "\(r.stdout.prefix(600))")
            for answer in answers {
                let retrieve = (answer["00081190"] as? [String: Any])?["Value"] as? [String]
                #expect(retrieve?.first?.contains("/studies/\(study.studyUID)") == true, "\(answer)")
            }
        }
    }

    /// WADO-RS over plain HTTP hands the stored files to the kernel whole (`FileRegionHandler`): two retrievals
    /// of a series on one keep-alive connection both come back whole (curl, chunked), each part byte for byte an
    /// archived file, small instances (read, not regions) and large ones alike, and a client that hangs up
    /// mid-body leaves no descriptor open in the server.
    @Test(.needs(.pydicom, .curl)) func wadoFileRegionsCloseEveryDescriptor() async throws {
        // 40 × 512 KB: more than loopback's socket buffers hold, so the hang-up comes mid-body.
        let study = try CTStudy.make(count: 40, rows: 512)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let small = try CTStudy.make(count: 6, rows: 16)
        defer { try? FileManager.default.removeItem(at: small.folder) }
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        try await QueryRetrieveInteropTests.store(study.files + small.files, into: server)
        server.settle()
        let accept = "Accept: multipart/related; type=\"application/dicom\"; transfer-syntax=*"
        let series = server.dicomweb + "/studies/\(study.studyUID)/series/\(study.seriesUID)"
        let smallSeries = server.dicomweb + "/studies/\(small.studyUID)/series/\(small.seriesUID)"
        // The instance files of this server's archive the process holds open (the index's files and sockets come
        // and go with SQLite's readers and the connections; tests running beside this one open files of their own).
        let archivePath = server.archive.resolvingSymlinksInPath().path + "/"
        func openInstanceFiles() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)
            }.filter { $0.hasPrefix(archivePath) && $0.hasSuffix(".dcm") }
        }
        let stored = try study.files.reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int ?? 0) }
        _ = try await ExternalTool.runAsync("curl", ["-sf", "-H", accept, "-o", "/dev/null", series])
        let twice = try await ExternalTool.runAsync("curl", ["-sf", "-H", accept, "-w", "%{http_code} %{size_download} %{num_connects}\n",
                                                              "-o", "/dev/null", series, "-o", "/dev/null", series])
        let lines = twice.stdout.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int($0) } }
        #expect(twice.status == 0 && lines.count == 2, "\(twice.stdout)\(twice.stderr)")
        // Each part is the archived file plus framing: about the files' size, both times.
        #expect(lines.allSatisfy { $0.count == 3 && $0[0] == 200 && abs($0[1] - stored) < 40 * 1024 }, "\(lines), stored \(stored)")
        #expect(lines.map { $0.last ?? -1 } == [1, 0], "the second retrieval reused the connection: \(lines)")
        // Byte for byte: every part of both series is one of the archived files.
        let archived = Set(try server.archivedFiles().map { try Data(contentsOf: $0) })
        for url in [series, smallSeries] {
            let out = try ExternalTool.temporaryDirectory("wado-body")
            defer { try? FileManager.default.removeItem(at: out) }
            let got = try await ExternalTool.runAsync("curl", ["-sf", "-H", accept, "-D", out.path + "/head", "-o", out.path + "/body", url])
            #expect(got.status == 0, "\(got.stderr)")
            let head = (try? String(contentsOf: out.appendingPathComponent("head"), encoding: .utf8)) ?? ""
            let body = (try? Data(contentsOf: out.appendingPathComponent("body"))) ?? Data()
            let parts = Self.multipartParts(body, contentType: head)
            #expect(parts.count == (url == series ? 40 : 6) && Set(parts).count == parts.count)
            #expect(parts.allSatisfy { archived.contains($0) }, "a part is not an archived file")
        }
        _ = try await ExternalTool.runAsync("sh", ["-c", "curl -s -H '\(accept)' '\(series)' | head -c 100000 > /dev/null"])
        // The server learns of the hang-up when its next write fails: wait for that, boundedly.
        var open = openInstanceFiles()
        for _ in 0..<50 where !open.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            open = openInstanceFiles()
        }
        #expect(open.isEmpty, "instance files still open after the retrievals: \(open)")
    }

    /// WADO-RS bulk data of a value kept out of the metadata: the 3 MB private value before the pixel data comes
    /// back byte for byte (read up to that element, the pixel data not read), the metadata names it by URI, a
    /// tag the instance lacks is 404.
    @Test(.needs(.curl)) func bulkDataOfALongPrivateValue() async throws {
        var file = SampleImage.secondaryCapture()
        let value = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131) }
        file.dataSet.set(Element(tag: Tag(0x0009, 0x0010), vr: .LO, bytes: Array("ARCA TEST ".utf8)))
        file.dataSet.set(Element(tag: Tag(0x0009, 0x1010), vr: .OB, bytes: value))
        let dir = try ExternalTool.temporaryDirectory("arca-bulkdata")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("long.dcm")
        try FileWriter.write(try file.serialized(), to: url.path)
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        try await QueryRetrieveInteropTests.store([url], into: server)
        let ds = file.dataSet
        let instance = server.dicomweb + "/studies/\(ds.uid(.studyInstanceUID) ?? "")/series/\(ds.uid(.seriesInstanceUID) ?? "")"
            + "/instances/\(ds.uid(.sopInstanceUID) ?? "")"
        let metadata = try await ExternalTool.runAsync("curl", ["-sf", instance + "/metadata"])
        #expect(metadata.stdout.contains(#""BulkDataURI":"\#(instance)/bulkdata/00091010""#), "\(metadata.stdout.prefix(800))")
        let out = try ExternalTool.temporaryDirectory("bulkdata-body")
        defer { try? FileManager.default.removeItem(at: out) }
        let got = try await ExternalTool.runAsync("curl", ["-sf", "-D", out.path + "/head", "-o", out.path + "/body", instance + "/bulkdata/00091010"])
        #expect(got.status == 0, "\(got.stderr)")
        let head = (try? String(contentsOf: out.appendingPathComponent("head"), encoding: .utf8)) ?? ""
        let parts = Self.multipartParts((try? Data(contentsOf: out.appendingPathComponent("body"))) ?? Data(), contentType: head)
        #expect(parts.count == 1 && parts.first == Data(value))
        let missing = try await ExternalTool.runAsync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", instance + "/bulkdata/00091020"])
        #expect(missing.stdout == "404")
    }

    /// An image and, in its series, an instance without Pixel Data (what a presentation state or a document
    /// is), stored; the series' path and the two instances' paths.
    static func imageAndBareInstance(_ server: TestServer) async throws -> (series: String, image: String, bare: String, wado: String) {
        let image = SampleImage.secondaryCapture()
        var bareDataSet = image.dataSet
        bareDataSet.setString(String((image.dataSet.uid(.sopInstanceUID) ?? "").dropLast()) + "2", for: .sopInstanceUID, vr: .UI)
        bareDataSet.setString("2", for: .instanceNumber, vr: .IS)
        bareDataSet.removeAll(in: Tag.pixelData...Tag.pixelData)
        let bare = DICOMFile(dataSet: bareDataSet)
        let dir = try ExternalTool.temporaryDirectory("arca-bare")
        defer { try? FileManager.default.removeItem(at: dir) }
        var urls: [URL] = []
        for (name, file) in [("image.dcm", image), ("bare.dcm", bare)] {
            let url = dir.appendingPathComponent(name)
            try FileWriter.write(try file.serialized(), to: url.path)
            urls.append(url)
        }
        try await QueryRetrieveInteropTests.store(urls, into: server)
        let ds = image.dataSet
        let study = ds.uid(.studyInstanceUID) ?? "", seriesUID = ds.uid(.seriesInstanceUID) ?? ""
        let series = server.dicomweb + "/studies/\(study)/series/\(seriesUID)"
        let wado = server.dicomweb.replacingOccurrences(of: "/dicom-web", with: "") + "/wado?requestType=WADO&studyUID=\(study)&seriesUID=\(seriesUID)"
        return (series, series + "/instances/" + (ds.uid(.sopInstanceUID) ?? ""), series + "/instances/" + (bare.dataSet.uid(.sopInstanceUID) ?? ""),
                wado)
    }

    /// What curl gets: the status, the Content-Type, and curl's own exit status (18: a body cut short).
    static func fetch(_ url: String, _ headers: [String] = []) async throws -> (status: String, type: String, exit: Int32) {
        let r = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{content_type}", "--max-time", "30"]
                                                + headers.flatMap { ["-H", $0] } + [url])
        let words = r.stdout.split(separator: " ", maxSplits: 1).map(String.init)
        return (words.first ?? "", words.count > 1 ? words[1] : "", r.status)
    }

    /// Frames past the last and an instance without Pixel Data are the request's 404, answered before any of the
    /// body (a 500, or a 200 cut short, before); a list or a parameter that does not parse is 400; a series'
    /// rendered images and thumbnail pass over the instance without pixels; WADO-URI sends it as DICOM.
    @Test(.needs(.curl)) func framesAndPixelsAnInstanceLacks() async throws {
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        let (series, image, bare, wado) = try await Self.imageAndBareInstance(server)
        let imageUID = String(image.split(separator: "/").last ?? ""), bareUID = String(bare.split(separator: "/").last ?? "")
        for (path, expected) in [(image + "/frames/5/rendered", "404"), (image + "/frames/1,2/rendered", "404"), (image + "/frames/2", "404"),
                                 (image + "/frames/1,x", "400"), (image + "/rendered?quality=abc", "400"),
                                 (image + "/rendered?window=100,50,foo", "400"), (bare + "/rendered", "404"), (bare + "/thumbnail", "404"),
                                 (bare + "/frames/1", "404"), (bare + "/bulkdata/7FE00010", "404"),
                                 (wado + "&objectUID=\(imageUID)&frameNumber=9", "404")] {
            let got = try await Self.fetch(path)
            #expect(got.status == expected && got.exit == 0, "\(path): \(got)")
        }
        for path in [series + "/rendered", series + "/thumbnail", image + "/frames/1,1/rendered"] {
            let got = try await Self.fetch(path)
            #expect(got.status == "200" && got.exit == 0, "\(path): \(got)")
        }
        // The series' rendered images: the image's, and no part (nor a cut) for the instance without pixels.
        let out = try ExternalTool.temporaryDirectory("rendered-series")
        defer { try? FileManager.default.removeItem(at: out) }
        let rendered = try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", "-D", out.path + "/head", "-o", out.path + "/body", series + "/rendered"])
        #expect(rendered.status == 0)
        let head = (try? String(contentsOf: out.appendingPathComponent("head"), encoding: .utf8)) ?? ""
        let parts = Self.multipartParts((try? Data(contentsOf: out.appendingPathComponent("body"))) ?? Data(), contentType: head)
        #expect(parts.count == 1 && parts.first?.prefix(2) == Data([0xFF, 0xD8]), "\(parts.map(\.count))")
        #expect(try await Self.fetch(wado + "&objectUID=\(bareUID)").type == "application/dicom")
        #expect(try await Self.fetch(wado + "&objectUID=\(imageUID)").type == "image/jpeg")
        #expect(try await Self.fetch(wado + "&objectUID=\(imageUID)&contentType=image/png,image/jpeg").type == "image/png")
    }

    /// The Accept ranges are taken most preferred first, and the next is tried when one cannot be answered:
    /// q-values rank them; instances in a syntax they cannot be converted to fall to the next range; frames are
    /// sent in the media type asked for or refused (406), never in another one; the rendered images take
    /// multipart/related of an image type, as Arca answers a series.
    @Test(.needs(.curl)) func acceptRangesMostPreferredFirst() async throws {
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        let (series, image, _, _) = try await Self.imageAndBareInstance(server)
        let dicom = "multipart/related; type=\"application/dicom\""
        let cases: [(String, String, String, String)] = [
            (image, "\(dicom); transfer-syntax=1.2.840.10008.1.2.4.50, \(dicom); transfer-syntax=*", "200", "multipart/related"),
            (image, "\(dicom); transfer-syntax=1.2.840.10008.1.2", "406", ""),
            (image + "/rendered", "image/png, image/jpeg;q=0.5", "200", "image/png"),
            (image + "/rendered", "image/jpeg;q=0.4, image/png", "200", "image/png"),
            (image + "/rendered", "image/png;q=0, image/*", "200", "image/jpeg"),
            (series + "/rendered", "multipart/related; type=\"image/jpeg\"", "200", "multipart/related"),
            (image + "/frames/1", "multipart/related; type=\"image/jp2\"", "406", ""),
            (image + "/frames/1", "multipart/related; type=\"application/dicom\"", "406", ""),
            (image + "/frames/1", "multipart/related; type=\"image/jp2\", multipart/related; type=\"application/octet-stream\"", "200", "multipart/related"),
        ]
        for (url, accept, status, type) in cases {
            let got = try await Self.fetch(url, ["Accept: " + accept])
            #expect(got.status == status && got.type.hasPrefix(type), "\(url.suffix(30)) \(accept): \(got)")
        }
    }

    /// Frames of compressed and Big Endian instances in the media type asked for: the stored syntax named with an
    /// octet-stream part type (as OHIF asks) is as stored; a media type is as stored only for its default syntax;
    /// `transfer-syntax=*` decodes a syntax the web does not use. The three go in one association of `arca
    /// store`'s client, two of one SOP class in different syntaxes: the Big Endian one went out on the JPEG 2000
    /// context, its native pixels labelled JPEG 2000, and its frames were a 500.
    @Test(.needs(.pydicom, .curl)) func framesInTheMediaTypeAsked() async throws {
        let corpus = try Corpus.load()
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        let files = try corpus.files("j2k-multiframe.dcm", "jpeg-1frame.dcm", "multiframe-be.dcm")
        try await QueryRetrieveInteropTests.store(files, into: server)
        func frame(_ file: URL) throws -> String {
            let ds = try DICOMFile.read(path: file.path, options: .headerOnly).dataSet
            return server.dicomweb + "/studies/\(ds.uid(.studyInstanceUID) ?? "")/series/\(ds.uid(.seriesInstanceUID) ?? "")/instances/"
                + (ds.uid(.sopInstanceUID) ?? "") + "/frames/1"
        }
        let (j2k, jpeg, bigEndian) = (try frame(files[0]), try frame(files[1]), try frame(files[2]))
        let cases: [(String, String, String, String)] = [
            (j2k, "multipart/related; type=\"application/octet-stream\"; transfer-syntax=1.2.840.10008.1.2.4.90", "200", "image/jp2"),
            (j2k, "multipart/related; type=\"image/jp2\"", "200", "image/jp2"),
            (j2k, "multipart/related; type=\"image/jls\"", "406", ""),
            (j2k, "multipart/related; type=\"application/octet-stream\"", "200", "application/octet-stream"),
            (jpeg, "multipart/related; type=\"image/jpeg\"", "200", "image/jpeg"),
            (bigEndian, "multipart/related; type=\"application/octet-stream\"; transfer-syntax=*", "200", "application/octet-stream"),
        ]
        for (url, accept, status, part) in cases {
            let got = try await Self.fetch(url, ["Accept: " + accept])
            #expect(got.status == status && (part.isEmpty || got.type.contains("type=\"\(part)\"")), "\(accept): \(got)")
        }
    }

    /// QIDO-RS searches with no study (or series) in their path return that level's default attributes too
    /// (PS3.18 10.6.3.3.2-3), `includefield=all` every attribute the index holds, and a STOW-RS response always
    /// carries Retrieve URL (Type 2), empty when no one study holds what was stored.
    @Test(.needs(.curl)) func searchDefaultsAndStowRetrieveURL() async throws {
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        let (_, image, _, _) = try await Self.imageAndBareInstance(server)
        func answer(_ url: String) async throws -> [String: Any] {
            let r = try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", url])
            let answers = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
            return try #require(answers?.first, "\(url): \(r.stdout.prefix(300))")
        }
        let series = try await answer(server.dicomweb + "/series?limit=1")
        #expect(series["00100010"] != nil && series["00080020"] != nil, "\(series.keys.sorted())")  // Patient's Name, Study Date
        let instances = try await answer(server.dicomweb + "/instances?limit=1")
        #expect(instances["00080060"] != nil && instances["00200011"] != nil && instances["00100020"] != nil, "\(instances.keys.sorted())")
        let all = try await answer(server.dicomweb + "/studies?includefield=all")
        #expect((all["00081030"] as? [String: Any])?["Value"] as? [String] == ["Test Study"], "\(all.keys.sorted())")
        // A duplicate: every part fails, and the response still names Retrieve URL.
        let file = try ExternalTool.temporaryDirectory("stow-dup").appendingPathComponent("body")
        let instance = try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", "-H", "Accept: multipart/related; type=\"application/dicom\"; transfer-syntax=*",
                                                                         "-o", file.path + ".mp", "-D", file.path + ".head", image])
        #expect(instance.status == 0)
        let head = (try? String(contentsOf: URL(fileURLWithPath: file.path + ".head"), encoding: .utf8)) ?? ""
        let part = Self.multipartParts((try? Data(contentsOf: URL(fileURLWithPath: file.path + ".mp"))) ?? Data(), contentType: head).first ?? Data()
        try (Data("--b\r\nContent-Type: application/dicom\r\n\r\n".utf8) + part + Data("\r\n--b--\r\n".utf8)).write(to: file)
        let stow = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "-X", "POST", "-H",
                                                                     "Content-Type: multipart/related; type=\"Application/DICOM\"; boundary=b",
                                                                     "--data-binary", "@" + file.path, server.dicomweb + "/studies"])
        #expect(stow.stdout.hasSuffix("409") && stow.stdout.contains("\"00081190\""), "\(stow.stdout.prefix(600))")
        // A SOP class C-STORE would not negotiate (Verification) is refused by STOW-RS too: it was stored.
        var verification = SampleImage.secondaryCapture().dataSet
        verification.setString("1.2.840.10008.1.1", for: .sopClassUID, vr: .UI)
        try (Data("--b\r\nContent-Type: application/dicom\r\n\r\n".utf8) + Data(try DICOMFile(dataSet: verification).serialized())
             + Data("\r\n--b--\r\n".utf8)).write(to: file)
        let refused = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "-X", "POST", "-H",
                                                                        "Content-Type: multipart/related; type=\"application/dicom\"; boundary=b",
                                                                        "--data-binary", "@" + file.path, server.dicomweb + "/studies"])
        #expect(refused.stdout.hasSuffix("409") && refused.stdout.contains("290"), "\(refused.stdout.prefix(600))")
    }

    /// A page of a configured origin may call the API from a browser (CORS): its preflight is answered before
    /// authentication, and every answer to it names the origin; another origin gets no such header.
    @Test(.needs(.curl)) func crossOriginRequestsFromConfiguredOrigins() async throws {
        let server = try await TestServer.start(http: true) { $0.httpCORSOrigins = ["https://viewer.example.org"] }
        defer { Task { await server.stop() } }
        func headers(_ args: [String]) async throws -> String {
            try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-D", "-"] + args).stdout.lowercased()
        }
        let preflight = try await headers(["-X", "OPTIONS", "-H", "Origin: https://viewer.example.org", "-H", "Access-Control-Request-Method: GET",
                                           "-H", "Access-Control-Request-Headers: authorization", server.dicomweb + "/studies"])
        #expect(preflight.hasPrefix("http/1.1 204") && preflight.contains("access-control-allow-origin: https://viewer.example.org")
                && preflight.contains("access-control-allow-headers: authorization"), "\(preflight)")
        let get = try await headers(["-H", "Origin: https://viewer.example.org", server.dicomweb + "/studies"])
        #expect(get.hasPrefix("http/1.1 200") && get.contains("access-control-allow-origin: https://viewer.example.org"), "\(get)")
        let other = try await headers(["-H", "Origin: https://elsewhere.example", server.dicomweb + "/studies"])
        #expect(other.hasPrefix("http/1.1 200") && !other.contains("access-control-allow-origin"), "\(other)")
    }

    /// The parts' bodies of a multipart response, given the headers that name its boundary, read by the server's
    /// own `MultipartReader` (STOW-RS's): empty unless the body ends with its closing delimiter.
    static func multipartParts(_ body: Data, contentType head: String) -> [Data] {
        guard let range = head.range(of: "boundary=") else { return [] }
        var reader = MultipartReader(boundary: String(head[range.upperBound...].prefix { !$0.isWhitespace && $0 != ";" }))
        guard let events = try? reader.feed(ByteBuffer(bytes: body)), reader.isDone else { return [] }
        var parts: [Data] = []
        for event in events {
            switch event {
            case .partStart: parts.append(Data())
            case .bytes(let bytes) where !parts.isEmpty: parts[parts.count - 1].append(contentsOf: bytes.readableBytesView)
            case .bytes: break
            case .partEnd: break
            }
        }
        return parts
    }

    /// The C-FIND reference queries through QIDO-RS give the same matches as through C-FIND (patient-level and
    /// DIMSE-only queries are skipped by the checker, with their reason).
    @Test(.needs(.pydicom, .pynetdicom, .dcmtk)) func qidoMatchesTheReference() async throws {
        let qr = ExternalTool.repositoryRoot.appendingPathComponent("scripts/qr").path
        let corpus = try ExternalTool.temporaryDirectory("qr-corpus")
        defer { try? FileManager.default.removeItem(at: corpus) }
        #expect(try ExternalTool.run("python3", [qr + "/make-corpus.py", corpus.path]).status == 0)
        let server = try await TestServer.start(http: true) { $0.strictCalledAETitle = false }
        defer { Task { await server.stop() } }
        let files = try FileManager.default.subpathsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".dcm") }
            .map { corpus.appendingPathComponent($0) }
        try await QueryRetrieveInteropTests.store(files, into: server)
        let check = try await ExternalTool.runAsync("python3", [qr + "/check-find.py", "--corpus", corpus.path, "--via", "qido",
                                                                "--base-url", server.dicomweb, "--unknown-never-matches", "--page-size", "7"])
        #expect(check.status == 0, "\(check.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") || $0.hasPrefix("   ") }.joined(separator: "\n"))\(check.stderr)")
        #expect(check.stdout.contains(" 0 failed"), "\(check.stdout.suffix(300))")
    }

    /// The web page in headless Chromium: the list, a search, a study, thumbnails, the viewer (not blank),
    /// scrolling, dragging the window, an upload. Screenshots are kept in .build/test-artifacts/web.
    @Test(.needs(.pydicom, .browser)) func webPageInABrowser() async throws {
        let corpus = try ExternalTool.temporaryDirectory("web-corpus")
        defer { try? FileManager.default.removeItem(at: corpus) }
        let made = try ExternalTool.run("python3", [Self.web + "/make-studies.py", corpus.path])
        #expect(made.status == 0, "\(made.stderr)")
        var files = try FileManager.default.subpathsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".dcm") }.sorted()
            .map { corpus.appendingPathComponent($0) }
        guard let upload = files.popLast() else { Issue.record("no corpus"); return }
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        try await QueryRetrieveInteropTests.store(files, into: server)
        let shots = ExternalTool.repositoryRoot.appendingPathComponent(".build/test-artifacts/web")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let r = try await ExternalTool.runAsync("python3", [Self.web + "/page-test.py", "http://127.0.0.1:\(server.httpPort ?? 0)/",
                                                            shots.path, upload.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr.suffix(2000))")
        print("web page screenshots: \(shots.path)")
    }

    /// `/metrics` parses with prometheus_client's parser and its counters move as instances arrive; `/health`
    /// is ready. Through the `arca serve` binary, which collects metrics (tests in-process collect none).
    @Test(.needs(.pydicom, .prometheusClient, .curl)) func metricsAndHealth() async throws {
        let arca = ExternalTool.repositoryRoot.appendingPathComponent(".build/debug/arca").path
        guard ExternalTool.exists(arca) else { Issue.record(".build/debug/arca is not built: run `swift build` first"); return }
        let archive = try ExternalTool.temporaryDirectory("arca-metrics")
        defer { try? FileManager.default.removeItem(at: archive) }
        let dicomPort = TestServer.freePort(), httpPort = TestServer.freePort()
        let process = try await PynetdicomTests.startPeer(arca, ["serve", String(dicomPort), "--archive", archive.path, "--http-port", String(httpPort)],
                                                        port: dicomPort)
        defer { PynetdicomTests.stop(process) }
        let study = try CTStudy.make(count: 3)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let parse = """
            import sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            text = urllib.request.urlopen(sys.argv[1]).read().decode()
            stored = 0
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if s.name.startswith("arca_instances") and s.labels.get("status") == "0x0000": stored = s.value
            print(int(stored))
            """
        let url = "http://127.0.0.1:\(httpPort)/metrics"
        let before = try await ExternalTool.runAsync("python3", ["-c", parse, url])
        #expect(before.status == 0, "\(before.stderr)")
        let sent = try await StoreSCU(host: "127.0.0.1", port: dicomPort).send(study.files.map(\.path))
        #expect(sent.allSatisfy { $0.succeeded })
        let after = try await ExternalTool.runAsync("python3", ["-c", parse, url])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(Int(after.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == (Int(before.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -9) + 3,
                "\(before.stdout) -> \(after.stdout)")
        let health = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-w", " %{http_code}", "http://127.0.0.1:\(httpPort)/health"])
        #expect(health.stdout.hasSuffix(" 200"), "\(health.stdout)")
    }

    /// Requests no client should send: each answered with its status, nothing held, and the server goes on.
    @Test(.needs(.curl)) func hostileRequests() async throws {
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        let base = server.dicomweb
        func status(_ args: [String]) async throws -> String {
            try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30"] + args).stdout
        }
        // A multipart body that never closes its boundary.
        let unterminated = try ExternalTool.temporaryDirectory("stow-bad").appendingPathComponent("body")
        try Data("--x\r\nContent-Type: application/dicom\r\n\r\n".utf8 + Data(repeating: 0x41, count: 300_000)).write(to: unterminated)
        #expect(try await status(["-X", "POST", "-H", "Content-Type: multipart/related; type=\"application/dicom\"; boundary=x",
                                  "--data-binary", "@" + unterminated.path, base + "/studies"]) == "400")
        // Not multipart at all, and a multipart of another type.
        #expect(try await status(["-X", "POST", "-H", "Content-Type: application/json", "--data", "{}", base + "/studies"]) == "415")
        #expect(try await status(["-X", "POST", "-H", "Content-Type: multipart/related; type=\"application/dicom\"",
                                  "--data", "x", base + "/studies"]) == "400")
        // A part that is not DICOM: refused (409), nothing stored.
        #expect(try await status(["-X", "POST", "-H", "Content-Type: multipart/related; type=\"application/dicom\"; boundary=b",
                                  "--data-binary", "--b\r\nContent-Type: application/dicom\r\n\r\nhello\r\n--b--\r\n", base + "/studies"]) == "409")
        // 10,000 query parameters; a malformed range; a path that is not a UID; a frame 0.
        let many = (0..<10_000).map { "x=\($0 % 10)" }.joined(separator: "&")
        let manyStatus = try await status([base + "/studies?" + many])
        #expect(manyStatus == "400" || manyStatus == "414" || manyStatus == "431", "\(manyStatus)")
        #expect(try await status([base + "/studies?StudyDate=2024-01-01"]) == "400")
        #expect(try await status([base + "/studies/..%2F..%2Fetc"]) == "400")
        #expect(try await status([base + "/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/frames/0"]) == "400")
        #expect(try await status(["-H", "Accept: application/xml", base + "/studies"]) == "406")
        #expect(try await status([base + "/studies/1.2.3"]) == "404")
        // A path's study that is not a UID, and a number that is not one: 400, not an empty answer.
        #expect(try await status([base + "/studies/not-a-uid/series"]) == "400")
        #expect(try await status([base + "/series?SeriesNumber=abc"]) == "400")
        // HEAD is answered as GET without a body (it was 404 on every route), and every answer says nosniff.
        #expect(try await status(["-I", base + "/studies"]) == "200")
        let head = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-I", base + "/studies"]).stdout.lowercased()
        #expect(head.contains("content-length: 2"), "\(head)")  // what GET sends: []
        #expect(try await status(["-I", base + "/studies/1.2.3"]) == "404")
        for url in [base + "/studies", base + "/studies/1.2.3", base.replacingOccurrences(of: "/dicom-web", with: "/")] {
            let headers = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-D", "-", url]).stdout.lowercased()
            #expect(headers.contains("x-content-type-options: nosniff"), "\(url): \(headers)")
        }
        // A Content-Length of 10 GB with a short body: the server reads what comes, holds nothing, and serves on.
        let huge = try await ExternalTool.runAsync("/bin/bash", ["-c", """
            exec 3<>/dev/tcp/127.0.0.1/\(server.httpPort ?? 0)
            printf 'POST /dicom-web/studies HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: multipart/related; type="application/dicom"; boundary=x\\r\\nContent-Length: 10737418240\\r\\n\\r\\n--x\\r\\n\\r\\nabc' >&3
            exec 3>&-
            """])
        #expect(huge.status == 0)
        #expect(try await status([base + "/studies"]) == "200")
        #expect(try await server.echo() == .success)
    }
}

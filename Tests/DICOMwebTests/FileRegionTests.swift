import DICOM
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Archive
@testable import DICOMweb

/// WADO-RS's file regions: a marker becomes its region just before the encoder, nothing else does, and every
/// region's descriptor is closed whether it was sent or its connection went away first.
@Suite struct FileRegionTests {
    /// A region of 100 bytes at offset 28 of a fresh file.
    static func region() throws -> StoredRegion {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 128))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0)
        return StoredRegion(handle: NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd), offset: 28, length: 100,
                            transferSyntax: "1.2.840.10008.1.2.1", meta: DataSet())
    }

    static func channel(_ markers: FileRegionMarkers) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: FileRegionHandler(markers: markers))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func aMarkerIsSentAsItsRegionAndClosedOnceWritten() throws {
        let markers = FileRegionMarkers()
        let channel = try Self.channel(markers)
        let region = try Self.region()
        let marker = markers.marker(for: region, on: channel)
        #expect(marker.readableBytes == FileRegionMarkers.markerSize)
        try channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(marker))).wait()
        guard case .body(.fileRegion(let sent)) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("the marker was not replaced by a file region")
            return
        }
        #expect(sent.readerIndex == 28 && sent.endIndex == 128)
        #expect(!region.isOpen)
        #expect(markers.pending == 0)
        _ = try channel.finish()
    }

    @Test func otherBuffersPassUnchanged() throws {
        let markers = FileRegionMarkers()
        let channel = try Self.channel(markers)
        let region = try Self.region()
        var forged = markers.marker(for: region, on: channel)
        // The same number under another key, and a buffer of the marker's size: both are body bytes.
        forged.setInteger(forged.getInteger(at: 0, as: UInt64.self).map { $0 ^ 1 } ?? 0, at: 0)
        let plain = ByteBuffer(bytes: [UInt8](repeating: 1, count: FileRegionMarkers.markerSize))
        for buffer in [forged, plain] {
            try channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).wait()
            #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .body(.byteBuffer(buffer)))
        }
        #expect(region.isOpen && markers.pending == 1)
        // Closing the connection closes what was registered for it and never sent.
        _ = try channel.finish()
        #expect(!region.isOpen && markers.pending == 0)
    }

    @Test func aMarkerIsTakenOnlyOnItsOwnConnection() throws {
        let markers = FileRegionMarkers()
        let mine = try Self.channel(markers), other = try Self.channel(markers)
        let region = try Self.region()
        let marker = markers.marker(for: region, on: mine)
        try other.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(marker))).wait()
        #expect(try other.readOutbound(as: HTTPServerResponsePart.self) == .body(.byteBuffer(marker)))
        #expect(region.isOpen && markers.pending == 1)
        _ = try other.finish()
        _ = try mine.finish()
        #expect(!region.isOpen && markers.pending == 0)
    }

    @Test func aRegionForAClosedConnectionIsClosedAtOnce() throws {
        let markers = FileRegionMarkers()
        let channel = EmbeddedChannel()
        let region = try Self.region()
        _ = markers.marker(for: region, on: channel)
        #expect(!region.isOpen && markers.pending == 0)
    }
}

/// WADO-RS opens the files of several batches ahead on the pool: whichever batch's opens end first, `body`
/// gets the batches in order, each region the file of its own instance.
@Suite struct RegionBatchTests {
    @Test(arguments: [0, 1, 4]) func batchesComeInOrderWhateverOpensFirst(ahead: Int) async throws {
        let folder = NSTemporaryDirectory() + "region-batches-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var instances: [ArchivedInstance] = []
        for n in 0..<23 {
            var ds = DataSet()
            ds.setString("1.2.840.10008.5.1.4.1.1.7", for: .sopClassUID, vr: .UI)
            ds.setString("1.2.3.\(n)", for: .sopInstanceUID, vr: .UI)
            // Every third dataset above the inline limit, so regions and read bytes mix.
            ds.set(Element(tag: Tag(0x0009, 0x1010), vr: .OB, bytes: [UInt8](repeating: UInt8(n), count: n % 3 == 0 ? 70_000 : 100)))
            let bytes = try DICOMFile(dataSet: ds).serialized()
            FileManager.default.createFile(atPath: folder + "/\(n).dcm", contents: Data(bytes))
            instances.append(ArchivedInstance(sopInstanceUID: "1.2.3.\(n)", sopClassUID: "1.2.840.10008.5.1.4.1.1.7",
                                              transferSyntaxUID: "1.2.840.10008.1.2.1", location: "\(n).dcm", size: UInt64(bytes.count), hash: ""))
        }
        /// Opens slowly for the first batch, so a later batch is ready first when several are opened at once.
        struct SlowFirst: InstanceSource {
            let inner: ArchiveInstanceSource
            func header(at location: String) throws -> DataSet { try inner.header(at: location) }
            func open(_ location: String) throws -> any StoredInstanceReader { try inner.open(location) }
            func isIntact(_ location: String, hash: String) throws -> Bool { true }
            func filePath(_ location: String) throws -> String {
                if ["0.dcm", "1.dcm", "2.dcm"].contains(location) { usleep(30_000) }
                return try inner.filePath(location)
            }
        }
        let reading = InstanceReading(source: SlowFirst(inner: ArchiveInstanceSource(root: folder)))
        var seen: [String] = []
        try await reading.forEachRegionBatch(instances, batchSize: 3, ahead: ahead) { batch, regions in
            #expect(regions.count == batch.count)
            for (instance, region) in zip(batch, regions) {
                // A file as Arca writes them: the whole file, from its first byte, or its bytes when read.
                let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + instance.location)))
                #expect(region.isWholeFile && region.offset == 0 && region.length == file.count)
                if let bytes = region.bytes { #expect(Array(bytes.readableBytesView) == file) }
                #expect(region.meta.uid(.mediaStorageSOPInstanceUID) == instance.sopInstanceUID)
                // The large ones are sent as file regions, the small ones read.
                let large = Int(instance.location.dropLast(4)).map { $0 % 3 == 0 } ?? false
                #expect((region.bytes == nil) == large, "\(instance.location)")
                region.close()
            }
            seen += batch.map(\.sopInstanceUID)
        }
        #expect(seen == instances.map(\.sopInstanceUID))
    }

    /// A file that is not a Part-10 file as Arca writes it is sent as its dataset, after a header made anew: one
    /// with something in its preamble, one whose meta header names another syntax than its dataset is in, one
    /// whose meta names another SOP instance than its row, one whose group length says more than the meta
    /// holds, one without a preamble, one without preamble or meta.
    @Test(arguments: ["preamble", "syntax", "uid", "group length", "no preamble", "bare"])
    func anyOtherFileIsItsDataSet(kind: String) async throws {
        let folder = NSTemporaryDirectory() + "region-other-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var ds = DataSet()
        ds.setString("1.2.840.10008.5.1.4.1.1.7", for: .sopClassUID, vr: .UI)
        ds.setString("1.2.3.4", for: .sopInstanceUID, vr: .UI)
        ds.set(Element(tag: Tag(0x0009, 0x1010), vr: .OB, bytes: [UInt8](repeating: 5, count: 70_000)))
        var bytes = try DICOMFile(dataSet: ds).serialized()
        let plain = try DICOMFile.read(bytes)
        let dataSetBytes = try DataSetWriter.encode(ds, syntax: .explicitVRLittleEndian)
        switch kind {
        case "preamble": bytes[0] = 0x4D
        case "syntax":
            // The meta header says Implicit VR, the dataset is Explicit.
            var meta = plain.meta
            meta.setString("1.2.840.10008.1.2", for: .transferSyntaxUID, vr: .UI)
            bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + (try FileMeta.encode(meta)) + dataSetBytes
        case "uid":
            var meta = plain.meta
            meta.setString("1.2.3.5", for: .mediaStorageSOPInstanceUID, vr: .UI)
            bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + (try FileMeta.encode(meta)) + dataSetBytes
        case "group length":
            // The meta's elements as they are, its group length 8 bytes longer (a parser trusting it would read
            // into the dataset).
            var header = try FileMeta.encode(plain.meta)
            let stated = UInt32(header[8]) | UInt32(header[9]) << 8 | UInt32(header[10]) << 16 | UInt32(header[11]) << 24
            withUnsafeBytes(of: (stated + 8).littleEndian) { header.replaceSubrange(8..<12, with: $0) }
            bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + header + dataSetBytes
        case "no preamble": bytes = Array(bytes.dropFirst(132))
        default: bytes = dataSetBytes
        }
        FileManager.default.createFile(atPath: folder + "/a.dcm", contents: Data(bytes))
        let instance = ArchivedInstance(sopInstanceUID: "1.2.3.4", sopClassUID: "1.2.840.10008.5.1.4.1.1.7",
                                        transferSyntaxUID: "1.2.840.10008.1.2.1", location: "a.dcm", size: UInt64(bytes.count), hash: "")
        let regions = try await InstanceReading(source: ArchiveInstanceSource(root: folder)).regions([instance][...])
        let region = try #require(regions.first)
        #expect(!region.isWholeFile)
        #expect(region.transferSyntax == "1.2.840.10008.1.2.1")
        #expect(region.offset == bytes.count - dataSetBytes.count && region.length == dataSetBytes.count)
        region.close()
    }
}

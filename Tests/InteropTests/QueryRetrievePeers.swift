import DICOM
import DICOMNetwork
import Foundation
import TestSupport

/// The peers the query/retrieve tests start: Orthanc (REST on loopback) and DCMTK's dcmqrscp, each in a
/// temporary folder, knowing Arca's AE titles.
struct OrthancPeer {
    let process: Process
    let folder: URL
    let dicomPort: Int
    let httpPort: Int

    static var isInstalled: Bool { ExternalTool.exists("/usr/sbin/Orthanc") && ExternalTool.exists("/usr/bin/curl") }

    /// `modalities`: AE title → port on 127.0.0.1, the peers Orthanc may query, move to and from (each known to
    /// its REST API by its AE title in lower case). `dicomWebServers`: name → base URL of the DICOMweb servers
    /// its DICOMweb plugin may call (the plugin is loaded only with some).
    /// Started again on other ports (three tries) when its REST API does not answer within 30 s: the kernel's free
    /// port may be taken by the time Orthanc binds it (its HTTP server then fails after its DICOM port listens).
    static func start(modalities: [String: Int], dicomWebServers: [String: String] = [:]) async throws -> OrthancPeer {
        for _ in 0..<2 {
            let peer = try await startOnce(modalities: modalities, dicomWebServers: dicomWebServers)
            if await peer.answers(within: .seconds(30)) { return peer }
            peer.stop()
        }
        let peer = try await startOnce(modalities: modalities, dicomWebServers: dicomWebServers)
        guard await peer.answers(within: .seconds(30)) else {
            peer.stop()
            throw AssociationError("Orthanc's REST API did not answer on port \(peer.httpPort) within 30 s (three tries)")
        }
        return peer
    }

    /// Whether `/system` answers within `limit`, looked at every 100 ms while the process runs.
    func answers(within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline && process.isRunning {
            if (try? get("/system")) != nil { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    private static func startOnce(modalities: [String: Int], dicomWebServers: [String: String]) async throws -> OrthancPeer {
        let folder = try ExternalTool.temporaryDirectory("orthanc")
        let dicomPort = PynetdicomTests.freePort(), httpPort = PynetdicomTests.freePort()
        var entries: [String: Any] = [:]
        for (ae, port) in modalities { entries[ae.lowercased()] = [ae, "127.0.0.1", port] }
        var config: [String: Any] = [
            "Name": "arca-test", "StorageDirectory": folder.path + "/storage", "IndexDirectory": folder.path + "/storage",
            "DicomAet": "ORTHANC", "DicomPort": dicomPort, "HttpPort": httpPort, "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false, "DicomAlwaysAllowStore": true, "DicomAlwaysAllowFind": true, "DicomAlwaysAllowMove": true,
            "DicomAlwaysAllowGet": true, "DicomAlwaysAllowEcho": true, "DicomCheckCalledAet": false, "Plugins": [String](),
            "DefaultEncoding": "Utf8", "DicomModalities": entries, "ConcurrentJobs": 1, "SynchronousCMove": true,
        ]
        if !dicomWebServers.isEmpty {
            config["Plugins"] = [OrthancPlugin.dicomWeb]
            config["DicomWeb"] = ["Enable": true, "Root": "/dicom-web/", "Servers": dicomWebServers.mapValues { [$0] }] as [String: Any]
        }
        let path = folder.appendingPathComponent("orthanc.json")
        try JSONSerialization.data(withJSONObject: config).write(to: path)
        let process = try await PynetdicomTests.startPeer("/usr/sbin/Orthanc", [path.path], port: dicomPort)
        return OrthancPeer(process: process, folder: folder, dicomPort: dicomPort, httpPort: httpPort)
    }

    func stop() {
        PynetdicomTests.stop(process)
        try? FileManager.default.removeItem(at: folder)
    }

    func get(_ path: String) throws -> Any {
        try json(ExternalTool.run("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(httpPort)\(path)"]))
    }

    func post(_ path: String, _ body: String) async throws -> Any {
        try json(try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", "-X", "POST", "--data-binary", body,
                                                                   "http://127.0.0.1:\(httpPort)\(path)"]))
    }

    /// A DICOM file given to Orthanc (`POST /instances`).
    func upload(_ file: URL) async throws -> Any {
        try json(try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", "-X", "POST", "--data-binary", "@" + file.path,
                                                                   "http://127.0.0.1:\(httpPort)/instances"]))
    }

    func delete(_ path: String) async throws -> Any {
        try json(try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", "-X", "DELETE", "http://127.0.0.1:\(httpPort)\(path)"]))
    }

    /// A resource's bytes (a stored file: `/instances/{id}/file`).
    func download(_ path: String) async throws -> [UInt8] {
        let out = folder.appendingPathComponent("download-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", "-o", out.path, "http://127.0.0.1:\(httpPort)\(path)"])
        guard r.status == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "curl: \(r.status) \(r.stderr)"]) }
        return Array(try Data(contentsOf: out))
    }

    func put(_ path: String, _ body: String) async throws -> Any {
        try json(try await ExternalTool.runAsync("/usr/bin/curl", ["-sf", "-X", "PUT", "--data-binary", body,
                                                                   "http://127.0.0.1:\(httpPort)\(path)"]))
    }

    private func json(_ r: ExternalTool.Result) throws -> Any {
        guard r.status == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "curl: \(r.status) \(r.stderr)"]) }
        if r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return NSNull() }
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8), options: [.fragmentsAllowed])
    }

    /// The SOP Instance UIDs Orthanc holds.
    func instanceUIDs() throws -> Set<String> {
        guard let ids = try get("/instances?expand") as? [[String: Any]] else { return [] }
        return Set(ids.compactMap { ($0["MainDicomTags"] as? [String: Any])?["SOPInstanceUID"] as? String })
    }
}

/// DCMTK's query/retrieve SCP with one AE (DCMQRSCP) over its own storage area.
struct DCMQRSCPPeer {
    let process: Process
    let folder: URL
    let port: Int

    static var isInstalled: Bool { ExternalTool.exists("/usr/bin/dcmqrscp") }

    static func start(hosts: [String: Int]) async throws -> DCMQRSCPPeer {
        let folder = try ExternalTool.temporaryDirectory("dcmqrscp")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("db"), withIntermediateDirectories: true)
        let port = PynetdicomTests.freePort()
        let hostLines = hosts.map { "\($0.key.lowercased()) = (\($0.key), localhost, \($0.value))" }.joined(separator: "\n")
        let config = """
            NetworkTCPPort = \(port)
            MaxPDUSize = 131072
            MaxAssociations = 16
            HostTable BEGIN
            \(hostLines)
            HostTable END
            VendorTable BEGIN
            VendorTable END
            AETable BEGIN
            DCMQRSCP \(folder.path)/db RW (200, 1024mb) ANY
            AETable END

            """
        let path = folder.appendingPathComponent("dcmqrscp.cfg")
        try config.write(to: path, atomically: true, encoding: .utf8)
        let process = try await PynetdicomTests.startPeer("/usr/bin/dcmqrscp", ["-c", path.path], port: port)
        return DCMQRSCPPeer(process: process, folder: folder, port: port)
    }

    func stop() {
        PynetdicomTests.stop(process)
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A small CT study made by `scripts/gen-ct.py`: `count` slices of `rows`² pixels.
struct CTStudy {
    let folder: URL
    let files: [URL]
    let studyUID: String

    static func make(count: Int = 8, rows: Int = 64) throws -> CTStudy {
        let folder = try ExternalTool.temporaryDirectory("ct")
        let uid = UIDGenerator.make()
        let script = ExternalTool.repositoryRoot.appendingPathComponent("scripts/gen-ct.py").path
        let r = try ExternalTool.run("python3", [script, String(count), folder.path, String(rows), uid])
        guard r.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "dcm" }.sorted { $0.path < $1.path }
        return CTStudy(folder: folder, files: files, studyUID: uid)
    }

    /// SOP Instance UID → dataset of each file.
    func dataSets() throws -> [String: DataSet] {
        var out: [String: DataSet] = [:]
        for f in files {
            let ds = try DICOMFile.read(path: f.path).dataSet
            out[ds.uid(.sopInstanceUID) ?? ""] = ds
        }
        return out
    }

    var seriesUID: String { (try? DICOMFile.read(path: files[0].path, options: .headerOnly).dataSet.uid(.seriesInstanceUID)) ?? "" }
    var firstInstanceUID: String { (try? DICOMFile.read(path: files[0].path, options: .headerOnly).dataSet.uid(.sopInstanceUID)) ?? "" }
}

/// The datasets of the DICOM files in a folder, by SOP Instance UID.
func receivedDataSets(_ folder: URL) throws -> [String: DataSet] {
    var out: [String: DataSet] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where !name.hasPrefix(".") {
        guard let ds = try? DICOMFile.read(path: folder.path + "/" + name).dataSet else { continue }
        out[ds.uid(.sopInstanceUID) ?? name] = ds
    }
    return out
}

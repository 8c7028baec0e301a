import DICOM
import Foundation
import Testing
import TestSupport

/// Orthanc's DICOMweb plugin (`orthanc-dicomweb`) as a client of Arca's DICOMweb server: it sends a study it
/// holds with STOW-RS, queries it through its QIDO-RS proxy, and retrieves it back with WADO-RS, the pixels
/// unchanged.
@Suite(.stopsServers) struct OrthancDICOMwebTests {
    static func body(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test(.needs(.orthanc, .orthancDICOMweb, .curl, .pydicom)) func orthancStoresQueriesAndRetrievesThroughDICOMweb() async throws {
        let study = try CTStudy.make(count: 3)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let sent = try study.dataSets()
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        let orthanc = try await OrthancPeer.start(modalities: [:], dicomWebServers: ["arca": server.dicomweb + "/"])
        defer { orthanc.stop() }
        var orthancStudy: String?
        for file in study.files { orthancStudy = (try await orthanc.upload(file) as? [String: Any])?["ParentStudy"] as? String }
        let studyID = try #require(orthancStudy)

        // STOW-RS: Orthanc sends the study to Arca.
        let stow = try await orthanc.post("/dicom-web/servers/arca/stow", Self.body(["Resources": [studyID]])) as? [String: Any]
        #expect(stow?["InstancesCount"] as? String == "3", "\(String(describing: stow))")

        // QIDO-RS through Orthanc's proxy: the study, with its three instances.
        let query = ["Uri": "/studies", "Arguments": ["StudyInstanceUID": study.studyUID, "includefield": "00201208"]] as [String: Any]
        let studies = try await orthanc.post("/dicom-web/servers/arca/get", Self.body(query)) as? [[String: Any]]
        #expect(studies?.count == 1)
        let count = (studies?.first?["00201208"] as? [String: Any])?["Value"] as? [Any]
        #expect(count.flatMap { $0.first as? Int } == 3, "\(String(describing: studies))")

        // WADO-RS: deleted from Orthanc, then retrieved from Arca.
        _ = try await orthanc.delete("/studies/\(studyID)")
        #expect(try orthanc.instanceUIDs().isEmpty)
        let retrieve = try await orthanc.post("/dicom-web/servers/arca/retrieve",
                                              Self.body(["Resources": [["Study": study.studyUID]]])) as? [String: Any]
        #expect(retrieve?["ReceivedInstancesCount"] as? String == "3", "\(String(describing: retrieve))")
        #expect(try orthanc.instanceUIDs() == Set(sent.keys))
        for id in try #require(try orthanc.get("/instances") as? [String]) {
            let back = try DICOMFile.read(try await orthanc.download("/instances/\(id)/file")).dataSet
            let uid = try #require(back.uid(.sopInstanceUID))
            #expect(back[.pixelData]?.bytes == sent[uid]?[.pixelData]?.bytes, "\(uid): pixels differ")
            #expect(back.string(.patientName) == sent[uid]?.string(.patientName))
        }
    }
}

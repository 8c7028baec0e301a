import Foundation
import Testing

/// A program or Python module a test needs beside Arca: the real peers (DCMTK, pynetdicom, Orthanc...) and the
/// tools that make its inputs (pydicom's corpus). Whether it is installed is looked up once per test run.
public struct Peer: Sendable {
    /// What to install, as the skip reason names it.
    public let what: String
    public let isInstalled: Bool

    public init(_ what: String, installed: Bool) {
        self.what = what
        self.isInstalled = installed
    }

    private static func programs(_ names: [String]) -> Bool { names.allSatisfy { ExternalTool.exists("/usr/bin/" + $0) } }

    public static let dcmtk = Peer("DCMTK (apt-get install dcmtk)",
                                   installed: programs(["echoscu", "storescu", "storescp", "findscu", "movescu", "getscu", "dcmdump", "dump2dcm"]))
    public static let dcmqrscp = Peer("DCMTK's dcmqrscp (apt-get install dcmtk)", installed: programs(["dcmqrscp"]))
    /// pydicom and numpy: the corpus (`scripts/corpus`) and the sample studies are made with them.
    public static let pydicom = Peer("pydicom and numpy (python3 -m pip install pydicom numpy)",
                                     installed: ExternalTool.hasPythonModule("pydicom") && ExternalTool.hasPythonModule("numpy"))
    public static let pynetdicom = Peer("pynetdicom (python3 -m pip install pynetdicom)", installed: ExternalTool.hasPythonModule("pynetdicom"))
    public static let dicomwebClient = Peer("dicomweb-client (python3 -m pip install dicomweb-client)",
                                            installed: ExternalTool.hasPythonModule("dicomweb_client"))
    public static let curl = Peer("curl (apt-get install curl)", installed: programs(["curl"]))
    public static let openssl = Peer("openssl (apt-get install openssl)", installed: programs(["openssl"]))
    public static let sqlite3 = Peer("sqlite3 (apt-get install sqlite3)", installed: programs(["sqlite3"]))
    public static let b3sum = Peer("b3sum (the BLAKE3 reference command)", installed: programs(["b3sum"]))
    public static let orthanc = Peer("Orthanc (apt-get install orthanc)", installed: ExternalTool.exists("/usr/sbin/Orthanc"))
    public static let orthancDICOMweb = Peer("Orthanc's DICOMweb plugin (apt-get install orthanc-dicomweb)",
                                             installed: FileManager.default.fileExists(atPath: OrthancPlugin.dicomWeb))
    /// The encoders and decoders the pixel corpus is made and checked with.
    public static let pixelTools = Peer("DCMTK and GDCM (apt-get install dcmtk libgdcm-tools)",
                                        installed: programs(["dcmcrle", "dcmcjpeg", "dcmcjpls", "dcmdrle", "dcmdjpeg", "dcmdjpls",
                                                             "dcmj2pnm", "gdcmconv"]))
    public static let openjpeg = Peer("pylibjpeg-openjpeg (python3 -m pip install pylibjpeg pylibjpeg-openjpeg)",
                                      installed: ExternalTool.hasPythonModule("pylibjpeg") && ExternalTool.hasPythonModule("openjpeg"))
    /// The web page's test: headless Chromium driven through Selenium (Debian's chromium, chromium-driver).
    public static let browser = Peer("chromium, chromium-driver and selenium (apt-get install chromium chromium-driver python3-selenium)",
                                     installed: programs(["chromium", "chromedriver"]) && ExternalTool.hasPythonModule("selenium"))
    public static let prometheusClient = Peer("prometheus-client (python3 -m pip install prometheus-client)",
                                              installed: ExternalTool.hasPythonModule("prometheus_client"))
    /// Mounting a small file system (the disk-full test) needs root.
    public static let root = Peer("root (to mount a small tmpfs)", installed: geteuid() == 0)
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when every one of `peers` is installed. Otherwise the test is reported as skipped, naming
    /// what to install, never as passed; under CI it fails instead (the condition throws, which Swift Testing
    /// records as an issue of the test). The one statement of what a test needs: its body does not check again.
    public static func needs(_ peers: Peer...) -> Self {
        let missing = peers.filter { !$0.isInstalled }.map(\.what).joined(separator: ", ")
        return .enabled(if: try installed(missing), Comment(rawValue: "needs \(missing) (scripts/test installs it); fails when CI=true"))
    }

    private static func installed(_ missing: String) throws -> Bool {
        guard !missing.isEmpty else { return true }
        if ExternalTool.isCI { throw ExternalTool.MissingPeer(description: "\(missing) is not installed and CI=true: run scripts/test, which installs it") }
        return false
    }
}

/// Where Debian installs Orthanc's plugins.
public enum OrthancPlugin {
    public static let dicomWeb = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
}

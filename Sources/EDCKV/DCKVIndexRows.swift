import Archive
import BLAKE3
import DICOM

/// The index rows of the instances an eDCKV store keeps (`arca index rebuild`): a file row names a Part-10
/// file, an eDCKV row names `dckv/<StudyDate>/<b64uid(study)>/<b64uid(SOP)>`, which the store answers from a
/// merged study or from a receiver's spool. Size and hash are those of the instance rebuilt as Part-10 (the
/// bytes a retrieve sends), one instance in memory at a time.
public enum DCKVIndexRows {
    public struct Report: Sendable {
        public var records: [InstanceRecord] = []
        public var failed: [(path: String, error: String)] = []
    }

    /// Every instance under `<archiveRoot>/dckv`; an instance both merged and still spooled (a merge under
    /// way) counts once, from its study.
    public static func records(archiveRoot: String) -> Report {
        let root = archiveRoot + "/" + DCKVStore.folder
        var report = Report()
        guard FS.isDirectory(root) else { return report }
        let (items, unreadable) = Inventory.listing(root)
        for study in unreadable { report.failed.append((relative(study.path, to: archiveRoot), study.error)) }
        var seen = Set<String>()
        let studies = Set(items.filter { $0.place == .study }.map(\.path)).sorted()
        for study in studies {
            do {
                let location = try studyLocation(study, under: root)
                try StudyExporter(studyDirectory: study).forEachInstance { sop, file in
                    guard seen.insert(sop).inserted else { return }
                    report.records.append(try record(file, location: location + "/" + (try B64UID.encode(sop)), timeOf: study))
                }
            } catch {
                report.failed.append((relative(study, to: archiveRoot), "\(error)"))
            }
        }
        for item in items where item.place == .spool && !seen.contains(item.sopInstanceUID) {
            do {
                // <dckv>/spool/<receiver>/<date>/<study>/<sop>: the location drops the spool and receiver folders.
                let parts = relative(item.path, to: root).split(separator: "/").map(String.init)
                guard parts.count == 5, parts[0] == StudyLayout.spoolFolder else {
                    throw EDCKVError("\(item.path): not a spooled instance folder")
                }
                let file = try DCKVInstanceSource.spooledInstance(item.path)
                let location = [DCKVStore.folder, parts[2], parts[3], parts[4]].joined(separator: "/")
                report.records.append(try record(file, location: location, timeOf: item.path))
                seen.insert(item.sopInstanceUID)
            } catch {
                report.failed.append((relative(item.path, to: archiveRoot), "\(error)"))
            }
        }
        return report
    }

    private static func record(_ file: DICOMFile, location: String, timeOf path: String) throws -> InstanceRecord {
        let attributes = InstanceAttributes(file.dataSet)
        guard UIDString.isValid(attributes.sopInstanceUID) else {
            throw EDCKVError("\(location): no valid SOP Instance UID")
        }
        let bytes = try file.serialized()
        return InstanceRecord(attributes: attributes, filePath: location, fileSize: UInt64(bytes.count),
                              fileHash: BLAKE3.hex(bytes.withUnsafeBytes { BLAKE3.hash($0) }), transferSyntaxUID: file.transferSyntax.uid,
                              receivedAt: IndexMaintenance.timestamp(ofFileAt: path),
                              callingAETitle: file.meta.string(.sourceApplicationEntityTitle) ?? "")
    }

    /// `dckv/<date>/<study>` of a study directory under the store's root.
    private static func studyLocation(_ study: String, under root: String) throws -> String {
        let parts = relative(study, to: root).split(separator: "/")
        guard parts.count == 2 else { throw EDCKVError("\(study): not a study folder of the store") }
        return DCKVStore.folder + "/" + parts.joined(separator: "/")
    }

    private static func relative(_ path: String, to root: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}

import DICOM

/// Rebuilds the instances of a study directory as Part-10 files (§2 decoding), one instance in memory at a
/// time: the small categories are read whole, the pixel files walked alongside in prefix order.
public struct StudyExporter {
    public let files: CompositeFiles

    public init(studyDirectory: String) throws {
        files = try CompositeFiles(directory: studyDirectory)
    }

    /// Calls `body` with each instance (SOP Instance UID, rebuilt file), in prefix order.
    public func forEachInstance(_ body: (String, DICOMFile) throws -> Void) throws {
        let study = try files.entries(.study)
        let series = Dictionary(grouping: try files.entries(.series)) { $0.prefix?.series ?? 0 }
        typealias Slot = StudyMap.InstanceSlot
        func slot(_ e: Entry) -> Slot { Slot(series: e.prefix?.series ?? 0, instance: e.prefix?.instance ?? 0) }
        let instances = Dictionary(grouping: try files.entries(.instance), by: slot)
        let privates = Dictionary(grouping: try files.entries(.privateData), by: slot)
        let pixelReaders = try [Category.nativePixels, .compressedPixels].compactMap { try files.reader($0) }
        var pending: [Entry?] = try pixelReaders.map { try $0.next() }

        for s in instances.keys.sorted() {
            var entries = study + (series[s.series] ?? []) + (instances[s] ?? []) + (privates[s] ?? [])
            for (r, reader) in pixelReaders.enumerated() {
                // Entries of earlier slots belong to no instance of the i file: an inconsistent study.
                while let e = pending[r], slot(e) < s { throw EDCKVError("\(reader.path): pixel entries of \(e.prefix?.hex ?? "?") without an instance") }
                while let e = pending[r], slot(e) == s {
                    entries.append(e)
                    pending[r] = try reader.next()
                }
            }
            guard let sopEntry = instances[s]?.first(where: { $0.depth == 0 && $0.tag == .sopInstanceUID }) else {
                throw EDCKVError("\(files.directory): instance \(s.series)/\(s.instance) has no SOP Instance UID")
            }
            try body(StudyMap.uid(sopEntry), try InstanceDecoder().decode(entries))
        }
    }

    /// Writes `<SOP Instance UID>.dcm` per instance into `outputDirectory`; returns how many.
    @discardableResult
    public func export(to outputDirectory: String) throws -> Int {
        try FS.createDurably(outputDirectory)
        var count = 0
        try forEachInstance { sop, file in
            guard UIDString.isValid(sop) else { throw EDCKVError("invalid SOP Instance UID \(sop)") }
            try FileWriter.write(try file.serialized(), to: outputDirectory + "/" + sop + ".dcm")
            count += 1
        }
        return count
    }
}

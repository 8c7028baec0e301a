import ArgumentParser
import Archive
import DICOM
import DICOMNetwork

/// The options `arca find`, `move` and `get` share: the peer, the model and level, and `-k` keys.
struct QueryOptionsGroup: ParsableArguments {
    @Argument(help: "Host of the peer.") var host: String
    @Argument(help: "Port of the peer (1 to 65535).") var port: PortArgument
    @Option(help: "Our (calling) AE title.") var aet = "ARCA_SCU"
    @Option(help: "The peer's (called) AE title.") var aec = "STORE_SCP"
    @Option(help: "Information model: patient or study (root).") var model: QueryModel = .studyRoot
    @Option(help: "Query/Retrieve level: PATIENT, STUDY, SERIES or IMAGE.") var level = "STUDY"
    @Option(name: .shortAndLong, help: "A key: Keyword=VALUE, gggg,eeee=VALUE, or Keyword alone to ask for it (repeatable). Sequence.Keyword=VALUE matches inside a sequence item.")
    var key: [String] = []
    @Option(help: "Specific Character Set of the keys (e.g. \"ISO_IR 192\"); ASCII keys need none.") var charset: String?
    @OptionGroup var tls: TLSClientOptions

    var queryLevel: QueryLevel {
        get throws {
            guard let l = QueryLevel(level), model.levels.contains(l) else {
                throw ValidationError("level \(level) is not one of \(model.levels.map(\.description).joined(separator: ", "))")
            }
            return l
        }
    }

    /// The identifier: Query/Retrieve Level and the keys, encoded in `charset`.
    func identifier(defaultReturnKeys: Bool) throws -> DataSet {
        let level = try queryLevel
        var ds = DataSet(characterSet: charset.map(SpecificCharacterSet.init) ?? .default)
        if let charset { ds.setString(charset, for: .specificCharacterSet, vr: .CS) }
        ds.setString(level.description, for: .queryRetrieveLevel, vr: .CS)
        if defaultReturnKeys {
            for tag in Self.defaultReturnKeys(level, model) where ds[tag] == nil { ds.setString("", for: tag) }
        }
        for text in key { try Self.add(text, to: &ds) }
        return ds
    }

    /// `Keyword=VALUE`, `gggg,eeee=VALUE`, `Keyword`, `Sequence.Keyword=VALUE`.
    static func add(_ text: String, to ds: inout DataSet) throws {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts[0].split(separator: ".").map(String.init)
        let value = parts.count > 1 ? String(parts[1]) : ""
        guard let first = path.first, let tag = tag(first) else { throw ValidationError("unknown key \(parts[0])") }
        if path.count == 1 {
            if DataDictionary.vr(for: tag) == .SQ {
                if ds[tag] == nil { ds.setItems([], for: tag) }
            } else {
                ds.setString(value, for: tag)
            }
            return
        }
        guard path.count == 2, DataDictionary.vr(for: tag) == .SQ, let inner = self.tag(path[1]) else {
            throw ValidationError("\(parts[0]): only Sequence.Keyword paths of one level are supported")
        }
        var item = ds.items(tag).first ?? DataSet(characterSet: ds.characterSet)
        item.setString(value, for: inner)
        ds.setItems([item], for: tag)
    }

    static func tag(_ name: String) -> Tag? {
        let hex = name.filter { $0 != "(" && $0 != ")" }.split(separator: ",")
        if hex.count == 2, let g = UInt16(hex[0], radix: 16), let e = UInt16(hex[1], radix: 16) { return Tag(g, e) }
        return DataDictionary.entry(forKeyword: name)?.tag
    }

    /// Keys a table wants when none are asked for: the usual ones of the level.
    static func defaultReturnKeys(_ level: QueryLevel, _ model: QueryModel) -> [Tag] {
        switch level {
        case .patient: return [.patientName, .patientID, .patientBirthDate, .patientSex, .numberOfPatientRelatedStudies]
        case .study:
            let patient: [Tag] = model == .studyRoot ? [.patientName, .patientID] : []
            return patient + [.studyDate, .studyTime, .accessionNumber, .studyDescription, .modalitiesInStudy,
                              .numberOfStudyRelatedInstances, .studyInstanceUID]
        case .series: return [.modality, .seriesNumber, .seriesDescription, .numberOfSeriesRelatedInstances, .seriesInstanceUID]
        case .image: return [.instanceNumber, .sopClassUID, .sopInstanceUID]
        }
    }

    func associate(_ abstractSyntaxes: [String]) -> AssociateRequest {
        AssociateRequest(calledAETitle: aec, callingAETitle: aet,
                         presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: abstractSyntaxes), maxPDULength: 131_072)
    }
}

extension QueryModel: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "patient", "patient-root", "p": self = .patientRoot
        case "study", "study-root", "s": self = .studyRoot
        default: return nil
        }
    }
}

/// The counts of a C-MOVE/C-GET response, for printing.
func subOperationCounts(_ c: CommandSet) -> String {
    func n(_ t: Tag) -> String { c.dataSet.int(t).map(String.init) ?? "-" }
    return "remaining \(n(.numberOfRemainingSubOperations)), completed \(n(.numberOfCompletedSubOperations)), failed \(n(.numberOfFailedSubOperations)), warning \(n(.numberOfWarningSubOperations))"
}

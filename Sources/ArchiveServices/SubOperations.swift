import DICOM
import DICOMNetwork

/// The sub-operations of a C-MOVE or C-GET (PS3.4 C.4.2.3, C.4.3.3): how many remain, completed, failed or
/// completed with a warning, and which instances failed. One owner mutates it; responses are read off it.
struct SubOperations: Sendable {
    private(set) var remaining: Int
    private(set) var completed = 0
    private(set) var failed = 0
    private(set) var warning = 0
    private(set) var failedUIDs: [String] = []

    init(total: Int) { remaining = total }

    /// One sub-operation ended with `status` (nil: it could not be attempted, e.g. no accepted context).
    mutating func record(_ sopInstanceUID: String, _ status: DIMSEStatus?) {
        remaining = max(0, remaining - 1)
        guard let status else {
            failed += 1
            failedUIDs.append(sopInstanceUID)
            return
        }
        if status.isSuccess {
            completed += 1
        } else if status.isWarning {
            warning += 1
        } else {
            failed += 1
            failedUIDs.append(sopInstanceUID)
        }
    }

    /// Sub-operations never attempted after a cancel or an abandoned association.
    mutating func abandonRemaining(_ uids: [String]) {
        for uid in uids { record(uid, nil) }
    }

    /// The counts on a response; the final one carries no Remaining (PS3.7 Table 9.3-5), a pending or cancel one does.
    func apply(to command: inout CommandSet, final: Bool) {
        if !final { command.setUS(UInt16(clamping: remaining), .numberOfRemainingSubOperations) }
        command.setUS(UInt16(clamping: completed), .numberOfCompletedSubOperations)
        command.setUS(UInt16(clamping: failed), .numberOfFailedSubOperations)
        command.setUS(UInt16(clamping: warning), .numberOfWarningSubOperations)
    }

    /// The final status: success, some failed or warned (0xB000), or nothing could be sent (0xA702).
    var finalStatus: DIMSEStatus {
        if failed == 0 && warning == 0 { return .success }
        if completed == 0 && warning == 0 { return .unableToPerformSubOperations }
        return .subOperationsCompleteWithFailures
    }

    /// The Failed SOP Instance UID List (0008,0058) dataset, when any failed.
    var failedList: DataSet? {
        guard !failedUIDs.isEmpty else { return nil }
        var ds = DataSet()
        ds.setStrings(failedUIDs, for: .failedSOPInstanceUIDList, vr: .UI)
        return ds
    }
}

import Foundation

/// One audit event, in the spirit of the IHE ATNA audit messages (PS3.15 A.5): who (the active participant:
/// AE title or user, address, certificate), what (the event, the objects it touched), when, and the outcome.
/// Written as one JSON line so a log shipper or `jq` reads it without a parser of our own.
public struct AuditRecord: Sendable, Codable, Equatable {
    /// What happened. DICOM's audit vocabulary (PS3.15 A.5.3) in brief: `association` (an association
    /// accepted or rejected: the "Security Alert"/"User Authentication" of ATNA when refused), `store` ("DICOM
    /// Instances Transferred" in), `query` ("Query"), `retrieve` ("Begin Transferring DICOM Instances" out),
    /// `http` (an HTTP request, "DICOM Instances Accessed" or transferred through DICOMweb).
    public enum Event: String, Sendable, Codable {
        case association, store, query, retrieve, commitment, verification, http
    }

    /// ATNA's EventOutcomeIndicator, in words: success (0), minor failure (4: a warning, a duplicate),
    /// serious failure (8: refused, failed), major failure (12: not used here).
    public enum Outcome: String, Sendable, Codable {
        case success, warning, refused, failure
    }

    /// ISO 8601 with milliseconds, UTC.
    public var time: String
    public var event: Event
    public var outcome: Outcome
    /// The calling AE title (DIMSE) or the authenticated user (HTTP).
    public var who: String?
    public var address: String?
    public var certificateSubject: String?
    /// The called AE title (DIMSE) or the request line (HTTP: "GET /dicom-web/studies?PatientID=…").
    public var target: String?
    /// The DIMSE status (hex) or the HTTP status.
    public var status: String?
    /// What the operation touched: SOP instance, study, query level and keys, move destination, counts.
    public var details: [String: String]

    public init(event: Event, outcome: Outcome, who: String?, address: String?, certificateSubject: String? = nil,
                target: String?, status: String?, details: [String: String] = [:], time: Date = Date()) {
        self.time = Self.timestamp(time)
        self.event = event
        self.outcome = outcome
        self.who = who
        self.address = address
        self.certificateSubject = certificateSubject
        self.target = target
        self.status = status
        self.details = details
    }

    static func timestamp(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    /// The record as one line of JSON (keys sorted, no newline inside).
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }
}

/// Where audit records go (`--audit-log PATH` or `--audit-log syslog`). Recording never blocks the caller
/// on I/O and never fails an operation: an audit trail that cannot be written is logged, not fatal.
public protocol AuditTrail: Sendable {
    func record(_ record: AuditRecord)
}

extension DIMSEStatus {
    /// The audit outcome of a final status.
    public var auditOutcome: AuditRecord.Outcome {
        if isSuccess { return .success }
        if isWarning || self == .duplicateSOPInstance { return .warning }
        if self == .notAuthorized || rawValue & 0xF000 == 0xA000 { return .refused }
        return .failure
    }

    public var hex: String {
        let digits = String(rawValue, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

import Archive
import DICOM
import Testing

@testable import DICOMweb

/// QIDO-RS query parameters read into a query (the part of a search that has no HTTP in it; Fuzz/QIDOFuzzer.swift
/// feeds it hostile query strings).
@Suite struct QIDOQueryTests {
    @Test func keysLimitOffsetAndIncludeFields() throws {
        let q = try QIDOQuery([("PatientName", "DOE*"), ("limit", "10"), ("offset", "5"), ("includefield", "00080080,Nonsense"),
                               ("RequestAttributesSequence.ScheduledProcedureStepID", "X"), ("Foo", "bar")],
                              level: .series, study: "1.2.3", maxParameters: 16)
        #expect(q.query.limit == 10 && q.query.offset == 5 && q.query.level == .series)
        #expect(q.query.key(.patientName)?.match == .wildcard("DOE*"))
        #expect(q.query.key(.studyInstanceUID)?.match == .single("1.2.3"))
        #expect(q.query.key(Tag(0x0008, 0x0080)) != nil)
        #expect(q.warnings == ["unknown includefield Nonsense", "unknown query parameter Foo"])
        // The parameter's item key and the default ones of the Request Attributes Sequence make one sequence key.
        guard case .sequence(let items)? = q.query.key(Tag(0x0040, 0x0275))?.match else {
            Issue.record("no Request Attributes Sequence key")
            return
        }
        #expect(items.map(\.tag) == [Tag(0x0040, 0x0009), Tag(0x0040, 0x1001)])
        #expect(items.first?.match == .single("X"))
    }

    @Test func unreadableParametersAreBadRequests() {
        for parameters in [[("limit", "-1")], [("offset", "x")], [("StudyDate", "2020-01-01-")], Array(repeating: ("a", "b"), count: 9)] {
            #expect(throws: QueryError.self, "\(parameters)") { try QIDOQuery(parameters, level: .study, maxParameters: 8) }
        }
    }
}

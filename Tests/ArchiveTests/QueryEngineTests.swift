@testable import Archive
import DICOM
import Foundation
import Testing
import TestSupport

typealias Tag = DICOM.Tag

/// The query engine against an index filled with records, and a stand-in for the stored instances (the
/// attributes the index does not hold). Each case states a query and the entities it must find.
@Suite struct QueryEngineTests {
    /// The stored instances, by location: what the engine reads for keys the index lacks.
    struct Instances: InstanceSource {
        let byLocation: [String: DataSet]
        func header(at location: String) throws -> DataSet {
            guard let ds = byLocation[location] else { throw ArchiveError.io("\(location): not stored") }
            return ds
        }
        func open(_ location: String) throws -> any StoredInstanceReader { throw ArchiveError.io("not for this test") }
        func isIntact(_ location: String, hash: String) throws -> Bool { byLocation[location] != nil }
        func filePath(_ location: String) throws -> String { throw ArchiveError.io("not for this test") }
    }

    struct Fixture {
        let engine: QueryEngine
        let directory: URL
    }

    /// Patients, studies, series and instances with the values the cases look for.
    static func fixture(_ engine: IndexEngine, maxResults: Int = 1000) throws -> Fixture {
        let dir = try ExternalTool.temporaryDirectory("arca-query")
        let index = try engine.make(in: dir)
        var headers: [String: DataSet] = [:]
        var records: [InstanceRecord] = []
        func add(patient: String, issuer: String = "", name: String, charset: String? = nil, birth: String = "19700101", sex: String = "M",
                 study: String, date: String, time: String, accession: String, description: String = "", referring: String = "",
                 series: String, modality: String, number: Int, seriesDate: String = "",
                 sop: String, sopClass: String = "1.2.840.10008.5.1.4.1.1.2", instanceNumber: Int,
                 extra: (inout DataSet) -> Void = { _ in }) {
            var ds = DataSet()
            if let charset { ds.setString(charset, for: .specificCharacterSet, vr: .CS) }
            ds.setString(patient, for: .patientID, vr: .LO)
            if !issuer.isEmpty { ds.setString(issuer, for: .issuerOfPatientID, vr: .LO) }
            ds.setString(name, for: .patientName, vr: .PN)
            ds.setString(birth, for: .patientBirthDate, vr: .DA)
            ds.setString(sex, for: .patientSex, vr: .CS)
            ds.setString(study, for: .studyInstanceUID, vr: .UI)
            ds.setString(date, for: .studyDate, vr: .DA)
            ds.setString(time, for: .studyTime, vr: .TM)
            ds.setString(accession, for: .accessionNumber, vr: .SH)
            ds.setString(description, for: .studyDescription, vr: .LO)
            ds.setString(referring, for: .referringPhysicianName, vr: .PN)
            ds.setString(series, for: .seriesInstanceUID, vr: .UI)
            ds.setString(modality, for: .modality, vr: .CS)
            ds.setString(String(number), for: .seriesNumber, vr: .IS)
            if !seriesDate.isEmpty { ds.setString(seriesDate, for: .seriesDate, vr: .DA) }
            ds.setString(sop, for: .sopInstanceUID, vr: .UI)
            ds.setString(sopClass, for: .sopClassUID, vr: .UI)
            ds.setString(String(instanceNumber), for: .instanceNumber, vr: .IS)
            extra(&ds)
            let location = "\(study)/\(series)/\(sop).dcm"
            headers[location] = ds
            records.append(record(ds, at: location))
        }
        add(patient: "P1", name: "Doe^John", study: "1.1", date: "20240115", time: "083000", accession: "ACC1", description: "CT chest",
            referring: "House^Gregory", series: "1.1.1", modality: "CT", number: 1, seriesDate: "20240115", sop: "1.1.1.1", instanceNumber: 1) {
            $0.setString("Main Hospital", for: Tag(0x0008, 0x0080), vr: .LO)
            $0.set(Element(tag: .rows, vr: .US, bytes: [0x00, 0x02]))     // 512
            $0.set(Element(tag: .columns, vr: .US, bytes: [0x00, 0x01]))  // 256
        }
        add(patient: "P1", name: "Doe^John", study: "1.1", date: "20240115", time: "083000", accession: "ACC1", description: "CT chest",
            series: "1.1.1", modality: "CT", number: 1, seriesDate: "20240115", sop: "1.1.1.2", instanceNumber: 2)
        add(patient: "P1", name: "Doe^John", study: "1.1", date: "20240115", time: "083000", accession: "ACC1", description: "CT chest",
            series: "1.1.2", modality: "SR", number: 2, sop: "1.1.2.1", sopClass: "1.2.840.10008.5.1.4.1.1.88.22", instanceNumber: 1)
        add(patient: "P2", name: "Müller^Jürgen", charset: "ISO_IR 100", study: "2.1", date: "20231231", time: "235900", accession: "acc2",
            series: "2.1.1", modality: "MR", number: 1, sop: "2.1.1.1", sopClass: "1.2.840.10008.5.1.4.1.1.4", instanceNumber: 1) {
            var code = DataSet()
            code.setString("XR123", for: Tag(0x0008, 0x0100), vr: .SH)
            code.setString("LOCAL", for: Tag(0x0008, 0x0102), vr: .SH)
            var other = DataSet()
            other.setString("ZZ9", for: Tag(0x0008, 0x0100), vr: .SH)
            other.setString("LOCAL", for: Tag(0x0008, 0x0102), vr: .SH)
            $0.setItems([other, code], for: Tag(0x0008, 0x1032))
        }
        add(patient: "P2", issuer: "OTHER", name: "Smith^Anna", study: "3.1", date: "20240301", time: "0100", accession: "A3",
            series: "3.1.1", modality: "US", number: 1, sop: "3.1.1.1", instanceNumber: 1)
        add(patient: "P4", name: "Yamada^Tarou=山田^太郎=やまだ^たろう", charset: "ISO_IR 192", study: "4.1", date: "20240302", time: "120000",
            accession: "A4", series: "4.1.1", modality: "CT", number: 7, sop: "4.1.1.1", instanceNumber: 1)
        add(patient: "P5", name: "MyName[x]^A", study: "5.1", date: "", time: "", accession: "A5%_",
            series: "5.1.1", modality: "OT", number: 1, sop: "5.1.1.1", instanceNumber: 1)
        try index.recordBatch(records)
        // A slice no debug build runs out of: every case of the suite goes through the caller's thread's reading
        // (`expectInlineAnswers`) on a warm SQLite index.
        return Fixture(engine: QueryEngine(index: index, source: Instances(byLocation: headers), maxResults: maxResults, retrieveAETitle: "ARCA",
                                           inlineSlice: .seconds(60)),
                       directory: dir)
    }

    /// The index row of a stored instance holding `ds` at `location`.
    static func record(_ ds: DataSet, at location: String) -> InstanceRecord {
        InstanceRecord(attributes: InstanceAttributes(ds), filePath: location, fileSize: 10,
                       fileHash: String(repeating: "0", count: 64), transferSyntaxUID: "1.2.840.10008.1.2.1",
                       receivedAt: "2026-12-02T00:00:00Z", callingAETitle: "TEST")
    }

    /// The values of `tag` in the answers to an identifier built from `keys`.
    static func find(_ f: Fixture, model: QueryModel = .studyRoot, _ level: String, _ keys: [(Tag, String)],
                     options: QueryOptions = QueryOptions(), charset: String? = nil, answering tag: Tag) throws -> [String] {
        var ds = DataSet(characterSet: charset.map(SpecificCharacterSet.init) ?? .default)
        if let charset { ds.setString(charset, for: .specificCharacterSet, vr: .CS) }
        ds.setString(level, for: .queryRetrieveLevel, vr: .CS)
        for (t, v) in keys { ds.setString(v, for: t) }
        if ds[tag] == nil { ds.setString("", for: tag) }
        let query = try Query(identifier: ds, model: model, options: options)
        let result = try f.engine.findNow(query)
        try expectEncodedAnswers(f, query, result)
        try expectInlineAnswers(f.engine, query, result)
        try expectAnswerValues(f.engine, query, result)
        return result.answers.map { $0.string(tag) ?? "<absent>" }.sorted()
    }

    /// A query started on the caller's thread with reads that do not wait (and finished on it, or handed over
    /// and finished the ordinary way) answers what the I/O thread's reading answers, in the same order.
    static func expectInlineAnswers(_ engine: QueryEngine, _ query: Query, _ result: QueryEngine.Result) throws {
        let answer: @Sendable (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> DataSet = { builder, row, header in
            try builder.answer(row, header: header)
        }
        switch engine.startInline(query, answer) {
        case .done(let answers, let truncated):
            #expect(answers == result.answers)
            #expect(truncated == result.truncated)
        case .handOver(let rest):
            var answers = rest.answers
            try rest.finish(stop: { false }, answer) { answers.append($0) }
            #expect(answers == result.answers)
            #expect(rest.run.truncated == result.truncated)
        case .notStarted:
            #expect(engine.index.nonBlockingRows == nil, "a warm SQLite index starts every query on the caller's thread")
        }
    }

    /// The answers' values (what QIDO-RS writes its JSON from) are the answer datasets: whole, and as flat
    /// elements (unpadded) whenever every text is ASCII and no attribute is a sequence.
    static func expectAnswerValues(_ engine: QueryEngine, _ query: Query, _ result: QueryEngine.Result) throws {
        let answers = try engine.matchesNow(query) { builder, row, header in try builder.answerValues(row, header: header) }.answers
        #expect(answers.map(\.dataSet) == result.answers)
        for (values, answer) in zip(answers, result.answers) {
            let flat = answer.allSatisfy { e in
                if case .sequence = e.value { return false }
                return !e.vr.isString || e.bytes.allSatisfy { $0 < 0x80 }
            } && answer[.specificCharacterSet] == nil
            guard let elements = values.flatASCIIElements else {
                #expect(!flat, "answer \(answer) has only flat ASCII attributes")
                continue
            }
            #expect(flat)
            #expect(elements.map(\.tag) == answer.map(\.tag))
            for (e, a) in zip(elements, answer) {
                let padded = e.bytes.count % 2 == 1 ? e.bytes + [e.vr.paddingByte] : e.bytes
                #expect(padded == a.bytes && e.vr == a.vr, "\(e.tag)")
            }
        }
    }

    /// The answers C-FIND sends, encoded straight from the index rows, are the bytes of the answer datasets in
    /// every syntax a C-FIND context can have (every case of this suite goes through here).
    static func expectEncodedAnswers(_ f: Fixture, _ query: Query, _ result: QueryEngine.Result) throws {
        for syntax in [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian] {
            let encoded = try f.engine.encodedNow(query, syntax: syntax)
            #expect(encoded.truncated == result.truncated)
            #expect(encoded.answers == (try result.answers.map { try DataSetWriter.encode($0, syntax: syntax) }), "\(syntax)")
        }
    }

    /// A study row keeps copies of its patient's attributes (searches below the patient level read them, not
    /// `patients`); the copies follow the patient: a new name from a later instance reaches every study of the
    /// patient, and a study moved to another patient (a corrected Patient ID) answers that patient's values.
    @Test(arguments: IndexEngine.embedded) func studiesAnswerTheirPatientsAttributesAsTheyChange(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        guard let index = f.engine.index as? any MaintainedIndex else {
            Issue.record("the fixture's index is not a MaintainedIndex")
            return
        }
        func instance(patient: String, name: String, study: String, sop: String) -> InstanceRecord {
            var ds = DataSet()
            ds.setString(patient, for: .patientID, vr: .LO)
            ds.setString(name, for: .patientName, vr: .PN)
            ds.setString(study, for: .studyInstanceUID, vr: .UI)
            ds.setString("20240401", for: .studyDate, vr: .DA)
            ds.setString(study + ".1", for: .seriesInstanceUID, vr: .UI)
            ds.setString("CT", for: .modality, vr: .CS)
            ds.setString(sop, for: .sopInstanceUID, vr: .UI)
            ds.setString("1.2.840.10008.5.1.4.1.1.2", for: .sopClassUID, vr: .UI)
            return Self.record(ds, at: "\(study)/\(sop).dcm")
        }
        func copiesDisagreeing() throws -> Int64? {
            var count: Int64?
            try index.forEachRow("""
                SELECT count(*) FROM studies s JOIN patients p ON p.pk = s.patient_pk WHERE s.patient_id != p.patient_id
                OR s.patient_issuer != p.issuer_of_patient_id OR s.patient_name != p.name OR s.patient_name_folded != p.name_folded
                OR s.patient_birth_date != p.birth_date OR s.patient_sex != p.sex
                """, []) { row in
                count = row.first?.integer
                return false
            }
            return count
        }
        #expect(try copiesDisagreeing() == 0)
        #expect(try Self.find(f, "STUDY", [(.patientName, "doe*")], answering: .studyInstanceUID) == ["1.1"])

        // A new study of P1 under a new name: a non-empty value wins, so both of P1's studies answer it.
        try index.recordBatch([instance(patient: "P1", name: "Doe^Jonathan", study: "6.1", sop: "6.1.1.1")])
        #expect(try Self.find(f, "STUDY", [(.patientName, "Doe^Jonathan")], answering: .studyInstanceUID) == ["1.1", "6.1"])
        #expect(try Self.find(f, "STUDY", [(.patientName, "Doe^John")], answering: .studyInstanceUID) == [])
        #expect(try Self.find(f, "STUDY", [(.patientID, "P1")], answering: .patientName) == ["Doe^Jonathan", "Doe^Jonathan"])
        #expect(try Self.find(f, "SERIES", [(.studyInstanceUID, "1.1"), (.patientName, "DOE^JON*")], answering: .seriesInstanceUID)
                == ["1.1.1", "1.1.2"])

        // Study 6.1 corrected to another patient: it answers that patient's values, and P1 keeps study 1.1.
        try index.recordBatch([instance(patient: "P7", name: "Roe^Richard", study: "6.1", sop: "6.1.1.2")])
        #expect(try Self.find(f, "STUDY", [(.patientID, "P7")], answering: .studyInstanceUID) == ["6.1"])
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "6.1")], answering: .patientName) == ["Roe^Richard"])
        #expect(try Self.find(f, "STUDY", [(.patientID, "P1")], answering: .studyInstanceUID) == ["1.1"])
        #expect(try Self.find(f, "IMAGE", [(.studyInstanceUID, "6.1"), (.seriesInstanceUID, "6.1.1"), (.patientName, "roe*")],
                              answering: .sopInstanceUID) == ["6.1.1.1", "6.1.1.2"])
        #expect(try copiesDisagreeing() == 0)
    }

    /// Below the patient level a search joins `patients` only for an attribute the study row has no copy of (the
    /// patient's counts); at the patient level it reads `patients` as before.
    @Test func onlyThePatientsCountsJoinPatientsBelowThePatientLevel() throws {
        func sql(_ level: String, _ keys: [(Tag, String)], model: QueryModel = .studyRoot) throws -> String {
            var ds = DataSet()
            ds.setString(level, for: .queryRetrieveLevel, vr: .CS)
            for (t, v) in keys { ds.setString(v, for: t) }
            return QueryCompiler.compile(try Query(identifier: ds, model: model, options: QueryOptions()),
                                         dialect: SQLiteDialect(), limit: 10).sql
        }
        let names = try sql("STUDY", [(.patientName, "SMI*"), (.patientID, ""), (.patientBirthDate, ""), (.patientSex, ""), (.studyDate, "")])
        #expect(!names.contains("patients"), "\(names)")
        #expect(names.contains("st.patient_name_folded"), "\(names)")
        #expect(try !sql("IMAGE", [(.studyInstanceUID, "1"), (.seriesInstanceUID, "1.1"), (.patientName, "")]).contains("patients"))
        #expect(try sql("STUDY", [(.numberOfPatientRelatedStudies, "")]).contains("JOIN patients p"))
        #expect(try sql("PATIENT", [(.patientName, "SMI*")], model: .patientRoot).contains("FROM patients p"))
    }

    /// A search the engine decides on (a key the index does not hold) still bounds its statement: at most the
    /// instances it may read plus the offset and the answers, so PostgreSQL never sends the whole table ahead.
    @Test func aSearchDecidedOnInstancesIsBoundedInSQL() throws {
        var ds = DataSet()
        ds.setString("IMAGE", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("1", for: .studyInstanceUID)
        ds.setString("1.1", for: .seriesInstanceUID)
        ds.setString("CHEST*", for: Tag(0x0008, 0x1090))  // Manufacturer's Model Name: not in the index
        var query = try Query(identifier: ds, model: .studyRoot, options: QueryOptions())
        query.offset = 7
        let compiled = QueryCompiler.compile(query, dialect: SQLiteDialect(), limit: 11, maxExamined: 1000)
        #expect(!compiled.limitInSQL && !compiled.instanceKeys.isEmpty)
        #expect(compiled.sql.hasSuffix(" LIMIT ?\(compiled.arguments.count)"), "\(compiled.sql)")
        let bound: Int64 = 1000 + 7 + 11 + 1
        #expect(compiled.arguments.last == IndexValue.integer(bound))
        // Overflowing sums leave the statement unbounded rather than wrong.
        query.offset = .max
        #expect(!QueryCompiler.compile(query, dialect: SQLiteDialect(), limit: 11, maxExamined: 1000).sql.contains("LIMIT"))
    }

    @Test(arguments: IndexEngine.embedded) func personNamesMatchInsensitively(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        #expect(try Self.find(f, "STUDY", [(.patientName, "doe*")], answering: .studyInstanceUID) == ["1.1"])
        #expect(try Self.find(f, "STUDY", [(.patientName, "MULLER*")], answering: .studyInstanceUID) == ["2.1"])
        #expect(try Self.find(f, "STUDY", [(.patientName, "Doe^John")], answering: .studyInstanceUID) == ["1.1"])
        // Empty components and groups at the end name the same name (PS3.5 6.2).
        #expect(try Self.find(f, "STUDY", [(.patientName, "DOE^JOHN^^^")], answering: .studyInstanceUID) == ["1.1"])
        #expect(try Self.find(f, "STUDY", [(.patientName, "Doe^John^=")], answering: .studyInstanceUID) == ["1.1"])
        #expect(MatchParser.personName("A^B^^=C^^=") == "A^B=C" && MatchParser.personName("^^") == "")
        // A name stored with the carets is found as written, and as the name without them.
        let options = QueryOptions()
        #expect(InstanceMatcher.value(.single("DOE^JOHN^^^"), "DOE^JOHN^^^", vr: .PN, options: options))
        #expect(InstanceMatcher.value(.single("DOE^JOHN"), "DOE^JOHN^^", vr: .PN, options: options))
        #expect(!InstanceMatcher.value(.single("^^"), "DOE^JOHN", vr: .PN, options: options))
        #expect(throws: QueryError.self) { _ = try MatchParser.match("nan", vr: .IS) }
        #expect(try MatchParser.match("-1.5e3", vr: .DS) == .single("-1.5e3"))
        // A value longer than any VR's (an LT's 10,240) is refused: a 1 MB pattern was matched anew on every row.
        #expect(throws: QueryError.self) { _ = try MatchParser.match("*" + String(repeating: "A", count: 10_240), vr: .PN) }
        #expect(try MatchParser.match("*" + String(repeating: "A", count: 10_239), vr: .LT) != .universal)
        // Literal: exact case.
        let literal = QueryOptions(foldPersonNames: false)
        #expect(try Self.find(f, "STUDY", [(.patientName, "doe*")], options: literal, answering: .studyInstanceUID) == [])
        #expect(try Self.find(f, "STUDY", [(.patientName, "Doe*")], options: literal, answering: .studyInstanceUID) == ["1.1"])
        // Other VRs are literal: Accession Number is case-sensitive.
        #expect(try Self.find(f, "STUDY", [(.accessionNumber, "ACC*")], answering: .studyInstanceUID) == ["1.1"])
        #expect(try Self.find(f, "STUDY", [(.accessionNumber, "acc*")], answering: .studyInstanceUID) == ["2.1"])
    }

    @Test(arguments: IndexEngine.embedded) func rangesListsAndWildcards(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        #expect(try Self.find(f, "STUDY", [(.studyDate, "20240101-20240301")], answering: .studyInstanceUID) == ["1.1", "3.1"])
        #expect(try Self.find(f, "STUDY", [(.studyDate, "-20231231")], answering: .studyInstanceUID) == ["2.1"])
        #expect(try Self.find(f, "STUDY", [(.studyDate, "20240302-")], answering: .studyInstanceUID) == ["4.1"])
        #expect(try Self.find(f, "STUDY", [(.studyTime, "0800-0900")], answering: .studyInstanceUID) == ["1.1"])
        // Across midnight; "0100" is stored as HHMM.
        #expect(try Self.find(f, "STUDY", [(.studyTime, "2300-0130")], answering: .studyInstanceUID) == ["2.1", "3.1"])
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "1.1\\3.1\\9.9")], answering: .studyInstanceUID) == ["1.1", "3.1"])
        #expect(try Self.find(f, "STUDY", [(.patientName, "MyName[x]*")], answering: .studyInstanceUID) == ["5.1"])
        #expect(try Self.find(f, "STUDY", [(.accessionNumber, "A5%_")], answering: .studyInstanceUID) == ["5.1"])
        #expect(try Self.find(f, "STUDY", [(.accessionNumber, "A?")], answering: .studyInstanceUID) == ["3.1", "4.1"])
        // Wild cards are literal on a UI; a lone `*` is universal.
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "1.*")], answering: .studyInstanceUID) == [])
        #expect(try Self.find(f, "STUDY", [(.accessionNumber, "*")], answering: .studyInstanceUID).count == 5)
        // Combined date-time: from 2024-01-15 09:00 on.
        let combined = QueryOptions(combinedDateTime: true)
        #expect(try Self.find(f, "STUDY", [(.studyDate, "20240115-"), (.studyTime, "0900-")], options: combined,
                              answering: .studyInstanceUID) == ["3.1", "4.1"])
        #expect(try Self.find(f, "STUDY", [(.studyDate, "20240115-"), (.studyTime, "0900-")],
                              answering: .studyInstanceUID) == ["4.1"])
        // At the PATIENT level (relational), on the patients' studies: the condition named the study table where
        // only patients were selected from, and the index failed the query.
        #expect(try Self.find(f, model: .patientRoot, "PATIENT", [(.studyDate, "20240115-"), (.studyTime, "0900-")],
                              options: QueryOptions(relational: true, combinedDateTime: true), answering: .patientID) == ["P2", "P4"])
        // A binary number is matched as QIDO-RS matches it as text: it was universal, and every instance came back.
        for (rows, expected) in [([UInt8]([0x00, 0x02]), ["1.1.1.1"]), ([0x00, 0x03], [])] {
            var identifier = DataSet()
            identifier.setString("IMAGE", for: .queryRetrieveLevel, vr: .CS)
            identifier.setString("1.1", for: .studyInstanceUID, vr: .UI)
            identifier.setString("1.1.1", for: .seriesInstanceUID, vr: .UI)
            identifier.setString("", for: .sopInstanceUID, vr: .UI)
            identifier.set(Element(tag: .rows, vr: .US, bytes: rows))
            let answers = try f.engine.findNow(try Query(identifier: identifier, model: .studyRoot)).answers
            #expect(answers.compactMap { $0.uid(.sopInstanceUID) } == expected)
        }
        // Timezone Offset From UTC names the offset the query is in, not a value to match.
        #expect(try Self.find(f, "STUDY", [(.studyDate, "20240115"), (.timezoneOffsetFromUTC, "+0100")],
                              answering: .studyInstanceUID) == ["1.1"])
        // The ACR-NEMA forms of dates and times, as the index stores them.
        #expect(try Self.find(f, "STUDY", [(.studyDate, "2024.01.01-2024.03.01")], answering: .studyInstanceUID) == ["1.1", "3.1"])
        #expect(try Self.find(f, "STUDY", [(.studyTime, "08:00-09:00")], answering: .studyInstanceUID) == ["1.1"])
        // A DT with a negative UTC offset is one value, not a range to the year 500; a range stays a range.
        #expect(try MatchParser.match("20240115-0500", vr: .DT) == .single("20240115-0500"))
        #expect(try MatchParser.match("2024-2025", vr: .DT) == .range(lower: "2024", upper: "2025"))
        #expect(try MatchParser.match("20240115-0500-20240116", vr: .DT) == .range(lower: "20240115-0500", upper: "20240116"))
        #expect(try MatchParser.match("20240115-0500-20240115", vr: .DT) == .range(lower: "20240115-0500", upper: "20240115"))
        #expect(try MatchParser.match("20240101-2024", vr: .DT) == .range(lower: "20240101", upper: "2024"))
        #expect(throws: QueryError.self) { try Self.find(f, "STUDY", [(.studyDate, "2024-01-01")], answering: .studyInstanceUID) }
        // Thousands of `-` are refused at once, not each tried as the range separator (1.6 s under ASan for a
        // 6 KB value before); a list of shorter ones is each tried and refused.
        #expect(throws: QueryError.self) {
            try Self.find(f, "STUDY", [(.studyDate, String(repeating: "2-", count: 3000))], answering: .studyInstanceUID)
        }
        #expect(throws: QueryError.self) {
            try Self.find(f, "STUDY", [(.studyTime, Array(repeating: String(repeating: "1-", count: 30), count: 100).joined(separator: "\\"))],
                          answering: .studyInstanceUID)
        }
        // A list of names: up to `maxValues` run (wild cards included, within SQLite's and PostgreSQL's
        // statement limits); one more is a bad query, not a failing index.
        let names = (0..<MatchParser.maxValues - 1).map { "NOBODY\($0)*" } + ["MyName*"]
        #expect(try Self.find(f, "STUDY", [(.patientName, names.joined(separator: "\\"))], answering: .studyInstanceUID) == ["5.1"])
        #expect(throws: QueryError.self) {
            try Self.find(f, "STUDY", [(.patientName, (names + ["Doe*"]).joined(separator: "\\"))], answering: .studyInstanceUID)
        }
    }

    @Test(arguments: IndexEngine.embedded) func levelsAndComputedAttributes(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "1.1")], answering: .numberOfStudyRelatedInstances) == ["3"])
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "1.1")], answering: .numberOfStudyRelatedSeries) == ["2"])
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "1.1")], answering: .modalitiesInStudy) == ["CT\\SR"])
        #expect(try Self.find(f, "STUDY", [(.modalitiesInStudy, "SR")], answering: .studyInstanceUID) == ["1.1"])
        #expect(try Self.find(f, "STUDY", [(.modalitiesInStudy, "MR\\US")], answering: .studyInstanceUID) == ["2.1", "3.1"])
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "1.1")], answering: .sopClassesInStudy)
                == ["1.2.840.10008.5.1.4.1.1.2\\1.2.840.10008.5.1.4.1.1.88.22"])
        #expect(try Self.find(f, "SERIES", [(.studyInstanceUID, "1.1")], answering: .seriesInstanceUID) == ["1.1.1", "1.1.2"])
        #expect(try Self.find(f, "SERIES", [(.studyInstanceUID, "1.1"), (.modality, "CT")], answering: .numberOfSeriesRelatedInstances) == ["2"])
        #expect(try Self.find(f, "IMAGE", [(.studyInstanceUID, "1.1"), (.seriesInstanceUID, "1.1.1")], answering: .sopInstanceUID)
                == ["1.1.1.1", "1.1.1.2"])
        #expect(try Self.find(f, model: .patientRoot, "PATIENT", [(.patientID, "P2")], answering: .issuerOfPatientID) == ["", "OTHER"])
        #expect(try Self.find(f, model: .patientRoot, "PATIENT", [(.patientID, "P1")], answering: .numberOfPatientRelatedInstances) == ["3"])
        #expect(try Self.find(f, model: .patientRoot, "STUDY", [(.patientID, "P2"), (.issuerOfPatientID, "OTHER")], answering: .studyInstanceUID) == ["3.1"])
        // Hierarchical: the unique keys above the level are required, and keys below it refused.
        #expect(throws: QueryError.self) { try Self.find(f, "SERIES", [(.modality, "CT")], answering: .seriesInstanceUID) }
        #expect(throws: QueryError.self) { try Self.find(f, model: .patientRoot, "STUDY", [(.studyDate, "20240115")], answering: .studyInstanceUID) }
        #expect(throws: QueryError.self) { try Self.find(f, "STUDY", [(.modality, "CT")], answering: .studyInstanceUID) }
        #expect(throws: QueryError.self) { try Self.find(f, model: .patientRoot, "BOGUS", [], answering: .patientID) }
        // Relational: both allowed.
        let relational = QueryOptions(relational: true)
        #expect(try Self.find(f, "SERIES", [(.modality, "CT")], options: relational, answering: .seriesInstanceUID) == ["1.1.1", "4.1.1"])
        #expect(try Self.find(f, "STUDY", [(.modality, "US")], options: relational, answering: .studyInstanceUID) == ["3.1"])
        #expect(try Self.find(f, model: .patientRoot, "PATIENT", [(.sopInstanceUID, "2.1.1.1")], options: relational, answering: .patientName)
                == ["Müller^Jürgen"])
    }

    /// US columns (Rows, Columns) answer as two little-endian bytes; an instance whose column is NULL (no Rows)
    /// is answered from its stored header, where the attribute is absent: present and empty. Both are written
    /// straight from the row or through the values, the same bytes (`expectEncodedAnswers`).
    @Test(arguments: IndexEngine.embedded) func binaryColumnsAndNullColumnsAnswerAsTheInstancesHoldThem(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        var ds = DataSet()
        ds.setString("IMAGE", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("1.1", for: .studyInstanceUID, vr: .UI)
        ds.setString("1.1.1", for: .seriesInstanceUID, vr: .UI)
        ds.setString("", for: .sopInstanceUID, vr: .UI)
        ds.set(Element(tag: .rows, vr: .US, bytes: []))
        ds.set(Element(tag: .columns, vr: .US, bytes: []))
        let query = try Query(identifier: ds, model: .studyRoot)
        let result = try f.engine.findNow(query)
        try Self.expectEncodedAnswers(f, query, result)
        try Self.expectAnswerValues(f.engine, query, result)
        let answers = result.answers.sorted { ($0.string(.sopInstanceUID) ?? "") < ($1.string(.sopInstanceUID) ?? "") }
        #expect(answers.map { $0.string(.sopInstanceUID) } == ["1.1.1.1", "1.1.1.2"])
        #expect(answers.map { $0[.rows]?.bytes } == [[0x00, 0x02], []])
        #expect(answers.map { $0[.columns]?.bytes } == [[0x00, 0x01], []])
        #expect(answers.allSatisfy { $0[.rows]?.vr == .US })
    }

    @Test(arguments: IndexEngine.embedded) func keysTheIndexLacksComeFromTheInstances(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let institution = Tag(0x0008, 0x0080)
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "1.1")], answering: institution) == ["Main Hospital"])
        #expect(try Self.find(f, "STUDY", [(institution, "Main*")], answering: .studyInstanceUID) == ["1.1"])
        // An empty value asked for and absent in the archive comes back present and empty.
        #expect(try Self.find(f, "STUDY", [(.studyInstanceUID, "3.1")], answering: institution) == [""])
        // Sequence matching: an item with both keys; only matching items returned.
        var ds = DataSet()
        ds.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        var item = DataSet()
        item.setString("XR123", for: Tag(0x0008, 0x0100), vr: .SH)
        item.setString("", for: Tag(0x0008, 0x0102), vr: .SH)
        ds.setItems([item], for: Tag(0x0008, 0x1032))
        ds.setString("", for: .studyInstanceUID, vr: .UI)
        let sequenceQuery = try Query(identifier: ds, model: .studyRoot)
        let result = try f.engine.findNow(sequenceQuery)
        try Self.expectEncodedAnswers(f, sequenceQuery, result)
        #expect(result.answers.map { $0.uid(.studyInstanceUID) } == ["2.1"])
        #expect(result.answers.first?.items(Tag(0x0008, 0x1032)).map { $0.string(Tag(0x0008, 0x0100)) } == ["XR123"])
    }

    /// A key the index does not hold is matched on the stored instances, each read: a bounded number per query
    /// (past it the query fails, 0xA700 / 503), or one query read every header in the archive.
    @Test(arguments: IndexEngine.embedded) func instancesReadToMatchAreBounded(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let bounded = QueryEngine(index: f.engine.index, source: f.engine.source, retrieveAETitle: "ARCA", maxInstancesRead: 1)
        var ds = DataSet()
        ds.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("Nowhere*", for: Tag(0x0008, 0x0080), vr: .LO)
        let query = try Query(identifier: ds, model: .studyRoot)
        #expect(throws: QueryError.self) { _ = try bounded.findNow(query) }
        #expect(try f.engine.findNow(query).answers.isEmpty)
    }

    @Test(arguments: IndexEngine.embedded) func answersNameTheirCharacterSet(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        var ds = DataSet(characterSet: SpecificCharacterSet("ISO_IR 192"))
        ds.setString("ISO_IR 192", for: .specificCharacterSet, vr: .CS)
        ds.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("山田*", for: .patientName, vr: .PN)
        let japaneseQuery = try Query(identifier: ds, model: .studyRoot)
        let japaneseResult = try f.engine.findNow(japaneseQuery)
        try Self.expectEncodedAnswers(f, japaneseQuery, japaneseResult)
        let japanese = japaneseResult.answers
        #expect(japanese.map { $0.uid(.studyInstanceUID) } == ["4.1"])
        #expect(japanese.first?.string(.specificCharacterSet) == "ISO_IR 192")
        #expect(japanese.first?.string(.patientName) == "Yamada^Tarou=山田^太郎=やまだ^たろう")
        // Latin-1 names answer in the query's Latin-1 when it can hold them; ASCII answers name no set.
        let latin = try Self.find(f, "STUDY", [(.patientName, "M*")], charset: "ISO_IR 100", answering: .specificCharacterSet)
        #expect(latin == ["<absent>", "ISO_IR 100"])
        let ascii = try Self.find(f, "STUDY", [(.patientName, "DOE*")], answering: .specificCharacterSet)
        #expect(ascii == ["<absent>"])
        let utf8 = try Self.find(f, "STUDY", [(.patientName, "müller*")], charset: "ISO_IR 192", answering: .specificCharacterSet)
        #expect(utf8 == ["ISO_IR 192"])
    }

    @Test(arguments: IndexEngine.embedded) func truncationIsReported(engine: IndexEngine) throws {
        let f = try Self.fixture(engine, maxResults: 2)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        var ds = DataSet()
        ds.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("", for: .studyInstanceUID, vr: .UI)
        let query = try Query(identifier: ds, model: .studyRoot)
        let result = try f.engine.findNow(query)
        #expect(result.answers.count == 2)
        #expect(result.truncated)
        try Self.expectEncodedAnswers(f, query, result)
        // Keys built directly may name Query/Retrieve Level, which every answer also carries: once, both ways.
        let direct = Query(model: .studyRoot, level: .study, keys: [try QueryKey(tag: .queryRetrieveLevel, text: ""),
                                                                    try QueryKey(tag: .studyInstanceUID, text: "")])
        let directResult = try f.engine.findNow(direct)
        #expect(directResult.answers.first?.string(.queryRetrieveLevel) == "STUDY")
        try Self.expectEncodedAnswers(f, direct, directResult)
        let retrieve = try f.engine.instancesNow(try Query(identifier: {
            var r = DataSet()
            r.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
            r.setString("1.1\\2.1", for: .studyInstanceUID, vr: .UI)
            return r
        }(), model: .studyRoot))
        #expect(retrieve.map(\.sopInstanceUID) == ["1.1.1.1", "1.1.1.2", "1.1.2.1", "2.1.1.1"])
    }

    /// Every instance with its patient's name (and `also`, empty: return keys), patient root, relational.
    static func everyInstance(also: [Tag] = []) throws -> Query {
        var ds = DataSet()
        ds.setString("IMAGE", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("", for: .sopInstanceUID, vr: .UI)
        ds.setString("", for: .patientName, vr: .PN)
        for tag in also { ds.setString("", for: tag) }
        return try Query(identifier: ds, model: .patientRoot, options: QueryOptions(relational: true))
    }

    @Test func queryLevelsReadInAnyCaseAndPadding() {
        #expect(QueryLevel("STUDY") == .study)
        #expect(QueryLevel(" study ") == .study)
        #expect(QueryLevel("Image\0") == .image)
        #expect(QueryLevel("INSTANCE") == .image)
        #expect(QueryLevel("patient\t") == .patient)
        #expect(QueryLevel("SERIES ") == .series)
        for bad in ["", "  ", "ST UDY", "STUDYX", "STUDYSTUDY", "SÉRIES", "\0STUDY"] { #expect(QueryLevel(bad) == nil, "\(bad)") }
    }

    /// C-FIND's path: the answers arrive in batches while the statement runs, the same bytes as `encodedNow`, and
    /// a consumer that stops after the first batch (a C-CANCEL) ends the statement instead of waiting for it.
    @Test(arguments: IndexEngine.embedded) func answersStreamInBatches(engine: IndexEngine) async throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        // Institution Name is not indexed: each answer reads its stored instance.
        let query = try Self.everyInstance(also: [Tag(0x0008, 0x0080)])
        let inline = QueryEngine(index: f.engine.index, source: f.engine.source, retrieveAETitle: "ARCA", inlineSlice: .seconds(60))
        let whole = try inline.encodedNow(query, syntax: .explicitVRLittleEndian)
        #expect(whole.answers.count > 4)
        // `inline` has every instance's header cached now: read through on this thread. `handingOver` has the
        // first three: it answers them here, hands over at the fourth row, and the pool reads the rest (and caches
        // them: its second run is read through here).
        let handingOver = QueryEngine(index: f.engine.index, source: f.engine.source, retrieveAETitle: "ARCA", inlineSlice: .seconds(60))
        var firstThree = query
        firstThree.limit = 3
        #expect(try handingOver.findNow(firstThree).answers.count == 3)
        for engine in [inline, handingOver] {
            var batches: [AnswerBatch] = []
            let truncated = try await engine.answers(to: query, syntax: .explicitVRLittleEndian, batchSize: 2) { batch in
                batches.append(batch)
                return true
            }
            #expect(!truncated)
            // (Three read here go out as 2 + 1, then the pool's in twos.)
            #expect(batches.dropLast().allSatisfy { (1...2).contains($0.answers.count) && !$0.isLast })
            #expect(batches.last?.truncated == false)
            #expect(batches.flatMap(\.answers) == whole.answers)
            var seen = 0
            let stopped = try await engine.answers(to: query, syntax: .explicitVRLittleEndian, batchSize: 2) { batch in
                seen += batch.answers.count
                return false
            }
            #expect(!stopped)
            #expect(seen == 2)
        }
        // Growing batches: 1, then 2 each (the cap), the same answers in order, whether read through on this
        // thread or handed over after three rows (its sizes go on where this thread's stopped; a full batch goes
        // at once, so the end comes after it in a batch of its own).
        #expect(whole.answers.count == 7)
        let handingOverAgain = QueryEngine(index: f.engine.index, source: f.engine.source, retrieveAETitle: "ARCA", inlineSlice: .seconds(60))
        #expect(try handingOverAgain.findNow(firstThree).answers.count == 3)
        // (An index without no-wait reads, PostgreSQL, runs every query on the pool: the end comes on its own there.)
        let readThrough = f.engine.index.nonBlockingRows != nil ? [1, 2, 2, 2] : [1, 2, 2, 2, 0]
        for (engine, expected) in [(inline, readThrough), (handingOverAgain, [1, 2, 2, 2, 0])] {
            var sizes: [Int] = []
            var grown: [[UInt8]] = []
            _ = try await engine.answers(to: query, syntax: .explicitVRLittleEndian, batchSize: 1, maxBatchSize: 2) { batch in
                sizes.append(batch.answers.count)
                grown += batch.answers
                return true
            }
            #expect(grown == whole.answers)
            #expect(sizes == expected)
        }
        var sizes = QueryEngine.BatchSizes(first: 3, cap: 10)
        #expect((0..<5).map { _ in sizes.next() } == [3, 6, 10, 10, 10])
        var huge = QueryEngine.BatchSizes(first: Int.max - 1, cap: Int.max)
        let first = huge.next(), second = huge.next()
        #expect(first == Int.max - 1 && second == Int.max)
        if engine == .sqlite {
            #expect(inline.inlineOutcomesSoFar == QueryEngine.InlineOutcomes(done: 3))
            #expect(handingOver.inlineOutcomesSoFar == QueryEngine.InlineOutcomes(done: 1, handedOver: 1))
        }
        // An index that fails on the I/O thread: the consumer gets the error, it is not left waiting.
        struct BrokenIndex: IndexQuerying {
            let dialect: any SQLDialect
            func forEachRow(_ sql: String, _ arguments: [IndexValue], _ body: ([IndexValue]) throws -> Bool) throws {
                throw ArchiveError.io("disk gone")
            }
        }
        let broken = QueryEngine(index: BrokenIndex(dialect: f.engine.index.dialect), source: f.engine.source)
        await #expect(throws: QueryError.self) {
            _ = try await broken.answers(to: query, syntax: .implicitVRLittleEndian, batchSize: 2) { _ in true }
        }
    }

    /// Writes the index's files back to the device (and with `dropping`, drops them from the kernel's cache), from
    /// another process: closing a descriptor of index.db here would drop this process's SQLite locks. A page still
    /// being written back makes a no-wait read refuse, so the tests of inline reads start with none dirty (before,
    /// they asked up to five times, 200 ms apart, and failed twice in loaded runs all the same).
    static func writeBack(_ folder: URL, dropping: Bool) throws {
        let script = """
            import os,sys
            for p in sys.argv[2:]:
              if os.path.exists(p):
                fd = os.open(p, os.O_RDONLY); os.fsync(fd)
                if sys.argv[1] == "drop": os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                os.close(fd)
            """
        let paths = [SQLiteIndex.fileName, SQLiteIndex.fileName + "-wal"].map { folder.appendingPathComponent($0).path }
        let run = try ExternalTool.run("/usr/bin/python3", ["-c", script, dropping ? "drop" : "keep"] + paths)
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// An index whose pages are not in the page cache: the read that would wait fails on the caller's thread,
    /// and the query runs on an I/O thread from the start, with the same answers.
    @Test func aQueryWhosePagesAreNotCachedRunsOnThePool() async throws {
        let f = try Self.fixture(.sqlite)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let query = try Self.everyInstance()
        let reference = try f.engine.findNow(query)
        // New connections (nothing in SQLite's own page cache), then the files dropped from the kernel's.
        let index = try SQLiteIndex(archive: f.directory.path)
        // The fixture's index wrote the rows: its checkpoint, if one runs, ends before the files are written back.
        (f.engine.index as? SQLiteIndex)?.checkpointer.settle()
        index.checkpointer.settle()
        try Self.writeBack(f.directory, dropping: true)
        let cold = QueryEngine(index: index, source: f.engine.source, retrieveAETitle: "ARCA", inlineSlice: .seconds(60))
        #expect(try await cold.find(query).answers == reference.answers)
        #expect(cold.inlineOutcomesSoFar == QueryEngine.InlineOutcomes(notStarted: 1))
        // Its pages now read (by the I/O thread's reading, into the kernel's cache): the next one starts here.
        #expect(try await cold.find(query).answers == reference.answers)
        #expect(cold.inlineOutcomesSoFar.done == 1)
        #expect(cold.inlineOutcomesSoFar.handedOver == 0)
    }

    /// A step that runs past the slice before its first row (a wild card that scans 3,000 studies, a zero
    /// slice) is interrupted on the caller's thread and the query runs on the pool from the start.
    @Test func aStepThatRunsPastItsSliceGoesToThePool() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-query-slice")
        defer { try? FileManager.default.removeItem(at: dir) }
        let index = try SQLiteIndex(archive: dir.path)
        try index.recordBatch((0..<3000).map { n in
            var ds = DataSet()
            ds.setString("P\(n)", for: .patientID, vr: .LO)
            ds.setString("NAME\(n)^X", for: .patientName, vr: .PN)
            ds.setString("9.\(n)", for: .studyInstanceUID, vr: .UI)
            ds.setString("9.\(n).1", for: .seriesInstanceUID, vr: .UI)
            ds.setString("9.\(n).1.1", for: .sopInstanceUID, vr: .UI)
            ds.setString("1.2.840.10008.5.1.4.1.1.2", for: .sopClassUID, vr: .UI)
            ds.setString("CT", for: .modality, vr: .CS)
            return Self.record(ds, at: "9.\(n).dcm")
        })
        var ds = DataSet()
        ds.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("*2999*", for: .patientName, vr: .PN)
        ds.setString("", for: .studyInstanceUID, vr: .UI)
        let query = try Query(identifier: ds, model: .studyRoot)
        let source = Instances(byLocation: [:])
        let sliced = QueryEngine(index: index, source: source, inlineSlice: .zero)
        let answers = try await sliced.find(query).answers
        #expect(answers.map { $0.string(.studyInstanceUID) } == ["9.2999"])
        #expect(sliced.inlineOutcomesSoFar == QueryEngine.InlineOutcomes(notStarted: 1))
        // With the time it needs, it runs through inline, once no page is dirty (`writeBack`).
        index.checkpointer.settle()
        try Self.writeBack(dir, dropping: false)
        let inline = QueryEngine(index: index, source: source, inlineSlice: .seconds(60))
        #expect(try await inline.find(query).answers == answers)
        #expect(inline.inlineOutcomesSoFar.done == 1)
        #expect(inline.inlineOutcomesSoFar.handedOver == 0)
    }

    /// A task cancelled while it waits for the next batch (its association went away) stops the statement at its
    /// next row and throws, instead of waiting for every row and reporting the answers so far as complete.
    @Test func aCancelledConsumerStopsTheStatement() async throws {
        /// One row, then a wait for `go`, then rows for as long as the engine takes them.
        final class SlowIndex: IndexQuerying, @unchecked Sendable {
            let dialect: any SQLDialect
            let go = DispatchSemaphore(value: 0)
            private let lock = NSLock()
            private var taken = 0
            var rowsAfterGo: Int { lock.withLock { taken } }
            init(dialect: any SQLDialect) { self.dialect = dialect }
            func forEachRow(_ sql: String, _ arguments: [IndexValue], _ body: ([IndexValue]) throws -> Bool) throws {
                let row: [IndexValue] = Array(repeating: .text("1.2.3"), count: 12)
                guard try body(row) else { return }
                _ = go.wait(timeout: .now() + 30)
                for _ in 0..<1000 {
                    guard try body(row) else { return }
                    lock.withLock { taken += 1 }
                }
            }
        }
        let index = SlowIndex(dialect: SQLiteDialect())
        let engine = QueryEngine(index: index, source: Instances(byLocation: [:]))
        var ds = DataSet()
        ds.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("", for: .studyInstanceUID, vr: .UI)
        let query = try Query(identifier: ds, model: .studyRoot)
        let (firstBatch, seen) = AsyncStream.makeStream(of: Void.self)
        let consumer = Task {
            try await engine.answers(to: query, syntax: .implicitVRLittleEndian, batchSize: 1) { _ in
                seen.yield()
                return true
            }
        }
        for await _ in firstBatch { break }
        consumer.cancel()
        index.go.signal()
        await #expect(throws: CancellationError.self) { _ = try await consumer.value }
        #expect(index.rowsAfterGo == 0)
    }
}

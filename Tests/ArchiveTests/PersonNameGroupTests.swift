@testable import Archive
import DICOM
import Foundation
import Testing
import TestSupport

/// A person name key with `=` names component groups (alphabetic, ideographic, phonetic: PS3.5 6.2) and is
/// matched group by group, an empty group of the key matching any value of that group (PS3.4 C.2.2.2.1):
/// `=山田*` finds every name whose ideographic group starts with 山田, whatever its other groups. It was matched
/// over the whole stored value, and found only names without an alphabetic group. Checked on the index
/// (Patient's Name) and on the stored instances (Performing Physician's Name, which the index does not hold).
@Suite struct PersonNameGroupTests {
    static let performingPhysician = Tag(0x0008, 0x1050)

    /// Studies 1–6, one patient each, whose Patient's Name and Performing Physician's Name are the same name.
    static let names: [(study: String, name: String)] = [
        ("1", "Yamada^Taro=山田^太郎=やまだ^たろう"),
        ("2", "Suzuki^Ichiro=鈴木^一郎"),
        ("3", "=山田^花子"),                      // no alphabetic group
        ("4", "Yamada^Jiro"),                    // the alphabetic group only
        ("5", "Kawa^Jun==山田^じゅん"),           // 山田 in the phonetic group only
        ("6", "Yamada^Hanako^^=山田^花子^^"),     // groups ending with empty components
    ]

    static func fixture(_ engine: IndexEngine) throws -> QueryEngineTests.Fixture {
        let dir = try ExternalTool.temporaryDirectory("arca-pn-groups")
        let index = try engine.make(in: dir)
        var headers: [String: DataSet] = [:]
        var records: [InstanceRecord] = []
        for (study, name) in names {
            var ds = DataSet()
            ds.setString("ISO_IR 192", for: .specificCharacterSet, vr: .CS)
            ds.setString("P" + study, for: .patientID, vr: .LO)
            ds.setString(name, for: .patientName, vr: .PN)
            ds.setString(name, for: performingPhysician, vr: .PN)
            ds.setString(study, for: .studyInstanceUID, vr: .UI)
            ds.setString("20240101", for: .studyDate, vr: .DA)
            ds.setString(study + ".1", for: .seriesInstanceUID, vr: .UI)
            ds.setString("CT", for: .modality, vr: .CS)
            ds.setString(study + ".1.1", for: .sopInstanceUID, vr: .UI)
            ds.setString("1.2.840.10008.5.1.4.1.1.2", for: .sopClassUID, vr: .UI)
            ds.setString("1", for: .instanceNumber, vr: .IS)
            let location = "\(study)/\(study).1/\(study).1.1.dcm"
            headers[location] = ds
            records.append(QueryEngineTests.record(ds, at: location))
        }
        try index.recordBatch(records)
        return QueryEngineTests.Fixture(
            engine: QueryEngine(index: index, source: QueryEngineTests.Instances(byLocation: headers), retrieveAETitle: "ARCA",
                                inlineSlice: .seconds(60)),
            directory: dir)
    }

    /// The studies whose name in `tag` matches `value`.
    static func studies(_ f: QueryEngineTests.Fixture, _ tag: Tag, _ value: String,
                        options: QueryOptions = QueryOptions()) throws -> [String] {
        try QueryEngineTests.find(f, "STUDY", [(tag, value)], options: options, charset: "ISO_IR 192", answering: .studyInstanceUID)
    }

    @Test(arguments: IndexEngine.embedded) func nameKeysMatchGroupByGroup(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        // The same answers from the index (Patient's Name) and from the stored instances (a name it lacks).
        for tag in [Tag.patientName, Self.performingPhysician] {
            func find(_ value: String, options: QueryOptions = QueryOptions()) throws -> [String] {
                try Self.studies(f, tag, value, options: options)
            }
            // An empty alphabetic group matches any alphabetic group; the ideographic group decides.
            #expect(try find("=山田*") == ["1", "3", "6"], "\(tag)")
            #expect(try find("=鈴木*") == ["2"], "\(tag)")
            #expect(try find("*=山田*") == ["1", "3", "6"], "\(tag)")
            #expect(try find("==山田*") == ["5"], "\(tag)")
            // Both groups named: both must match; the phonetic group, left off, matches any.
            #expect(try find("Yamada*=山田*") == ["1", "6"], "\(tag)")
            #expect(try find("Suzuki*=山田*") == [], "\(tag)")
            #expect(try find("Yamada^Taro=山田^太郎") == ["1"], "\(tag)")
            // Groups ending with empty components are the groups without them (PS3.5 6.2), in the key or stored.
            #expect(try find("Yamada^Hanako=山田^花子") == ["6"], "\(tag)")
            #expect(try find("yamada^hanako^=山田^花子^^") == ["6"], "\(tag)")
            #expect(try find("=山田^花子") == ["3", "6"], "\(tag)")
            // Empty groups only: any name.
            #expect(try find("*=*") == ["1", "2", "3", "4", "5", "6"], "\(tag)")
            // Without `=`, as before: the alphabetic group, or any group for a value in ideographic or phonetic writing.
            #expect(try find("Yamada*") == ["1", "4", "6"], "\(tag)")
            #expect(try find("山田*") == ["1", "3", "5", "6"], "\(tag)")
            // Literal matching: each group as written.
            let literal = QueryOptions(foldPersonNames: false)
            #expect(try find("Yamada*=山田*", options: literal) == ["1", "6"], "\(tag)")
            #expect(try find("YAMADA*=山田*", options: literal) == [], "\(tag)")
            #expect(try find("=山田*", options: literal) == ["1", "3", "6"], "\(tag)")
        }
        #expect(try QueryEngineTests.find(f, model: .patientRoot, "PATIENT", [(.patientName, "=山田*")], charset: "ISO_IR 192",
                                          answering: .patientID) == ["P1", "P3", "P6"])
    }

    /// The index reads a stored name's groups as `MatchParser.personNameGroups` splits a key's.
    @Test(arguments: IndexEngine.embedded) func theIndexReadsTheGroupsOfAName(engine: IndexEngine) throws {
        let f = try Self.fixture(engine)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let index = f.engine.index
        for name in ["", "A^B", "A^B=C", "A=B=C", "=B", "==C", "A==C", "A=B=C=D", "山田^太郎=やまだ"] {
            var expected = MatchParser.personNameGroups(name)
            while expected.count < 3 { expected.append("") }
            let groups = (0..<3).map { QueryCompiler.personNameGroup("n", $0, index.dialect) }
            var read: [String] = []
            try index.forEachRow("SELECT " + groups.joined(separator: ", ") + " FROM (SELECT CAST(\(index.dialect.placeholder(1)) AS TEXT) AS n) t",
                                 [.text(name)]) { row in
                read = row.map { $0.text ?? "<null>" }
                return false
            }
            #expect(read == expected, "\(name)")
        }
    }

    /// The matcher of the stored instances, and the statement: a key with `=` is decided in SQL (no instance
    /// read), its alphabetic group's literal start an index range.
    @Test func groupsInTheMatcherAndTheStatement() throws {
        let options = QueryOptions()
        let stored = "Yamada^Taro=山田^太郎=やまだ^たろう"
        #expect(InstanceMatcher.value(.wildcard("=山田*"), stored, vr: .PN, options: options))
        #expect(!InstanceMatcher.value(.wildcard("=山田*"), "Suzuki^Ichiro=鈴木^一郎", vr: .PN, options: options))
        #expect(!InstanceMatcher.value(.wildcard("=山田*"), "Kawa^Jun==山田^じゅん", vr: .PN, options: options))
        #expect(InstanceMatcher.value(.wildcard("Yamada*=山田*"), stored, vr: .PN, options: options))
        #expect(InstanceMatcher.value(.single("Yamada^Taro=山田^太郎"), stored, vr: .PN, options: options))
        #expect(!InstanceMatcher.value(.single("Yamada^Taro=山田^花子"), stored, vr: .PN, options: options))
        #expect(InstanceMatcher.value(.single("=山田^太郎^"), stored, vr: .PN, options: options))
        #expect(MatchParser.personNameGroups("A=B=C=D") == ["A", "B", "C=D"])

        var ds = DataSet(characterSet: SpecificCharacterSet("ISO_IR 192"))
        ds.setString("ISO_IR 192", for: .specificCharacterSet, vr: .CS)
        ds.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("Yamada*=山田*", for: .patientName, vr: .PN)
        let query = try Query(identifier: ds, model: .studyRoot)
        for dialect in [SQLiteDialect() as any SQLDialect, PostgreSQLDialect()] {
            let compiled = QueryCompiler.compile(query, dialect: dialect, limit: 10)
            #expect(compiled.limitInSQL && compiled.instanceKeys.isEmpty)
            #expect(compiled.arguments.contains(.text("YAMADA")), "\(compiled.sql)")
            #expect(compiled.arguments.contains(.text("YAMADA*")) || compiled.arguments.contains(.text("YAMADA%")), "\(compiled.arguments)")
            #expect(!compiled.arguments.contains(.text("YAMADA*=山田*")) && !compiled.arguments.contains(.text("YAMADA%=山田%")))
        }
    }
}

import Testing
import TestSupport

/// The PostgreSQL cases of the tests that `SQLiteIndexTests`, `QueryEngineTests` and `SettledHashTests` run on
/// each index engine (their own parameterized tests run SQLite's): a suite of its own, skipped with the reason
/// when no PostgreSQL server runs outside CI (scripts/test starts one; under CI its absence fails), instead of cases left out of a
/// parameterized test that then passes on SQLite alone.
@Suite(.enabled(if: PostgresTestServer.shouldRun, Comment(rawValue: PostgresTestServer.skipReason)))
struct OnPostgreSQL {
    let index = SQLiteIndexTests()
    let query = QueryEngineTests()
    let settled = SettledHashTests()
    let personNames = PersonNameGroupTests()

    @Test func countsFollowRecordReplaceAndRemove() async throws {
        try await index.countsFollowRecordReplaceAndRemove(engine: .postgres)
    }
    @Test func samePatientIDFromTwoIssuersIsTwoPatients() async throws {
        try await index.samePatientIDFromTwoIssuersIsTwoPatients(engine: .postgres)
    }
    @Test func concurrentRecordsAllLandAndShareTransactions() async throws {
        try await index.concurrentRecordsAllLandAndShareTransactions(engine: .postgres)
    }
    @Test func blockingRecordsFromManyThreadsAllLandAndShareTransactions() throws {
        try index.blockingRecordsFromManyThreadsAllLandAndShareTransactions(engine: .postgres)
    }
    @Test func rebuildGivesTheSameRowsAndCheckFindsProblems() async throws {
        try await index.rebuildGivesTheSameRowsAndCheckFindsProblems(rebuildingInto: .postgres)
    }
    @Test func movesLeaveNoEmptyLevelsAndMatchAFreshIndex() async throws {
        try await index.movesLeaveNoEmptyLevelsAndMatchAFreshIndex(engine: .postgres)
    }
    @Test func aBatchWithABadRowFailsOnlyThatRow() async throws {
        try await index.aBatchWithABadRowFailsOnlyThatRow(engine: .postgres)
    }
    @Test func afterAnUncleanStopReconcileIndexesTheFilesWithoutRows() async throws {
        try await index.afterAnUncleanStopReconcileIndexesTheFilesWithoutRows(engine: .postgres)
    }
    @Test func aRowSettledWhileTheCheckRunsIsReadAgain() throws {
        try settled.aRowSettledWhileTheCheckRunsIsReadAgain(engine: .postgres)
    }
    @Test func studiesAnswerTheirPatientsAttributesAsTheyChange() throws {
        try query.studiesAnswerTheirPatientsAttributesAsTheyChange(engine: .postgres)
    }
    @Test func personNamesMatchInsensitively() throws {
        try query.personNamesMatchInsensitively(engine: .postgres)
    }
    @Test func nameKeysMatchGroupByGroup() throws {
        try personNames.nameKeysMatchGroupByGroup(engine: .postgres)
    }
    @Test func theIndexReadsTheGroupsOfAName() throws {
        try personNames.theIndexReadsTheGroupsOfAName(engine: .postgres)
    }
    @Test func rangesListsAndWildcards() throws {
        try query.rangesListsAndWildcards(engine: .postgres)
    }
    @Test func levelsAndComputedAttributes() throws {
        try query.levelsAndComputedAttributes(engine: .postgres)
    }
    @Test func binaryColumnsAndNullColumnsAnswerAsTheInstancesHoldThem() throws {
        try query.binaryColumnsAndNullColumnsAnswerAsTheInstancesHoldThem(engine: .postgres)
    }
    @Test func keysTheIndexLacksComeFromTheInstances() throws {
        try query.keysTheIndexLacksComeFromTheInstances(engine: .postgres)
    }
    @Test func answersNameTheirCharacterSet() throws {
        try query.answersNameTheirCharacterSet(engine: .postgres)
    }
    @Test func truncationIsReported() throws {
        try query.truncationIsReported(engine: .postgres)
    }
    @Test func answersStreamInBatches() async throws {
        try await query.answersStreamInBatches(engine: .postgres)
    }
}

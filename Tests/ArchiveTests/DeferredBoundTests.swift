import Testing

@testable import Archive

/// Deferred durability's bound: a commit waits for the flush only once what is unflushed has been so for half of
/// `IngestJournal.deferredBound` (the flusher fallen behind); with the flusher on time it never waits.
@Suite struct DeferredBoundTests {
    @Test func aCommitWaitsOnlyWhenTheFlusherIsBehind() {
        let now = ContinuousClock.now
        #expect(!IngestJournal.isOverdue(since: nil, now: now))
        #expect(!IngestJournal.isOverdue(since: now - .milliseconds(200), now: now))
        #expect(!IngestJournal.isOverdue(since: now - .milliseconds(499), now: now))
        #expect(IngestJournal.isOverdue(since: now - .milliseconds(501), now: now))
        #expect(IngestJournal.isOverdue(since: now - .seconds(5), now: now))
    }
}

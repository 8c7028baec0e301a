import Testing

@testable import Archive

/// The index URL: its password, or PGPASSWORD's when it has none, and never the password in what is shown.
@Suite struct PostgresURLTests {
    @Test func thePasswordComesFromTheURLOrFromPGPASSWORD() throws {
        let withPassword = try PostgresURL("postgres://arca:s3cret@db:5433/pacs", environment: ["PGPASSWORD": "other"])
        #expect(withPassword.configuration.password == "s3cret")
        #expect(withPassword.configuration.username == "arca" && withPassword.configuration.port == 5433)
        #expect(!withPassword.display.contains("s3cret"))
        let fromEnvironment = try PostgresURL("postgres://arca@db/pacs", environment: ["PGPASSWORD": "from-env"])
        #expect(fromEnvironment.configuration.password == "from-env")
        #expect(try PostgresURL("postgres://arca@db/pacs", environment: [:]).configuration.password == nil)
        #expect(try PostgresURL("postgres://arca@db/pacs", environment: ["PGPASSWORD": ""]).configuration.password == nil)
    }
}

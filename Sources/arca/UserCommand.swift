import ArgumentParser
import DICOMweb
import Foundation

/// `arca user`: the stored forms of HTTP credentials for the settings file (`http_users`, `http_tokens`).
struct User: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make HTTP credentials for the settings file.",
        subcommands: [HashPassword.self, NewToken.self])

    struct HashPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hash-password",
            abstract: "Read a password (one line on standard input) and print its stored form (PBKDF2-SHA256).",
            discussion: "Example: arca user hash-password <<< 'secret', then in arca.yml:\nhttp_users:\n  - {name: alice, role: read-write, password_hash: 'pbkdf2-sha256$…'}")

        @Option(help: "PBKDF2 rounds (at least 210000).") var rounds = PasswordHash.defaultRounds

        func run() throws {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no password on standard input")
            }
            guard rounds >= 210_000 else { throw ValidationError("--rounds below 210000") }
            print(try PasswordHash.make(line, rounds: rounds))
        }
    }

    struct NewToken: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-token",
            abstract: "Make a random bearer token: prints the token (give it to the client) and its stored form (for http_tokens).")

        func run() {
            let token = TokenHash.newToken()
            print("token: \(token)")
            print("token_hash: \(TokenHash.make(token))")
        }
    }
}

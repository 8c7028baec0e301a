import ArgumentParser

@main
struct Arca: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arca",
        abstract: "Arca, a DICOM archive server.",
        version: ArcaVersion.string,
        subcommands: [Serve.self, Echo.self, Store.self, Find.self, Move.self, Get.self, Commit.self, Index.self, DCKV.self, Dump.self,
                      Hello.self, Render.self, Transcode.self, User.self]
    )
}

enum ArcaVersion {
    static let string = "0.1.0"
}

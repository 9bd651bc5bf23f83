import ArgumentParser
import Foundation
import PipewatchInputs
import PipewatchOutput
import PipewatchPipeline

/// Options every command that reads records shares.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "Files or directories to read (directories recursively, in sorted order); '-' reads stdin.",
        discussion: "gzip and zstd are detected from the content. Directories contribute files ending in " +
            InputPaths.dataExtensions.map { "." + $0 }.joined(separator: ", ") + "."))
    var inputs: [String]

    @Option(name: .customLong("dead-letter"), help: ArgumentHelp(
        "Write records that cannot be processed to this NDJSON file (reason, input, line or offset, raw bytes).",
        discussion: "Without it, each bad record is reported on stderr by position and reason."))
    var deadLetterPath: String?

    @Option(help: "Longest record accepted, in bytes (1024 to 1 GiB); longer ones are dead-lettered.")
    var maxRecordBytes: Int = 16 << 20

    @Flag(inversion: .prefixedNo, help: "Show a progress line on stderr when it is a terminal.")
    var progress = true

    func validate() throws {
        guard (1024...(1 << 30)).contains(maxRecordBytes) else {
            throw ValidationError("--max-record-bytes must be between 1024 and 1073741824 (1 GiB)")
        }
    }

    func makeDeadLetter() throws -> DeadLetterOutput {
        DeadLetterOutput(file: try deadLetterPath.map { try OutputFile(path: $0) })
    }

    var showProgress: Bool { progress && isatty(2) != 0 }
}

enum ExitStatus {
    /// Finished, but some records were dead-lettered or an input could not be read.
    static let incomplete = ExitCode(2)
}

func printToStandardError(_ lines: [String]) {
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}

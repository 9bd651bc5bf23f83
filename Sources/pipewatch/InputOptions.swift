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

    @Option(help: ArgumentHelp(
        "Threads that parse, normalize and match records (default: the cores this process may run on, as taskset or a cpuset allows); the output is the same for every number.",
        discussion: "With N > 1, one more thread reads and frames the inputs and up to 2N+1 chunks are in flight, each holding its read buffer (4 MiB, or the largest record, up to --max-record-bytes) and its decoded events (about 7 MiB more for CloudTrail): about 11 MiB per chunk, 22 MiB per thread."))
    var threads: Int = UsableCores.count

    func validate() throws {
        guard (1024...(1 << 30)).contains(maxRecordBytes) else {
            throw ValidationError("--max-record-bytes must be between 1024 and 1073741824 (1 GiB)")
        }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256") }
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

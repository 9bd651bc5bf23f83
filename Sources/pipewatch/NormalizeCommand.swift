import ArgumentParser
import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchPipeline

struct NormalizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normalize",
        abstract: "Print records as normalized events (NDJSON), with a summary on stderr.")

    @OptionGroup var input: InputOptions

    @Flag(help: "Add the original record to each event as 'raw'.")
    var raw = false

    @Option(help: ArgumentHelp(
        "Print only events of these sources (repeatable).",
        valueName: EventSource.allCases.map(\.name).joined(separator: "|")))
    var source: [String] = []

    func validate() throws {
        for name in source where EventSource(name: name) == nil {
            throw ValidationError("unknown source '\(name)'; expected one of \(EventSource.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let wanted = Set(source.compactMap(EventSource.init(name:)))
        let output = OutputFile.standardOutput()
        let replay = FileReplay(
            deadLetter: try input.makeDeadLetter(), showProgress: input.showProgress, maxRecordBytes: input.maxRecordBytes,
            threads: input.threads)
        var writer = JSONWriter(capacity: 1 << 20)
        let stats = try replay.run(input.inputs) { decoder, _ in
            writer.reset()
            decoder.forEachView { _, view in
                guard wanted.isEmpty || wanted.contains(view.source) else { return }
                EventJSON.write(view, to: &writer, includeRaw: raw)
                writer.newline()
            }
            try output.write(writer.bytes)
        }
        try output.flush()
        printToStandardError(stats.summaryLines())
        if stats.badRecords > 0 || !stats.inputErrors.isEmpty { throw ExitStatus.incomplete }
    }
}

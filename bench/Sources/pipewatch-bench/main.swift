import ArgumentParser

struct PipewatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipewatch-bench",
        abstract: "Pipewatch benchmarks: corpus generation and throughput measurements",
        subcommands: [
            GenerateCommand.self, ParseCommand.self, RulesCommand.self, ReplayCommand.self, DetectorsCommand.self,
            QuietCommand.self, StagesCommand.self, DaemonCommand.self,
        ])
}

PipewatchBench.main()

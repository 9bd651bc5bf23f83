import ArgumentParser
import Foundation
import PipewatchDaemon

/// `pipewatch run --config FILE`: the daemon.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the pipeline as a daemon, as the configuration file says (Kafka, files, MLflow webhooks).",
        discussion: """
            SIGTERM or SIGINT: finish the batch in hand, wait for the outputs to acknowledge what is in flight (at \
            most delivery.shutdown-timeout), commit and exit 0. SIGHUP, or a changed rule file when rules.watch is \
            on, reloads the rules between two batches; a rule set that does not compile is refused and the running \
            one stays; a SIGHUP during start-up reloads the rules once the daemon runs. README.md documents the \
            configuration file.
            """)

    @Option(name: .customLong("config"), help: "The configuration file (YAML).")
    var configPath: String

    func run() throws {
        // First: a SIGHUP while the configuration and the rules load must not end the process.
        let signals = DaemonSignals()
        let configuration: DaemonConfiguration
        do { configuration = try DaemonConfiguration.load(path: configPath) } catch let error as DaemonConfigurationError {
            printToStandardError(error.problems)
            throw ExitCode(64)
        }
        let daemon: Daemon
        do { daemon = try Daemon(configuration: configuration) } catch let error as DaemonConfigurationError {
            printToStandardError(error.problems)
            throw ExitCode(64)
        }
        // Signals become requests the pipeline thread acts on between batches.
        signals.attach(daemon)
        try withExtendedLifetime(signals) { try daemon.run() }
    }
}

/// `pipewatch config check FILE`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a `pipewatch run` configuration file.",
        subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate the configuration and the rules it names: every problem as file:line: reason; exit 1 if any.")

        @Argument(help: "The configuration file (YAML).")
        var path: String

        func run() throws {
            do {
                let configuration = try DaemonConfiguration.load(path: path)
                let ruleSet = try Daemon.loadRules(configuration.rules)
                print("\(path): ok (\(ruleSet.rules.count) rules, \(configuration.outputs.count) output(s))")
            } catch let error as DaemonConfigurationError {
                print(error.problems.joined(separator: "\n"))
                throw ExitCode.failure
            }
        }
    }
}

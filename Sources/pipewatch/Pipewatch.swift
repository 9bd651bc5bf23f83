import ArgumentParser

struct Pipewatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipewatch",
        abstract: "Security stream engine for ML-pipeline audit trails.",
        discussion: """
            Reads AWS CloudTrail, Kubernetes audit, GCP audit (Vertex AI) and MLflow webhook records, normalizes \
            them into one event schema and evaluates Sigma rules on them.

            Exit status: 0 when every record was processed, 2 when some records were dead-lettered or an input \
            could not be read (the rest was still processed), 1 on errors that stop the run.
            """,
        version: PipewatchVersion.current,
        subcommands: [NormalizeCommand.self, ReplayCommand.self, RulesCommand.self, RunCommand.self, ConfigCommand.self,
                      ReportCommand.self])
}

enum PipewatchVersion {
    static let current = "0.1.0"
}

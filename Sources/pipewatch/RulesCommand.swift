import ArgumentParser
import Foundation
import PipewatchRules

/// `pipewatch rules check|test`: the loop rule authors live in.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Validate Sigma rules and run the example records they carry.",
        discussion: """
            PATH arguments are rule files or directories; directories are searched recursively for .yml and .yaml \
            files. Problems are printed as file:line: reason.

            Logsources Pipewatch reads: product aws + service cloudtrail; product gcp + service gcp.audit; product \
            gcp + service vertexai (GCP audit entries of aiplatform.googleapis.com); product kubernetes + service \
            audit (category application allowed); product mlflow + service webhook; product pipewatch (every \
            source, usually with normalized field names such as api.operation or actor.user).
            """,
        subcommands: [Check.self, Test.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate rules: print every problem as file:line: reason; exit 1 if there is any.",
            discussion: """
                A rule whose logsource Pipewatch does not read, a modifier or condition it cannot run, a regular \
                expression Hyperscan refuses (backreferences, lookaround) or a placeholder without a value is a \
                problem here; replay skips rules of other logsources instead. Warnings (a filter naming a rule \
                that is not loaded) do not fail the check.
                """)

        @Argument(help: "Rule files or directories.")
        var paths: [String]

        @OptionGroup var ruleOptions: RuleLoadingOptions

        func run() throws {
            let ruleSet = RuleSet(paths: paths, options: try RulesCommand.loadOptions(ruleOptions))
            RulesCommand.print(ruleSet.problems.map(\.description))
            RulesCommand.printToStandardError(ruleSet.warnings.map { "warning: \($0)" })
            RulesCommand.printToStandardError([
                "\(ruleSet.files.count) file(s), \(ruleSet.rules.count) rule(s), \(ruleSet.filters.count) filter(s), "
                    + "\(ruleSet.problems.count) problem(s), \(ruleSet.warnings.count) warning(s)"
            ])
            if !ruleSet.problems.isEmpty { throw ExitCode.failure }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Run every rule's example records (its tests: section); exit 1 on any failure.",
            discussion: """
                A rule may carry example records, raw records written as YAML maps, under a custom top-level key:

                    tests:
                        match:        # records the rule must match
                            - eventTime: '2026-11-05T02:31:00Z'
                              eventSource: iam.amazonaws.com
                              eventName: CreateAccessKey
                        no_match:     # records it must not match
                            - {...}

                Each record is converted to JSON, normalized like any input and evaluated by the same compiled \
                engine as replay (meta filters included). Rules without examples are listed, not failed. Load \
                problems fail the run too.
                """)

        @Argument(help: "Rule files or directories.")
        var paths: [String]

        @OptionGroup var ruleOptions: RuleLoadingOptions

        @Option(name: .customLong("junit"), help: ArgumentHelp("Also write the results as JUnit XML to this file.", valueName: "file"))
        var junitPath: String?

        @Flag(name: .shortAndLong, help: "List passing rules and rules without examples too.")
        var verbose = false

        func run() throws {
            let ruleSet = RuleSet(paths: paths, options: try RulesCommand.loadOptions(ruleOptions))
            RulesCommand.print(ruleSet.problems.map(\.description))
            RulesCommand.printToStandardError(ruleSet.warnings.map { "warning: \($0)" })
            let results = RuleTester.run(ruleSet)
            var lines: [String] = []
            for result in results {
                let name = "\(result.rule.title) [\(result.rule.reference)] (\(result.rule.file))"
                if result.examples == 0 {
                    if verbose { lines.append("NO TESTS  \(name)") }
                } else if result.passed {
                    if verbose { lines.append("PASS      \(name): \(result.examples) example(s)") }
                } else {
                    lines.append("FAIL      \(name)")
                    lines += result.failures.map { "          \(result.rule.file):\($0.line): \($0.reason)" }
                }
            }
            RulesCommand.print(lines)
            let failed = results.filter { !$0.passed }.count
            let untested = results.filter { $0.examples == 0 }.count
            let passed = results.count - failed - untested
            RulesCommand.printToStandardError([
                "\(results.count) rule(s): \(passed) passed, \(failed) failed, \(untested) without examples; "
                    + "\(ruleSet.problems.count) load problem(s)"
            ])
            if let junitPath {
                let xml = RuleTester.junitXML(results: results, problems: ruleSet.problems)
                do {
                    try xml.write(toFile: junitPath, atomically: true, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot write \(junitPath): \(error.localizedDescription)")
                }
            }
            if failed > 0 || !ruleSet.problems.isEmpty { throw ExitCode.failure }
        }
    }

    /// Load options for checking and testing: a rule of another logsource is a problem, not skipped.
    static func loadOptions(_ options: RuleLoadingOptions) throws -> RuleLoadOptions {
        do {
            return try options.loadOptions(skipUnsupported: false)
        } catch let problem as RuleProblem {
            throw ValidationError(problem.description)
        }
    }

    static func print(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    static func printToStandardError(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

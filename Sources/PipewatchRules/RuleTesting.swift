import PipewatchEvents
import PipewatchJSON

/// Why a JSON record did not become an event.
public enum RecordDecodingError: Error, Sendable, CustomStringConvertible {
    case json(JSONError)
    case normalize(NormalizeFailure)

    public var description: String {
        switch self {
        case .json(let error): return error.description
        case .normalize(let failure): return failure.description
        }
    }
}

/// Parses and normalizes single JSON records, the way the pipeline does, and lends their `EventView`: for rule
/// examples, tools and tests. Reuses its storage; one instance per thread.
public final class RecordDecoder {
    private let tape = JSONTape(capacity: 1024)
    private let arena = TextArena()
    private let normalizer = Normalizer()

    public init() {}

    /// Calls `body` with the event of one JSON record.
    public func withEventView<R>(json: String, _ body: (EventView) throws -> R) throws -> R {
        var bytes = Array(json.utf8)
        if bytes.isEmpty { bytes = [0x20] }
        tape.removeAll()
        arena.reset()
        return try bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            let root: UInt32
            do throws(JSONError) {
                root = try JSONParser.parse(base, from: 0, to: json.utf8.count, into: tape)
            } catch {
                throw RecordDecodingError.json(error)
            }
            let document = JSONDocument(bytes: base, nodes: tape.nodes)
            var event: Event
            do throws(NormalizeFailure) {
                event = try normalizer.normalize(document, root: root, arena: arena)
            } catch {
                throw RecordDecodingError.normalize(error)
            }
            let arenaBytes = UnsafePointer(arena.bytes)
            return try withUnsafePointer(to: &event) { pointer in
                try body(EventView(document: JSONDocument(bytes: base, nodes: tape.nodes), arena: arenaBytes, event: pointer))
            }
        }
    }
}

/// A failed example: its line in the rule file and what went wrong.
public struct RuleTestFailure: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
}

/// The outcome of one rule's examples.
public struct RuleTestResult: Sendable {
    public let rule: Rule
    /// Examples run (match and no_match).
    public let examples: Int
    public let failures: [RuleTestFailure]

    public var passed: Bool { failures.isEmpty }
}

/// Runs the examples of a rule set's `tests` sections through the same normalizer and the same compiled engine
/// (index, filters and all) that replay uses.
///
/// The example format, a custom top-level key of the rule:
///
///     tests:
///         match:                       # records the rule must match
///             - eventSource: iam.amazonaws.com
///               eventName: CreateAccessKey
///               eventTime: '2026-11-05T02:31:00Z'
///               userIdentity: { type: IAMUser, arn: 'arn:aws:iam::111122223333:user/bob' }
///         no_match:                    # records it must not match
///             - { … }
///
/// Each example is a raw record (CloudTrail, Kubernetes audit, GCP LogEntry or MLflow webhook delivery) written as a
/// YAML map and converted to JSON (plain `null`, `true`/`false` and numbers become JSON null, booleans and numbers;
/// quote them to keep them strings). It must normalize, so it needs its source's required fields (for CloudTrail
/// `eventTime`, `eventSource` and `eventName`).
public enum RuleTester {
    public static func run(_ ruleSet: RuleSet) -> [RuleTestResult] {
        let evaluator = ruleSet.engine.makeEvaluator()
        let decoder = RecordDecoder()
        return ruleSet.rules.map { rule in
            var failures: [RuleTestFailure] = []
            let sets: [(examples: [RuleExamples.Example], mustMatch: Bool)] = [
                (rule.examples.match, true), (rule.examples.noMatch, false),
            ]
            for (examples, mustMatch) in sets {
                for example in examples {
                    do {
                        let reason: String? = try decoder.withEventView(json: example.json) { view in
                            var matched = false
                            evaluator.forEachMatch(in: view) { if $0 === rule { matched = true } }
                            if matched == mustMatch { return nil }
                            if mustMatch {
                                if !rule.sources.contains(view.source) {
                                    return "example must match but does not: it is a \(view.source.name) event and the rule reads \(rule.sources.map(\.name).joined(separator: ", "))"
                                }
                                return "example must match but does not"
                            }
                            return "example must not match but does"
                        }
                        if let reason { failures.append(RuleTestFailure(line: example.line, reason: reason)) }
                    } catch {
                        failures.append(RuleTestFailure(line: example.line, reason: "example is not a record Pipewatch reads: \(error)"))
                    }
                }
            }
            return RuleTestResult(rule: rule, examples: rule.examples.match.count + rule.examples.noMatch.count, failures: failures)
        }
    }

    /// JUnit XML: one test suite per rule file, one test case per rule (skipped when it has no examples), and one
    /// errored test case per load problem.
    public static func junitXML(results: [RuleTestResult], problems: [RuleProblem]) -> String {
        var files: [String] = []
        var byFile: [String: [String]] = [:]
        var counts: [String: (tests: Int, failures: Int, errors: Int, skipped: Int)] = [:]
        func add(_ file: String, _ xml: String, failure: Bool = false, error: Bool = false, skipped: Bool = false) {
            if byFile[file] == nil {
                files.append(file)
                byFile[file] = []
                counts[file] = (0, 0, 0, 0)
            }
            byFile[file]!.append(xml)
            counts[file]!.tests += 1
            if failure { counts[file]!.failures += 1 }
            if error { counts[file]!.errors += 1 }
            if skipped { counts[file]!.skipped += 1 }
        }
        for problem in problems {
            let name = "load (line \(problem.line))"
            add(problem.file, "    <testcase classname=\"\(escape(problem.file))\" name=\"\(escape(name))\">\n"
                + "      <error message=\"\(escape(problem.reason))\"/>\n    </testcase>\n", error: true)
        }
        for result in results {
            let rule = result.rule
            let name = "\(rule.title) (\(rule.reference))"
            var xml = "    <testcase classname=\"\(escape(rule.file))\" name=\"\(escape(name))\">\n"
            if result.examples == 0 {
                xml += "      <skipped message=\"no examples\"/>\n"
            } else if !result.passed {
                xml += "      <failure message=\"\(escape("\(result.failures.count) of \(result.examples) examples failed"))\">"
                    + escape(result.failures.map(\.description).joined(separator: "\n")) + "</failure>\n"
            }
            xml += "    </testcase>\n"
            add(rule.file, xml, failure: !result.passed, skipped: result.examples == 0)
        }
        let total = counts.values.reduce((0, 0, 0, 0)) { ($0.0 + $1.tests, $0.1 + $1.failures, $0.2 + $1.errors, $0.3 + $1.skipped) }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"pipewatch rules test\" tests=\"\(total.0)\" failures=\"\(total.1)\" errors=\"\(total.2)\" skipped=\"\(total.3)\">\n"
        for file in files {
            let c = counts[file]!
            out += "  <testsuite name=\"\(escape(file))\" tests=\"\(c.tests)\" failures=\"\(c.failures)\" errors=\"\(c.errors)\" skipped=\"\(c.skipped)\">\n"
            out += byFile[file]!.joined()
            out += "  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                // XML 1.0 has no other control characters.
                if scalar.value < 0x20 { out += "?" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}

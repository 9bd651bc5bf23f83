import Foundation
import PipewatchInputs
import PipewatchOutput
import PipewatchPipeline
import PipewatchRules

/// Harness 2: bytes as a rule file (Sigma rules, filters, correlations, detectors), loaded as `pipewatch rules
/// check` loads a file; what loads is compiled and run, with its correlations and detectors, over one event of each
/// source, and every alert it raises is written in every format.
///
/// Checked: each problem names the file and a line within it (or 0 for the whole file); rules that load evaluate
/// without trapping; their alerts stay well-framed in every format whatever the rule's title, id or tags.
public enum RuleLoaderHarness {
    static let directory: String = {
        let directory = NSTemporaryDirectory() + "pipewatch-fuzz-rules-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "pipewatch-fuzz-rules-\(getpid())") }
        _ = FileManager.default.createFile(atPath: directory + "/events.ndjson", contents: Data(SampleRecords.ndjson.utf8))
        return directory
    }()

    nonisolated(unsafe) static let decoder = EventDecoder()

    public static func run(_ data: UnsafeRawBufferPointer) {
        let file = directory + "/rule.yml"
        guard FileManager.default.createFile(atPath: file, contents: Data(data)) else { fatalError("cannot write \(file)") }
        let ruleSet = RuleSet(paths: [file])
        // Lines as libyaml counts them (LF, CR LF, a lone CR, NEL, LS and PS end a line); a syntax error found at the
        // end of the input names the last line with text, never the one after.
        var lines = 1
        for index in data.indices {
            let byte = data[index], next = index + 1 < data.count ? data[index + 1] : 0
            let afterNext = index + 2 < data.count ? data[index + 2] : 0
            if byte == 0x0A || (byte == 0x0D && next != 0x0A) || (byte == 0xC2 && next == 0x85)
                || (byte == 0xE2 && next == 0x80 && (afterNext == 0xA8 || afterNext == 0xA9))
            {
                lines += 1
            }
        }
        for problem in ruleSet.problems + ruleSet.warnings + ruleSet.skipped {
            invariant(problem.file == file, "problem names \(problem.file), not the rule file: \(problem)")
            invariant((0...lines).contains(problem.line), "problem on line \(problem.line) of \(lines): \(problem)")
            invariant(!problem.reason.isEmpty, "problem without a reason on line \(problem.line)")
        }
        guard !ruleSet.rules.isEmpty else { return }

        let detection = Detection(ruleSet: ruleSet)
        var alerts: [Alert] = []
        _ = RecordReader().read(directory + "/events.ndjson") { chunk in
            decoder.decode(chunk)
            invariant(decoder.failures.isEmpty, "a sample record failed: \(decoder.failures)")
            detection.evaluate(decoder) { alerts.append($0) }
        }
        detection.finish { alerts.append($0) }
        for alert in alerts.prefix(16) { FormatterHarness.check(alert) }
    }
}

import ArgumentParser
import Foundation
import PipewatchInputs
import PipewatchOutput
import PipewatchPipeline
import PipewatchRules

/// `pipewatch-bench stages`: the cost of each stage of replay per record, measured by running the pipeline cut after
/// each stage (each pass adds one stage to the previous), and from those costs a model of what N cores would give
/// with one reader thread, N - 2 workers and one sequencer thread that runs the detector stage and the writer.
struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "Measure per-stage costs (ns per record) and model the throughput of N cores.")

    @Argument(help: "Corpus file (NDJSON).")
    var input: String

    @Option(help: "The same corpus compressed with zstd, to measure reading with decompression.")
    var zstd: String?

    @Option(name: .customLong("rules"), help: "Rule files or directories (repeatable).")
    var rulePaths: [String]

    @Option(help: "Where the write pass appends its alerts (a file, removed at the end).")
    var scratch = "/tmp/pipewatch-bench-stages.ndjson"

    @Option(help: "Runs of each pass; the best is kept.")
    var runs = 3

    @Option(help: "Core counts to model.")
    var cores: [Int] = [1, 2, 8, 16, 64]

    enum Pass: String, CaseIterable {
        case frame = "read + frame"
        case decode = "+ parse + normalize"
        case match = "+ match (rules evaluated, matches counted)"
        case alert = "+ alerts built"
        case format = "+ OCSF formatted"
        case write = "+ written to a file"
        case detectors = "+ detector stage (whole replay)"
    }

    func run() throws {
        let ruleSet = RuleSet(paths: rulePaths, options: RuleLoadOptions(skipUnsupported: true))
        guard ruleSet.problems.isEmpty else {
            throw ValidationError(ruleSet.problems.map(\.description).joined(separator: "\n"))
        }
        var best: [Pass: Double] = [:]
        var records = 0
        var alerts = 0
        var alertBytes = 0
        var detectorUpdates = 0
        var matches = 0
        for pass in Pass.allCases {
            for _ in 0..<runs {
                let result = try measure(pass, ruleSet: ruleSet, path: input)
                records = result.records
                if pass == .format { alerts = result.alerts; alertBytes = result.bytes }
                if pass == .match { matches = result.alerts }
                if pass == .detectors { detectorUpdates = result.detectorUpdates }
                best[pass] = min(best[pass] ?? .infinity, result.seconds)
            }
        }
        var zstdFrame: Double?
        if let zstd {
            for _ in 0..<runs {
                let result = try measure(.frame, ruleSet: ruleSet, path: zstd)
                zstdFrame = min(zstdFrame ?? .infinity, result.seconds)
            }
        }
        let perRecord = { (seconds: Double) in seconds * 1e9 / Double(max(records, 1)) }
        printLine("stages (CPU time): \(records) records, \(ruleSet.rules.count) rules, \(matches) matches, \(alerts) alerts (\(alertBytes) bytes of OCSF), \(detectorUpdates) detector updates; best of \(runs)")
        printLine("pass | ns/record (cumulative) | stage ns/record")
        var previous = 0.0
        for pass in Pass.allCases {
            let total = perRecord(best[pass]!)
            printLine(String(format: "%@ | %.0f | %.0f", pass.rawValue, total, total - previous))
            previous = total
        }
        if let zstdFrame {
            printLine(String(format: "read + zstd decompression + frame | %.0f | %.0f", perRecord(zstdFrame), perRecord(zstdFrame)))
        }
        if alerts * 100 >= records {  // per-alert costs only where alerts are many enough to measure
            let alertCost = perRecord(best[.alert]! - best[.match]!) * Double(records) / Double(alerts)
            let formatCost = perRecord(best[.format]! - best[.alert]!) * Double(records) / Double(alerts)
            let writeCost = perRecord(best[.write]! - best[.format]!) * Double(records) / Double(alerts)
            printLine(String(format: "per alert: build %.0f ns, OCSF format %.0f ns, write %.0f ns", alertCost, formatCost, writeCost))
        }
        if detectorUpdates > 0 {
            let update = (best[.detectors]! - best[.write]!) * 1e9 / Double(detectorUpdates)
            printLine(String(format: "per detector update: %.0f ns", update))
        }

        // The model: reading and framing of one file is serial (one reader), the detector stage and the writer see
        // matches in input order (one sequencer), everything between runs on the workers.
        let reader = perRecord(zstdFrame ?? best[.frame]!)
        let workers = perRecord(best[.format]! - best[.frame]!)
        let sequencer = perRecord(best[.detectors]! - best[.format]!)
        printLine(String(
            format: "model: reader %.0f ns/record%@, workers %.0f ns/record, sequencer (detector stage + writer) %.0f ns/record",
            reader, zstdFrame == nil ? "" : " (zstd)", workers, sequencer))
        printLine("cores | reader limit | workers limit | sequencer limit | records/s | bound by")
        for n in cores {
            let workerThreads = n <= 2 ? 1.0 : Double(n - 2)
            let limits = [("reader", 1e9 / reader), ("workers", workerThreads * 1e9 / workers), ("sequencer", 1e9 / sequencer)]
            if n == 1 {
                // One core does everything in turn.
                let total = 1e9 / (reader + workers + sequencer)
                printLine(String(format: "1 | - | - | - | %.0f | one thread", total))
                continue
            }
            let bound = limits.min { $0.1 < $1.1 }!
            printLine(String(format: "%d | %.0f | %.0f | %.0f | %.0f | %@", n, limits[0].1, limits[1].1, limits[2].1, bound.1, bound.0))
        }
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// The process's CPU time: on a machine shared with other work, what a pass cost rather than how long it waited
    /// for the core (each pass runs on this one thread).
    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    struct PassResult {
        var records = 0
        var alerts = 0
        var bytes = 0
        var detectorUpdates = 0
        var seconds = 0.0
    }

    func measure(_ pass: Pass, ruleSet: RuleSet, path: String) throws -> PassResult {
        let reader = RecordReader()
        let decoder = EventDecoder()
        let evaluator = ruleSet.engine.makeEvaluator()
        let detection = Detection(ruleSet: ruleSet)
        let everyEventInState: (Int) -> Bool = { _ in true }
        var result = PassResult()
        var matches = 0
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        var fd: Int32 = -1
        if pass == .write || pass == .detectors {
            fd = open(scratch, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw ValidationError("cannot open \(scratch)") }
        }
        defer { if fd >= 0 { close(fd) } }
        func flush() {
            var offset = 0
            while offset < out.count {
                let n = out.withUnsafeBytes { write(fd, $0.baseAddress! + offset, out.count - offset) }
                if n <= 0 { break }
                offset += n
            }
            out.removeAll(keepingCapacity: true)
        }
        let start = Self.cpuSeconds()
        let summary = reader.read(path) { chunk in
            switch pass {
            case .frame:
                return
            case .decode:
                decoder.decode(chunk)
            case .match:
                decoder.decode(chunk)
                decoder.forEachView { _, view in evaluator.forEachMatch(in: view) { _ in matches += 1 } }
            case .alert:
                decoder.decode(chunk)
                detection.evaluate(decoder, inState: everyEventInState) { _ in result.alerts += 1 }
            case .format:
                decoder.decode(chunk)
                detection.evaluate(decoder, inState: everyEventInState) { alert in
                    result.alerts += 1
                    result.bytes += OCSFDetectionFinding.format(alert).count
                }
            case .write, .detectors:
                decoder.decode(chunk)
                detection.evaluate(decoder, inState: pass == .write ? everyEventInState : nil) { alert in
                    result.alerts += 1
                    out.append(contentsOf: OCSFDetectionFinding.format(alert))
                    out.append(0x0A)
                }
                if out.count >= 1 << 20 { flush() }
            }
        }
        if pass == .detectors { detection.finish { alert in out.append(contentsOf: OCSFDetectionFinding.format(alert)) } }
        if fd >= 0 { flush() }
        result.seconds = Self.cpuSeconds() - start
        if let error = summary.error { throw ValidationError(error.description) }
        result.records = summary.records
        result.detectorUpdates = detection.detectors?.statistics.records ?? 0
        if pass == .match { result.alerts = matches }
        return result
    }
}

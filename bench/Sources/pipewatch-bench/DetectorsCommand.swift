import ArgumentParser
import Foundation
import PipewatchDetectors

/// The detector hot paths on one core: event_count and new_value updates over many live groups, straight on the
/// operator and through the stage's reorder buffer; updates per second and state bytes per group.
struct DetectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detectors",
        abstract: "Measure event_count and new_value updates/s with many live groups, and memory per group.")

    @Option(help: "Live groups.")
    var groups = 100_000

    @Option(help: "Updates per run (spread at random over the groups, in event-time order).")
    var updates = 2_000_000

    @Option(help: "Runs; the best and the median are reported.")
    var runs = 5

    @Option(help: "Only this kind (event_count or new_value); run each in a fresh process for its resident memory figure.")
    var kind: String?

    @Option(help: "Only this path (operator or stage).")
    var path: String?

    func run() throws {
        let kinds = DetectorBenchmark.Kind.allCases.filter { kind == nil || $0.rawValue == kind }
        guard !kinds.isEmpty else { throw ValidationError("--kind is event_count or new_value") }
        for kind in kinds {
            for throughStage in [false, true] where path == nil || path == (throughStage ? "stage" : "operator") {
                var results: [DetectorBenchmark.Result] = []
                let rssBefore = residentMegabytes()
                for _ in 0..<runs {
                    results.append(DetectorBenchmark.run(kind, groups: groups, updates: updates, throughStage: throughStage))
                }
                let sorted = results.sorted { $0.updatesPerSecond > $1.updatesPerSecond }
                let best = sorted[0]
                let median = sorted[sorted.count / 2]
                let path = throughStage ? "stage (reorder buffer + watermark)" : "operator"
                printLine("-- \(kind.rawValue), \(path): \(best.liveGroups) live groups, \(updates) updates")
                printLine(String(format: "best:   %.0f updates/s (%.3f s)", best.updatesPerSecond, best.seconds))
                printLine(String(format: "median: %.0f updates/s", median.updatesPerSecond))
                printLine(String(format: "state: %.0f bytes per group by the state's own count of its arrays and tables; %.0f bytes per group of resident memory growth while the groups went live (first run; 0 when the allocator reuses memory of an earlier run); findings: %d",
                                 best.bytesPerGroup, results[0].residentBytesPerGroup, best.findings))
                printLine(String(format: "peak memory: %.1f MB (max RSS of the process; %.1f MB before these runs)", PeakMemory.megabytes(), rssBefore))
            }
        }
    }

    /// The process's current resident set, from /proc.
    func residentMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}

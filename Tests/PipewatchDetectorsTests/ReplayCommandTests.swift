import Foundation
import PipewatchDetectors
import PipewatchEvents
import Testing

/// Runs the built `pipewatch` executable.
func pipewatch(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let result = try PipewatchProcess.run(arguments)
    return (result.status, result.stdout, result.stderr)
}

/// The mixed corpus written as files: `split` decides, for each record (with its hour), which file it goes to.
func writeCorpus(_ stream: [(time: Int64, record: String)], in dir: TemporaryDirectory, name: String,
                 split: (Int, Int64, inout SeededRandom) -> String) throws -> [String] {
    var random = SeededRandom(seed: Hash64.hash(name))
    var files: [String: [String]] = [:]
    for (index, item) in stream.enumerated() {
        files[split(index, (item.time - monday) / hour, &random), default: []].append(item.record)
    }
    return try files.keys.sorted().map { try dir.write("\(name)/\($0).ndjson", files[$0]!.joined(separator: "\n") + "\n") }
}

/// Alerts as the set of their OCSF lines (a line holds the whole finding, evidence included).
func alertLines(_ stdout: String) -> [String] { stdout.split(separator: "\n").map(String.init).sorted() }

@Suite(.serialized) struct ReplayCommandTests {
    let stream = mixedStream(seed: 33)

    func rules(_ dir: TemporaryDirectory) throws -> String { try dir.write("rules.yml", everything) }

    @Test func replayingTheCorpusSplitAndOrderedDifferentlyGivesTheSameAlerts() throws {
        let dir = try TemporaryDirectory()
        let rules = try rules(dir)
        let whole = try writeCorpus(stream, in: dir, name: "whole") { _, _, _ in "all" }
        // One to three files per hour, records dealt at random; read with the hours in order and the files of
        // each hour in a shuffled order.
        var byHour = try writeCorpus(stream, in: dir, name: "hourly") { _, hour, random in
            String(format: "h%03d-part%d", hour, random.int(0..<(1 + Int(hour % 3))))
        }
        var random = SeededRandom(seed: 8)
        var groups = Dictionary(grouping: byHour) { ($0 as NSString).lastPathComponent.prefix(4) }
        byHour = groups.keys.sorted().flatMap { key in
            var files = groups[key]!
            random.shuffle(&files)
            return files
        }
        // Two-hour files, four of them, in reverse name order within each pair of hours.
        let pairs = try writeCorpus(stream, in: dir, name: "pairs") { index, hour, _ in
            String(format: "p%03d-%d", hour / 2, index % 4)
        }
        groups = Dictionary(grouping: pairs) { ($0 as NSString).lastPathComponent.prefix(4) }
        let pairOrder = groups.keys.sorted().flatMap { groups[$0]!.sorted(by: >) }

        let reference = try pipewatch(["replay"] + whole + ["--rules", rules, "--allowed-lateness", "3h"])
        #expect(reference.status == 0, "\(reference.stderr)")
        let expected = alertLines(reference.stdout)
        #expect(expected.count > 40, "\(reference.stderr)")
        #expect(reference.stderr.contains("late records: 0"))
        for files in [byHour, pairOrder] {
            let result = try pipewatch(["replay"] + files + ["--rules", rules, "--allowed-lateness", "3h"])
            #expect(result.status == 0, "\(result.stderr)")
            let got = alertLines(result.stdout)
            let same = got == expected
            func summary(_ line: String) -> String {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return line }
                let info = object["finding_info"] as? [String: Any]
                let analytic = info?["analytic"] as? [String: Any]
                let uid: String = analytic?["uid"] as? String ?? "?"
                let time: String = object["time_dt"] as? String ?? "?"
                return uid + " " + time
            }
            let missing: [String] = Set(expected).subtracting(got).map(summary).sorted()
            let extra: [String] = Set(got).subtracting(expected).map(summary).sorted()
            #expect(same, "missing \(missing), extra \(extra)")
        }
        // Too small a lateness for this disorder: records are late, reported and counted, and the status says so.
        let tight = try pipewatch(["replay"] + byHour + ["--rules", rules, "--allowed-lateness", "1m", "--late", dir.path("late.ndjson")])
        #expect(tight.status == 2)
        let late = dir.read("late.ndjson").split(separator: "\n")
        #expect(!late.isEmpty && tight.stderr.contains("late records: \(late.count)"))
    }

    @Test func stoppingHalfWayAndResumingFromTheStateGivesTheUninterruptedAlerts() throws {
        let dir = try TemporaryDirectory()
        let rules = try rules(dir)
        let files = try writeCorpus(stream, in: dir, name: "days") { _, hour, _ in "day\(hour / 24)" }
        let whole = try pipewatch(["replay"] + files + ["--rules", rules, "--allowed-lateness", "10m"])
        #expect(whole.status == 0, "\(whole.stderr)")
        let expected = alertLines(whole.stdout)
        #expect(expected.count > 40)

        // Stopped in the middle of the second file, then resumed with the same inputs.
        let state = dir.path("state.bin")
        let half = stream.count / 2
        let first = try pipewatch(["replay"] + files + ["--rules", rules, "--allowed-lateness", "10m", "--state", state, "--max-records", "\(half)"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("stopped after \(half) records"))
        let second = try pipewatch(["replay"] + files + ["--rules", rules, "--allowed-lateness", "10m", "--state", state, "--final"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("state: resumed from"))
        var resumed = alertLines(first.stdout + second.stdout)
        #expect(resumed == expected, "missing \(Set(expected).subtracting(resumed).count), extra \(Set(resumed).subtracting(expected).count)")

        // The same across runs over different files: the first two days, then the rest, with checkpoints.
        let split = dir.path("split.bin")
        let early = try pipewatch(["replay"] + files.prefix(2) + ["--rules", rules, "--allowed-lateness", "10m", "--state", split, "--checkpoint-records", "300"])
        #expect(early.status == 0, "\(early.stderr)")
        #expect(early.stderr.contains("checkpoints)"))
        let rest = try pipewatch(["replay"] + files.dropFirst(2) + ["--rules", rules, "--allowed-lateness", "10m", "--state", split, "--final"])
        #expect(rest.status == 0, "\(rest.stderr)")
        resumed = alertLines(early.stdout + rest.stdout)
        #expect(resumed == expected, "missing \(Set(expected).subtracting(resumed).count), extra \(Set(resumed).subtracting(expected).count)")

        // A state made with other rules is refused before any input is read.
        let other = try dir.write("other.yml", deniedBurst)
        let refused = try pipewatch(["replay"] + files + ["--rules", other, "--state", state])
        #expect(refused.status != 0 && refused.status != 2)
        #expect(refused.stderr.contains("other correlations, detectors or tuned rules"))
    }

    /// A state file named by a short relative path (the one-letter name once trapped in Foundation's path code).
    @Test func aStateFileInTheWorkingDirectoryIsSavedAndResumed() throws {
        let dir = try TemporaryDirectory()
        let rules = try rules(dir)
        let files = try writeCorpus(stream, in: dir, name: "days") { _, hour, _ in "day\(hour / 24)" }
        for run in 1...2 {
            let child = try ChildProcess(
                PipewatchExecutable.url.path, ["replay"] + files + ["--rules", rules, "--allowed-lateness", "10m", "--state", "s"],
                directory: dir.url.path, stdout: dir.path("out-\(run)"), stderr: dir.path("err-\(run)"))
            #expect(child.wait(seconds: 60) == 0, "run \(run): \(dir.read("err-\(run)"))")
        }
        #expect(FileManager.default.fileExists(atPath: dir.path("s")))
        #expect(dir.read("err-2").contains("state: resumed from"), "\(dir.read("err-2"))")
    }
}

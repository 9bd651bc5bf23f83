import Foundation
import PipewatchDaemon
import Testing

/// CloudTrail records one second apart in event time (from 2026-11-03T00:00:00Z): blocks of five consecutive records
/// belong to one of 11 principals, and the first of each block is a `CreateTrainingJob`, so each principal creates a
/// training job every 55 s. `CreateEndpoint` on n % 5 == 2, as in `CloudTrail.record`.
enum TimedCloudTrail {
    /// Record `n`, for n below a day's seconds.
    static func record(_ n: Int) -> String {
        let time = String(format: "2026-11-03T%02d:%02d:%02dZ", n / 3600, n / 60 % 60, n % 60)
        return CloudTrail.record(n, time: time, principal: "run-\((n / 5) % 11)")
    }

    static func records(_ range: Range<Int>) -> [String] { range.map(record) }
}

/// A stand-alone rule (every CreateEndpoint) and a Sigma correlation over training jobs per principal.
let trainingBurstRules = """
    title: SageMaker endpoint created
    id: 0b7e3c4e-1f2a-4c55-9a61-3d1c2b7e9f10
    status: test
    level: medium
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection: {eventSource: sagemaker.amazonaws.com, eventName: CreateEndpoint}
        condition: selection
    ---
    title: Training job created
    name: training_job_created
    id: 5c2b8a31-0d7e-4f6a-9b1c-7e3d2a4f5b60
    status: test
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection: {eventSource: sagemaker.amazonaws.com, eventName: CreateTrainingJob}
        condition: selection
    ---
    title: Many training jobs by one principal
    id: 9e4f1a72-3b5c-4d8e-a6f0-1c2d3e4f5a6b
    status: test
    level: high
    correlation:
        type: event_count
        rules: [training_job_created]
        group-by: [userIdentity.arn]
        timespan: 10m
        condition: {gte: 8}
    """

let trainingBurstID = "9e4f1a72-3b5c-4d8e-a6f0-1c2d3e4f5a6b"

/// The records behind the stand-alone rule's alerts (correlation alerts carry a record as evidence too).
func endpointAlerts(in text: String) -> [Int] {
    alertedRecords(in: text.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { $0.contains("0b7e3c4e-1f2a-4c55-9a61-3d1c2b7e9f10") || $0.isEmpty }.joined(separator: "\n"))
}

/// The finding uids of the correlation's alerts in an OCSF alert file (complete lines only).
func correlationAlerts(in text: String) -> [String] {
    text[..<(text.lastIndex(of: "\n") ?? text.startIndex)].split(separator: "\n").compactMap { line in
        guard line.contains(trainingBurstID),
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let finding = object["finding_info"] as? [String: Any]
        else { return nil }
        return finding["uid"] as? String
    }
}

/// `pipewatch run` with `state:`: the detector state is snapshotted with the Kafka positions, so a crash loses no
/// window and counts no record twice.
@Suite(.serialized) struct DaemonStateTests {
    @Test(.timeLimit(.minutes(4)))
    func aKilledDaemonResumesItsWindowsFromTheSnapshotAndGivesTheUninterruptedAlerts() throws {
        let kafka = try MockKafka()
        // One partition keeps the order (and so the event-time windows) the same in every run; the mock keeps
        // ~5 MB per partition.
        let total = 8_000
        let expectedPlain = Set((0..<total).filter { $0 % 5 == 2 })

        // The uninterrupted run, in process.
        try kafka.createTopic("state-reference", partitions: 1)
        try kafka.produce("state-reference", TimedCloudTrail.records(0..<total))
        let referenceDir = try TemporaryDirectory()
        let referenceConfig = try daemonConfiguration(
            referenceDir, kafka: kafka, topic: "state-reference", group: "pw-state-reference", rule: trainingBurstRules,
            outputs: ["ocsf:file:alerts.ndjson"], extra: "allowed-lateness: 1m")
        let reference = try RunningDaemon(configuration: referenceConfig)
        #expect(reference.wait(seconds: 90) { $0.records == total && $0.committed.values.reduce(0, +) == Int64(total) })
        #expect(reference.stop())
        let expectedCorrelations = Set(correlationAlerts(in: referenceDir.read("alerts.ndjson")))
        #expect(expectedCorrelations.count > 50, "the correlation fires along the stream (\(expectedCorrelations.count))")
        #expect(Set(endpointAlerts(in: referenceDir.read("alerts.ndjson"))) == expectedPlain)

        // The same records, a daemon with a state file, killed once it has the alerts of the first half (its
        // windows open, records in its reorder buffer, commits trailing the snapshots); the second half is produced
        // while it is down. (Killing at a record count instead would race a fast machine to the end of the topic.)
        try kafka.createTopic("state-crash", partitions: 1)
        try kafka.produce("state-crash", TimedCloudTrail.records(0..<total / 2))
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "state-crash", group: "pw-state-crash", rule: trainingBurstRules,
            outputs: ["ocsf:file:alerts-1.ndjson"], maxBatch: 500,
            extra: "allowed-lateness: 1m\nstate: {path: detectors.state, checkpoint-interval: 300ms}")
        let first = try ChildProcess(
            PipewatchExecutable.url.path, ["run", "--config", config], stdout: dir.path("out-1"), stderr: dir.path("err-1"))
        let firstHalf = (0..<total / 2).filter { $0 % 5 == 2 }.count
        let deadline = Date().addingTimeInterval(90)
        while endpointAlerts(in: dir.read("alerts-1.ndjson")).count < firstHalf && Date() < deadline && first.isRunning {
            usleep(2_000)
        }
        first.send(SIGKILL)
        #expect(first.wait() == 128 + SIGKILL, "killed, not finished: \(dir.read("err-1"))")
        let firstPlain = endpointAlerts(in: dir.read("alerts-1.ndjson"))
        let firstCorrelations = correlationAlerts(in: dir.read("alerts-1.ndjson"))
        #expect(firstPlain.count == firstHalf, "the first half was processed (\(firstPlain.count) alerts)")
        #expect(FileManager.default.fileExists(atPath: dir.path("detectors.state")), "a snapshot was saved before the crash")
        try kafka.produce("state-crash", TimedCloudTrail.records(total / 2..<total))

        try dir.write("pipewatch.yaml", dir.read("pipewatch.yaml").replacingOccurrences(of: "alerts-1.ndjson", with: "alerts-2.ndjson"))
        let second = try ChildProcess(
            PipewatchExecutable.url.path, ["run", "--config", config], stdout: dir.path("out-2"), stderr: dir.path("err-2"))
        let finished = Date().addingTimeInterval(90)
        while Date() < finished {
            let plain = Set(firstPlain + endpointAlerts(in: dir.read("alerts-2.ndjson")))
            let correlations = Set(firstCorrelations + correlationAlerts(in: dir.read("alerts-2.ndjson")))
            if plain == expectedPlain && correlations.isSuperset(of: expectedCorrelations) { break }
            usleep(50_000)
        }
        second.send(SIGTERM)
        #expect(second.wait(seconds: 60) == 0, "SIGTERM saves, commits and exits 0: \(dir.read("err-2"))")
        #expect(dir.read("err-2").contains("state: restored from"), "the second run resumed: \(dir.read("err-2"))")

        let secondPlain = endpointAlerts(in: dir.read("alerts-2.ndjson"))
        let secondCorrelations = correlationAlerts(in: dir.read("alerts-2.ndjson"))
        #expect(Set(firstPlain + secondPlain) == expectedPlain, "no stand-alone alert lost")
        // Exactly the uninterrupted run's correlation alerts: none lost with the windows, none from counting a
        // record read again twice (that would fire windows early, with other uids).
        let correlations = Set(firstCorrelations + secondCorrelations)
        let missing = expectedCorrelations.subtracting(correlations).count
        let extra = correlations.subtracting(expectedCorrelations).count
        #expect(correlations == expectedCorrelations, "missing \(missing), extra \(extra)")
        #expect(!firstCorrelations.isEmpty && !secondCorrelations.isEmpty, "the crash split the correlation's alerts")
        let final = try committedOffsets(kafka, group: "pw-state-crash", topic: "state-crash", partitions: 1)
        #expect(final == [Int64(total)], "SIGTERM saved the state and committed to the end: \(final)")
    }

    @Test(.timeLimit(.minutes(2)))
    func commitsWaitForTheSnapshotThatHoldsTheirRecords() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("state-gate", partitions: 1)
        let dir = try TemporaryDirectory()
        // Snapshots so rare that none is due while the test looks: acknowledged alerts alone must not commit.
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "state-gate", group: "pw-state-gate", rule: trainingBurstRules,
            outputs: ["ocsf:file:alerts.ndjson"], extra: "allowed-lateness: 1m\nstate: {path: detectors.state, checkpoint-interval: 1h}")
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 30) { $0.assignment.count == 1 })
        try kafka.produce("state-gate", TimedCloudTrail.records(0..<2_000))
        #expect(running.wait(seconds: 30) { $0.records == 2_000 })
        usleep(1_500_000)  // several commit intervals (200 ms)
        #expect(running.daemon.currentStatistics.committed.values.allSatisfy { $0 <= 0 },
                "nothing committed before a snapshot holds it: \(running.daemon.currentStatistics.committed)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("detectors.state")))
        #expect(Set(endpointAlerts(in: dir.read("alerts.ndjson"))) == Set((0..<2_000).filter { $0 % 5 == 2 }),
                "the alerts themselves are not held back")

        // Stopping saves the state and then commits everything.
        #expect(running.stop())
        #expect(running.daemon.currentStatistics.stateSnapshots >= 1)
        #expect(FileManager.default.fileExists(atPath: dir.path("detectors.state")))
        #expect(try committedOffsets(kafka, group: "pw-state-gate", topic: "state-gate", partitions: 1) == [2_000])
    }

    @Test func configCheckRefusesStateWithFileInputs() throws {
        let dir = try TemporaryDirectory()
        try dir.write("rules/rule.yml", trainingBurstRules)
        let path = try dir.write("pipewatch.yaml", """
            inputs:
              files: [archive/]
            rules: [rules/]
            state: {path: detectors.state, checkpoint-interval: soon}
            """)
        #expect(throws: DaemonConfigurationError.self) { try DaemonConfiguration.load(path: path) }
        do { _ = try DaemonConfiguration.load(path: path) } catch let error as DaemonConfigurationError {
            #expect(error.problems.contains { $0.hasSuffix("pipewatch.yaml:4: checkpoint-interval must be a duration such as 500ms, 30s or 5m") }, "\(error.problems)")
            #expect(error.problems.contains { $0.contains(":4: state cannot be kept with file inputs") }, "\(error.problems)")
        }
    }
}

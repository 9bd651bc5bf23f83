import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchInputs
import PipewatchOutput
import PipewatchPipeline
import PipewatchRules
import Testing

/// `replay --threads N`: whatever N and however small the chunks, the same alerts in the same order, the same dead
/// letters, late records, signals, statistics and detector state.
@Suite struct ThreadedReplayTests {
    /// Everything a replay puts out that must not depend on the thread count.
    struct Outcome {
        var alerts: [UInt8] = []
        var deadLetters: [UInt8] = []
        var late: [UInt8] = []
        var signals: [UInt8] = []
        var state: [UInt8]?
        /// The run's summary (statistics without the timing line, alerts per rule, the detector stage's counts).
        var summary: [String] = []
        /// What the investigation report sees of each chunk: its events' count and times.
        var observed: [Int64] = []
        var position: String = ""
        var alertCount = 0
        var detectorAlerts = 0
        var lateCount = 0

        /// The parts that differ from `other`, by name (the byte arrays are too long to print).
        func differences(from other: Outcome) -> [String] {
            var names: [String] = []
            if alerts != other.alerts { names.append("alerts (\(alertCount) vs \(other.alertCount))") }
            if deadLetters != other.deadLetters { names.append("dead letters") }
            if late != other.late { names.append("late records") }
            if signals != other.signals { names.append("signals") }
            if state != other.state { names.append("state") }
            if summary != other.summary { names.append("summary \(summary) vs \(other.summary)") }
            if observed != other.observed { names.append("observed events") }
            if position != other.position { names.append("position \(position) vs \(other.position)") }
            if detectorAlerts != other.detectorAlerts || lateCount != other.lateCount { names.append("counts") }
            return names
        }
    }

    struct Run {
        var threads: Int
        var bufferSize = 4 << 20
        var lateness: Int64 = 3_600_000
        var statePath: String?
        var maxRecords: Int?
        var checkpointRecords: Int?
        var final = false
    }

    /// A replay as `pipewatch replay` runs it (alerts as OCSF lines, late records and signals drained per chunk).
    static func replay(_ paths: [String], ruleSet: RuleSet, _ run: Run, in dir: TemporaryDirectory) throws -> Outcome {
        let tag = "\(run.threads)-\(run.bufferSize)-\(run.maxRecords ?? 0)-\(UInt64.random(in: 0...UInt64.max))"
        let deadLetterPath = dir.path("dead-\(tag).ndjson")
        let detection = Detection(ruleSet: ruleSet, detectorOptions: DetectorOptions(
            allowedLateness: run.lateness, collectSignals: true, expectedSources: InputSources.sniff(paths),
            idleTimeout: run.lateness))
        let replay = FileReplay(
            deadLetter: DeadLetterOutput(file: try OutputFile(path: deadLetterPath)), showProgress: false, threads: run.threads,
            bufferSize: run.bufferSize)
        var outcome = Outcome()
        replay.observeEvents = { decoder in
            outcome.observed.append(Int64(decoder.events.count))
            outcome.observed.append(decoder.events.reduce(0) { $0 &+ $1.time })
        }
        let detectorReplay = try DetectorReplay(
            detection: detection, replay: replay, statePath: run.statePath, checkpointRecords: run.checkpointRecords,
            maxRecords: run.maxRecords)
        func handle(_ alert: Alert) {
            outcome.alerts += OCSFDetectionFinding.format(alert) + [0x0A]
            outcome.alertCount += 1
        }
        func drain() {
            guard let stage = detection.detectors else { return }
            for record in stage.takeLateRecords() {
                outcome.late += record.json + [0x0A]
                outcome.lateCount += 1
            }
            for signal in stage.takeSignals() { outcome.signals += signal.json + [0x0A] }
        }
        let stats = try detectorReplay.run(paths, handle: handle, afterChunk: drain)
        if stats != nil {
            try detectorReplay.finish(final: run.final || run.statePath == nil, handle: handle)
            drain()
        }
        outcome.summary = (stats?.summaryLines().filter { !$0.hasPrefix("seconds:") } ?? []) + detection.summaryLines()
        outcome.deadLetters = Array(try Data(contentsOf: URL(fileURLWithPath: deadLetterPath)))
        if let statePath = run.statePath { outcome.state = Array(try Data(contentsOf: URL(fileURLWithPath: statePath))) }
        outcome.position = detectorReplay.position.map { "\($0.file) \($0.offset) \($0.records)" } ?? ""
        outcome.detectorAlerts = detection.detectors?.statistics.alerts ?? 0
        return outcome
    }

    static func loadRules(_ paths: [String]) throws -> RuleSet {
        let ruleSet = RuleSet(
            paths: paths.map { repositoryRoot.appendingPathComponent($0).path }, options: RuleLoadOptions(skipUnsupported: true))
        try #require(ruleSet.problems.isEmpty, "\(ruleSet.problems)")
        return ruleSet
    }

    @Test func theSamplesGiveTheSameOutputOnOneTwoAndFourThreads() throws {
        let dir = try TemporaryDirectory()
        let ruleSet = try Self.loadRules(["rules"])
        let samples = [repositoryRoot.appendingPathComponent("samples").path]
        // A week of lateness, as `make run` replays them; 2 KiB buffers make chunks of a few records each.
        for bufferSize in [4 << 20, 2048] {
            let one = try Self.replay(samples, ruleSet: ruleSet, Run(threads: 1, bufferSize: bufferSize, lateness: 7 * 86_400_000), in: dir)
            #expect(one.alertCount == 137)
            #expect(!one.deadLetters.isEmpty)
            for threads in [2, 4] {
                let many = try Self.replay(
                    samples, ruleSet: ruleSet, Run(threads: threads, bufferSize: bufferSize, lateness: 7 * 86_400_000), in: dir)
                #expect(many.differences(from: one) == [], "\(threads) threads, \(bufferSize)-byte buffers")
            }
        }
    }

    @Test func aGeneratedCorpusWithCorrelationsAndDetectorsGivesTheSameOutputOnEveryThreadCount() throws {
        let dir = try TemporaryDirectory()
        let corpus = try GeneratedTrail.write(in: dir)
        let ruleSet = try Self.loadRules(["rules/pipewatch", "rules/aws"])
        // Buffers of 256 KiB and 16 KiB: several chunks per file, and the test process stays small (a child's peak
        // memory as the kernel reports it includes its parent's at the spawn: MemoryBoundTests runs beside this).
        for bufferSize in [256 << 10, 16 << 10] {
            let one = try Self.replay(corpus, ruleSet: ruleSet, Run(threads: 1, bufferSize: bufferSize), in: dir)
            // The corpus exercises what must stay in order: detector alerts, late records, signals, dead letters.
            #expect(one.detectorAlerts > 0)
            #expect(one.alertCount > one.detectorAlerts)
            #expect(one.lateCount > 0)
            #expect(!one.signals.isEmpty)
            #expect(!one.deadLetters.isEmpty)
            for threads in [2, 4] {
                let many = try Self.replay(corpus, ruleSet: ruleSet, Run(threads: threads, bufferSize: bufferSize), in: dir)
                #expect(many.differences(from: one) == [], "\(threads) threads, \(bufferSize)-byte buffers")
            }
        }
    }

    @Test func stoppingAtMaxRecordsAndResumingOnTwoThreadsGivesWhatOneThreadGives() throws {
        let dir = try TemporaryDirectory()
        let corpus = try GeneratedTrail.write(in: dir)
        let ruleSet = try Self.loadRules(["rules/pipewatch", "rules/aws"])
        let bufferSize = 16 << 10
        var halves: [[Outcome]] = []
        for threads in [1, 2] {
            let state = dir.path("state-\(threads).bin")
            // Stops in mid-chunk, in the middle file, with checkpoints on the way.
            let first = try Self.replay(corpus, ruleSet: ruleSet, Run(
                threads: threads, bufferSize: bufferSize, statePath: state, maxRecords: 4_999, checkpointRecords: 1_000), in: dir)
            let second = try Self.replay(corpus, ruleSet: ruleSet, Run(
                threads: threads, bufferSize: bufferSize, statePath: state, final: true), in: dir)
            halves.append([first, second])
        }
        #expect(halves[0][0].position.contains("trail-2") && halves[0][0].state != nil)
        #expect(halves[1][0].differences(from: halves[0][0]) == [])
        #expect(halves[1][1].differences(from: halves[0][1]) == [])
        // And the two halves are the uninterrupted run.
        let whole = try Self.replay(corpus, ruleSet: ruleSet, Run(threads: 2, bufferSize: bufferSize), in: dir)
        #expect(halves[1][0].alertCount + halves[1][1].alertCount == whole.alertCount)
        #expect(halves[1][0].alerts + halves[1][1].alerts == whole.alerts, "the halves' alerts are the whole run's")
    }

    @Test func theCommandLineWritesTheSameBytesOnEveryThreadCount() throws {
        let dir = try TemporaryDirectory()
        var outputs: [[String]] = []
        for threads in [1, 2, 4] {
            let deadLetters = dir.path("dead-\(threads).ndjson"), late = dir.path("late-\(threads).ndjson")
            let replay = try PipewatchProcess.run([
                "replay", "samples", "--rules", "rules", "--allowed-lateness", "7d", "--threads", "\(threads)", "--dead-letter",
                deadLetters, "--late", late,
            ])
            #expect(replay.status == 2, "the samples hold bad records: \(replay.stderr)")
            let normalize = try PipewatchProcess.run(["normalize", "--raw", "samples", "--threads", "\(threads)"])
            outputs.append([
                replay.stdout, try String(contentsOfFile: deadLetters, encoding: .utf8), try String(contentsOfFile: late, encoding: .utf8),
                normalize.stdout,
            ])
        }
        #expect(outputs[0][0].split(separator: "\n").count == 137)
        #expect(outputs[0][3].split(separator: "\n").count == 191)
        #expect(outputs[1] == outputs[0])
        #expect(outputs[2] == outputs[0])
        let refused = try PipewatchProcess.run(["replay", "samples", "--rules", "rules", "--threads", "0"])
        #expect(refused.status != 0 && refused.status != 2 && refused.stderr.contains("--threads must be between 1 and 256"))
    }

    @Test func theDefaultThreadCountIsTheCoresTheProcessMayRunOn() throws {
        // Under `taskset -c 0` (one allowed CPU, whatever the machine has) the default is one thread, not the
        // machine's count oversubscribing that CPU.
        let help = Process()
        help.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        help.arguments = ["-c", "0", PipewatchProcess.executable.path, "replay", "--help"]
        let dir = try TemporaryDirectory()
        _ = FileManager.default.createFile(atPath: dir.path("help"), contents: nil)
        help.standardOutput = try FileHandle(forWritingTo: dir.url.appendingPathComponent("help"))
        try help.run()
        help.waitUntilExit()
        let text = dir.read("help").split(separator: "\n").joined(separator: " ").split(separator: " ").joined(separator: " ")
        #expect(help.terminationStatus == 0)
        #expect(text.contains("allows); the output is the same for every number. (default: 1)"), "\(text)")
    }

    @Test func handedOffChunksAreTheChunksOfOneBuffer() throws {
        let dir = try TemporaryDirectory()
        // Records of many lengths, one far longer than the buffer (it grows) and a cut one at the end.
        var text = ""
        for n in 0..<400 { text += SampleRecords.cloudTrail(n, name: String(repeating: "x", count: n * 7 % 300)) + "\n" }
        text += SampleRecords.cloudTrail(1, name: String(repeating: "y", count: 20_000)) + "\n"
        for n in 0..<100 { text += SampleRecords.cloudTrail(n) + "\n" }
        text += "{\"eventTime\":"
        let path = try dir.write("records.ndjson", text)
        func chunks(handingOff: Bool) throws -> [[Int64]] {
            let reader = RecordReader(bufferSize: 4096, maxRecordBytes: 1 << 20)
            var result: [[Int64]] = []
            var spare: [ChunkBuffer] = []
            func note(_ chunk: RecordChunk) {
                result.append(chunk.records.flatMap { record in
                    [record.streamOffset, Int64(record.count), Int64(record.line),
                     Int64(UnsafeBufferPointer(start: chunk.bytes + record.start, count: record.count).reduce(0) { $0 &+ Int($1) })]
                })
            }
            if handingOff {
                let summary = reader.read(path, nextBuffer: { spare.popLast() ?? ChunkBuffer(capacity: 512) }) { chunk, buffer, _ in
                    note(chunk)
                    // The buffer is the receiver's now: overwriting it must not change what the reader reads next.
                    buffer.bytes.update(repeating: 0x7B, count: buffer.capacity)
                    spare.insert(buffer, at: 0)
                }
                #expect(summary.records == 502)
            } else {
                let summary = reader.read(path) { note($0) }
                #expect(summary.records == 502)
            }
            return result
        }
        let plain = try chunks(handingOff: false)
        #expect(plain.count > 10)
        #expect(try chunks(handingOff: true) == plain)
    }
}

/// Two weeks of CloudTrail activity of workload roles, people and IAM users, in three files (NDJSON, a CloudTrail
/// delivery file, NDJSON again): routine calls with an occasional failure, error bursts, new buckets, operations
/// and addresses for workloads in the second week, failed console logins, records arriving days late and a few
/// records that are not JSON.
enum GeneratedTrail {
    static let monday: Int64 = 1_793_664_000_000  // 2026-11-02T00:00:00Z
    static let hour: Int64 = 3_600_000

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ values: [T]) -> T { values[int(values.count)] }
    }

    static func record(at time: Int64, arn: String, type: String, event: String, service: String, ip: String, id: Int, error: String?, parameters: String) -> String {
        let failure = error.map { #""errorCode":"\#($0)","errorMessage":"denied","# } ?? ""
        return #"{"eventVersion":"1.09","eventTime":"\#(Timestamp.format(milliseconds: time))","eventSource":"\#(service)","eventName":"\#(event)","awsRegion":"us-east-1","sourceIPAddress":"\#(ip)","userAgent":"Boto3/1.34.0","userIdentity":{"type":"\#(type)","principalId":"AIDAEXAMPLE\#(id % 7)","arn":"\#(arn)","accountId":"111122223333"},\#(failure)"requestParameters":\#(parameters),"eventID":"gen-\#(id)","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#
    }

    /// Writes the corpus; the paths in reading order.
    static func write(in dir: TemporaryDirectory) throws -> [String] {
        var random = Random(state: 14)
        let workloads = ["SageMakerExecutionRole", "FeaturePipelineRole", "BatchScoringRole"]
        let people = ["alice", "bob", "carol", "dave"]
        let buckets = ["acme-ml-training-data", "acme-ml-models", "acme-ml-features"]
        let operations: [(String, String)] = [
            ("GetObject", "s3.amazonaws.com"), ("PutObject", "s3.amazonaws.com"), ("ListObjects", "s3.amazonaws.com"),
            ("DescribeTrainingJob", "sagemaker.amazonaws.com"), ("CreateTrainingJob", "sagemaker.amazonaws.com"),
            ("ListModelPackages", "sagemaker.amazonaws.com"), ("InvokeEndpoint", "sagemaker.amazonaws.com"),
        ]
        var lines: [(time: Int64, text: String)] = []
        var id = 0
        for day in 0..<14 {
            for hourOfDay in 0..<24 {
                let base = monday + Int64(day * 24 + hourOfDay) * hour
                let calls = hourOfDay >= 8 && hourOfDay < 19 ? 40 + random.int(20) : 8 + random.int(6)
                for _ in 0..<calls {
                    id += 1
                    let time = base + Int64(random.int(3_600_000))
                    var (event, service) = random.pick(operations)
                    var bucket = random.pick(buckets)
                    var ip = "10.0.\(random.int(4)).\(random.int(30))"
                    let arn: String, type: String
                    if random.int(3) > 0 {
                        let role = random.pick(workloads)
                        arn = "arn:aws:sts::111122223333:assumed-role/\(role)/run-\(random.int(50))"
                        type = "AssumedRole"
                        // The second week: workloads reach new buckets and operations, from a public address.
                        if day >= 9 && random.int(150) == 0 {
                            bucket = "acme-exfil-\(random.int(3))"
                            event = "PutBucketPolicy"
                            service = "s3.amazonaws.com"
                            ip = "203.0.113.\(random.int(5))"
                        }
                    } else if random.int(2) == 0 {
                        arn = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c/\(random.pick(people))@acme.example"
                        type = "AssumedRole"
                    } else {
                        arn = "arn:aws:iam::111122223333:user/\(random.pick(people))"
                        type = "IAMUser"
                    }
                    // Failures now and then, and bursts of them from one principal on some afternoons.
                    let burst = day >= 8 && hourOfDay == 15 && arn.hasSuffix("bob")
                    let error = burst || random.int(40) == 0 ? "AccessDenied" : nil
                    let parameters = service == "s3.amazonaws.com"
                        ? #"{"bucketName":"\#(bucket)","key":"data/part-\#(random.int(1000)).parquet"}"#
                        : #"{"trainingJobName":"job-\#(random.int(200))"}"#
                    lines.append((time, record(at: time, arn: arn, type: type, event: event, service: service, ip: ip, id: id, error: error, parameters: parameters)))
                    if burst {
                        for _ in 0..<12 {
                            id += 1
                            lines.append((time + Int64(id % 600) * 1000, record(
                                at: time + Int64(id % 600) * 1000, arn: arn, type: type, event: "GetObject", service: "s3.amazonaws.com", ip: ip,
                                id: id, error: "AccessDenied", parameters: #"{"bucketName":"acme-ml-models","key":"m.tar.gz"}"#)))
                        }
                    }
                    if random.int(500) == 0 {
                        id += 1
                        lines.append((time, #"{"eventVersion":"1.09","eventTime":"\#(Timestamp.format(milliseconds: time))","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.\#(random.int(200))","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/\#(random.pick(people))","accountId":"111122223333"},"responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication","eventID":"login-\#(id)","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#))
                    }
                }
            }
        }
        // In time order, but one record in a thousand arrives some 2,000 records (days) late, and a few are not JSON.
        lines.sort { $0.time < $1.time }
        var arrival: [String] = []
        var deferred: [(at: Int, text: String)] = []
        for (index, line) in lines.enumerated() {
            if index % 997 == 500 && index + 2_000 < lines.count {
                deferred.append((index + 2_000, line.text))
                continue
            }
            arrival.append(line.text)
            while let first = deferred.first, first.at <= index {
                arrival.append(first.text)
                deferred.removeFirst()
            }
            if index % 1_501 == 3 { arrival.append(#"{"eventVersion":"1.09","eventTime": broken \#(index)"#) }
        }
        let third = arrival.count / 3
        let first = Array(arrival[0..<third]), second = Array(arrival[third..<(2 * third)]), last = Array(arrival[(2 * third)...])
        let paths = [
            try dir.write("trail-1.ndjson", first.joined(separator: "\n") + "\n"),
            try dir.write("trail-2.json", #"{"Records":["# + second.filter { !$0.contains("broken") }.joined(separator: ",\n") + "]}\n"),
            try dir.write("trail-3.ndjson", last.joined(separator: "\n") + "\n"),
        ]
        return paths
    }
}

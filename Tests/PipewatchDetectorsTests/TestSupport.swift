import Foundation
@_exported import PipewatchTestSupport
import PipewatchDetectors
import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules
import Testing

/// Milliseconds.
let second: Int64 = 1000
let minute: Int64 = 60 * second
let hour: Int64 = 60 * minute
let day: Int64 = 24 * hour

/// Monday 2026-01-05 00:00 UTC.
let monday = Timestamp.parseRFC3339("2026-01-05T00:00:00Z")!

/// A CloudTrail record. `extra` are JSON members added at the top level (custom fields for raw paths).
func trail(
    at time: Int64, user: String = "bob", event: String = "GetObject", service: String = "s3.amazonaws.com",
    error: String? = nil, ip: String = "10.0.0.1", id: String? = nil, extra: String = ""
) -> String {
    let errorMember = error.map { #","errorCode":"\#($0)","errorMessage":"denied""# } ?? ""
    let identity = id ?? "evt-\(time)-\(user)-\(event)-\(Hash64.hash(extra + ip + (error ?? "")) % 100_000)"
    return #"{"eventVersion":"1.09","eventTime":"\#(Timestamp.format(milliseconds: time))","eventSource":"\#(service)","eventName":"\#(event)","awsRegion":"us-east-1","sourceIPAddress":"\#(ip)","userAgent":"aws-cli/2.15.0","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/\#(user)","accountId":"111122223333","userName":"\#(user)"},"eventID":"\#(identity)","eventType":"AwsApiCall","recipientAccountId":"111122223333"\#(errorMember)\#(extra.isEmpty ? "" : "," + extra)}"#
}

/// A rule set, its detector stage, and the loop that replay runs, on single records.
final class StageHarness {
    let ruleSet: RuleSet
    let stage: DetectorStage
    let evaluator: RuleEvaluator
    let decoder = RecordDecoder()
    private let alertRules: [AlertRule]
    /// Every alert so far: stand-alone rule alerts and the stage's.
    private(set) var alerts: [Alert] = []
    private(set) var late: [LateRecord] = []
    private(set) var signals: [Signal] = []

    convenience init(
        _ yaml: String, lateness: Int64 = 5 * minute, collectSignals: Bool = true, expectedSources: Set<EventSource> = [],
        idleTimeout: Int64? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        self.init(
            ruleSet: RuleSet(yaml: yaml, file: "test.yml"), lateness: lateness, collectSignals: collectSignals,
            expectedSources: expectedSources, idleTimeout: idleTimeout, sourceLocation: sourceLocation)
    }

    /// Rule files of the repository's pack (paths relative to its root).
    convenience init(pack paths: [String], lateness: Int64 = 5 * minute, sourceLocation: SourceLocation = #_sourceLocation) {
        let root = PipewatchExecutable.repositoryRoot.path
        self.init(ruleSet: RuleSet(paths: paths.map { root + "/" + $0 }), lateness: lateness, collectSignals: true, sourceLocation: sourceLocation)
    }

    init(
        ruleSet: RuleSet, lateness: Int64, collectSignals: Bool, expectedSources: Set<EventSource> = [], idleTimeout: Int64? = nil,
        sourceLocation: SourceLocation
    ) {
        self.ruleSet = ruleSet
        #expect(ruleSet.problems.isEmpty, "\(ruleSet.problems)", sourceLocation: sourceLocation)
        stage = DetectorStage(
            ruleSet: ruleSet,
            options: DetectorOptions(
                allowedLateness: lateness, collectSignals: collectSignals, expectedSources: expectedSources, idleTimeout: idleTimeout))
        evaluator = ruleSet.engine.makeEvaluator()
        alertRules = ruleSet.rules.map {
            AlertRule(id: $0.reference, title: $0.title, level: Severity(sigmaLevel: $0.level?.rawValue))
        }
    }

    /// Feeds records as one batch: every event observed, every consumed match ingested, then the watermark advanced.
    func batch(_ records: [String]) {
        for record in records {
            do {
                try decoder.withEventView(json: record) { view in
                    stage.observe(time: view.event.time, source: view.event.source)
                    evaluator.forEachMatch(in: view) { rule in
                        if stage.plainAlerts[rule.index] { alerts.append(Alert(rule: alertRules[rule.index], view: view)) }
                        if stage.consumed[rule.index] { stage.ingest(view, rule: rule.index) }
                    }
                }
            } catch {
                Issue.record("record does not decode: \(error)\n\(record)")
            }
        }
        stage.advance()
        take()
    }

    /// Feeds records in batches of `size`.
    func feed(_ records: [String], batchSize: Int = 50) {
        var start = 0
        while start < records.count {
            batch(Array(records[start..<min(records.count, start + batchSize)]))
            start += batchSize
        }
    }

    func finish() {
        stage.finish()
        take()
    }

    private func take() {
        alerts += stage.takeAlerts()
        late += stage.takeLateRecords()
        signals += stage.takeSignals()
    }

    /// Alerts of one rule (by reference).
    func alerts(of reference: String) -> [Alert] { alerts.filter { $0.rule.id == reference } }

    /// The `detector` object of an alert's evidence.
    static func detector(_ alert: Alert) -> [String: Any] {
        let object = (try? JSONSerialization.jsonObject(with: Data(alert.eventJSON))) as? [String: Any]
        return object?["detector"] as? [String: Any] ?? [:]
    }

    static func event(_ alert: Alert) -> [String: Any]? {
        let object = (try? JSONSerialization.jsonObject(with: Data(alert.eventJSON))) as? [String: Any]
        return object?["event"] as? [String: Any]
    }
}

/// A comparable summary of an alert: everything a sink would see.
struct AlertDigest: Hashable, CustomStringConvertible {
    var rule: String
    var uid: String
    var time: Int64
    var evidence: String
    var fields: [String?]

    init(_ alert: Alert) {
        rule = alert.rule.id
        uid = alert.uid
        time = alert.time
        evidence = String(decoding: alert.eventJSON, as: UTF8.self)
        fields = alert.fields
    }

    var description: String { "\(rule) \(Timestamp.format(milliseconds: time)) \(uid)" }
}

/// A small deterministic pseudo-random generator (SplitMix64), so generated streams are the same every run.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return Hash64.mix(state)
    }

    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }

    mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) { array.swapAt(i, int(0..<(i + 1))) }
    }
}

import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import Testing

/// Ingestion and training-data write volume in both directions, and the drift of training-data writers.
@Suite struct RulePackVolumeTests {
    static let ingestion = PackRecords.repository + "pipewatch_ingestion_volume_above_seasonal_baseline.yml"
    static let ingestionID = "39107925-ee6d-4e79-b44d-fa3e1db8e533"
    static let writes = PackRecords.repository + "pipewatch_training_data_write_volume_anomaly.yml"
    static let writesID = "18c02778-b0ce-4391-8a70-32416f2230e0"
    static let writers = PackRecords.repository + "pipewatch_training_data_writer_distribution_drift.yml"
    static let writersID = "b2ad7887-fee0-42ae-8bee-d25ca76343c7"

    /// The seasonal rhythm of the existing test, with a busy Monday hour that goes quiet (a trail's selectors
    /// narrowed) and the surge of the Tuesday after.
    @Test func ingestionVolumeAlertsOnAQuietBusyHourAndOnASurge() {
        let harness = StageHarness(pack: [Self.ingestion], lateness: 10 * minute)
        var quiet: Int64 = 0
        var surge: Int64 = 0
        for d in 0..<23 {
            var batch: [String] = []
            for h in 0..<24 {
                let start = monday + Int64(d) * day + Int64(h) * hour
                let week = d / 7
                var count = d % 7 < 5 && (8..<18).contains(h) ? [54, 66, 60, 62][week] : [5, 7, 6, 6][week]
                if d == 21, h == 10 {
                    count = 4
                    quiet = start + hour
                }
                if d == 22, h == 14 {
                    count = 240
                    surge = start + hour
                }
                batch += hourOfRecords(start, count: count, service: "s3.amazonaws.com", user: "pipeline")
            }
            harness.feed(batch, batchSize: 500)
        }
        harness.finish()
        #expect(harness.alerts(of: Self.ingestionID).map(\.time) == [quiet, surge])
    }

    static func write(_ t: Int64, principal: String, bucket: String = "acme-ml-training-data", id: String) -> String {
        PackRecords.role(at: t, role: principal, session: "run", event: "PutObject", service: "s3.amazonaws.com", id: id,
            extra: PackRecords.object(bucket, "part-\(id).parquet"))
    }

    /// 24 days of an ingestion feed (40 writes an hour in office hours, 4 otherwise) into the training bucket and a
    /// feature group; a flood of 400 on day 22 at 11:00, a dead feed on day 23 at 10:00; the artifact bucket's surge is
    /// not training data.
    @Test func trainingDataWriteVolumeAlertsOnAFloodAndOnAFeedCut() {
        let harness = StageHarness(pack: [Self.writes], lateness: 10 * minute)
        var flood: Int64 = 0
        var cut: Int64 = 0
        for d in 0..<24 {
            var batch: [(Int64, String)] = []
            for h in 0..<24 {
                let start = monday + Int64(d) * day + Int64(h) * hour
                var count = d % 7 < 5 && (8..<18).contains(h) ? 40 : 4
                if d == 22, h == 11 { count = 400; flood = start + hour }
                if d == 23, h == 10 { count = 0; cut = start + hour }
                for k in 0..<count {
                    let t = start + Int64(k) * hour / Int64(count)
                    batch.append((t, Self.write(t, principal: "ingest-role", id: "w-\(d)-\(h)-\(k)")))
                }
                let features = start + 30 * minute
                batch.append((features, PackRecords.role(at: features, role: "feature-sync-role", session: "sync", event: "PutRecord",
                    service: "sagemaker.amazonaws.com", id: "f-\(d)-\(h)", extra: #""requestParameters":{"featureGroupName":"fraud-transaction-features"}"#)))
                if d == 22, h == 12 {
                    for k in 0..<300 {
                        let t = start + Int64(k) * 10 * second
                        batch.append((t, Self.write(t, principal: "ingest-role", bucket: "acme-ml-model-artifacts", id: "a-\(k)")))
                    }
                }
            }
            harness.feed(batch.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 500)
        }
        harness.finish()
        let alerts = harness.alerts(of: Self.writesID)
        #expect(alerts.map(\.time) == [flood, cut], "\(alerts.map { Timestamp.format(milliseconds: $0.time) })")
        let group = alerts.first.map { StageHarness.detector($0)["group"] as? [String: Any] } ?? nil
        #expect(group?["raw.requestParameters.bucketName"] as? String == "acme-ml-training-data", "\(group ?? [:])")
    }

    /// 11 days of writes to the training bucket by the ingestion role (80 a day) and the feature-sync role (20); on
    /// day 9 another role writes 150; day 10 is back to normal, which the baseline (having taken a tenth of day 9)
    /// still sees as a shift: within the 2-day suppression, a signal.
    @Test func trainingDataWritersDriftWhenANewWriterTakesOver() {
        let harness = StageHarness(pack: [Self.writers])
        var records: [(Int64, String)] = []
        for d in 0..<11 {
            let start = monday + Int64(d) * day + 8 * hour
            for k in 0..<80 { records.append((start + Int64(k) * minute, Self.write(start + Int64(k) * minute, principal: "ingest-role", id: "i-\(d)-\(k)"))) }
            for k in 0..<20 {
                let t = start + 2 * hour + Int64(k) * minute
                records.append((t, Self.write(t, principal: "feature-sync-role", id: "s-\(d)-\(k)")))
            }
            if d == 9 {
                for k in 0..<150 {
                    let t = start + 4 * hour + Int64(k) * 10 * second
                    records.append((t, Self.write(t, principal: "ml-notebook-role", id: "x-\(k)")))
                }
            }
        }
        let clock = monday + 11 * day + hour
        records.append((clock, Self.write(clock, principal: "ingest-role", id: "clock")))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 200)
        harness.finish()
        let alerts = harness.alerts(of: Self.writersID)
        #expect(alerts.map(\.time) == [monday + 10 * day], "\(alerts.map { Timestamp.format(milliseconds: $0.time) })")
        #expect(harness.signals.contains { $0.reason == .suppressed })
    }
}

import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import Testing

/// Serving behaviour: prediction volume, failures and callers per endpoint.
@Suite struct RulePackServingTests {
    static let volume = PackRecords.repository + "pipewatch_serving_prediction_volume_anomaly.yml"
    static let volumeID = "894d515c-c1a7-4111-aec0-aa2448dca4f2"
    static let failures = PackRecords.repository + "pipewatch_serving_failures_per_endpoint.yml"
    static let failuresID = "66ef2cb0-7110-45af-ace8-d23c1ed3df76"
    static let callers = PackRecords.repository + "pipewatch_serving_caller_distribution_drift.yml"
    static let callersID = "b0e323be-4cd1-400b-ae38-bc6d8ef8c485"
    static let vertexEndpoint = "projects/acme-ml-prod/locations/us-central1/endpoints/7203418856243511296"

    static func invoke(_ t: Int64, endpoint: String = "fraud-detection-prod", role: String = "fraud-api-role", error: String? = nil, id: String) -> String {
        PackRecords.role(at: t, role: role, session: "i-0a1b2c3d4e5f60718", event: "InvokeEndpoint", service: "sagemaker.amazonaws.com",
            ip: "10.0.21.14", id: id, error: error,
            extra: #""requestParameters":{"endpointName":"\#(endpoint)","contentType":"text/csv"},"eventCategory":"Data""#)
    }

    static func predict(_ t: Int64, principal: String = "fraud-api@acme-ml-prod.iam.gserviceaccount.com", status: Int? = nil, id: String) -> String {
        PackRecords.gcp(at: t, principal: principal, service: "aiplatform.googleapis.com", method: "google.cloud.aiplatform.v1.PredictionService.Predict",
            resource: vertexEndpoint, id: id, status: status, log: "data_access")
    }

    /// 23 days of predictions with a daily rhythm on a SageMaker and a Vertex AI endpoint; the SageMaker endpoint is
    /// scraped (10× an hour) on day 21, the Vertex endpoint loses its traffic on day 22 at 15:00.
    @Test func predictionVolumeAlertsOnExtractionAndOnLostTraffic() {
        let harness = StageHarness(pack: [Self.volume], lateness: 10 * minute)
        var scrape: Int64 = 0
        var lost: Int64 = 0
        for d in 0..<23 {
            var batch: [(Int64, String)] = []
            for h in 0..<24 {
                let start = monday + Int64(d) * day + Int64(h) * hour
                var sagemaker = (7..<22).contains(h) ? 30 : 6
                var vertex = (7..<22).contains(h) ? 20 : 4
                if d == 21, h == 3 { sagemaker = 300; scrape = start + hour }
                if d == 22, h == 15 { vertex = 0; lost = start + hour }
                for k in 0..<sagemaker {
                    let t = start + Int64(k) * hour / Int64(sagemaker)
                    batch.append((t, Self.invoke(t, id: "s-\(d)-\(h)-\(k)")))
                }
                for k in 0..<vertex {
                    let t = start + Int64(k) * hour / Int64(vertex) + second
                    batch.append((t, Self.predict(t, id: "v-\(d)-\(h)-\(k)")))
                }
            }
            harness.feed(batch.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 500)
        }
        harness.finish()
        let alerts = harness.alerts(of: Self.volumeID)
        #expect(alerts.map(\.time) == [scrape, lost], "\(alerts.map { Timestamp.format(milliseconds: $0.time) })")
        #expect(alerts.last?[.resourceName] == Self.vertexEndpoint)
    }

    /// Ten days with a failed invocation every few hours; on day 9 at 04:00 the endpoint rejects 25 crafted inputs.
    @Test func predictionFailuresAlertOnABurstPerEndpoint() {
        let harness = StageHarness(pack: [Self.failures])
        var records: [(Int64, String)] = []
        var burst: Int64 = 0
        for h in 0..<(10 * 24) {
            let start = monday + Int64(h) * hour
            for k in 0..<12 { records.append((start + Int64(k) * 5 * minute, Self.invoke(start + Int64(k) * 5 * minute, id: "ok-\(h)-\(k)"))) }
            let failures = h == 9 * 24 + 4 ? 25 : (h % 4 == 0 ? 1 : 0)
            if failures == 25 { burst = start + hour }
            for k in 0..<failures {
                let t = start + Int64(k) * minute + 30 * second
                records.append((t, Self.invoke(t, role: "partner-api-role", error: "ModelError", id: "f-\(h)-\(k)")))
            }
            // Another endpoint's steady failures (a caller with a stale schema) stay at their baseline.
            for k in 0..<3 {
                let t = start + Int64(k) * 7 * minute
                records.append((t, Self.invoke(t, endpoint: "churn-prod", error: "ModelError", id: "c-\(h)-\(k)")))
            }
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 200)
        harness.finish()
        let alerts = harness.alerts(of: Self.failuresID)
        #expect(alerts.map(\.time) == [burst], "\(alerts.map { Timestamp.format(milliseconds: $0.time) })")
        #expect(alerts.first?[.resourceName] == "fraud-detection-prod")
    }

    /// 10 days of a Vertex endpoint called by the fraud API (90 a day) and a batch scorer (30); on day 8 an outside
    /// account makes 200 predictions.
    @Test func callerDriftAlertsWhenAnOutsideIdentityTakesAShare() {
        let harness = StageHarness(pack: [Self.callers])
        var records: [(Int64, String)] = []
        for d in 0..<9 {
            let start = monday + Int64(d) * day + 9 * hour
            for k in 0..<90 { records.append((start + Int64(k) * minute, Self.predict(start + Int64(k) * minute, id: "a-\(d)-\(k)"))) }
            for k in 0..<30 {
                let t = start + 3 * hour + Int64(k) * minute
                records.append((t, Self.predict(t, principal: "batch-scorer@acme-ml-prod.iam.gserviceaccount.com", id: "b-\(d)-\(k)")))
            }
            if d == 8 {
                for k in 0..<200 {
                    let t = start + 10 * hour + Int64(k) * 5 * second
                    records.append((t, Self.predict(t, principal: "mallory.personal@example.com", id: "m-\(k)")))
                }
            }
        }
        let clock = monday + 9 * day + hour
        records.append((clock, Self.predict(clock, id: "clock")))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 200)
        harness.finish()
        let alerts = harness.alerts(of: Self.callersID)
        #expect(alerts.map(\.time) == [monday + 9 * day], "\(alerts.map { Timestamp.format(milliseconds: $0.time) })")
    }
}

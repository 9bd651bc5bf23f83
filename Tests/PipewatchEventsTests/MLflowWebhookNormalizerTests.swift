import PipewatchEvents
import Testing

/// MLflow webhook deliveries as the receiver stores them: MLflow's body (Python `json.dumps` with its default
/// separators) plus the `_delivery` object, modelled on samples/mlflow.
enum MLflowRecords {
    static func delivery(
        entity: String, action: String, data: String,
        timestamp: String? = "2026-11-05T03:31:18.402117+00:00",
        deliveryID: String = "098bb19d-6c00-46d4-87fd-a20ab2b267ee", deliveryTimestamp: String = "1793849478"
    ) -> String {
        let time = timestamp.map { #", "timestamp": "\#($0)""# } ?? ""
        return #"{"entity": "\#(entity)", "action": "\#(action)"\#(time), "data": \#(data), "_delivery": {"id": "\#(deliveryID)", "timestamp": "\#(deliveryTimestamp)", "remote_addr": "10.20.0.15", "registry": "https://mlflow.acme.example"}}"#
    }
}

@Suite("MLflow webhook normalizer")
struct MLflowWebhookNormalizerTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        var entity: String
        var action: String
        var data: String
        var fields: [EventField: String]
        var testDescription: String { "\(entity).\(action)" }
    }

    /// Every event of the reference table that carries model-registry fields.
    static let cases: [Expected] = [
        Expected(
            entity: "registered_model", action: "created",
            data: #"{"name": "credit-limit-lgbm", "tags": {"team": "risk-ml", "owner": "alice@acme.example"}, "description": "LightGBM credit-limit recommender"}"#,
            fields: [.mlName: "credit-limit-lgbm"]),
        Expected(
            entity: "model_version", action: "created",
            data: #"{"name": "fraud-detection-xgb", "version": "7", "source": "models:/m-04de4b396758a3edd8164990523ff569", "run_id": "3b9a7c3f2614014b31e4c6b52f48e045", "tags": {"git_sha": "9a4f0c2e71b8"}, "description": null}"#,
            fields: [
                .mlName: "fraud-detection-xgb", .mlVersion: "7", .mlSource: "models:/m-04de4b396758a3edd8164990523ff569",
                .mlRunID: "3b9a7c3f2614014b31e4c6b52f48e045",
            ]),
        Expected(
            entity: "model_version_tag", action: "set",
            data: #"{"name": "fraud-detection-xgb", "version": "8", "key": "approval", "value": "rejected"}"#,
            fields: [.mlName: "fraud-detection-xgb", .mlVersion: "8", .mlTagKey: "approval", .mlTagValue: "rejected"]),
        Expected(
            entity: "model_version_tag", action: "deleted",
            data: #"{"name": "fraud-detection-xgb", "version": "7", "key": "approval"}"#,
            fields: [.mlName: "fraud-detection-xgb", .mlVersion: "7", .mlTagKey: "approval"]),
        Expected(
            entity: "model_version_alias", action: "created",
            data: #"{"name": "fraud-detection-xgb", "alias": "champion", "version": "9"}"#,
            fields: [.mlName: "fraud-detection-xgb", .mlAlias: "champion", .mlVersion: "9"]),
        Expected(
            entity: "model_version_alias", action: "deleted",
            data: #"{"name": "fraud-detection-xgb", "alias": "challenger"}"#,
            fields: [.mlName: "fraud-detection-xgb", .mlAlias: "challenger"]),
        Expected(
            entity: "prompt", action: "created",
            data: #"{"name": "fraud-triage-summary", "tags": {"task": "summarization"}, "description": "Summarises a flagged transaction for the analyst queue"}"#,
            fields: [.mlName: "fraud-triage-summary"]),
    ]

    static let mlFields: [EventField] = [.mlName, .mlVersion, .mlAlias, .mlTagKey, .mlTagValue, .mlSource, .mlRunID, .mlStage]

    @Test("each registry event", arguments: cases)
    func events(expected: Expected) throws {
        let r = try NormalizedRecord(MLflowRecords.delivery(entity: expected.entity, action: expected.action, data: expected.data))
        #expect(r.source == .mlflowWebhook)
        #expect(r.source.name == "mlflow.webhook")
        #expect(r[.apiOperation] == "\(expected.entity).\(expected.action)")
        #expect(r[.apiService] == "mlflow")
        #expect(r[.mlEntity] == expected.entity)
        #expect(r.outcome == .success)
        for field in Self.mlFields {
            #expect(r[field] == expected.fields[field], "\(field.name)")
        }
        #expect(r[.uid] == "098bb19d-6c00-46d4-87fd-a20ab2b267ee")
        #expect(r[.apiRequestID] == "098bb19d-6c00-46d4-87fd-a20ab2b267ee")
        #expect(r[.srcIP] == "10.20.0.15")
        #expect(r[.cloudAccount] == "https://mlflow.acme.example")
        #expect(r.time == epochMilliseconds(2026, 11, 5, 3, 31, 18, ms: 402))
    }

    @Test("a model version from an external pickle, with run_id null")
    func nullRunID() throws {
        let r = try NormalizedRecord(MLflowRecords.delivery(
            entity: "model_version", action: "created",
            data: #"{"name": "fraud-detection-xgb", "version": "9", "source": "https://files.example.net/pickles/model.pkl", "run_id": null, "tags": {}, "description": null}"#))
        #expect(r[.mlSource] == "https://files.example.net/pickles/model.pkl")
        #expect(r[.mlRunID] == nil)
        #expect(r[.mlVersion] == "9")
        #expect(r[.resourceName] == "fraud-detection-xgb")
    }

    @Test("time: the body's +00:00 timestamp wins over the delivery header")
    func bodyTime() throws {
        let r = try NormalizedRecord(MLflowRecords.delivery(
            entity: "registered_model", action: "created", data: #"{"name": "churn-predictor", "tags": {}, "description": null}"#,
            timestamp: "2026-11-02T09:40:18.221905+00:00", deliveryTimestamp: "1700000000"))
        #expect(r.time == epochMilliseconds(2026, 11, 2, 9, 40, 18, ms: 221))
    }

    @Test("time falls back to _delivery.timestamp (Unix seconds) when the body has none")
    func deliveryTime() throws {
        let r = try NormalizedRecord(MLflowRecords.delivery(
            entity: "registered_model", action: "created", data: #"{"name": "churn-predictor", "tags": {}, "description": null}"#,
            timestamp: nil, deliveryTimestamp: "1793612418"))
        #expect(r.time == 1_793_612_418_000)
        #expect(r.time == epochMilliseconds(2026, 11, 2, 9, 40, 18))
    }

    @Test("without any timestamp the delivery is an event without time")
    func noTime() throws {
        let r = try NormalizedRecord(#"{"entity": "registered_model", "action": "created", "data": {"name": "x"}}"#)
        #expect(!r.event.hasTime)
        #expect(r[.apiOperation] == "registered_model.created")
    }

    @Test("a compact body (no spaces) normalizes the same way")
    func compact() throws {
        let r = try NormalizedRecord(
            #"{"entity":"model_version_alias","action":"created","timestamp":"2026-11-05T03:33:29.718402+00:00","data":{"name":"fraud-detection-xgb","alias":"production","version":"9"},"_delivery":{"id":"4128e952-3097-4d57-b2b3-82cee994a132","timestamp":"1793849609","remote_addr":"10.20.0.15","registry":"https://mlflow.acme.example"}}"#)
        #expect(r[.apiOperation] == "model_version_alias.created")
        #expect(r[.mlAlias] == "production")
        #expect(r[.uid] == "4128e952-3097-4d57-b2b3-82cee994a132")
    }

    @Test("non-ASCII names escaped by json.dumps are decoded")
    func escapedName() throws {
        let r = try NormalizedRecord(MLflowRecords.delivery(
            entity: "registered_model", action: "created", data: #"{"name": "mod\u00e8le-fran\u00e7ais", "tags": {}, "description": null}"#))
        #expect(r[.mlName] == "modèle-français")
    }

    @Test("a delivery without the receiver's _delivery object has no address, and an id from its content")
    func withoutDelivery() throws {
        let text = #"{"entity": "registered_model", "action": "created", "timestamp": "2026-11-02T09:40:18.221905+00:00", "data": {"name": "credit-limit-lgbm"}}"#
        let r = try NormalizedRecord(text)
        #expect(r[.uid] == ContentID.string(text))
        #expect(r[.uid]?.hasPrefix("mmh3:") == true)
        #expect(r[.apiRequestID] == nil)
        #expect(r[.srcIP] == nil)
        #expect(r[.cloudAccount] == nil)
        #expect(r[.mlName] == "credit-limit-lgbm")
    }

    /// `_delivery.timestamp` is the X-MLflow-Timestamp header as received: anyone who can reach the receiver
    /// chooses it. A body without `timestamp` and a huge header must be refused, not crash the process.
    @Test("an out-of-range delivery timestamp header is refused, not trapped on")
    func hugeDeliveryTimestamp() async {
        await #expect(processExitsWith: .success) {
            precondition(hugeDeliveryTimestampIsRefused())
        }
    }
}

/// Whether a delivery without a body timestamp and with a 17-digit X-MLflow-Timestamp is refused.
func hugeDeliveryTimestampIsRefused() -> Bool {
    let text = #"{"entity": "registered_model", "action": "created", "data": {"name": "m"}, "_delivery": {"id": "d", "timestamp": "100000000000000000", "remote_addr": "203.0.113.77", "registry": "https://mlflow.acme.example"}}"#
    switch normalizeFailure(text) {
    case .missingField(.mlflowWebhook, "timestamp"), .invalidField(.mlflowWebhook, _, _): return true
    default: return false
    }
}

import PipewatchEvents
import PipewatchJSON
import Testing

@Suite("Source detection and refusals")
struct NormalizerFailureTests {
    @Test("each source is recognised from its shape")
    func detection() throws {
        #expect(try NormalizedRecord(CloudTrailRecords.deniedGetObject).source == .cloudTrail)
        #expect(try NormalizedRecord(KubernetesRecords.forbiddenSecret).source == .kubernetesAudit)
        #expect(try NormalizedRecord(GCPRecords.deniedCustomJob).source == .gcpAudit)
        #expect(try NormalizedRecord(MLflowRecords.delivery(entity: "prompt", action: "created", data: #"{"name": "p"}"#)).source == .mlflowWebhook)
    }

    @Test("source names round-trip")
    func sourceNames() {
        for source in EventSource.allCases {
            #expect(EventSource(name: source.name) == source)
        }
        #expect(EventSource(name: "azure.activity") == nil)
    }

    @Test("a record of unknown shape is refused with its first keys")
    func unknownShape() {
        #expect(normalizeFailure(#"{"ts": 1793849478, "host": "build-7", "msg": "ok"}"#) == .unknownShape(keys: ["ts", "host", "msg"]))
        #expect(normalizeFailure("{}") == .unknownShape(keys: []))
        // At most six keys are named.
        let many = #"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8}"#
        #expect(normalizeFailure(many) == .unknownShape(keys: ["a", "b", "c", "d", "e", "f"]))
        // An auditID alone is not a Kubernetes event; entity+action without data is not MLflow.
        #expect(normalizeFailure(#"{"auditID":"x","level":"Metadata"}"#) == .unknownShape(keys: ["auditID", "level"]))
        #expect(normalizeFailure(#"{"entity":"prompt","action":"created"}"#) == .unknownShape(keys: ["entity", "action"]))
        // The description names the keys for whoever reads the dead letters.
        let failure = NormalizeFailure.unknownShape(keys: ["ts", "host"])
        #expect(failure.description.contains("ts, host"))
    }

    @Test("arrays, strings and other scalars are not records")
    func notAnObject() {
        #expect(normalizeFailure(#"[{"eventName":"ConsoleLogin"}]"#) == .notAnObject(.array))
        #expect(normalizeFailure(#""just a string""#) == .notAnObject(.string))
        #expect(normalizeFailure("42") == .notAnObject(.number))
        #expect(normalizeFailure("null") == .notAnObject(.null))
        #expect(normalizeFailure("true") == .notAnObject(.true))
    }

    @Test("CloudTrail without eventName, eventSource or eventTime")
    func cloudTrailMissing() {
        let noName = #"{"eventVersion":"1.11","eventTime":"2026-11-05T02:39:30Z","eventSource":"sagemaker.amazonaws.com","eventID":"a"}"#
        #expect(normalizeFailure(noName) == .missingField(.cloudTrail, "eventName"))
        let noTime = #"{"eventVersion":"1.11","eventSource":"sagemaker.amazonaws.com","eventName":"ListModels","eventID":"a"}"#
        #expect(normalizeFailure(noTime) == .missingField(.cloudTrail, "eventTime"))
        let noSource = #"{"eventVersion":"1.11","eventTime":"2026-11-05T02:39:30Z","eventName":"ListModels"}"#
        #expect(normalizeFailure(noSource) == .missingField(.cloudTrail, "eventSource"))
        // samples/broken line 13: CloudTrail-like, without eventTime and eventName.
        let broken = #"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","userName":"bob"},"eventSource":"sagemaker.amazonaws.com","awsRegion":"us-east-1"}"#
        #expect(normalizeFailure(broken) == .missingField(.cloudTrail, "eventName"))
    }

    @Test("CloudTrail with an eventTime that is not RFC 3339")
    func cloudTrailInvalidTime() {
        for bad in [#""Nov 5, 2026 2:39:30 AM""#, #""2026-11-05 02:39""#, #""2026-13-01T00:00:00Z""#, "1793849478"] {
            let text = #"{"eventVersion":"1.11","eventTime":\#(bad),"eventSource":"sagemaker.amazonaws.com","eventName":"ListModels"}"#
            let failure = normalizeFailure(text)
            guard case .invalidField(.cloudTrail, "eventTime", _) = failure else {
                Issue.record("eventTime \(bad): expected invalidField, got \(String(describing: failure))")
                continue
            }
        }
        #expect(normalizeFailure(#"{"eventTime":"yesterday","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#)
            == .invalidField(.cloudTrail, "eventTime", "not an RFC 3339 timestamp"))
        #expect(normalizeFailure(#"{"eventTime":17938494,"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#)
            == .invalidField(.cloudTrail, "eventTime", "not a string"))
    }

    @Test("Kubernetes without verb, stage or any timestamp; with a bad timestamp")
    func kubernetesMissing() {
        let noVerb = #"{"kind":"Event","auditID":"652033a6-ff72-4e72-a50a-471d7c6c5e43","stage":"ResponseComplete","requestURI":"/api/v1/pods","stageTimestamp":"2026-11-05T03:02:11.482913Z"}"#
        #expect(normalizeFailure(noVerb) == .missingField(.kubernetesAudit, "verb"))
        let noStage = #"{"kind":"Event","auditID":"652033a6-ff72-4e72-a50a-471d7c6c5e43","verb":"get","stageTimestamp":"2026-11-05T03:02:11.482913Z"}"#
        #expect(normalizeFailure(noStage) == .missingField(.kubernetesAudit, "stage"))
        let noTime = #"{"kind":"Event","auditID":"652033a6-ff72-4e72-a50a-471d7c6c5e43","verb":"get","stage":"ResponseComplete"}"#
        #expect(normalizeFailure(noTime) == .missingField(.kubernetesAudit, "stageTimestamp"))
        let badTime = #"{"auditID":"6","verb":"get","stage":"ResponseComplete","stageTimestamp":"2026-11-05T03:02:11"}"#
        #expect(normalizeFailure(badTime) == .invalidField(.kubernetesAudit, "stageTimestamp", "not an RFC 3339 timestamp"))
    }

    @Test("GCP without methodName, timestamp, or with a non-object protoPayload")
    func gcpMissing() {
        let noMethod = #"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"aiplatform.googleapis.com"},"insertId":"abc","timestamp":"2026-11-05T03:10:05.193804466Z"}"#
        #expect(normalizeFailure(noMethod) == .missingField(.gcpAudit, "protoPayload.methodName"))
        let noTime = #"{"protoPayload":{"serviceName":"aiplatform.googleapis.com","methodName":"google.cloud.aiplatform.v1.ModelService.UploadModel"},"insertId":"abc"}"#
        #expect(normalizeFailure(noTime) == .missingField(.gcpAudit, "timestamp"))
        let notObject = #"{"protoPayload":"AuditLog","insertId":"abc","timestamp":"2026-11-05T03:10:05Z"}"#
        #expect(normalizeFailure(notObject) == .invalidField(.gcpAudit, "protoPayload", "not an object"))
    }

    @Test("MLflow with non-object data or non-string entity/action")
    func mlflowInvalid() {
        let stringData = #"{"entity": "model_version", "action": "created", "timestamp": "2026-11-05T03:31:18.402117+00:00", "data": "fraud-detection-xgb"}"#
        #expect(normalizeFailure(stringData) == .invalidField(.mlflowWebhook, "data", "not an object"))
        let nullData = #"{"entity": "model_version", "action": "created", "timestamp": "2026-11-05T03:31:18.402117+00:00", "data": null}"#
        #expect(normalizeFailure(nullData) == .invalidField(.mlflowWebhook, "data", "not an object"))
        let numericEntity = #"{"entity": 3, "action": "created", "timestamp": "2026-11-05T03:31:18.402117+00:00", "data": {}}"#
        #expect(normalizeFailure(numericEntity) == .invalidField(.mlflowWebhook, "entity", "not a string"))
        let badTime = #"{"entity": "prompt", "action": "created", "timestamp": "yesterday", "data": {}}"#
        #expect(normalizeFailure(badTime) == .invalidField(.mlflowWebhook, "timestamp", "not an RFC 3339 timestamp"))
    }

    @Test("failure descriptions name the source and the field")
    func descriptions() {
        #expect(NormalizeFailure.missingField(.cloudTrail, "eventName").description == "aws.cloudtrail record without eventName")
        #expect(NormalizeFailure.invalidField(.gcpAudit, "protoPayload", "not an object").description
            == "gcp.audit record with invalid protoPayload: not an object")
        #expect(NormalizeFailure.notAnObject(.array).description.contains("array"))
    }

    @Test("one normalizer instance handles records of every source in turn")
    func reuse() throws {
        let normalizer = Normalizer()
        let arena = TextArena()
        let texts = [
            KubernetesRecords.execComplete, CloudTrailRecords.pipelineUpdateEndpoint, GCPRecords.pipelineUploadModel,
            MLflowRecords.delivery(entity: "model_version_alias", action: "created", data: #"{"name": "m", "alias": "champion", "version": "9"}"#),
            KubernetesRecords.execReceived,
        ]
        let expected: [(EventSource, String, String)] = [
            (.kubernetesAudit, "create:pods/exec", "652033a6-ff72-4e72-a50a-471d7c6c5e43"),
            (.cloudTrail, "UpdateEndpoint", "65da885e-16c7-4eca-9619-cd9139951fac"),
            (.gcpAudit, "google.cloud.aiplatform.v1.ModelService.UploadModel", "gvyfax5zjilj"),
            (.mlflowWebhook, "model_version_alias.created", "098bb19d-6c00-46d4-87fd-a20ab2b267ee"),
            (.kubernetesAudit, "create:pods/exec", "652033a6-ff72-4e72-a50a-471d7c6c5e43"),
        ]
        // All records in one buffer and one tape, normalized in turn; every view is read at the end.
        let joined = Array(texts.joined(separator: "\n").utf8)
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: joined.count)
        defer { bytes.deallocate() }
        bytes.update(from: joined, count: joined.count)
        let tape = JSONTape(capacity: 16)
        var events: [Event] = []
        var start = 0
        for text in texts {
            let end = start + text.utf8.count
            let root = try JSONParser.parse(bytes, from: start, to: end, into: tape)
            events.append(try normalizer.normalize(JSONDocument(bytes: bytes, nodes: tape.nodes), root: root, arena: arena))
            start = end + 1
        }
        let document = JSONDocument(bytes: bytes, nodes: tape.nodes)
        events.withUnsafeBufferPointer { buffer in
            for (k, (source, operation, uid)) in expected.enumerated() {
                let view = EventView(document: document, arena: UnsafePointer(arena.bytes), event: buffer.baseAddress! + k)
                #expect(view.source == source)
                #expect(view.string(.apiOperation) == operation)
                #expect(view.string(.uid) == uid)
                #expect(view.string(.cloudProvider) != nil)
                #expect(document[view.record].kind == .object)
            }
        }
        #expect(events[0].isPreliminary == false)
        #expect(events[4].isPreliminary == true)
    }
}

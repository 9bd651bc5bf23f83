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

    @Test("recognition by the keys that tell the sources apart", arguments: [
        // CloudTrail: two of eventVersion, userIdentity, eventSource, eventName.
        (#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#, EventSource.cloudTrail),
        (#"{"userIdentity":{"type":"Root"},"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com"}"#, .cloudTrail),
        // Kubernetes: an audit.k8s.io Event, v1 or v1beta1, or two audit keys without kind.
        (#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","verb":"get"}"#, .kubernetesAudit),
        (#"{"verb":"list","requestURI":"/api/v1/pods"}"#, .kubernetesAudit),
        (#"{"verb":"get","objectRef":{"resource":"secrets"}}"#, .kubernetesAudit),
        // GCP: an AuditLog payload by type, by serviceName + methodName, by its log, or a BigQuery export.
        (#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"m"}}"#, .gcpAudit),
        (#"{"protoPayload":{"serviceName":"iam.googleapis.com","methodName":"m"}}"#, .gcpAudit),
        (#"{"protoPayload":{"methodName":"m"},"logName":"projects/p/logs/cloudaudit.googleapis.com%2Fdata_access"}"#, .gcpAudit),
        (#"{"protopayload_auditlog":{"serviceName":"s","methodName":"m"}}"#, .gcpAudit),
    ])
    func recognition(text: String, source: EventSource) throws {
        #expect(try NormalizedRecord(text).source == source)
    }

    @Test("look-alikes of one source key are not records", arguments: [
        #"{"kind":"Event","apiVersion":"v1","reason":"BackOff","involvedObject":{"kind":"Pod"}}"#,  // a core Event
        #"{"kind":"Event","verb":"get"}"#,
        #"{"protoPayload":{"@type":"type.googleapis.com/google.appengine.logging.v1.RequestLog","methodName":"GET"}}"#,
        #"{"protoPayload":{"methodName":"m"},"logName":"projects/p/logs/stdout"}"#,
        #"{"eventName":"checkout","eventTime":"2025-01-21T17:49:47Z"}"#,
        #"{"eventversion":"1.09","eventsource":"s3.amazonaws.com","eventname":"GetObject"}"#,
        #"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"GetObject"}}"#,
    ])
    func lookAlikes(text: String) {
        guard case .unknownShape = normalizeFailure(text) else {
            Issue.record("\(text): \(String(describing: normalizeFailure(text)))")
            return
        }
    }

    @Test("an EventBridge event is its CloudTrail detail, with the envelope's time when the detail has none")
    func eventBridge() throws {
        let detail = #"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob"},"eventSource":"sagemaker.amazonaws.com","eventName":"DeleteModel","awsRegion":"us-east-1","eventID":"2c9d5c1e-4f59-4bd6-8a37-8e0f1f7f5a10"}"#
        let text = #"{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"AWS API Call via CloudTrail","source":"aws.sagemaker","time":"2025-01-21T17:49:47Z","region":"us-east-1","detail":\#(detail)}"#
        let r = try NormalizedRecord(text)
        #expect(r.source == .cloudTrail)
        #expect(r[.apiOperation] == "DeleteModel")
        #expect(r[.uid] == "2c9d5c1e-4f59-4bd6-8a37-8e0f1f7f5a10")
        #expect(r.time == epochMilliseconds(2025, 1, 21, 17, 49, 47))
        // Raw fields resolve in the detail, where CloudTrail rules expect them.
        #expect(r.document.member(r.view.record, "eventName") != nil)
        #expect(r.document.member(r.view.record, "detail-type") == nil)
        // The detail's own eventTime wins over the envelope's.
        let timed = text.replacingOccurrences(of: #""eventName":"DeleteModel""#, with: #""eventName":"DeleteModel","eventTime":"2025-01-21T17:49:40Z""#)
        #expect(try NormalizedRecord(timed).time == epochMilliseconds(2025, 1, 21, 17, 49, 40))
    }

    @Test("CloudTrail falls back to @timestamp, Kubernetes to v1beta1 timestamp, GCP to the request's and the receive time")
    func timeFallbacks() throws {
        let logstash = try NormalizedRecord(#"{"@timestamp":"2025-01-21T17:49:47.000Z","@version":"1","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#)
        #expect(logstash.time == epochMilliseconds(2025, 1, 21, 17, 49, 47))
        let both = try NormalizedRecord(#"{"@timestamp":"2025-01-21T17:55:00.000Z","eventTime":"2025-01-21T17:49:47Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#)
        #expect(both.time == epochMilliseconds(2025, 1, 21, 17, 49, 47))
        let v1beta1 = try NormalizedRecord(#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","verb":"get","timestamp":"2018-10-26T13:22:39Z"}"#)
        #expect(v1beta1.time == epochMilliseconds(2018, 10, 26, 13, 22, 39))
        let request = try NormalizedRecord(#"{"protoPayload":{"serviceName":"s","methodName":"m","requestMetadata":{"requestAttributes":{"time":"2025-01-21T17:49:47.5Z"}}},"receiveTimestamp":"2025-01-21T17:49:49Z"}"#)
        #expect(request.time == epochMilliseconds(2025, 1, 21, 17, 49, 47, ms: 500))
        let received = try NormalizedRecord(#"{"protoPayload":{"serviceName":"s","methodName":"m"},"receiveTimestamp":"2025-01-21T17:49:49Z"}"#)
        #expect(received.time == epochMilliseconds(2025, 1, 21, 17, 49, 49))
        // A damaged first choice is not covered up by a later field.
        #expect(normalizeFailure(#"{"protoPayload":{"serviceName":"s","methodName":"m"},"timestamp":"2025-02-30T00:00:00Z","receiveTimestamp":"2025-01-21T17:49:49Z"}"#)
            == .invalidField(.gcpAudit, "timestamp", TimeReason.notATime))
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

    @Test("CloudTrail without eventName or eventSource is refused; without eventTime it is an event without time")
    func cloudTrailMissing() throws {
        let noName = #"{"eventVersion":"1.11","eventTime":"2026-11-05T02:39:30Z","eventSource":"sagemaker.amazonaws.com","eventID":"a"}"#
        #expect(normalizeFailure(noName) == .missingField(.cloudTrail, "eventName"))
        let noSource = #"{"eventVersion":"1.11","eventTime":"2026-11-05T02:39:30Z","eventName":"ListModels"}"#
        #expect(normalizeFailure(noSource) == .missingField(.cloudTrail, "eventSource"))
        // samples/broken line 13: CloudTrail-like, without eventTime and eventName.
        let broken = #"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","userName":"bob"},"eventSource":"sagemaker.amazonaws.com","awsRegion":"us-east-1"}"#
        #expect(normalizeFailure(broken) == .missingField(.cloudTrail, "eventName"))

        let noTime = try NormalizedRecord(#"{"eventVersion":"1.11","eventSource":"sagemaker.amazonaws.com","eventName":"ListModels","eventID":"a"}"#)
        #expect(noTime.source == .cloudTrail)
        #expect(!noTime.event.hasTime)
        #expect(noTime[.apiOperation] == "ListModels")
        #expect(noTime[.uid] == "a")
        // null and "" are no time either.
        for empty in ["null", #""""#] {
            let record = try NormalizedRecord(#"{"eventTime":\#(empty),"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#)
            #expect(!record.event.hasTime, "eventTime \(empty)")
        }
    }

    @Test("CloudTrail with an eventTime that is no time is refused, with the field and the reason")
    func cloudTrailInvalidTime() {
        for bad in [#""Nov 5, 2026 2:39:30 AM""#, #""2026-11-05 02:39""#, #""2026-13-01T00:00:00Z""#, #""2026-02-29 10:00:00""#, #""yesterday""#, "true", "[]"] {
            let text = #"{"eventVersion":"1.11","eventTime":\#(bad),"eventSource":"sagemaker.amazonaws.com","eventName":"ListModels"}"#
            #expect(normalizeFailure(text) == .invalidField(.cloudTrail, "eventTime", TimeReason.notATime), "eventTime \(bad)")
        }
        for number in ["17938494", "17938494780", "-1793849478", "1.7e30"] {
            let text = #"{"eventTime":\#(number),"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#
            #expect(normalizeFailure(text) == .invalidField(.cloudTrail, "eventTime", TimeReason.epochOutOfRange), "eventTime \(number)")
        }
        // The description says what a time may be.
        let failure = NormalizeFailure.invalidField(.cloudTrail, "eventTime", TimeReason.notATime)
        #expect(failure.description.contains("RFC 3339") && failure.description.contains("epoch"))
    }

    @Test("Kubernetes without verb is refused; without stage, auditID or any time it is an event")
    func kubernetesMissing() throws {
        let noVerb = #"{"kind":"Event","auditID":"652033a6-ff72-4e72-a50a-471d7c6c5e43","stage":"ResponseComplete","requestURI":"/api/v1/pods","stageTimestamp":"2026-11-05T03:02:11.482913Z"}"#
        #expect(normalizeFailure(noVerb) == .missingField(.kubernetesAudit, "verb"))
        let badTime = #"{"auditID":"6","verb":"get","stage":"ResponseComplete","stageTimestamp":"2026-11-05T25:02:11Z"}"#
        #expect(normalizeFailure(badTime) == .invalidField(.kubernetesAudit, "stageTimestamp", TimeReason.notATime))

        let noStage = try NormalizedRecord(#"{"kind":"Event","auditID":"652033a6-ff72-4e72-a50a-471d7c6c5e43","verb":"get","stageTimestamp":"2026-11-05T03:02:11.482913Z"}"#)
        #expect(noStage.source == .kubernetesAudit)
        #expect(noStage[.stage] == nil)
        #expect(!noStage.event.isPreliminary)
        #expect(noStage.time == epochMilliseconds(2026, 11, 5, 3, 2, 11, ms: 482))
        let noTime = try NormalizedRecord(#"{"kind":"Event","auditID":"652033a6-ff72-4e72-a50a-471d7c6c5e43","verb":"get","stage":"ResponseComplete"}"#)
        #expect(!noTime.event.hasTime)
        #expect(noTime[.apiOperation] == "get:")
    }

    @Test("GCP without methodName or with a non-object protoPayload is refused; without any time it is an event")
    func gcpMissing() throws {
        let noMethod = #"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"aiplatform.googleapis.com"},"insertId":"abc","timestamp":"2026-11-05T03:10:05.193804466Z"}"#
        #expect(normalizeFailure(noMethod) == .missingField(.gcpAudit, "protoPayload.methodName"))
        let notObject = #"{"protoPayload":"AuditLog","insertId":"abc","timestamp":"2026-11-05T03:10:05Z"}"#
        #expect(normalizeFailure(notObject) == .invalidField(.gcpAudit, "protoPayload", "not an object"))
        let sinkNotObject = #"{"protopayload_auditlog":[],"insertId":"abc"}"#
        #expect(normalizeFailure(sinkNotObject) == .invalidField(.gcpAudit, "protopayload_auditlog", "not an object"))

        let noTime = try NormalizedRecord(#"{"protoPayload":{"serviceName":"aiplatform.googleapis.com","methodName":"google.cloud.aiplatform.v1.ModelService.UploadModel"},"insertId":"abc"}"#)
        #expect(noTime.source == .gcpAudit)
        #expect(!noTime.event.hasTime)
        #expect(noTime[.uid] == "abc")
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
        #expect(normalizeFailure(badTime) == .invalidField(.mlflowWebhook, "timestamp", TimeReason.notATime))
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

/// The reasons a time field is refused with, as the dead letters say them.
enum TimeReason {
    static let notATime = "not a time (RFC 3339, YYYY-MM-DD HH:MM:SS[.fraction][zone] or Unix epoch seconds, ms, µs or ns)"
    static let epochOutOfRange =
        "epoch number outside 1973-03-03 to 2286-11-20 in seconds, ms, µs or ns (9-10, 12-13, 15-16 or 18-19 digits)"
}

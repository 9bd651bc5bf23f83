import Foundation
import PipewatchEvents
import PipewatchJSON
import Testing

@Suite("EventJSON")
struct EventJSONTests {
    /// The normalized JSON of a record, parsed back with Foundation.
    func normalizedJSON(_ record: NormalizedRecord, includeRaw: Bool = false) throws -> (text: [UInt8], object: [String: Any]) {
        var writer = JSONWriter()
        EventJSON.write(record.view, to: &writer, includeRaw: includeRaw)
        let parsed = try JSONSerialization.jsonObject(with: Data(writer.bytes))
        return (writer.bytes, try #require(parsed as? [String: Any]))
    }

    @Test("a CloudTrail event: nested groups, time, outcome; absent fields left out")
    func cloudTrail() throws {
        let record = try NormalizedRecord(CloudTrailRecords.deniedGetObject)
        let (_, json) = try normalizedJSON(record)
        #expect(json["source"] as? String == "aws.cloudtrail")
        #expect(json["outcome"] as? String == "failure")
        #expect(json["time"] as? String == "2026-11-05T02:35:02.000Z")
        #expect((json["time_ms"] as? NSNumber)?.int64Value == epochMilliseconds(2026, 11, 5, 2, 35, 2))
        #expect(json["uid"] as? String == "fae29f63-18e2-4535-aaf1-6aa71681068c")

        let api = try #require(json["api"] as? [String: Any])
        #expect(api["operation"] as? String == "GetObject")
        #expect(api["service"] as? String == "s3.amazonaws.com")
        #expect(api["request_id"] as? String == "4GMTKGM8OW0D49HO")
        let actor = try #require(json["actor"] as? [String: Any])
        #expect(actor["user"] as? String == "arn:aws:iam::111122223333:user/bob")
        #expect(actor["user_type"] as? String == "IAMUser")
        #expect(actor["impersonated_by"] == nil)
        let src = try #require(json["src"] as? [String: Any])
        #expect(src["ip"] as? String == "203.0.113.77")
        let error = try #require(json["error"] as? [String: Any])
        #expect(error["code"] as? String == "AccessDenied")
        #expect(error["message"] as? String == "Access Denied")
        let resource = try #require(json["resource"] as? [String: Any])
        #expect(resource["name"] as? String == "acme-ml-model-artifacts")
        #expect(resource["type"] as? String == "AWS::S3::Object")
        #expect(resource["namespace"] == nil)
        let cloud = try #require(json["cloud"] as? [String: Any])
        #expect(cloud["provider"] as? String == "aws")
        #expect(cloud["account"] as? String == "111122223333")

        // An S3 object is a possible model artifact: its URI is the ml group's only field here.
        let ml = try #require(json["ml"] as? [String: Any])
        #expect(ml.keys.sorted() == ["artifact"])
        #expect((ml["artifact"] as? [String: Any])?["uri"] as? String
            == "s3://acme-ml-model-artifacts/fraud-detection/training/output/model.tar.gz")
        // Absent groups and fields are not written at all, not even as null.
        #expect(json["stage"] == nil)
        #expect(json["status_code"] == nil)
        #expect(json["raw"] == nil)
        // Only Kubernetes events say whether they are preliminary.
        #expect(json["preliminary"] == nil)
        // No dotted names at the top level.
        #expect(json.keys.allSatisfy { !$0.contains(".") })
    }

    @Test("raw is the original record byte for byte")
    func raw() throws {
        let text = CloudTrailRecords.consoleLoginFailure
        let record = try NormalizedRecord(text)
        let (bytes, json) = try normalizedJSON(record, includeRaw: true)
        let raw = try #require(json["raw"] as? [String: Any])
        #expect(raw["eventID"] as? String == "88dce7c9-e236-473c-bf54-0beda0afceae")
        let additional = try #require(raw["additionalEventData"] as? [String: Any])
        #expect(additional["MFAUsed"] as? String == "No")
        // The exact bytes of the record appear as the value of "raw".
        let output = String(decoding: bytes, as: UTF8.self)
        #expect(output.hasSuffix(#","raw":"# + text + "}"))
    }

    @Test("raw of a record inside a larger document is that record only")
    func rawOfElement() throws {
        let batch = NormalizedBatch(bytes: Array(#"{"Records": [\#(CloudTrailRecords.deniedGetObject), \#(CloudTrailRecords.pipelineUpdateEndpoint)]}"#.utf8))
        try batch.normalizeElements(of: "Records")
        #expect(batch.failures.isEmpty)
        let views = batch.views
        try #require(views.count == 2)
        var writer = JSONWriter()
        EventJSON.write(views[1], to: &writer, includeRaw: true)
        let output = String(decoding: writer.bytes, as: UTF8.self)
        #expect(output.hasSuffix(#","raw":"# + CloudTrailRecords.pipelineUpdateEndpoint + "}"))
        #expect(try JSONSerialization.jsonObject(with: Data(writer.bytes)) is [String: Any])
    }

    @Test("a Kubernetes event: preliminary flag, stage, composed operation and escaped message")
    func kubernetes() throws {
        let received = try normalizedJSON(try NormalizedRecord(KubernetesRecords.execReceived)).object
        #expect(received["preliminary"] as? Bool == true)
        #expect(received["stage"] as? String == "RequestReceived")
        #expect(received["outcome"] as? String == "unknown")
        #expect((received["api"] as? [String: Any])?["operation"] as? String == "create:pods/exec")
        #expect(received["error"] == nil)

        let forbidden = try normalizedJSON(try NormalizedRecord(KubernetesRecords.forbiddenSecret)).object
        #expect(forbidden["preliminary"] as? Bool == false)
        #expect(forbidden["status_code"] as? String == "403")
        let error = try #require(forbidden["error"] as? [String: Any])
        #expect(error["code"] as? String == "Forbidden")
        #expect((error["message"] as? String)?.hasPrefix(#"secrets "mlpipeline-minio-artifact" is forbidden"#) == true)
        let resource = try #require(forbidden["resource"] as? [String: Any])
        #expect(resource["namespace"] as? String == "kubeflow")
    }

    @Test("an MLflow event: the ml group")
    func mlflow() throws {
        let record = try NormalizedRecord(MLflowRecords.delivery(
            entity: "model_version_tag", action: "set",
            data: #"{"name": "fraud-detection-xgb", "version": "8", "key": "approval", "value": "rejected"}"#))
        let json = try normalizedJSON(record).object
        let ml = try #require(json["ml"] as? [String: Any])
        #expect(ml["entity"] as? String == "model_version_tag")
        #expect(ml["name"] as? String == "fraud-detection-xgb")
        #expect(ml["version"] as? String == "8")
        #expect(ml["tag_key"] as? String == "approval")
        #expect(ml["tag_value"] as? String == "rejected")
        #expect(ml["run_id"] == nil)
        #expect(ml["alias"] == nil)
        #expect(json["source"] as? String == "mlflow.webhook")
    }

    @Test("decoded escapes are re-escaped correctly")
    func escapes() throws {
        let record = try NormalizedRecord(
            #"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user\/ren\u00e9"},"eventTime":"2026-11-05T02:39:30Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userAgent":"tab\there \"quoted\" back\\slash","eventID":"x"}"#)
        let json = try normalizedJSON(record).object
        #expect((json["actor"] as? [String: Any])?["user"] as? String == "arn:aws:iam::111122223333:user/rené")
        #expect(json["user_agent"] as? String == "tab\there \"quoted\" back\\slash")
    }

    @Test("every field group of the event is written under its prefix")
    func allPrefixes() throws {
        let record = try NormalizedRecord(GCPRecords.pipelineUploadModel)
        let json = try normalizedJSON(record).object
        let present = record.presentFields
        #expect(!present.isEmpty)
        for (name, value) in present {
            #expect(Self.value(at: name, in: json) as? String == value, "\(name)")
        }
    }

    /// The value at a dotted path of nested objects.
    static func value(at path: String, in json: [String: Any]) -> Any? {
        let parts = path.split(separator: ".").map(String.init)
        var object: [String: Any]? = json
        for part in parts.dropLast() { object = object?[part] as? [String: Any] }
        return object?[parts[parts.count - 1]]
    }

    @Test("fields two levels deep nest twice, next to their group's other fields, each object once")
    func deepFields() throws {
        let record = try NormalizedRecord(MLflowRecords.delivery(
            entity: "model_version", action: "created",
            data: #"{"name": "fraud-detection-xgb", "version": "9", "source": "s3://acme-ml-model-artifacts/models/fraud/9/", "run_id": null, "user_id": "alice"}"#))
        let (bytes, json) = try normalizedJSON(record)
        let ml = try #require(json["ml"] as? [String: Any])
        #expect(ml["name"] as? String == "fraud-detection-xgb")
        #expect((ml["artifact"] as? [String: Any])?["uri"] as? String == "s3://acme-ml-model-artifacts/models/fraud/9")
        let model = try #require(ml["model"] as? [String: Any])
        #expect(model["name"] as? String == "fraud-detection-xgb")
        #expect(model["version"] as? String == "9")
        #expect((json["actor"] as? [String: Any])?["principal"] as? String == "alice")
        // JSONSerialization keeps one of duplicate keys silently: count the keys in the text.
        let text = String(decoding: bytes, as: UTF8.self)
        for key in [#""ml":"#, #""artifact":"#, #""model":"#, #""actor":"#] {
            #expect(text.components(separatedBy: key).count == 2, "\(key) written once")
        }
        #expect(record.presentFields.keys.allSatisfy { Self.value(at: $0, in: json) != nil })
    }
}

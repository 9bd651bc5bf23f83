import Foundation
import PipewatchEvents
import PipewatchJSON
import Testing

/// The whole samples/ corpus. Record counts are those of the "Files" table in samples/README.md.
@Suite("Sample corpus")
struct SampleCorpusTests {
    enum Framing: Sendable { case lines, elements(String) }

    struct SampleFile: Sendable, CustomTestStringConvertible {
        var path: String
        var framing: Framing
        var source: EventSource
        /// Records in the file (samples/README.md, "Files").
        var records: Int
        var testDescription: String { path }
    }

    static let files: [SampleFile] = [
        SampleFile(path: "cloudtrail/111122223333_CloudTrail_us-east-1_20261103T1015Z_sagemaker.json.gz",
                   framing: .elements("Records"), source: .cloudTrail, records: 24),
        SampleFile(path: "cloudtrail/sagemaker-s3-iam.ndjson", framing: .lines, source: .cloudTrail, records: 28),
        SampleFile(path: "kubernetes/audit.ndjson", framing: .lines, source: .kubernetesAudit, records: 21),
        SampleFile(path: "kubernetes/webhook-eventlist.json", framing: .elements("items"), source: .kubernetesAudit, records: 5),
        SampleFile(path: "gcp/vertex-audit.ndjson.zst", framing: .lines, source: .gcpAudit, records: 18),
        SampleFile(path: "mlflow/deliveries.ndjson", framing: .lines, source: .mlflowWebhook, records: 19),
    ]

    static func load(_ file: SampleFile) throws -> NormalizedBatch {
        let batch = NormalizedBatch(bytes: try sampleBytes(file.path))
        switch file.framing {
        case .lines: batch.normalizeLines()
        case .elements(let key): try batch.normalizeElements(of: key)
        }
        return batch
    }

    @Test("every record of each sample file normalizes", arguments: files)
    func normalizesEveryRecord(file: SampleFile) throws {
        let batch = try Self.load(file)
        #expect(batch.failures.isEmpty, "\(batch.failures.map { "record \($0.position): \($0.error)" })")
        #expect(batch.eventCount == file.records)
        // "All events fall between 2026-11-02 and 2026-11-06 UTC."
        let first = epochMilliseconds(2026, 11, 2, 0, 0, 0)
        let last = epochMilliseconds(2026, 11, 7, 0, 0, 0)
        for view in batch.views {
            #expect(view.source == file.source)
            #expect(view.event.time >= first && view.event.time < last, "\(view.timeText ?? "no time")")
            #expect(view.string(.uid)?.isEmpty == false)
            #expect(view.string(.apiRequestID)?.isEmpty == false)
            #expect(view.string(.apiService)?.isEmpty == false)
            #expect(view.string(.apiOperation)?.isEmpty == false)
            #expect(view.string(.cloudProvider) != nil)
            if file.source != .mlflowWebhook {
                #expect(view.string(.actorUser) != nil, "\(view.string(.uid) ?? "?")")
            }
            // Each event's JSON is valid JSON.
            var writer = JSONWriter()
            EventJSON.write(view, to: &writer, includeRaw: true)
            #expect((try? JSONSerialization.jsonObject(with: Data(writer.bytes))) is [String: Any])
        }
    }

    @Test("per-source totals match samples/README.md")
    func totals() throws {
        var counts: [EventSource: Int] = [:]
        var uids: [EventSource: Set<String>] = [:]
        var preliminary = 0
        for file in Self.files {
            let batch = try Self.load(file)
            for view in batch.views {
                counts[view.source, default: 0] += 1
                uids[view.source, default: []].insert(view.string(.uid) ?? "")
                if view.event.isPreliminary { preliminary += 1 }
            }
        }
        // "Totals: CloudTrail 52 records. Kubernetes 26 events … GCP 18. MLflow 19."
        #expect(counts[.cloudTrail] == 52)
        #expect(counts[.kubernetesAudit] == 26)
        #expect(counts[.gcpAudit] == 18)
        #expect(counts[.mlflowWebhook] == 19)
        // eventIDs, insertIds and delivery ids are unique; Kubernetes: 17 requests in the log plus 5 webhook items.
        #expect(uids[.cloudTrail]?.count == 52)
        #expect(uids[.kubernetesAudit]?.count == 22)
        #expect(uids[.gcpAudit]?.count == 18)
        #expect(uids[.mlflowWebhook]?.count == 19)
        // Three requests were logged at RequestReceived (the two execs and the clusterrolebinding create).
        #expect(preliminary == 3)
    }

    @Test("planted records of the scenario normalize to what the README says")
    func plantedRecords() throws {
        var byUID: [String: (source: EventSource, outcome: Outcome, fields: [String: String], time: Int64)] = [:]
        for file in Self.files {
            let batch = try Self.load(file)
            for view in batch.views {
                var fields: [String: String] = [:]
                for field in EventField.allCases { if let value = view.string(field) { fields[field.name] = value } }
                // Keep the final stage of a multi-stage Kubernetes request.
                if let uid = fields["uid"], byUID[uid] == nil || !view.event.isPreliminary {
                    byUID[uid] = (view.source, view.event.outcome, fields, view.event.time)
                }
            }
        }
        // ConsoleLogin failure for bob: errorMessage only.
        let login = try #require(byUID["88dce7c9-e236-473c-bf54-0beda0afceae"])
        #expect(login.outcome == .failure)
        #expect(login.fields["src.ip"] == "203.0.113.77")
        #expect(login.fields["error.code"] == nil)
        #expect(login.time == epochMilliseconds(2026, 11, 5, 2, 31, 7))

        // CreateModel from a foreign bucket, no modelPackageName.
        let model = try #require(byUID["a35c6c65-2d60-4250-97a3-41161e8aef09"])
        #expect(model.fields["ml.entity"] == "model")
        #expect(model.fields["ml.source"] == "s3://tmp-scratch-8823/model.tar.gz")

        // UpdateEndpoint of prod by bob.
        let update = try #require(byUID["f77b2b63-8867-4855-8da4-8955eb67a1d4"])
        #expect(update.fields["ml.name"] == "fraud-detection-prod")
        #expect(update.fields["actor.user"] == "arn:aws:iam::111122223333:user/bob")

        // CreateNotebookInstance in eu-west-1.
        let notebook = try #require(byUID["9368e3aa-026b-491b-9188-77c354578470"])
        #expect(notebook.fields["ml.entity"] == "notebook")
        #expect(notebook.fields["ml.name"] == "bob-scratch")
        #expect(notebook.fields["cloud.region"] == "eu-west-1")

        // Kubernetes: forbidden secret read, and the exec completed with 101.
        let secret = try #require(byUID["51920f11-12f7-461f-a630-8931f85867ff"])
        #expect(secret.outcome == .failure)
        #expect(secret.fields["status_code"] == "403")
        let exec = try #require(byUID["652033a6-ff72-4e72-a50a-471d7c6c5e43"])
        #expect(exec.fields["api.operation"] == "create:pods/exec")
        #expect(exec.fields["stage"] == "ResponseComplete")
        #expect(exec.outcome == .success)
        let predictorExec = try #require(byUID["39952aea-e88e-46d4-81ff-e9fa11ccfa15"])
        #expect(predictorExec.fields["actor.user_type"] == "ServiceAccount")

        // GCP: the denied CustomJob and mallory's UploadModel.
        let customJob = try #require(byUID["pml3h6gqie63"])
        #expect(customJob.outcome == .failure)
        #expect(customJob.fields["status_code"] == "7")
        let upload = try #require(byUID["w15ztq7fluyb"])
        #expect(upload.fields["ml.entity"] == "model")
        #expect(upload.fields["actor.user"] == "mallory@acme.example")
        #expect(upload.fields["src.ip"] == "203.0.113.77")
        #expect(upload.fields["cloud.region"] == "us-central1")

        // MLflow: the external pickle with run_id null, and the champion alias moved to it.
        let pickle = try #require(byUID["098bb19d-6c00-46d4-87fd-a20ab2b267ee"])
        #expect(pickle.fields["ml.source"] == "https://files.example.net/pickles/model.pkl")
        #expect(pickle.fields["ml.run_id"] == nil)
        #expect(pickle.fields["ml.version"] == "9")
        #expect(pickle.time == epochMilliseconds(2026, 11, 5, 3, 31, 18, ms: 204))
        let champion = try #require(byUID["8073931d-5261-4a53-869f-b7d86c12c043"])
        #expect(champion.fields["api.operation"] == "model_version_alias.created")
        #expect(champion.fields["ml.alias"] == "champion")
        #expect(champion.fields["ml.version"] == "9")
    }

    @Test("samples/broken: the two valid records normalize, the JSON lines of no source are refused")
    func brokenFile() throws {
        let batch = NormalizedBatch(bytes: try sampleBytes("broken/broken-records.ndjson"))
        batch.normalizeLines()
        #expect(batch.eventCount == 2)
        #expect(Set(batch.views.compactMap { $0.string(.uid) })
            == ["b1e3791e-b595-4626-bf1f-58ff6e4fec64", "8fe94a99-7c6c-42c5-934f-10db8de663b3"])
        var jsonFailures: [Int] = []
        var refused: [Int: NormalizeFailure] = [:]
        for (line, error) in batch.failures {
            switch error {
            case .json: jsonFailures.append(line)
            case .normalize(let failure): refused[line] = failure
            }
        }
        // Lines 1, 3, 5-8 and 10 are not JSON; 4, 11-14 are JSON but no record (samples/README.md).
        #expect(jsonFailures.sorted() == [1, 3, 5, 6, 7, 8, 10])
        #expect(refused[4] == .notAnObject(.string))
        #expect(refused[12] == .notAnObject(.array))
        #expect(refused[14] == .unknownShape(keys: []))
        #expect(refused[11] == .unknownShape(keys: ["hello"]))
        #expect(refused[13] == .missingField(.cloudTrail, "eventName"))
    }
}

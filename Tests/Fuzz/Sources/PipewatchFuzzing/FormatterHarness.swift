import Foundation
import PipewatchEvents
import PipewatchInputs
import PipewatchJSON
import PipewatchOutput
import PipewatchPipeline

/// Harness 4: hostile field contents in a record and in a rule, through normalization into an alert, then every
/// alert format and syslog framing.
///
/// Input: a flags byte (bits 0–1 the source's record template; bit 2 the alert's time taken from the input; bit 3
/// every normalized field overwritten with input pieces, for values no normalizer would produce; bit 4 record values
/// spliced in unquoted, so escapes, invalid UTF-8 and quotes reach the parser as they are; bits 5–7 the level),
/// an 8-byte time, then pieces: rule id, title, description, tags (comma-separated), syslog hostname, app name,
/// procid, msgid, HEC host, the record's values, the field overrides.
///
/// Checked: CEF and LEEF lines are one line with every header separator and extension key where the format puts
/// it; OCSF, ECS and HEC are one line of strictly valid JSON; RFC 5424 headers hold only printable ASCII within their
/// limits; octet counting counts the message; datagram truncation keeps the header, UTF-8 and CEF escapes whole.
public enum FormatterHarness {
    static let cefKeys: Set<String> = [
        "rt", "externalId", "cat", "act", "outcome", "suser", "src", "c6a2", "shost", "requestClientApplication", "msg",
        "cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cs1Label", "cs2Label", "cs3Label", "cs4Label", "cs5Label", "cs6Label",
    ]
    static let leefKeys: Set<String> = [
        "devTime", "devTimeFormat", "sev", "cat", "usrName", "src", "srcHost", "resource", "accountName", "alertId",
        "ruleName", "msg", "action", "outcome", "service", "userAgent", "resourceType", "namespace", "cloudProvider",
        "region", "attackTags",
    ]
    /// The syslog sink stamps messages with the clock, not the event time.
    static let now: Int64 = 1_793_612_418_123

    nonisolated(unsafe) static let decoder = EventDecoder()

    public static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let flags = input.byte()
        let time = input.int64()
        let id = input.text(), title = input.text(), description = input.text(), tags = input.text()
        let rule = AlertRule(
            id: id, title: title, level: Severity.allCases[Int(flags >> 5) % Severity.allCases.count],
            description: description.isEmpty ? nil : description,
            tags: tags.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
        let header = SyslogMessage.Header(
            facility: Int(flags), hostname: input.text(), appName: input.text(), procID: input.text(), msgID: input.text())
        let hec = SplunkHECFormatter(host: input.text(), index: input.text())
        let template = RecordTemplate.all[Int(flags & 3)]
        let values = (0..<template.slots).map { _ in input.piece() }
        let record = template.record(values, literal: flags & 0x10 != 0)

        guard var alert = makeAlert(record, rule: rule) ?? makeAlert(template.record([], literal: false), rule: rule) else {
            fatalError("the \(template.name) template record does not normalize")
        }
        if flags & 0x04 != 0 { alert.time = time }
        if flags & 0x08 != 0 {
            for index in alert.fields.indices where !input.isAtEnd {
                let value = input.piece()
                alert.fields[index] = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
            }
        }
        check(alert, header: header, hec: hec)
    }

    /// The alert `rule` raises on the event of `record`, or nil when the record is no event.
    static func makeAlert(_ record: [UInt8], rule: AlertRule) -> Alert? {
        record.withUnsafeBufferPointer { bytes in
            let framed = FramedRecord(start: 0, end: bytes.count, line: 1, streamOffset: 0)
            decoder.decode(RecordChunk(input: "fuzz", bytes: bytes.baseAddress!, records: [framed], framing: .ndjson))
            var alert: Alert?
            decoder.forEachView { _, view in alert = Alert(rule: rule, view: view) }
            return alert
        }
    }

    /// Every format of `alert`, each alone and in a syslog message, checked.
    public static func check(
        _ alert: Alert, header: SyslogMessage.Header = SyslogMessage.Header(facility: 16, hostname: "sensor-1", appName: "pipewatch", procID: "4711"),
        hec: SplunkHECFormatter = SplunkHECFormatter(host: "sensor-1")
    ) {
        for format in AlertFormat.allCases {
            let bytes = format.format(alert)
            let problem: String?
            switch format {
            case .cef: problem = WireFormatChecks.cefProblem(bytes, keys: cefKeys)
            case .leef: problem = WireFormatChecks.leefProblem(bytes, keys: leefKeys)
            case .ocsf, .ecs, .hec: problem = jsonLineProblem(bytes)
            }
            if let problem { invariant(false, "\(format): \(problem): \(String(decoding: bytes.prefix(600), as: UTF8.self))") }
            checkSyslog(bytes, header: header, severity: alert.rule.level, cef: format == .cef)
        }
        if let problem = jsonLineProblem(hec.format(alert)) { invariant(false, "HEC with host and index: \(problem)") }
    }

    static func jsonLineProblem(_ bytes: [UInt8]) -> String? {
        if bytes.contains(0x0A) || bytes.contains(0x0D) { return "line break in a JSON line" }
        return StrictJSON.problem(bytes)?.description
    }

    static func checkSyslog(_ payload: [UInt8], header: SyslogMessage.Header, severity: Severity, cef: Bool) {
        let tagged = SyslogPayload.tagged(payload, severity: severity)
        let (tag, body) = SyslogPayload.untagged(tagged)
        invariant(tag == severity.syslogSeverity && Array(body) == payload, "syslog severity tag does not round-trip")
        let message = SyslogMessage.format(body, header: header, severity: tag ?? 0, millisecondsSinceEpoch: now)
        if let problem = WireFormatChecks.syslogProblem(message) {
            invariant(false, "syslog: \(problem): \(String(decoding: message.prefix(300), as: UTF8.self))")
        }
        let headerLength = SyslogMessage.headerLength(of: message)
        invariant(Array(message[headerLength...]) == payload, "syslog MSG is not the payload")
        let framed = SyslogMessage.octetCounted(message)
        invariant(framed.starts(with: Array("\(message.count) ".utf8)), "octet count does not count the message")
        for limit in [480, 1024, 2048] {
            let cut = SyslogMessage.truncated(message, to: limit)
            invariant(cut.count <= max(limit, headerLength), "datagram of \(cut.count) bytes over the limit \(limit)")
            invariant(cut.starts(with: message[..<min(headerLength, cut.count)]), "truncation changed the header")
            if let problem = StrictJSON.utf8Problem(cut) { invariant(false, "truncated to \(limit): \(problem)") }
            if cef {
                let trailing = cut.reversed().prefix { $0 == UInt8(ascii: "\\") }.count
                invariant(trailing % 2 == 0 || cut.count == message.count, "truncated CEF ends inside an escape")
            }
        }
    }
}

/// A record of one source with the values a harness chooses in its string fields (realistic defaults where the
/// chosen value is empty).
struct RecordTemplate {
    var name: String
    /// The record's text around the values, split at each value.
    var fragments: [String]
    var defaults: [String]

    var slots: Int { fragments.count - 1 }

    init(_ name: String, _ text: String, defaults: [String]) {
        self.name = name
        fragments = text.components(separatedBy: "§")
        self.defaults = defaults
        precondition(defaults.count == fragments.count - 1, "\(name): \(defaults.count) defaults for \(fragments.count - 1) slots")
    }

    /// The record with `values` in its slots: quoted by the JSON writer, or spliced between quotes as they are.
    func record(_ values: [[UInt8]], literal: Bool) -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        for (index, fragment) in fragments.enumerated() {
            writer.fragment(Array(fragment.utf8), endsValue: false)
            guard index < slots else { break }
            let value = index < values.count && !values[index].isEmpty ? values[index] : Array(defaults[index].utf8)
            if literal {
                writer.fragment([UInt8(ascii: "\"")] + value + [UInt8(ascii: "\"")], endsValue: false)
            } else {
                value.withUnsafeBufferPointer { writer.appendQuoted($0) }
            }
        }
        return writer.bytes
    }

    static let all = [cloudTrail, kubernetes, gcp, mlflow]

    static let cloudTrail = RecordTemplate(
        "CloudTrail",
        #"{"eventVersion":"1.08","userIdentity":{"type":§,"principalId":§,"arn":§,"accountId":§,"userName":§,"#
            + #""sessionContext":{"sessionIssuer":{"type":"Role","arn":§}}},"eventTime":§,"eventSource":§,"eventName":§,"#
            + #""awsRegion":§,"sourceIPAddress":§,"userAgent":§,"requestParameters":{"bucketName":§,"key":§,"#
            + #""modelDataUrl":§},"errorCode":§,"errorMessage":§,"requestID":§,"eventID":§,"recipientAccountId":§}"#,
        defaults: [
            "AssumedRole", "AROAIMSQCGVN3O6B7KCIG:alice", "arn:aws:sts::111122223333:assumed-role/MLEngineer/alice",
            "111122223333", "alice", "arn:aws:iam::111122223333:role/MLEngineer", "2026-11-04T16:05:09Z",
            "s3.amazonaws.com", "GetObject", "eu-west-1", "198.51.100.42", "aws-cli/2.31.0", "acme-models",
            "fraud/model.tar.gz", "s3://acme-models/fraud/model.tar.gz", "AccessDenied", "Access Denied",
            "141bf03a-39d5-45e3-890b-17852bc3421a", "394215d5-ad4e-4a2d-a060-7502cff68d0b", "111122223333",
        ])

    static let kubernetes = RecordTemplate(
        "Kubernetes audit",
        #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":§,"stage":§,"requestURI":§,"#
            + #""verb":§,"user":{"username":§,"groups":[§]},"impersonatedUser":{"username":§},"sourceIPs":[§],"#
            + #""userAgent":§,"objectRef":{"resource":§,"namespace":§,"name":§,"apiGroup":§,"subresource":§},"#
            + #""responseStatus":{"code":403,"message":§},"requestReceivedTimestamp":§,"stageTimestamp":§}"#,
        defaults: [
            "230fdf11-3800-412e-b79d-5211de9dfd67", "ResponseComplete", "/api/v1/namespaces/kubeflow/secrets", "list",
            "alice@acme.example", "oidc:ml-engineers", "system:serviceaccount:kubeflow:pipeline-runner", "198.51.100.42",
            "kubectl/v1.34.1", "secrets", "kubeflow", "mlpipeline-minio-artifact", "serving.kserve.io", "status",
            "forbidden", "2026-11-04T14:02:33.610244Z", "2026-11-04T14:02:33.618902Z",
        ])

    static let gcp = RecordTemplate(
        "GCP audit",
        #"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{"code":7,"message":§},"#
            + #""authenticationInfo":{"principalEmail":§,"principalSubject":§},"requestMetadata":{"callerIp":§,"#
            + #""callerSuppliedUserAgent":§},"serviceName":§,"methodName":§,"resourceName":§},"insertId":§,"#
            + #""resource":{"type":"audited_resource","labels":{"project_id":§,"location":§}},"timestamp":§,"#
            + #""severity":"NOTICE","logName":§}"#,
        defaults: [
            "Permission denied", "mallory.personal@example.com", "user:mallory.personal@example.com", "203.0.113.150",
            "python-requests/2.32.3,gzip(gfe)", "aiplatform.googleapis.com",
            "google.cloud.aiplatform.v1.PredictionService.Predict",
            "projects/acme-ml-prod/locations/us-central1/endpoints/7203418856243511296", "ri5bobaj428f", "acme-ml-prod",
            "us-central1", "2026-11-05T03:27:40.015563209Z",
            "projects/acme-ml-prod/logs/cloudaudit.googleapis.com%2Fdata_access",
        ])

    static let mlflow = RecordTemplate(
        "MLflow webhook",
        #"{"entity":§,"action":§,"timestamp":§,"data":{"name":§,"version":§,"source":§,"run_id":§,"alias":§,"#
            + #""key":§,"value":§,"tags":{§:§}},"_delivery":{"id":§,"timestamp":"1793617432","remote_addr":§,"registry":§}}"#,
        defaults: [
            "model_version", "created", "2026-11-02T11:03:52.640117+00:00", "fraud-detection-xgb", "7",
            "models:/m-04de4b396758a3edd8164990523ff569", "3b9a7c3f2614014b31e4c6b52f48e045", "champion", "stage",
            "Production", "git_sha", "9a4f0c2e71b8", "9797d354-6461-45d8-b6ec-ca41fd856fd7", "10.20.0.15",
            "https://mlflow.acme.example",
        ])
}

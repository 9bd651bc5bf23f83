import Foundation
@_exported import PipewatchTestSupport
import PipewatchEvents
import PipewatchOutput
import Testing

/// Decodes one record (one JSON line) into an alert for `rule`.
func makeAlert(_ record: String, rule: AlertRule = HostileRecords.rule) throws -> Alert {
    try PipewatchTestSupport.makeAlert(record, rule: rule)
}

/// Realistic records whose attacker-controllable fields carry the characters that break SIEM formats: pipes,
/// backslashes, `=`, `]`, quotes, line breaks, tabs, non-ASCII. JSON escapes (`\\`, `\n`, `\t`, `\"`) are written
/// as they appear on the wire.
enum HostileRecords {
    static let hostileText = #"a|b=c\\d]e \"q\" \n2nd\r\n3rd\t4th Zoë 模型 🚀"#

    static let rule = AlertRule(
        id: #"R|1=\x"#, title: "Training job | \"without\" = isolation\\ \nsecond line", level: .high,
        description: "Detects a job=created | with \\ no isolation.\nFollow up.", tags: [
            "attack.t1078.004", "attack.defense-evasion", "attack.g0016", "cloud",
        ], references: ["https://example.com/r?a=b|c"], author: "Zoë")

    static let plainRule = AlertRule(
        id: "5f0e8d6e-4b8a-4b1e-9d3a-2c1f0a9b7e61", title: "Training job without isolation", level: .medium,
        description: "desc", tags: ["attack.t1078.004"])

    static func cloudTrail(userAgent: String = hostileText, sourceIP: String = "198.51.100.7") -> String {
        #"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops=admin|x\\y","accountId":"111122223333","userName":"ops"},"eventTime":"2026-11-03T10:07:00.123Z","eventSource":"sagemaker.amazonaws.com","eventName":"CreateTrainingJob","awsRegion":"us-east-1","sourceIPAddress":"\#(sourceIP)","userAgent":"\#(userAgent)","requestParameters":{"trainingJobName":"job=1|x\\y]","enableNetworkIsolation":false},"responseElements":null,"requestID":"req-1","eventID":"evt-1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#
    }

    static let plainCloudTrail = #"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Exec/run-7","accountId":"111122223333"},"eventTime":"2026-11-03T10:07:00Z","eventSource":"sagemaker.amazonaws.com","eventName":"CreateTrainingJob","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Boto3/1.34.0","requestParameters":{"trainingJobName":"job-7"},"responseElements":null,"requestID":"req-7","eventID":"evt-7","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#

    static let kubernetes = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0f0e-1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-flow/secrets/db%3Dcreds","verb":"get","user":{"username":"system:serviceaccount:ci=x|y:bot\\z"},"sourceIPs":["10.0.0.1","2001:db8::7"],"userAgent":"kubectl/v1.30 (linux) |x=1\\y\tz\nZoë 模型 🚀","objectRef":{"resource":"secrets","namespace":"kube-flow","name":"db=creds|a\\b]","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":403},"requestReceivedTimestamp":"2026-11-03T10:00:00.000001Z","stageTimestamp":"2026-11-03T10:00:00.000900Z"}"#

    static let mlflow = #"{"entity":"model_version","action":"created","timestamp":"2026-11-05T03:33:29.718402+00:00","data":{"name":"fraud|model=\\x Zoë 模型 🚀","version":"9","user_id":"carol=ops|x\\y\nz"},"_delivery":{"id":"d-1","timestamp":"1793849609","remote_addr":"fe80::1%eth0","registry":"https://mlflow.acme.example/?a=b|c"}}"#

    /// About 10 KB of hostile text (as JSON string body).
    static let long = String(repeating: #"x|=\\\n模🚀 "#, count: 800)
}

/// Runs `python3 -c script` with `input` on stdin and returns its stdout parsed as a JSON object.
func runPython(_ script: String, input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // The parsers read all of stdin before writing anything, so writing first cannot deadlock.
    stdin.fileHandleForWriting.write(Data(input))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        Issue.record("parser failed: \(String(decoding: errors, as: UTF8.self))", sourceLocation: sourceLocation)
        throw ParserFailure()
    }
    return try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any], sourceLocation: sourceLocation)
}

struct ParserFailure: Error {}

/// The UTF-8 bytes of a formatted line as text.
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

func jsonObject(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], sourceLocation: sourceLocation)
}

import CZstd
import Foundation
import PipewatchOutput
@_exported import PipewatchTestSupport
import Testing

enum Compressor {
    /// One gzip member of `bytes`, as the HTTP sink compresses its bodies.
    static func gzip(_ bytes: [UInt8]) -> [UInt8] { HTTPSink.gzip(bytes) }

    /// One zstd frame of `bytes`.
    static func zstd(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let written = output.withUnsafeMutableBytes { out in
            bytes.withUnsafeBytes { input in
                ZSTD_compress(out.baseAddress, out.count, input.baseAddress, input.count, 3)
            }
        }
        precondition(ZSTD_isError(written) == 0)
        return Array(output[0..<written])
    }
}

/// Realistic records of each source, one line each.
enum SampleRecords {
    static func cloudTrail(_ n: Int, name: String = "CreateTrainingJob") -> String {
        #"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/run-\#(n)","accountId":"111122223333"},"eventTime":"2026-11-03T10:\#(String(format: "%02d", n % 60)):00Z","eventSource":"sagemaker.amazonaws.com","eventName":"\#(name)","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Boto3/1.34.0","requestParameters":{"trainingJobName":"job-\#(n)","enableNetworkIsolation":true},"responseElements":null,"requestID":"req-\#(n)","eventID":"evt-\#(n)","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#
    }

    static let kubernetes = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0f0e","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kubeflow/secrets","verb":"list","user":{"username":"alice@acme.example"},"sourceIPs":["203.0.113.9"],"objectRef":{"resource":"secrets","namespace":"kubeflow","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-03T10:00:00.000001Z","stageTimestamp":"2026-11-03T10:00:00.000900Z"}"#
}

/// The repository root, found from this file's location.
let repositoryRoot = PipewatchExecutable.repositoryRoot

/// The reference tools the readers are compared with.
enum ExternalTool {
    /// `gzip -dc FILE` or `zstd -dc FILE`: what it writes (everything it could recover) and its exit status.
    static func decompress(_ kind: String, _ path: String) throws -> (output: [UInt8], status: Int32) {
        let dir = try TemporaryDirectory()
        let out = dir.path("out")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [kind, "-dc", path]
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (Array(try Data(contentsOf: URL(fileURLWithPath: out))), process.terminationStatus)
    }
}

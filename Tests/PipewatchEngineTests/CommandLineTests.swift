import Foundation
import Testing

/// Runs the built `pipewatch` executable (built with the tests by `swift build --build-tests`).
struct PipewatchProcess {
    static var executable: URL {
        // The test bundle sits in the same build folder as the executables.
        var folder = Bundle.main.bundleURL
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("pipewatch").path) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("pipewatch")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        // Files rather than pipes: nothing can block on a full pipe.
        let dir = try TemporaryDirectory()
        FileManager.default.createFile(atPath: dir.path("out"), contents: nil)
        FileManager.default.createFile(atPath: dir.path("err"), contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: dir.url.appendingPathComponent("out"))
        process.standardError = try FileHandle(forWritingTo: dir.url.appendingPathComponent("err"))
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: try String(contentsOfFile: dir.path("out"), encoding: .utf8),
            stderr: try String(contentsOfFile: dir.path("err"), encoding: .utf8))
    }
}

@Suite struct CommandLineTests {
    @Test func normalizePrintsEventsAndASummary() throws {
        let result = try PipewatchProcess.run(["normalize", "samples/mlflow", "samples/kubernetes", "--source", "mlflow.webhook"])
        #expect(result.status == 0, "\(result.stderr)")
        let events = result.stdout.split(separator: "\n")
        #expect(events.count == 19)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(events[0].utf8)) as? [String: Any])
        #expect(first["source"] as? String == "mlflow.webhook")
        #expect(first["raw"] == nil)
        #expect(result.stderr.contains("records: 45"))
        #expect(result.stderr.contains("mlflow.webhook 19"))
        #expect(result.stderr.contains("k8s.audit 26"))
    }

    @Test func rawAddsTheOriginalRecordAndStdinWorks() throws {
        let record = #"{"entity": "registered_model", "action": "created", "timestamp": "2026-11-03T10:00:00.000001+00:00", "data": {"name": "m", "tags": {}, "description": null}}"#
        let result = try PipewatchProcess.run(["normalize", "--raw", "-"], stdin: Data((record + "\n").utf8))
        #expect(result.status == 0)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let raw = try #require(event["raw"] as? [String: Any])
        #expect(raw["entity"] as? String == "registered_model")
        #expect((event["api"] as? [String: Any])?["operation"] as? String == "registered_model.created")
    }

    @Test func exitStatusSaysRecordsWereDeadLettered() throws {
        let result = try PipewatchProcess.run(["normalize", "samples/broken"])
        #expect(result.status == 2)
        #expect(result.stdout.split(separator: "\n").count == 2)
        #expect(result.stderr.contains("dead-letter: samples/broken/broken-records.ndjson: line 5: parse: invalid JSON at byte 121: invalid escape"))
        #expect(result.stderr.contains("bad records: 12"))
    }

    @Test func badArgumentsAreRefused() throws {
        let result = try PipewatchProcess.run(["normalize", "samples", "--source", "splunk"])
        #expect(result.status != 0 && result.status != 2)
        #expect(result.stderr.contains("unknown source 'splunk'"))
    }

    @Test func everyCommandHasHelp() throws {
        for command in [["--help"], ["normalize", "--help"]] {
            let result = try PipewatchProcess.run(command)
            #expect(result.status == 0)
            #expect(result.stdout.contains("USAGE"))
        }
    }
}

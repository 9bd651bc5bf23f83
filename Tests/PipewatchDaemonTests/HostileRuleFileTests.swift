import Foundation
import Testing

/// `levels` levels of aliases, each naming the level below nine times, in a rule's detection: 7 levels name 9^7
/// (4.8 million) scalars in about 500 bytes, 10 levels 3.5 billion. Refused at line 9 (level 5's aliases).
private func aliasBomb(levels: Int) -> String {
    var lines = ["title: alias bomb", "logsource: {product: aws, service: cloudtrail}", "detection:"]
    lines.append("    l0: &l0 [x, x, x, x, x, x, x, x, x]")
    for level in 1..<levels {
        lines.append("    l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]")
    }
    lines += ["    selection: {eventName: *l\(levels - 1)}", "    condition: selection"]
    return lines.joined(separator: "\n") + "\n"
}

/// 2,000 maps that each merge the previous one (`m1: &m1 {<<: *m0, k1: 1}` …). Refused at line 63 (nesting).
private let mergeChain = (["m0: &m0 {k0: 0}"] + (1..<2_000).map { "m\($0): &m\($0) {<<: *m\($0 - 1), k\($0): \($0)}" })
    .joined(separator: "\n") + "\n"

/// The hostile files, with the line their refusal names.
private let hostileFiles = [("bomb-7.yml", aliasBomb(levels: 7), 9), ("bomb-10.yml", aliasBomb(levels: 10), 9),
                            ("merge-2000.yml", mergeChain, 63)]

/// Peak resident memory of a running process (VmHWM), in bytes.
private func peakResidentBytes(_ pid: pid_t) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
    return kilobytes * 1024
}

/// Polls `condition` every 20 ms for at most `seconds`.
private func eventually(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// Alias bombs and merge-key floods against the built executable: `rules check` and a running daemon's SIGHUP reload
/// refuse them with `file:line` in bounded time and memory (a 7-level bomb took GBs, 10 levels never finished).
@Suite(.serialized) struct HostileRuleFileTests {
    @Test(.timeLimit(.minutes(2)))
    func rulesCheckRefusesThemInBoundedTimeAndMemory() throws {
        let dir = try TemporaryDirectory()
        for (name, text, line) in hostileFiles {
            let path = try dir.write(name, text)
            let started = Date()
            let check = try ChildProcess(
                PipewatchExecutable.url.path, ["rules", "check", path], stdout: dir.path("\(name).out"), stderr: dir.path("\(name).err"))
            let status = check.wait(seconds: 30)
            let seconds = Date().timeIntervalSince(started)
            let output = dir.read("\(name).out") + dir.read("\(name).err")
            #expect(status != nil && status != 0, "\(name): \(output)")
            #expect(output.contains("\(path):\(line): "), "\(name): \(output)")
            #expect(seconds < 5, "\(name) took \(seconds) s")
            let peak = try #require(check.peakMemoryBytes)
            #expect(peak < 128 << 20, "\(name): peak resident memory \(peak >> 20) MiB")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aDaemonRefusesThemOnSIGHUPAndKeepsItsRulesAndMemory() async throws {
        let dir = try TemporaryDirectory()
        let rule = repositoryRoot.appendingPathComponent("rules/mlflow/webhook/mlflow_model_version_registered_from_external_source.yml")
        try dir.write("rules/rule.yml", try String(contentsOf: rule, encoding: .utf8))
        let config = try dir.write("pipewatch.yaml", """
            inputs:
              webhook:
                listen: 127.0.0.1:0
                path: /mlflow
                secrets: [whsec-right]
                registry: https://mlflow.acme.example
            rules: {paths: ["\(dir.path("rules"))"], watch: false}
            outputs: ["ocsf:file:\(dir.path("alerts.ndjson"))"]
            """)
        let daemon = try ChildProcess(
            PipewatchExecutable.url.path, ["run", "--config", config], directory: dir.url.path,
            stdout: dir.path("out"), stderr: dir.path("err"))
        defer { daemon.terminate() }
        var port: Int?
        #expect(eventually(seconds: 30) {
            // "webhook: listening on 127.0.0.1:PORT …"
            let line = dir.read("err").split(separator: "\n").first { $0.contains("webhook: listening on ") }
            let address = line?.split(separator: "listening on ").last?.split(separator: " ").first
            port = address.flatMap { Int($0.split(separator: ":").last ?? "") }
            return port != nil
        }, "\(dir.read("err"))")
        let webhook = try #require(port)

        /// Delivers the rule's trigger (a model version registered from an external source) once more.
        var deliveries = 0
        func deliver() async throws -> Int {
            deliveries += 1
            return try await TestClients.postDelivery(
                port: webhook, path: "/mlflow", body: DaemonWebhookTests.externalSourceBody, secret: "whsec-right",
                deliveryID: "d-\(deliveries)").status
        }
        func alerts() -> Int { dir.read("alerts.ndjson").split(separator: "\n").count }
        #expect(try await deliver() == 200)
        #expect(alerts() == 1)
        let peakBefore = try #require(peakResidentBytes(daemon.pid))

        for (index, (name, text, line)) in hostileFiles.enumerated() {
            let path = try dir.write("rules/\(name)", text)
            let started = Date()
            daemon.send(SIGHUP)
            #expect(eventually(seconds: 30) { dir.read("err").components(separatedBy: "rules not reloaded").count == index + 2 })
            let seconds = Date().timeIntervalSince(started)
            #expect(seconds < 5, "\(name): the reload was refused after \(seconds) s")
            #expect(dir.read("err").contains("\(path):\(line): "), "\(dir.read("err"))")
            try FileManager.default.removeItem(atPath: path)
            // Still running, still answering, with its old rule.
            #expect(daemon.isRunning)
            #expect(try await deliver() == 200)
            #expect(alerts() == index + 2)
        }
        let peakAfter = try #require(peakResidentBytes(daemon.pid))
        #expect(peakAfter - peakBefore < 64 << 20, "peak resident memory grew from \(peakBefore >> 20) to \(peakAfter >> 20) MiB")
        #expect(daemon.terminate() == 0)
    }
}

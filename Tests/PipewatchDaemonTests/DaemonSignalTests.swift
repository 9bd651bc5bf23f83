import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Signals to a real `pipewatch run` child process.
@Suite struct DaemonSignalTests {
    /// 600 CloudTrail rules, each with a regular expression and a literal list: seconds of CPU to compile.
    static func writeLargeRuleSet(_ dir: TemporaryDirectory) throws {
        for index in 0..<600 {
            try dir.write(String(format: "rules/generated-%04d.yml", index), """
                title: Generated rule \(index)
                id: 00000000-0000-4000-8000-\(String(format: "%012d", index))
                logsource: {product: aws, service: cloudtrail}
                detection:
                    selection:
                        eventName: Action\(index)
                        userAgent|re: '^agent-\(index)-[a-z]+[0-9]{2,5}$'
                        requestParameters.bucketName|contains: ['bucket-\(index)-a', 'bucket-\(index)-b']
                    condition: selection
                level: low
                """)
        }
    }

    /// A SIGHUP while the daemon is still loading its rules at start does not end it (the default action did:
    /// exit 129): it starts, then reloads the rules once.
    @Test(.timeLimit(.minutes(3)))
    func aHangUpWhileTheRulesLoadAtStartReloadsThemOnceRunning() async throws {
        let dir = try TemporaryDirectory()
        try Self.writeLargeRuleSet(dir)
        let metrics = try Loopback.freePort()
        let config = try dir.write("pipewatch.yaml", """
            inputs:
              webhook: {listen: "127.0.0.1:0", secrets: [whsec-right]}
            rules: {paths: [rules/], watch: false}
            outputs: ["ocsf:file:alerts.ndjson"]
            metrics: {listen: "127.0.0.1:\(metrics)"}
            """)
        let daemon = try ChildProcess(
            PipewatchExecutable.url.path, ["run", "--config", config], stderr: dir.path("stderr"))

        // Loading: some CPU used, nothing listening yet, no "rules: N loaded" line.
        let loading = await TestClients.blocking { () -> Bool in
            let deadline = Date().addingTimeInterval(60)
            while (ChildUsage.cpuSeconds(daemon.pid) ?? 0) < 0.3 && Date() < deadline { usleep(10_000) }
            return daemon.isRunning && !Loopback.accepts(metrics) && !dir.read("stderr").contains("rules: ")
        }
        daemon.send(SIGHUP)
        let started = await TestClients.blocking { Loopback.waitUntilAccepting(metrics, seconds: 120) { daemon.isRunning } }
        let reloaded = await TestClients.blocking { () -> Bool in
            let deadline = Date().addingTimeInterval(120)
            while !dir.read("stderr").contains("rules reloaded: 600 rules") && daemon.isRunning && Date() < deadline {
                usleep(50_000)
            }
            return dir.read("stderr").contains("rules reloaded: 600 rules")
        }
        let health = try? await TestClients.curl("http://127.0.0.1:\(metrics)/healthz", ["-m", "10"])
        let exit = await TestClients.blocking { daemon.terminate(timeout: 30) }
        let log = dir.read("stderr")

        try #require(loading, "the SIGHUP must arrive while the rules load: \(log)")
        #expect(started, "the daemon did not start: exit \(exit), \(log)")
        #expect(reloaded, "\(log)")
        #expect(log.contains("SIGHUP during start-up: the rules are reloaded once running"))
        #expect(log.components(separatedBy: "rules reloaded:").count == 2, "one reload: \(log)")
        #expect(health?.status == 200)
        #expect(exit == 0)
    }
}

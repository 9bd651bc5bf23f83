import Foundation
import PipewatchOutput
import Testing

func envelope(_ n: Int, marker: String = "") -> [UInt8] {
    Array(#"{"time":1793700420.123,"host":"h","source":"pipewatch","sourcetype":"pipewatch:alert","event":{"n":\#(n),"m":"\#(marker)"}}"#.utf8)
}

@Suite(.serialized) struct HTTPSinkTests {
    @Test func hecBatchesArriveOnceEachAfterTheCollectorRecovers() throws {
        let collector = try LoopbackCollector(token: "s3cret", failFirst: 4)
        let acknowledgements = Acknowledgements()
        let configuration = try HTTPSinkConfiguration(parsing: "splunk+http://127.0.0.1:\(collector.port)?token=s3cret&gzip=true")
        let queue = DeliveryQueue(
            sink: HTTPSink(configuration), capacity: 2,
            retry: RetryPolicy(maxAttempts: 20, initialDelay: 0.01, maxDelay: 0.05), deadLetterPath: nil,
            onAcknowledge: { acknowledgements.add($0, $1) })
        for batch in 0..<5 {
            queue.submit(DeliveryQueue.Batch(id: UInt64(batch), payloads: (0..<20).map { envelope(batch * 20 + $0) }))
        }
        queue.close()
        #expect(acknowledgements.all.map(\.0) == [0, 1, 2, 3, 4])
        #expect(acknowledgements.all.allSatisfy { $0.1 == .delivered })
        #expect(queue.statistics.failedAttempts == 4, "the collector's 503s were retried")
        let received = try collector.received()
        let numbers = received.compactMap { (($0["envelope"] as? [String: Any])?["event"] as? [String: Any])?["n"] as? Int }
        #expect(numbers == Array(0..<100), "every alert exactly once, in order")
        #expect(received.allSatisfy { $0["gzip"] as? Bool == true })
        // Batches, not one request per alert: 100 alerts in 5 accepted requests.
        #expect(Set(received.compactMap { $0["request"] as? Int }).count == 5)
    }

    @Test func refusedBatchesAndWrongTokensEndInTheDeadLetterFile() throws {
        let collector = try LoopbackCollector(token: "right", failFirst: 0)
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let deadLetter = dir.appendingPathComponent("dead.ndjson").path
        let good = DeliveryQueue(
            sink: HTTPSink(try HTTPSinkConfiguration(parsing: "splunk+http://127.0.0.1:\(collector.port)?token=right")),
            retry: RetryPolicy(maxAttempts: 5, initialDelay: 0.01), deadLetterPath: deadLetter)
        good.submit(DeliveryQueue.Batch(id: 1, payloads: [envelope(1), envelope(2, marker: "POISON")]))
        good.submit(DeliveryQueue.Batch(id: 2, payloads: [envelope(3)]))
        good.close()
        let wrong = DeliveryQueue(
            sink: HTTPSink(try HTTPSinkConfiguration(parsing: "splunk+http://127.0.0.1:\(collector.port)?token=wrong")),
            retry: RetryPolicy(maxAttempts: 5, initialDelay: 0.01), deadLetterPath: deadLetter)
        wrong.submit(DeliveryQueue.Batch(id: 3, payloads: [envelope(4)]))
        wrong.close()

        #expect(good.statistics.failedAttempts == 1 && wrong.statistics.failedAttempts == 1, "4xx is not retried")
        let lines = try String(contentsOfFile: deadLetter, encoding: .utf8).split(separator: "\n")
        let reasons = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String])["reason"] ?? "" }
        #expect(reasons.count == 3)
        #expect(reasons[0].contains("HTTP 400") && reasons[1].contains("HTTP 400"))
        #expect(reasons[2].contains("HTTP 401"))
        let received = try collector.received()
        #expect(received.count == 1, "only the clean batch was accepted")
    }

    @Test func aCollectorThatIsNotThereIsRetryable() throws {
        // A port nothing listens on: connection refused.
        let sink = HTTPSink(try HTTPSinkConfiguration(parsing: "splunk+http://127.0.0.1:9?token=t&timeout-ms=2000"))
        #expect {
            try sink.deliver([envelope(1)])
        } throws: { error in
            if case .retryable = error as? SinkFailure { return true }
            return false
        }
        sink.close()
    }

    // MARK: - TLS

    /// A collector on HTTPS with the test PKI's server certificate, requiring client certificates from the test CA.
    static func mutualTLSCollector(_ pki: TestCertificates) throws -> LoopbackCollector {
        try LoopbackCollector(
            token: "s3cret", failFirst: 0,
            tls: LoopbackCollector.TLS(certificate: pki.serverCertificate, key: pki.serverKey, clientCA: pki.ca))
    }

    static func isRetryable(_ error: any Error, containing text: String) -> Bool {
        guard case .retryable(let reason) = error as? SinkFailure else { return false }
        return reason.contains(text)
    }

    @Test func hecBatchArrivesOverMutualTLS() throws {
        let scratch = try TemporaryDirectory()
        let pki = try TestCertificates(in: scratch)
        let collector = try Self.mutualTLSCollector(pki)
        let options = "token=s3cret&gzip=true&ca=\(pki.ca)&cert=\(pki.clientCertificate)&key=\(pki.clientKey)"
        // The collector's certificate is checked against the address in the URL, and in a second sink the name.
        let byAddress = HTTPSink(try HTTPSinkConfiguration(parsing: "splunk+https://127.0.0.1:\(collector.port)?\(options)"))
        defer { byAddress.close() }
        let byName = HTTPSink(try HTTPSinkConfiguration(parsing: "splunk+https://localhost:\(collector.port)?\(options)"))
        defer { byName.close() }

        try byAddress.deliver((0..<10).map { envelope($0) })
        try byName.deliver((10..<15).map { envelope($0) })

        let received = try collector.received()
        let numbers = received.compactMap { (($0["envelope"] as? [String: Any])?["event"] as? [String: Any])?["n"] as? Int }
        #expect(numbers == Array(0..<15), "every alert exactly once, in order")
        #expect(received.allSatisfy { $0["tls"] as? Bool == true && $0["gzip"] as? Bool == true })
        // The collector saw this sink's client certificate.
        #expect(received.allSatisfy { $0["client"] as? String == "pipewatch-test-client" })
        #expect(Set(received.compactMap { $0["request"] as? Int }).count == 2)
    }

    /// TLS failures are retryable, like other transport errors: libcurl reports a refused client certificate as a
    /// TLS alert or a broken connection, which nothing tells apart reliably from one broken for other reasons, and a
    /// collector's certificate the sink does not trust can be replaced while the alerts wait; dead-lettering them
    /// would lose what a corrected certificate delivers.
    @Test func withoutAClientCertificateTheCollectorRefusesTheBatch() throws {
        let scratch = try TemporaryDirectory()
        let pki = try TestCertificates(in: scratch)
        let collector = try Self.mutualTLSCollector(pki)
        let sink = HTTPSink(try HTTPSinkConfiguration(
            parsing: "splunk+https://127.0.0.1:\(collector.port)?token=s3cret&ca=\(pki.ca)&timeout-ms=5000"))
        defer { sink.close() }
        // What libcurl reports depends on when the refusal reaches it: "tlsv13 alert certificate required", a reset
        // connection, or getpeername() failing on the already closed socket.
        #expect {
            try sink.deliver([envelope(1)])
        } throws: { error in
            Self.isRetryable(error, containing: "https://127.0.0.1:\(collector.port)/services/collector/event: ")
        }
        // The collector logs the refusal once its handshake has failed, possibly after libcurl gave up.
        let refusal = "peer did not return a certificate"
        let deadline = Date().addingTimeInterval(10)
        while !collector.log.contains(refusal) && Date() < deadline { usleep(10_000) }
        #expect(collector.log.contains(refusal), "collector log: \(collector.log)")
        // Refused in the handshake, before the request was read.
        #expect(try collector.received().isEmpty)
    }

    @Test func trustingTheWrongCAFailsVerification() throws {
        let scratch = try TemporaryDirectory()
        let pki = try TestCertificates(in: scratch)
        let collector = try Self.mutualTLSCollector(pki)
        let sink = HTTPSink(try HTTPSinkConfiguration(parsing:
            "splunk+https://127.0.0.1:\(collector.port)?token=s3cret&ca=\(pki.otherCA)&cert=\(pki.clientCertificate)"
            + "&key=\(pki.clientKey)&timeout-ms=5000"))
        defer { sink.close() }
        for _ in 0..<2 {
            #expect {
                try sink.deliver([envelope(1)])
            } throws: { error in
                // libcurl's words for a failed verification; the detail depends on the chain the collector sends.
                Self.isRetryable(error, containing: "SSL certificate problem: ")
            }
        }
        #expect(try collector.received().isEmpty)
    }

    @Test func tlsOptionsOnBothKindsOfSinkString() throws {
        for sink in [
            "splunk+https://splunk.example:8088?token=t&ca=/etc/pw/ca.pem&cert=/etc/pw/client.pem&key=/etc/pw/client.key",
            "https://collector.example/ingest?ca=/etc/pw/ca.pem&cert=/etc/pw/client.pem&key=/etc/pw/client.key",
        ] {
            let configuration = try HTTPSinkConfiguration(parsing: sink)
            #expect(configuration.caFile == "/etc/pw/ca.pem", "\(sink)")
            #expect(configuration.certificateFile == "/etc/pw/client.pem", "\(sink)")
            #expect(configuration.keyFile == "/etc/pw/client.key", "\(sink)")
        }
    }

    @Test func sinkStringsAreCheckedUpFront() throws {
        let hec = try HTTPSinkConfiguration(parsing: "splunk+https://splunk.example:8088?token=t&ca=/etc/ca.pem&gzip=true")
        #expect(hec.url == "https://splunk.example:8088/services/collector/event")
        #expect(hec.kind == .splunkHEC(token: "t") && hec.gzip && hec.caFile == "/etc/ca.pem")
        #expect(try HTTPSinkConfiguration(parsing: "https://collector.example/ingest").kind == .jsonLines)
        #expect(throws: OutputSpecificationError.self) { try HTTPSinkConfiguration(parsing: "splunk+https://h:8088") }
        #expect(throws: OutputSpecificationError.self) { try HTTPSinkConfiguration(parsing: "https://h/x?token=t") }
        #expect(throws: OutputSpecificationError.self) { try HTTPSinkConfiguration(parsing: "https://h/x?colour=blue") }
    }
}

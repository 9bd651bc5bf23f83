import Foundation
import PipewatchEvents
import PipewatchOutput
import Testing

/// RFC 5424 construction, octet-counting framing and the sink against a real rsyslogd (see `SyslogReceiver`).
@Suite(.serialized)
struct SyslogSinkTests {
    static let header = SyslogMessage.Header(
        facility: 20, hostname: "sensor-1.example.com", appName: "pipewatch", procID: "4711")

    // MARK: - Message construction

    @Test func messageHasEveryHeaderFieldAndTheCEFPayloadUnchanged() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail())
        let cef = AlertFormat.cef.format(alert)
        let message = SyslogMessage.format(
            cef, header: Self.header, severity: Severity.high.syslogSeverity, millisecondsSinceEpoch: 1_793_700_420_123)
        let expectedHeader = "<163>1 2026-11-03T10:07:00.123Z sensor-1.example.com pipewatch 4711 - - "
        #expect(Array(message.prefix(expectedHeader.utf8.count)) == Array(expectedHeader.utf8))
        #expect(Array(message.dropFirst(expectedHeader.utf8.count)) == cef)
        #expect(SyslogMessage.headerLength(of: message) == expectedHeader.utf8.count)
        // MSG-ANY: no BOM in front of CEF:.
        #expect(text(Array(message.dropFirst(expectedHeader.utf8.count))).hasPrefix("CEF:0|"))
    }

    @Test func priorityIsFacilityTimesEightPlusTheRuleSeverity() {
        #expect(SyslogMessage.priority(facility: 20, severity: Severity.informational.syslogSeverity) == 166)
        #expect(SyslogMessage.priority(facility: 20, severity: Severity.low.syslogSeverity) == 165)
        #expect(SyslogMessage.priority(facility: 20, severity: Severity.medium.syslogSeverity) == 164)
        #expect(SyslogMessage.priority(facility: 20, severity: Severity.high.syslogSeverity) == 163)
        #expect(SyslogMessage.priority(facility: 20, severity: Severity.critical.syslogSeverity) == 162)
        #expect(SyslogMessage.priority(facility: 4, severity: 2) == 34)
        #expect(SyslogMessage.priority(facility: 23, severity: 7) == 191)
        #expect(SyslogMessage.priority(facility: 99, severity: 99) == 191)
    }

    @Test func timestampsAreRFC3339UTCWithMilliseconds() {
        #expect(SyslogMessage.timestamp(millisecondsSinceEpoch: 0) == "1970-01-01T00:00:00.000Z")
        #expect(SyslogMessage.timestamp(millisecondsSinceEpoch: 1_793_700_420_007) == "2026-11-03T10:07:00.007Z")
        #expect(SyslogMessage.timestamp(millisecondsSinceEpoch: -1) == "1969-12-31T23:59:59.999Z")
        #expect(SyslogMessage.timestamp(millisecondsSinceEpoch: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }

    @Test func headerFieldsArePrintableASCIIWithinTheirLimitsOrNil() {
        #expect(SyslogMessage.headerField("", limit: 48) == "-")
        #expect(SyslogMessage.headerField("pipe watch\tZoë", limit: 48) == "pipe_watch_Zo_")
        #expect(SyslogMessage.headerField(String(repeating: "a", count: 60), limit: 48) == String(repeating: "a", count: 48))
        let header = SyslogMessage.Header(
            facility: 16, hostname: "", appName: String(repeating: "x", count: 100), procID: "",
            msgID: "id with spaces and more than thirty-two characters")
        #expect(header.hostname == "-")
        #expect(header.appName.count == 48)
        #expect(header.procID == "-")
        #expect(header.msgID == "id_with_spaces_and_more_than_thi")
        let message = text(SyslogMessage.format(Array("x".utf8), header: header, severity: 6, millisecondsSinceEpoch: 0))
        #expect(message == "<134>1 1970-01-01T00:00:00.000Z - \(header.appName) - id_with_spaces_and_more_than_thi - x")
        #expect(!message.contains("  "))
    }

    @Test func octetCountingCountsTheMessageOctetsOnly() {
        #expect(text(SyslogMessage.octetCounted(Array("<6>Sep 10 00:00:00 localhost logger: hello!".utf8)))
            == "43 <6>Sep 10 00:00:00 localhost logger: hello!")
        let utf8 = Array("<165>1 - - - - - - Zoë 模型 🚀".utf8)
        #expect(text(SyslogMessage.octetCounted(utf8)) == "\(utf8.count) " + text(utf8))
    }

    @Test func datagramTruncationKeepsTheHeaderWholeCharactersAndEscapes() {
        let header = "<163>1 2026-11-03T10:07:00.123Z h a 1 - - "
        let message = Array((header + "CEF:0|x|y=模🚀\\\\\\=tail").utf8)
        #expect(SyslogMessage.truncated(message, to: message.count) == message)
        for limit in header.utf8.count..<message.count {
            let cut = SyslogMessage.truncated(message, to: limit)
            #expect(cut.count <= limit)
            #expect(Array(message.prefix(cut.count)) == cut)
            // Valid UTF-8 and no dangling escape.
            #expect(String(validating: cut, as: UTF8.self) != nil, "limit \(limit)")
            let trailing = cut.reversed().prefix { $0 == UInt8(ascii: "\\") }.count
            #expect(trailing % 2 == 0, "limit \(limit)")
        }
        // The header is never cut.
        #expect(SyslogMessage.truncated(message, to: 10) == Array(header.utf8))
    }

    @Test func severityTagTravelsWithThePayload() throws {
        let alert = try makeAlert(HostileRecords.kubernetes, rule: AlertRule(id: "k", title: "k", level: .critical))
        let tagged = AlertFormat.cef.syslogPayload(alert)
        let (severity, body) = SyslogPayload.untagged(tagged)
        #expect(severity == 2)
        #expect(Array(body) == AlertFormat.cef.format(alert))
        let plain = Array("CEF:0|x".utf8)
        #expect(SyslogPayload.untagged(plain).severity == nil)
        #expect(Array(SyslogPayload.untagged(plain).body) == plain)
    }

    // MARK: - Sink strings

    @Test func parsesSinkStrings() throws {
        let udp = try SyslogConfiguration(parsing: "syslog+udp://127.0.0.1:514")
        #expect(udp.transport == .udp && udp.host == "127.0.0.1" && udp.port == 514)
        #expect(udp.facility == 20 && udp.appName == "pipewatch" && udp.msgID == "-" && udp.maxDatagramSize == 8192)

        let tcp = try SyslogConfiguration(
            parsing: "syslog+tcp://siem.example.com:6514?app-name=pw&hostname=sensor-1&facility=local7&msgid=ALERT&timeout=2.5")
        #expect(tcp.transport == .tcp && tcp.host == "siem.example.com" && tcp.port == 6514)
        #expect(tcp.appName == "pw" && tcp.hostname == "sensor-1" && tcp.facility == 23 && tcp.msgID == "ALERT")
        #expect(tcp.timeout == 2.5)
        #expect(try SyslogConfiguration(parsing: "syslog+tcp://h?facility=13").facility == 13)
        #expect(try SyslogConfiguration(parsing: "syslog+tcp://h").port == 514)
        #expect(try SyslogConfiguration(parsing: "syslog+udp://h:5514?max-size=1200").maxDatagramSize == 1200)

        let v6 = try SyslogConfiguration(parsing: "syslog+tcp://[2001:db8::5]:1514/")
        #expect(v6.host == "2001:db8::5" && v6.port == 1514)

        let tls = try SyslogConfiguration(
            parsing: "syslog+tls://127.0.0.1:6514?ca=/etc/pw/ca.pem&cert=/etc/pw/client.pem&key=/etc/pw/my%20client.key")
        #expect(tls.transport == .tls(ca: "/etc/pw/ca.pem", cert: "/etc/pw/client.pem", key: "/etc/pw/my client.key"))
        #expect(try SyslogConfiguration(parsing: "syslog+tls://h?ca=/ca.pem").port == 6514)
        // Certificate files that cannot be read are refused when the sink is made, not on every delivery.
        #expect(throws: OutputSpecificationError.self) { try SyslogSink(configuration: tls) }

        for bad in [
            "syslog://h:514", "syslog+udp:/h", "syslog+udp://", "syslog+udp://h:0", "syslog+udp://h:70000",
            "syslog+udp://h:514?facility=local9", "syslog+udp://h?app-name=two%20words", "syslog+udp://h?bogus=1",
            "syslog+tcp://h?max-size=2048", "syslog+tls://h", "syslog+tls://h?ca=/c&cert=/x", "syslog+udp://a:b:514",
            "syslog+udp://h?app-name=" + String(repeating: "a", count: 49), "syslog+udp://h?facility=1&facility=2",
        ] {
            #expect(throws: OutputSpecificationError.self, "\(bad)") { try SyslogConfiguration(parsing: bad) }
        }
    }

    // MARK: - Against rsyslogd

    /// A batch of distinct hostile CEF alerts of every severity, plus one 8 KB+ message without line breaks.
    static func hostileBatch(count: Int) throws -> (payloads: [[UInt8]], severities: [Int], cef: [[UInt8]]) {
        let levels: [Severity] = [.informational, .low, .medium, .high, .critical]
        var payloads: [[UInt8]] = [], severities: [Int] = [], cef: [[UInt8]] = []
        for index in 0..<count {
            let level = levels[index % levels.count]
            let rule = AlertRule(
                id: "R|\(index)=\\x", title: "Hostile | \"title\" = \\ Zoë 模型 🚀 #\(index)", level: level,
                tags: ["attack.t1078.004"])
            let record = index % 2 == 0
                ? HostileRecords.cloudTrail(userAgent: HostileRecords.hostileText + " #\(index)")
                : HostileRecords.kubernetes.replacingOccurrences(of: "\"auditID\":\"0f0e-1\"", with: "\"auditID\":\"0f0e-\(index)\"")
            let alert = try makeAlert(record, rule: rule)
            payloads.append(AlertFormat.cef.syslogPayload(alert))
            severities.append(level.syslogSeverity)
            cef.append(AlertFormat.cef.format(alert))
        }
        return (payloads, severities, cef)
    }

    static func configuration(_ transport: SyslogConfiguration.Transport, _ port: UInt16) -> SyslogConfiguration {
        SyslogConfiguration(
            transport: transport, host: "127.0.0.1", port: port, appName: "pipewatch-test", hostname: "sensor-1.example.com",
            msgID: "ALERT", timeout: 5)
    }

    /// Checks every field rsyslog parsed against what was sent.
    static func expectFields(
        _ received: [String: String], pri: Int, cef: [UInt8], input: String, sent: ClosedRange<Date>,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(received["input"] == input, sourceLocation: sourceLocation)
        #expect(received["pri"] == String(pri), sourceLocation: sourceLocation)
        #expect(received["version"] == "1", sourceLocation: sourceLocation)
        #expect(received["hostname"] == "sensor-1.example.com", sourceLocation: sourceLocation)
        #expect(received["app"] == "pipewatch-test", sourceLocation: sourceLocation)
        #expect(received["procid"] == String(getpid()), sourceLocation: sourceLocation)
        #expect(received["msgid"] == "ALERT", sourceLocation: sourceLocation)
        #expect(received["sd"] == "-", sourceLocation: sourceLocation)
        #expect(Array((received["msg"] ?? "").utf8) == cef, sourceLocation: sourceLocation)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let time = received["time"].flatMap { formatter.date(from: $0) }
        #expect(received["time"]?.hasSuffix("Z") == true, sourceLocation: sourceLocation)
        if let time {
            #expect(time >= sent.lowerBound.addingTimeInterval(-0.001) && time <= sent.upperBound, sourceLocation: sourceLocation)
        } else {
            Issue.record("no parsable time in \(received)", sourceLocation: sourceLocation)
        }
    }

    @Test func tcpBatchArrivesOnceFieldByFieldWithOctetCounting() throws {
        let receiver = try SyslogReceiver()
        defer { receiver.stop() }
        let sink = try SyslogSink(configuration: Self.configuration(.tcp, receiver.port))
        defer { sink.close() }

        var (payloads, severities, cef) = try Self.hostileBatch(count: 150)
        // One long message, no line breaks, past 8 KB: arrives whole only if the receiver reads the octet count.
        let alert = try makeAlert(HostileRecords.cloudTrail(), rule: HostileRecords.plainRule)
        var long = AlertFormat.cef.format(alert)
        long.append(contentsOf: " cs6Label=padding cs6=".utf8)
        while long.count < 8_300 { long.append(contentsOf: "x\\=模🚀|\\\\ ".utf8) }
        payloads.insert(SyslogPayload.tagged(long, severity: .medium), at: 75)
        severities.insert(Severity.medium.syslogSeverity, at: 75)
        cef.insert(long, at: 75)
        // An untagged payload gets the configured default severity (Warning).
        let untagged = Array("CEF:0|Pipewatch|pipewatch|1|untagged|Untagged \\| payload|5|msg=a\\=b".utf8)
        payloads.append(untagged)
        severities.append(4)
        cef.append(untagged)

        let before = Date()
        try sink.deliver(Array(payloads[..<100]))
        try sink.deliver(Array(payloads[100...]))
        let after = Date()

        let received = receiver.waitFor { $0.count >= payloads.count }
        #expect(received.count == payloads.count)
        for (index, message) in received.prefix(payloads.count).enumerated() {
            Self.expectFields(
                message, pri: 20 * 8 + severities[index], cef: cef[index], input: "imtcp", sent: before...after)
        }
        #expect(received.count > 75 && received[75]["msg"]?.utf8.count == long.count)
        // Nothing more arrives later (no message split or duplicated).
        usleep(200_000)
        #expect(receiver.messages().count == payloads.count)
    }

    @Test func udpDatagramsArriveAndLongOnesAreTruncated() throws {
        let receiver = try SyslogReceiver()
        defer { receiver.stop() }
        var configuration = Self.configuration(.udp, receiver.port)
        configuration.maxDatagramSize = 2048
        let sink = try SyslogSink(configuration: configuration)
        defer { sink.close() }

        // Datagrams sent before imudp is listening are lost: probe until one arrives.
        let probe = Array("probe".utf8)
        var ready = false
        for _ in 0..<50 where !ready {
            try sink.deliver([probe])
            ready = !receiver.waitFor(timeout: 0.2) { !$0.isEmpty }.isEmpty
        }
        #expect(ready)
        let probes = receiver.messages().count

        let (payloads, severities, cef) = try Self.hostileBatch(count: 20)
        let before = Date()
        try sink.deliver(payloads)
        let after = Date()
        let received = Array(receiver.waitFor { $0.count >= probes + payloads.count }.dropFirst(probes))
        #expect(received.count == payloads.count)
        for (index, message) in received.prefix(payloads.count).enumerated() {
            let full = SyslogMessage.format(
                cef[index], header: SyslogMessage.Header(
                    facility: 20, hostname: "sensor-1.example.com", appName: "pipewatch-test", procID: String(getpid()),
                    msgID: "ALERT"),
                severity: severities[index], millisecondsSinceEpoch: 0)
            // Over 2048 octets, MSG is cut (the header has the same length whatever the time).
            let expected = Array(SyslogMessage.truncated(full, to: 2048).dropFirst(SyslogMessage.headerLength(of: full)))
            #expect(full.count <= 2048 || expected.count < cef[index].count)
            Self.expectFields(message, pri: 160 + severities[index], cef: expected, input: "imudp", sent: before...after)
        }
    }

    @Test func tcpReconnectsAfterTheReceiverRestarts() throws {
        let receiver = try SyslogReceiver()
        defer { receiver.stop() }
        let sink = try SyslogSink(configuration: Self.configuration(.tcp, receiver.port))
        defer { sink.close() }
        let (payloads, _, cef) = try Self.hostileBatch(count: 3)

        try sink.deliver([payloads[0]])
        #expect(receiver.waitFor { $0.count >= 1 }.count == 1)

        receiver.stop()
        #expect {
            try sink.deliver([payloads[1]])
        } throws: { error in
            guard case .retryable = error as? SinkFailure else { return false }
            return true
        }

        try receiver.start()
        try sink.deliver([payloads[2]])
        let received = receiver.waitFor { $0.count >= 2 }
        #expect(received.count == 2)
        #expect(received.map { Array(($0["msg"] ?? "").utf8) } == [cef[0], cef[2]])
    }

    @Test func deliveryQueueRetriesUntilTheReceiverIsBack() throws {
        let receiver = try SyslogReceiver()
        defer { receiver.stop() }
        receiver.stop()
        let sink = try SyslogSink(configuration: Self.configuration(.tcp, receiver.port))
        let outcomes = OutcomeLog()
        let queue = DeliveryQueue(
            sink: sink, retry: RetryPolicy(maxAttempts: 100, initialDelay: 0.05, maxDelay: 0.1), deadLetterPath: nil,
            onAcknowledge: { id, outcome in outcomes.append(id, outcome) })
        let (payloads, _, cef) = try Self.hostileBatch(count: 5)
        queue.submit(DeliveryQueue.Batch(id: 1, payloads: payloads))
        usleep(300_000)
        #expect(queue.statistics.failedAttempts >= 1)
        try receiver.start()
        queue.drain()
        queue.close()
        #expect(outcomes.all == [1: .delivered])
        let received = receiver.waitFor { $0.count >= payloads.count }
        #expect(received.map { Array(($0["msg"] ?? "").utf8) } == cef)
    }

    // MARK: - TLS (RFC 5425) against rsyslogd's gtls driver

    /// A syslog+tls sink trusting `ca` (the test CA unless given), with the client certificate unless `client` is
    /// false.
    static func tlsConfiguration(
        _ pki: TestCertificates, port: UInt16, host: String = "127.0.0.1", ca: String? = nil, client: Bool = true
    ) -> SyslogConfiguration {
        var configuration = Self.configuration(
            .tls(ca: ca ?? pki.ca, cert: client ? pki.clientCertificate : nil, key: client ? pki.clientKey : nil), port)
        configuration.host = host
        return configuration
    }

    static func receiverTLS(_ pki: TestCertificates, misnamed: Bool = false) -> SyslogReceiver.TLS {
        SyslogReceiver.TLS(
            ca: pki.ca, certificate: misnamed ? pki.misnamedServerCertificate : pki.serverCertificate,
            key: misnamed ? pki.misnamedServerKey : pki.serverKey, authMode: "x509/certvalid")
    }

    static func isRetryable(_ error: any Error, containing text: String) -> Bool {
        guard case .retryable(let reason) = error as? SinkFailure else { return false }
        return reason.contains(text)
    }

    /// Mutual TLS: the receiver (x509/certvalid) only talks to clients with a certificate from its CA, and the sink
    /// checks the receiver's certificate and its IP address (and, in a second sink, its DNS name).
    @Test func tlsBatchArrivesOnceFieldByFieldWithMutualTLS() throws {
        let scratch = try TemporaryDirectory()
        let pki = try TestCertificates(in: scratch)
        let receiver = try SyslogReceiver(tls: Self.receiverTLS(pki))
        defer { receiver.stop() }
        let sink = try SyslogSink(configuration: Self.tlsConfiguration(pki, port: receiver.port))
        defer { sink.close() }
        let byName = try SyslogSink(configuration: Self.tlsConfiguration(pki, port: receiver.port, host: "localhost"))
        defer { byName.close() }

        var (payloads, severities, cef) = try Self.hostileBatch(count: 120)
        // Longer than a TLS record (16 KB) and without line breaks: arrives whole only with octet counting.
        var long = AlertFormat.cef.format(try makeAlert(HostileRecords.cloudTrail(), rule: HostileRecords.plainRule))
        long.append(contentsOf: " cs6Label=padding cs6=".utf8)
        while long.count < 20_000 { long.append(contentsOf: "x\\=模🚀|\\\\ ".utf8) }
        payloads.insert(SyslogPayload.tagged(long, severity: .high), at: 60)
        severities.insert(Severity.high.syslogSeverity, at: 60)
        cef.insert(long, at: 60)

        let viaName = Array("CEF:0|Pipewatch|pipewatch|1|by-name|Sent to localhost|5|msg=sni".utf8)
        let last = Array("CEF:0|Pipewatch|pipewatch|1|end|End of the batches|5|msg=end".utf8)
        let before = Date()
        try sink.deliver(Array(payloads[..<60]))
        try sink.deliver(Array(payloads[60...]))
        try byName.deliver([viaName])
        // Written after the batches on the same connection, so rsyslog has processed them once it has this one.
        try sink.deliver([last])
        let after = Date()

        let received = receiver.waitFor { messages in
            let texts = messages.map { $0["msg"] ?? "" }
            return texts.contains(text(last)) && texts.contains(text(viaName))
        }
        #expect(received.filter { Array(($0["msg"] ?? "").utf8) == viaName }.count == 1, "the sink to localhost")
        let batches = received.filter { Array(($0["msg"] ?? "").utf8) != viaName }
        #expect(batches.count == payloads.count + 1, "every message exactly once")
        for (index, message) in batches.prefix(payloads.count).enumerated() {
            Self.expectFields(
                message, pri: 20 * 8 + severities[index], cef: cef[index], input: "imtcp", sent: before...after)
        }
        #expect(batches.count > 60 && batches[60]["msg"]?.utf8.count == long.count)
        #expect(batches.last.map { Array(($0["msg"] ?? "").utf8) } == last)
    }

    /// What makes the test above mutual TLS: the receiver refuses a client without a certificate. With TLS 1.3
    /// the refusal comes after the client's side of the handshake, so the sink cannot tell; what it wrote is lost.
    @Test func tlsReceiverRefusesASinkWithoutAClientCertificate() throws {
        let scratch = try TemporaryDirectory()
        let pki = try TestCertificates(in: scratch)
        let receiver = try SyslogReceiver(tls: Self.receiverTLS(pki))
        defer { receiver.stop() }
        let anonymous = try SyslogSink(configuration: Self.tlsConfiguration(pki, port: receiver.port, client: false))
        defer { anonymous.close() }
        let refused = Array("CEF:0|Pipewatch|pipewatch|1|no-cert|Without a client certificate|5|msg=x".utf8)
        // TLS 1.3 refuses the certificate after the client's side of the handshake: the sink waits for that
        // answer before writing, so the batch fails (to be retried) instead of vanishing into a refused session.
        #expect {
            try anonymous.deliver([refused])
        } throws: { error in
            Self.isRetryable(error, containing: "the receiver closed the connection after the handshake")
        }

        let refusal = "peer did not provide a certificate"
        let deadline = Date().addingTimeInterval(10)
        while !receiver.log.contains(refusal) && Date() < deadline { usleep(10_000) }
        #expect(receiver.log.contains(refusal), "rsyslogd log: \(receiver.log)")
        // The refused session is closed before its data is read: only the authenticated sink's message arrives.
        let sink = try SyslogSink(configuration: Self.tlsConfiguration(pki, port: receiver.port))
        defer { sink.close() }
        let accepted = Array("CEF:0|Pipewatch|pipewatch|1|cert|With a client certificate|5|msg=y".utf8)
        try sink.deliver([accepted])
        let received = receiver.waitFor { !$0.isEmpty }
        #expect(received.map { Array(($0["msg"] ?? "").utf8) } == [accepted])
    }

    @Test func tlsReconnectsAfterTheReceiverRestarts() throws {
        let scratch = try TemporaryDirectory()
        let pki = try TestCertificates(in: scratch)
        let receiver = try SyslogReceiver(tls: Self.receiverTLS(pki))
        defer { receiver.stop() }
        let sink = try SyslogSink(configuration: Self.tlsConfiguration(pki, port: receiver.port))
        defer { sink.close() }
        let (payloads, _, cef) = try Self.hostileBatch(count: 3)

        try sink.deliver([payloads[0]])
        #expect(receiver.waitFor { $0.count >= 1 }.count == 1)

        // The closed TLS connection is noticed before writing; the new connection is refused.
        receiver.stop()
        #expect {
            try sink.deliver([payloads[1]])
        } throws: { error in
            Self.isRetryable(error, containing: "connect syslog+tls://127.0.0.1:\(receiver.port)")
        }

        try receiver.start()
        try sink.deliver([payloads[2]])
        let received = receiver.waitFor { $0.count >= 2 }
        #expect(received.map { Array(($0["msg"] ?? "").utf8) } == [cef[0], cef[2]])
    }

    @Test func tlsFailsRetryablyWhenItsCADidNotSignTheReceiver() throws {
        let scratch = try TemporaryDirectory()
        let pki = try TestCertificates(in: scratch)
        let receiver = try SyslogReceiver(tls: Self.receiverTLS(pki))
        defer { receiver.stop() }
        let wrongCA = try SyslogSink(configuration: Self.tlsConfiguration(pki, port: receiver.port, ca: pki.otherCA))
        defer { wrongCA.close() }
        let (payloads, _, cef) = try Self.hostileBatch(count: 3)

        let reason = "TLS handshake with 127.0.0.1:\(receiver.port) failed: certificate verify failed"
        // Twice: a retry connects again and is refused again.
        for _ in 0..<2 {
            #expect {
                try wrongCA.deliver(payloads)
            } throws: { error in
                Self.isRetryable(error, containing: reason)
            }
        }
        // The handshake stopped before any message was written: the first message rsyslog logs is the next sink's.
        let sink = try SyslogSink(configuration: Self.tlsConfiguration(pki, port: receiver.port))
        defer { sink.close() }
        try sink.deliver([payloads[2]])
        let received = receiver.waitFor { !$0.isEmpty }
        #expect(received.map { Array(($0["msg"] ?? "").utf8) } == [cef[2]])
    }

    @Test func tlsChecksTheReceiversNameAndAddressNotOnlyItsCA() throws {
        let scratch = try TemporaryDirectory()
        let pki = try TestCertificates(in: scratch)
        // A certificate from the right CA, but for elsewhere.example and 192.0.2.10.
        let receiver = try SyslogReceiver(tls: Self.receiverTLS(pki, misnamed: true))
        defer { receiver.stop() }
        let (payloads, _, _) = try Self.hostileBatch(count: 2)
        for (host, mismatch) in [("127.0.0.1", "IP address mismatch"), ("localhost", "hostname mismatch")] {
            let sink = try SyslogSink(configuration: Self.tlsConfiguration(pki, port: receiver.port, host: host))
            defer { sink.close() }
            #expect {
                try sink.deliver(payloads)
            } throws: { error in
                Self.isRetryable(error, containing: "failed: certificate verify failed: \(mismatch)")
            }
        }
        // Refused during the handshake, before any message was written.
        #expect(receiver.messages().isEmpty)
    }
}

final class OutcomeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [UInt64: DeliveryQueue.Outcome] = [:]

    func append(_ id: UInt64, _ outcome: DeliveryQueue.Outcome) {
        lock.lock()
        outcomes[id] = outcome
        lock.unlock()
    }

    var all: [UInt64: DeliveryQueue.Outcome] {
        lock.lock()
        defer { lock.unlock() }
        return outcomes
    }
}

import Foundation
import Testing

/// A real rsyslogd on 127.0.0.1 (imtcp and imudp on one free port), with its own configuration, work directory,
/// pid file and output file in a temporary directory. Every message it receives is written as one JSON line with
/// the parsed RFC 5424 fields, so tests compare what rsyslog understood, field by field.
///
/// With `tls`, imtcp speaks syslog over TLS (RFC 5425) through rsyslog's GnuTLS network stream driver (Debian
/// package rsyslog-gnutls), while imudp stays plain.
final class SyslogReceiver {
    /// The receiver's side of TLS.
    struct TLS {
        var ca: String
        var certificate: String
        var key: String
        /// The gtls driver's authentication mode for clients: `x509/certvalid` asks for a client certificate and
        /// closes the connection unless one signed by `ca` is presented (mutual TLS, no name check); `anon` asks for
        /// none.
        var authMode: String = "x509/certvalid"
    }

    static let executable = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd", "/usr/local/sbin/rsyslogd"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    let directory: TemporaryDirectory
    let port: UInt16
    let outputPath: String
    let tls: TLS?
    private var process: ChildProcess?

    /// Starts rsyslogd and waits until its TCP listener accepts connections.
    init(tls: TLS? = nil) throws {
        self.tls = tls
        directory = try TemporaryDirectory()
        port = try Loopback.freePort()
        outputPath = directory.url.appendingPathComponent("received.jsonl").path
        try start()
    }

    deinit { stop() }

    /// One line per message; control characters are not escaped on receive, so MSG arrives byte for byte.
    /// The TLS parameters are those of rsyslog 8.2302 (Debian 12): the driver's files are global, its mode and
    /// authentication mode are imtcp module parameters.
    private var configuration: String {
        let dir = directory.url.path
        var global = #"workDirectory="\#(dir)" maxMessageSize="64k" parser.escapeControlCharactersOnReceive="off""#
        var imtcp = #"load="imtcp""#
        if let tls {
            global += #" DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="\#(tls.ca)""#
                + #" DefaultNetstreamDriverCertFile="\#(tls.certificate)" DefaultNetstreamDriverKeyFile="\#(tls.key)""#
            imtcp += #" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="\#(tls.authMode)""#
        }
        return """
            global(\(global))
            module(\(imtcp))
            module(load="imudp")
            input(type="imtcp" address="127.0.0.1" port="\(port)")
            input(type="imudp" address="127.0.0.1" port="\(port)")
            template(name="fields" type="list") {
                constant(value="{\\"input\\":\\"") property(name="inputname" format="json")
                constant(value="\\",\\"pri\\":\\"") property(name="pri" format="json")
                constant(value="\\",\\"version\\":\\"") property(name="protocol-version" format="json")
                constant(value="\\",\\"time\\":\\"") property(name="timereported" dateFormat="rfc3339" format="json")
                constant(value="\\",\\"hostname\\":\\"") property(name="hostname" format="json")
                constant(value="\\",\\"app\\":\\"") property(name="app-name" format="json")
                constant(value="\\",\\"procid\\":\\"") property(name="procid" format="json")
                constant(value="\\",\\"msgid\\":\\"") property(name="msgid" format="json")
                constant(value="\\",\\"sd\\":\\"") property(name="structured-data" format="json")
                constant(value="\\",\\"msg\\":\\"") property(name="msg" format="json")
                constant(value="\\"}\\n")
            }
            *.* action(type="omfile" file="\(outputPath)" template="fields")

            """
    }

    /// Starts (or restarts) rsyslogd on the same port.
    func start() throws {
        guard let executable = SyslogReceiver.executable else {
            Issue.record("rsyslogd not found: install the Debian package rsyslog")
            throw ReceiverFailure.notInstalled
        }
        let configPath = try directory.write("rsyslog.conf", configuration)
        let pidPath = directory.url.appendingPathComponent("rsyslogd.pid").path
        try? FileManager.default.removeItem(atPath: pidPath)
        let log = directory.path("rsyslogd.log")
        let process = try ChildProcess(executable, ["-n", "-f", configPath, "-i", pidPath], stdout: log, stderr: log)
        self.process = process
        // Ready once the TCP listener accepts; imudp is activated in the same step of rsyslogd's start-up. (With TLS
        // the probe's plain connection fails its handshake, which rsyslogd logs and ignores.)
        guard Loopback.waitUntilAccepting(port, while: { process.isRunning }) else {
            stop()
            Issue.record("rsyslogd did not start listening on \(port): \(directory.read("rsyslogd.log"))")
            throw ReceiverFailure.notListening
        }
    }

    /// Stops rsyslogd (SIGTERM, then waits for it to exit and close its sockets).
    func stop() {
        process?.terminate()
        process = nil
    }

    /// What rsyslogd has logged about itself (start-up problems, refused TLS sessions).
    var log: String { directory.read("rsyslogd.log") }

    /// The messages received so far, in order.
    func messages() -> [[String: String]] {
        guard let data = FileManager.default.contents(atPath: outputPath) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0)) as? [String: String]
        }
    }

    /// Polls the output file until `predicate` holds for the messages received (rsyslog writes asynchronously),
    /// for at most `timeout` seconds; returns the last messages seen either way.
    @discardableResult
    func waitFor(timeout: Double = 10, _ predicate: ([[String: String]]) -> Bool) -> [[String: String]] {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = messages()
        while !predicate(seen) && Date() < deadline {
            usleep(10_000)
            seen = messages()
        }
        return seen
    }

    enum ReceiverFailure: Error { case notInstalled, notListening }
}

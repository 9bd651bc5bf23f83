import Foundation

/// A throwaway PKI for TLS tests, made with the `openssl` command line tool in a test's temporary directory: a CA,
/// a server certificate for 127.0.0.1 and localhost, one for other names (signed by the same CA, to check that a
/// client verifies the name and not only the signature), a client certificate, and a second CA that signed none
/// of them (to trust the wrong CA). P-256 keys, valid for a day; PEM files, keys unencrypted (PKCS #8).
public struct TestCertificates: Sendable {
    /// The CA that signed the server and client certificates.
    public let ca: String
    /// The server certificate (SAN IP:127.0.0.1 and DNS:localhost, extended key usage serverAuth) and its key.
    public let serverCertificate: String
    public let serverKey: String
    /// A server certificate from the same CA for other names only (DNS:elsewhere.example, IP:192.0.2.10).
    public let misnamedServerCertificate: String
    public let misnamedServerKey: String
    /// The client certificate (CN pipewatch-test-client, extended key usage clientAuth) and its key.
    public let clientCertificate: String
    public let clientKey: String
    /// A CA that signed none of the above.
    public let otherCA: String

    public enum Failure: Error, CustomStringConvertible {
        case openssl([String], Int32, String)
        public var description: String {
            switch self {
            case .openssl(let arguments, let status, let output):
                return "openssl \(arguments.joined(separator: " ")) exited with \(status): \(output)"
            }
        }
    }

    /// Creates the files under `directory`/`subdirectory`.
    public init(in directory: TemporaryDirectory, subdirectory: String = "pki") throws {
        let base = directory.path(subdirectory)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        func path(_ name: String) -> String { (base as NSString).appendingPathComponent(name) }
        let log = path("openssl.log")

        func openssl(_ arguments: [String]) throws {
            try? FileManager.default.removeItem(atPath: log)
            let process = try ChildProcess("openssl", arguments, stdout: log, stderr: log)
            let status = process.wait()
            guard status == 0 else {
                throw Failure.openssl(arguments, status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
            }
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

        func makeCA(_ name: String, _ subject: String) throws {
            try openssl(["req", "-x509"] + key + [
                "-keyout", path("\(name).key"), "-out", path("\(name).pem"), "-days", "1", "-subj", subject,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        }
        /// A certificate signed by the test CA, with the X.509 v3 extensions in `extensions`.
        func makeLeaf(_ name: String, _ subject: String, _ extensions: String, serial: Int) throws {
            try openssl(["req", "-new"] + key + [
                "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject,
            ])
            let extensionFile = path("\(name).ext")
            try Data(extensions.utf8).write(to: URL(fileURLWithPath: extensionFile))
            try openssl([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                "-set_serial", String(serial), "-days", "1", "-extfile", extensionFile, "-out", path("\(name).pem"),
            ])
        }

        try makeCA("ca", "/O=Pipewatch Tests/CN=Pipewatch Test CA")
        try makeCA("other-ca", "/O=Pipewatch Tests/CN=Some Other CA")
        try makeLeaf("server", "/O=Pipewatch Tests/CN=localhost", """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth
            subjectAltName=IP:127.0.0.1,DNS:localhost

            """, serial: 2)
        try makeLeaf("misnamed-server", "/O=Pipewatch Tests/CN=elsewhere.example", """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth
            subjectAltName=DNS:elsewhere.example,IP:192.0.2.10

            """, serial: 3)
        try makeLeaf("client", "/O=Pipewatch Tests/CN=pipewatch-test-client", """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=clientAuth

            """, serial: 4)

        ca = path("ca.pem")
        otherCA = path("other-ca.pem")
        serverCertificate = path("server.pem")
        serverKey = path("server.key")
        misnamedServerCertificate = path("misnamed-server.pem")
        misnamedServerKey = path("misnamed-server.key")
        clientCertificate = path("client.pem")
        clientKey = path("client.key")
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// 127.0.0.1 ports for servers a test starts.
public enum Loopback {
    public enum PortError: Error { case noFreePort }

    /// A port free for both TCP and UDP on 127.0.0.1 (the kernel's choice for TCP, then checked for UDP).
    public static func freePort() throws -> UInt16 {
        for _ in 0..<20 {
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(tcp) }
            guard bind(tcp, 0) == 0 else { continue }
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(tcp, $0, &length) }
            }
            let port = UInt16(bigEndian: bound.sin_port)
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(udp) }
            if bind(udp, port) == 0 { return port }
        }
        throw PortError.noFreePort
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = address(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Polls until something accepts on `port`; false after `seconds`.
    public static func waitUntilAccepting(_ port: UInt16, seconds: Double = 15, while alive: () -> Bool = { true }) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !accepts(port) {
            guard alive(), Date() < deadline else { return false }
            usleep(20_000)
        }
        return true
    }

    private static func address(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func bind(_ fd: Int32, _ port: UInt16) -> Int32 {
        var address = address(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}

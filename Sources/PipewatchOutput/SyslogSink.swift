import CTLSClient
import Foundation

#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
private let datagramSocket = Int32(SOCK_DGRAM.rawValue)
private let sendFlags = Int32(MSG_NOSIGNAL)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
private let datagramSocket = SOCK_DGRAM
private let sendFlags: Int32 = 0  // SIGPIPE is turned off per socket with SO_NOSIGPIPE
#endif

/// Alerts to a syslog receiver as RFC 5424 messages: over UDP one message per datagram (RFC 5426), over TCP with
/// octet-counting framing (RFC 6587 §3.4.1), and over TLS (RFC 5425) with the same framing.
///
/// TLS verifies the receiver's certificate against the configured `ca` and checks that it names the configured
/// host (an IP literal against the certificate's IP addresses, a name against its DNS names, sent as SNI);
/// `cert` and `key` authenticate this sender for receivers that require client certificates. A failed handshake
/// or verification is retryable, like a refused connection: the receiver's certificate can be fixed while the
/// alerts wait. The files are read again on every connection, so renewed certificates are picked up.
///
/// Each payload is one formatted alert, optionally tagged with its severity by `SyslogPayload.tagged` (the
/// formatter path does that with `AlertFormat.syslogPayload`); untagged payloads get the configured default.
///
/// Acknowledgement: a TCP batch is acknowledged once every frame is written to the socket, a TLS batch once every
/// byte went through the TLS connection, a UDP batch once every datagram is sent — syslog has no application-level
/// acknowledgement, so that is the most the sink can know. (With TLS 1.3 a receiver that refuses this sender's
/// certificate can only say so after the sender's side of the handshake is done: a new connection waits up to
/// 250 ms for that answer before the first batch is written, so a refusal fails the batch instead of losing it.) A
/// connection the receiver closed is noticed before the next batch is written and re-established; a refused or
/// reset connection is a retryable failure, and the retried batch is sent whole (at-least-once: after a failure in
/// the middle of a batch, the receiver can see its first messages twice).
///
/// UDP messages longer than `maxDatagramSize` are truncated (RFC 5426 §3.2), not refused: a permanent failure would
/// dead-letter the whole batch, and a truncated alert at the SIEM is worth more than a missing one. Use TCP for
/// alerts that must arrive whole.
public final class SyslogSink: AlertSink, @unchecked Sendable {
    public let name: String
    public let configuration: SyslogConfiguration
    private let header: SyslogMessage.Header
    private let lock = NSLock()
    private var socket: Int32 = -1
    /// The TLS session on `socket` (syslog+tls only).
    private var tls: OpaquePointer?
    /// The clock, replaceable in tests (milliseconds since the epoch).
    var now: @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    public init(configuration: SyslogConfiguration) throws {
        if case .tls(let ca, let cert, let key) = configuration.transport {
            // Missing files are a configuration mistake to report at start-up, not on every retry.
            for (option, path) in [("ca", ca), ("cert", cert), ("key", key)] {
                if let path, !FileManager.default.isReadableFile(atPath: path) {
                    throw OutputSpecificationError(
                        "\(configuration.transport.scheme)://\(configuration.host):\(configuration.port)",
                        "\(option)=\(path) is not a readable file")
                }
            }
        }
        self.configuration = configuration
        header = SyslogMessage.Header(
            facility: configuration.facility, hostname: configuration.hostname, appName: configuration.appName,
            procID: String(getpid()), msgID: configuration.msgID)
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        name = "\(configuration.transport.scheme)://\(host):\(configuration.port)"
    }

    deinit { close() }

    /// The RFC 5424 message for one payload (tagged or not), as it goes on the wire before framing.
    public func message(for payload: [UInt8]) -> [UInt8] {
        let (severity, body) = SyslogPayload.untagged(payload)
        let message = SyslogMessage.format(
            body, header: header, severity: severity ?? configuration.defaultSeverity, millisecondsSinceEpoch: now())
        if configuration.transport == .udp {
            return SyslogMessage.truncated(message, to: min(configuration.maxDatagramSize, SyslogMessage.udpHardLimit))
        }
        return message
    }

    public func deliver(_ payloads: [[UInt8]]) throws(SinkFailure) {
        lock.lock()
        defer { lock.unlock() }
        if payloads.isEmpty { return }
        if socket >= 0 && configuration.transport != .udp && !streamIsOpen() { disconnect() }
        if socket < 0 { try connect() }
        do {
            if configuration.transport == .udp {
                for payload in payloads { try sendDatagram(message(for: payload)) }
            } else {
                var frames: [UInt8] = []
                frames.reserveCapacity(payloads.reduce(0) { $0 + $1.count + 96 })
                for payload in payloads { frames.append(contentsOf: SyslogMessage.octetCounted(message(for: payload))) }
                if let tls { try tlsWriteAll(tls, frames) } else { try sendAll(frames) }
            }
        } catch {
            disconnect()
            throw error
        }
    }

    public func close() {
        lock.lock()
        disconnect()
        lock.unlock()
    }

    // MARK: - Sockets

    private func disconnect() {
        if let tls {
            pw_tls_client_free(tls)
            self.tls = nil
        }
        if socket >= 0 {
            Foundation.close(socket)
            socket = -1
        }
    }

    private func failureReason(_ action: String, _ code: Int32) -> String {
        "\(action) \(name): \(String(cString: strerror(code)))"
    }

    /// Resolves the host and connects to the first address that answers. Every failure here can heal (the
    /// receiver restarts, DNS comes back), so all are retryable.
    private func connect() throws(SinkFailure) {
        let stream = configuration.transport != .udp
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = stream ? streamSocket : datagramSocket
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(configuration.host, String(configuration.port), &hints, &list)
        guard status == 0, let first = list else {
            throw .retryable("resolve \(name): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = Foundation.socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            if fd < 0 {
                lastError = errno
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            #if canImport(Darwin)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let result = stream
                ? connectWithTimeout(fd, address.pointee.ai_addr, address.pointee.ai_addrlen)
                : (Foundation.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 ? 0 : errno)
            if result == 0 {
                if stream { setTimeouts(fd) }
                if case .tls(let ca, let cert, let key) = configuration.transport {
                    do throws(SinkFailure) {
                        tls = try handshake(fd, ca: ca, cert: cert, key: key)
                    } catch {
                        Foundation.close(fd)
                        throw error
                    }
                }
                socket = fd
                return
            }
            lastError = result
            Foundation.close(fd)
        }
        throw .retryable(failureReason("connect", lastError))
    }

    /// A non-blocking connect bounded by the configured timeout; 0 or the errno.
    private func connectWithTimeout(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Foundation.connect(fd, address, length) == 0 { return 0 }
        guard errno == EINPROGRESS else { return errno }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let deadline = Date().addingTimeInterval(configuration.timeout)
        while true {
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            let ready = poll(&descriptor, 1, remaining)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return ready == 0 ? ETIMEDOUT : errno }
            break
        }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 else { return errno }
        return error
    }

    /// A write that cannot make progress for `timeout` seconds fails (EAGAIN) instead of blocking the sink forever;
    /// so does a read (only the TLS handshake reads, waiting for the receiver's answers).
    private func setTimeouts(_ fd: Int32) {
        let seconds = configuration.timeout.rounded(.down)
        var value = timeval()
        value.tv_sec = .init(seconds)
        value.tv_usec = .init((configuration.timeout - seconds) * 1_000_000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// `host:port` as the TLS failures name it.
    private var endpoint: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "\(host):\(configuration.port)"
    }

    /// The TLS handshake on a connected socket, verifying the receiver against `ca` and the configured host.
    private func handshake(_ fd: Int32, ca: String, cert: String?, key: String?) throws(SinkFailure) -> OpaquePointer {
        var error = [CChar](repeating: 0, count: 512)
        let client = error.withUnsafeMutableBufferPointer { buffer in
            pw_tls_client_new(fd, ca, cert, key, configuration.host, buffer.baseAddress, buffer.count)
        }
        guard let client else {
            throw .retryable("TLS handshake with \(endpoint) failed: \(text(error))")
        }
        return client
    }

    /// The NUL-terminated text the C side wrote into `buffer`.
    private func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes every byte through the TLS session; the batch counts as sent only when all of it was written.
    private func tlsWriteAll(_ client: OpaquePointer, _ bytes: [UInt8]) throws(SinkFailure) {
        var error = [CChar](repeating: 0, count: 512)
        let result = bytes.withUnsafeBytes { data in
            error.withUnsafeMutableBufferPointer { buffer in
                pw_tls_client_write_all(client, data.baseAddress, data.count, buffer.baseAddress, buffer.count)
            }
        }
        if result != 0 { throw .retryable("TLS write to \(endpoint) failed: \(text(error))") }
    }

    /// Whether a TCP connection is still usable: a syslog receiver never sends, so a readable socket means it
    /// closed (EOF) or reset the connection. Checked before each batch, so a receiver that restarted since the last
    /// batch costs a reconnect rather than a batch written into a dead connection.
    private func streamIsOpen() -> Bool {
        // Over TLS the socket also carries the receiver's TLS records (session tickets): the TLS layer reads them.
        if let tls { return pw_tls_client_is_open(tls) != 0 }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return true }
        if descriptor.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return false }
        var byte: UInt8 = 0
        let n = recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n == 0 { return false }
        if n < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
        // Unexpected data from the receiver: discard it, the connection itself is fine.
        var scratch = [UInt8](repeating: 0, count: 4096)
        _ = recv(socket, &scratch, scratch.count, Int32(MSG_DONTWAIT))
        return true
    }

    /// Writes every byte of `bytes` (partial writes continue where they stopped; EINTR is retried).
    private func sendAll(_ bytes: [UInt8]) throws(SinkFailure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(socket, $0.baseAddress! + offset, $0.count - offset, sendFlags) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK {
                    throw .retryable("send \(name): no progress for \(configuration.timeout) s")
                }
                throw .retryable(failureReason("send", code))
            }
            offset += n
        }
    }

    /// One datagram. ECONNREFUSED reports an ICMP port-unreachable for an earlier datagram (connected UDP socket):
    /// the receiver is down, so the batch is retried. EMSGSIZE cannot heal, so it is permanent.
    private func sendDatagram(_ message: [UInt8]) throws(SinkFailure) {
        while true {
            let n = message.withUnsafeBytes { send(socket, $0.baseAddress!, $0.count, sendFlags) }
            if n >= 0 { return }
            let code = errno
            if code == EINTR { continue }
            if code == EMSGSIZE { throw .permanent(failureReason("send \(message.count)-octet datagram to", code)) }
            throw .retryable(failureReason("send", code))
        }
    }
}

import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Marks an accepted connection's socket close-on-exec. NIO accepts with `accept4(…, SOCK_NONBLOCK)` only, so
/// every connection would otherwise be inherited by any process spawned while it is open (and kept open by it
/// after the server closed its side). NIO keeps the descriptor private: it is read through reflection, and used
/// only when the socket it names has the channel's own local and peer ports, so a change in NIO's layout can make
/// this fail (reported by the caller) but never touch another descriptor.
enum AcceptedSocket {
    /// Whether the channel's socket is close-on-exec now.
    static func markCloseOnExec(_ channel: Channel) -> Bool {
        guard let fd = descriptor(of: channel) else { return false }
        let flags = fcntl(fd, F_GETFD)
        guard flags >= 0 else { return false }
        return flags & FD_CLOEXEC != 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0
    }

    /// The descriptor of a NIO socket channel (`BaseSocketChannel.socket`, `BaseSocket.descriptor`), if it is
    /// the socket of `channel`'s connection.
    static func descriptor(of channel: Channel) -> CInt? {
        guard let socket = stored("socket", in: channel), let fd = stored("descriptor", in: socket) as? CInt, fd >= 0,
              let local = channel.localAddress?.port, let remote = channel.remoteAddress?.port,
              port(of: fd, getsockname) == local, port(of: fd, getpeername) == remote
        else { return nil }
        return fd
    }

    /// A stored property of `object` or of one of its superclasses.
    private static func stored(_ name: String, in object: Any) -> Any? {
        var mirror: Mirror? = Mirror(reflecting: object)
        while let current = mirror {
            if let child = current.children.first(where: { $0.label == name }) { return child.value }
            mirror = current.superclassMirror
        }
        return nil
    }

    private static func port(
        of fd: CInt, _ name: (CInt, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt
    ) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { name(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer -> Int? in
            switch family {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            default:
                return nil
            }
        }
    }
}

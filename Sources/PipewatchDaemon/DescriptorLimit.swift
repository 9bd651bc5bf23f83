#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's file descriptor limit against what its listeners may hold. A connection cap protects the daemon
/// only if it is below the limit: else a flood exhausts the descriptors before the cap is reached, and the files,
/// Kafka connections and outputs fail with it.
enum DescriptorLimit {
    /// Descriptors kept for everything but HTTP connections: listeners, input files, Kafka brokers, outputs, the
    /// dead-letter and state files.
    static let reserved = 256

    /// Raises the soft limit (`ulimit -n`) to `connections` + `reserved` if it is lower, as far as the hard limit
    /// allows. Returns a line for the log when it raised it or could not raise it enough.
    static func reserve(connections: Int) -> String? {
        var limit = rlimit()
        guard getrlimit(resourceNoFile, &limit) == 0 else { return nil }
        let needed = rlim_t(connections + reserved)
        guard limit.rlim_cur != unlimited, limit.rlim_cur < needed else { return nil }
        let soft = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max == unlimited ? needed : min(needed, limit.rlim_max)
        guard setrlimit(resourceNoFile, &limit) == 0 else { return shortfall(soft, needed) }
        if limit.rlim_cur >= needed {
            return "raised the open-file limit from \(soft) to \(limit.rlim_cur): the listeners' max-connections "
                + "(\(connections)) and \(reserved) for files, Kafka and outputs"
        }
        return shortfall(limit.rlim_cur, needed)
    }

    private static func shortfall(_ limit: rlim_t, _ needed: rlim_t) -> String {
        "the open-file limit (\(limit)) is below the listeners' max-connections and \(reserved) "
            + "descriptors for files, Kafka and outputs (\(needed)): a connection flood can exhaust it; raise "
            + "LimitNOFILE / ulimit -n or lower max-connections"
    }

    /// RLIM_INFINITY, all bits set (Swift does not import the macro as an rlim_t).
    private static let unlimited = rlim_t.max

    #if canImport(Glibc)
    private static let resourceNoFile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceNoFile = RLIMIT_NOFILE
    #endif
}

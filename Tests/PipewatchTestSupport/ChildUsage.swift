import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says a running child process used and may use (/proc/PID/stat and /proc/PID/limits).
public enum ChildUsage {
    /// User plus system CPU seconds the process has used so far, all its threads together; nil once it is gone.
    public static func cpuSeconds(_ pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        // After the command name in parentheses: state is field 3, utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The soft and hard limits on open files ("Max open files" of /proc/PID/limits); nil for unlimited.
    public static func openFileLimits(_ pid: pid_t) -> (soft: Int?, hard: Int?)? {
        guard let limits = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8),
              let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") })
        else { return nil }
        let values = line.dropFirst("Max open files".count).split(separator: " ")
        guard values.count >= 2 else { return nil }
        return (Int(values[0]), Int(values[1]))
    }
}

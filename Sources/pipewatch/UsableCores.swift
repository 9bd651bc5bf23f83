import Foundation

/// The CPUs this process may run on: its affinity mask (`taskset`, a container's cpuset), which Foundation's
/// processor count ignores, so that `--threads` defaults to the cores a run can use rather than oversubscribing one.
enum UsableCores {
    static var count: Int {
        let machine = ProcessInfo.processInfo.activeProcessorCount
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return machine }
        // A hexadecimal mask in comma-separated 32-bit words: "3", "ffffffff,ffffffff".
        let allowed = line.dropFirst("Cpus_allowed:".count).reduce(0) { total, character in
            total + (character.hexDigitValue?.nonzeroBitCount ?? 0)
        }
        return allowed > 0 ? min(allowed, machine) : machine
    }
}

import CCacheHints
import Foundation

/// Asks the CPU to start loading the cache line at `address` (a hint that never faults, so a stale address is
/// harmless). For records released long after they were buffered, whose state the cache has lost by then.
@inline(__always)
func cachePrefetch(_ address: UnsafeRawPointer?) {
    if let address { pw_prefetch_read(address) }
}

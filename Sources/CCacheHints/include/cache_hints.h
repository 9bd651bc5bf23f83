#ifndef PIPEWATCH_CACHE_HINTS_H
#define PIPEWATCH_CACHE_HINTS_H

/// Asks the CPU to start loading the cache line at `address` for reading, into every cache level. A hint only: it
/// never faults, so a stale or null address is harmless. Inline, so Swift callers get the bare instruction.
static inline void pw_prefetch_read(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif

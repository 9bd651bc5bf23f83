import Foundation

// What the daemon's threads hand each other: control flags, acknowledged batches, published statistics.

/// Boolean flags shared between threads.
final class Flags: @unchecked Sendable {
    struct Values {
        var stop = false
        var reload = false
    }

    private let lock = NSLock()
    private var values = Values()
    private var boundPorts: [String: Int] = [:]

    var ports: [String: Int] {
        get { lock.withLock { boundPorts } }
        set { lock.withLock { boundPorts = newValue } }
    }

    func set(_ flag: WritableKeyPath<Values, Bool>) { lock.withLock { values[keyPath: flag] = true } }
    func get(_ flag: KeyPath<Values, Bool>) -> Bool { lock.withLock { values[keyPath: flag] } }

    /// Reads and clears.
    func take(_ flag: WritableKeyPath<Values, Bool>) -> Bool {
        lock.withLock {
            defer { values[keyPath: flag] = false }
            return values[keyPath: flag]
        }
    }
}

/// Ids of batches the outputs acknowledged, handed from the sink threads to the pipeline thread.
final class CompletedBatches: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [UInt64] = []

    func add(_ id: UInt64) { lock.withLock { ids.append(id) } }

    func takeAll() -> [UInt64] {
        lock.withLock {
            defer { ids.removeAll(keepingCapacity: true) }
            return ids
        }
    }
}

/// The statistics as last published by the pipeline thread.
final class PublishedStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private var statistics = Daemon.Statistics()

    var value: Daemon.Statistics {
        get { lock.withLock { statistics } }
        set { lock.withLock { statistics = newValue } }
    }
}

import Synchronization

/// Delivery ids accepted lately (bounded, oldest forgotten first) and those being handed over now. A retry that
/// arrives while the first attempt is still in `accept` waits for its outcome instead of handing the record over
/// a second time.
final class DeliveryLedger: Sendable {
    enum Claim { case owner, alreadyAccepted, retry }

    private struct State {
        var accepted = Set<String>()
        var order: [String] = []  // ring of accepted ids, oldest at `next` once full
        var next = 0
        var inFlight: [String: [CheckedContinuation<Claim, Never>]] = [:]
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    /// `.owner`: hand the record over, then call `finish`. `.alreadyAccepted`: answer 200. `.retry`: the attempt
    /// this one waited for failed; claim again.
    func claim(_ id: String) async -> Claim {
        await withCheckedContinuation { continuation in
            state.withLock { state in
                if state.accepted.contains(id) {
                    continuation.resume(returning: .alreadyAccepted)
                } else if state.inFlight[id] != nil {
                    state.inFlight[id]!.append(continuation)
                } else {
                    state.inFlight[id] = []
                    continuation.resume(returning: .owner)
                }
            }
        }
    }

    func finish(_ id: String, accepted: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Claim, Never>] in
            let waiters = state.inFlight.removeValue(forKey: id) ?? []
            if accepted {
                if state.order.count < capacity {
                    state.order.append(id)
                } else {
                    state.accepted.remove(state.order[state.next])
                    state.order[state.next] = id
                    state.next = (state.next + 1) % capacity
                }
                state.accepted.insert(id)
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: accepted ? .alreadyAccepted : .retry) }
    }
}

import Foundation
import PipewatchInputs
import PipewatchJSON

/// Verified webhook deliveries handed from the HTTP server's tasks to the pipeline thread; each is answered (its
/// `accept` returns or throws) once the pipeline has its alerts acknowledged, or refused.
final class WebhookInbox: @unchecked Sendable {
    struct Delivery {
        var payload: MLflowWebhookReceiver.Payload
        var id: String
        var answer: @Sendable (Error?) -> Void
    }

    private let condition = NSCondition()
    private var waiting: [Delivery] = []

    /// Called by the receiver; returns once the delivery is accepted, throws if it could not be.
    func submit(_ payload: MLflowWebhookReceiver.Payload, _ id: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            condition.lock()
            waiting.append(Delivery(payload: payload, id: id) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            })
            condition.signal()
            condition.unlock()
        }
    }

    /// Everything waiting, after waiting at most `seconds` for a first delivery.
    func takeAll(waiting seconds: Double) -> [Delivery] {
        condition.lock()
        defer { condition.unlock() }
        if waiting.isEmpty && seconds > 0 { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
        defer { waiting.removeAll() }
        return waiting
    }
}

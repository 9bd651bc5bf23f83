import Foundation
import PipewatchJSON
import PipewatchRules

/// A mean and variance that start as plain running statistics (Welford) and, once `1/alpha` samples are in, follow
/// an exponentially weighted moving average, so early samples are not over-weighted and late ones adapt.
struct MovingStats {
    var n: Int32 = 0
    var mean = 0.0
    /// Population variance.
    var variance = 0.0

    mutating func add(_ x: Double, alpha: Double) {
        n &+= 1
        let delta = x - mean
        if Double(n) <= 1 / alpha {
            mean += delta / Double(n)
            variance += (delta * (x - mean) - variance) / Double(n)
        } else {
            mean += alpha * delta
            variance = (1 - alpha) * (variance + alpha * delta * delta)
        }
    }
}

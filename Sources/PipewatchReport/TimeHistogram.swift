/// Counts over event time for a few series (sources, severities): sparse bins of one width, starting at a minute
/// and doubled whenever more than `maxBins` bins are in use, so memory is bounded whatever the time span while a
/// short burst inside a long run keeps a fine resolution until the span forces it coarser.
public struct TimeHistogram: Sendable {
    public let seriesCount: Int
    public let maxBins: Int
    /// The bin width in milliseconds.
    public private(set) var width: Int64 = 60_000
    /// Bin index (time / width, rounded down) to the slot of its counts in `counts`.
    private var slots: [Int64: Int] = [:]
    private var counts: [Int] = []
    public private(set) var earliest: Int64?
    public private(set) var latest: Int64?
    public private(set) var total = 0

    public init(seriesCount: Int, maxBins: Int = 20_000) {
        self.seriesCount = seriesCount
        self.maxBins = maxBins
    }

    public mutating func add(_ time: Int64, series: Int, count: Int = 1) {
        var bin = Self.floorDivide(time, width)
        if slots[bin] == nil && slots.count >= maxBins {
            while slots.count >= maxBins { coarsen() }
            bin = Self.floorDivide(time, width)
        }
        let slot: Int
        if let existing = slots[bin] {
            slot = existing
        } else {
            slot = counts.count / seriesCount
            slots[bin] = slot
            counts.append(contentsOf: repeatElement(0, count: seriesCount))
        }
        counts[slot * seriesCount + series] += count
        earliest = min(earliest ?? time, time)
        latest = max(latest ?? time, time)
        total += count
    }

    /// Doubles the width, merging pairs of bins.
    private mutating func coarsen() {
        width *= 2
        var merged: [Int64: Int] = [:]
        var mergedCounts: [Int] = []
        for (bin, slot) in slots.sorted(by: { $0.key < $1.key }) {
            let target = Self.floorDivide(bin, 2)
            let into: Int
            if let existing = merged[target] {
                into = existing
            } else {
                into = mergedCounts.count / seriesCount
                merged[target] = into
                mergedCounts.append(contentsOf: repeatElement(0, count: seriesCount))
            }
            for s in 0..<seriesCount { mergedCounts[into * seriesCount + s] += counts[slot * seriesCount + s] }
        }
        slots = merged
        counts = mergedCounts
    }

    /// The counts in `bins` equal bins from `start`, each `binWidth` long (a multiple of `width` keeps every
    /// stored bin inside one of them; otherwise a stored bin counts where it starts). Per bin, one count per series.
    public func rebinned(start: Int64, binWidth: Int64, bins: Int) -> [[Int]] {
        var out = [[Int]](repeating: [Int](repeating: 0, count: seriesCount), count: max(bins, 0))
        guard bins > 0, binWidth > 0 else { return out }
        for (bin, slot) in slots {
            let index = Self.floorDivide(bin * width - start, binWidth)
            guard index >= 0 && index < Int64(bins) else { continue }
            for s in 0..<seriesCount { out[Int(index)][s] += counts[slot * seriesCount + s] }
        }
        return out
    }

    /// The total of each series.
    public var seriesTotals: [Int] {
        var totals = [Int](repeating: 0, count: seriesCount)
        for slot in 0..<(counts.count / max(seriesCount, 1)) {
            for s in 0..<seriesCount { totals[s] += counts[slot * seriesCount + s] }
        }
        return totals
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

import PipewatchEvents

/// The report's charts, as inline SVG (no script, no external resource): the timeline of alerts and of activity
/// per source, the alerts of a busy stretch one by one, a volume against its baseline band, new values' first
/// sightings. Colours come from the page's style sheet through classes; every label is escaped.
enum ReportCharts {
    static let width = 1000.0
    static let labelWidth = 170.0
    /// Bars drawn across the width at most.
    static let maxBins = 240

    /// A time span mapped onto the plot area.
    struct TimeAxis {
        var start: Int64
        var end: Int64
        var x0 = labelWidth
        var x1 = width - 10

        func x(_ time: Int64) -> Double {
            x0 + (x1 - x0) * Double(time - start) / Double(max(end - start, 1))
        }

        /// Tick marks at a round interval, labelled by date or time of day.
        func ticks(y: Double, height: Double) -> String {
            let span = end - start
            let steps: [Int64] = [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
                                  43_200_000, 86_400_000, 172_800_000, 604_800_000, 2_592_000_000, 31_536_000_000]
            let step: Int64 = steps.first(where: { span / $0 <= 8 }) ?? 31_536_000_000
            var svg = ""
            var t = (TimeHistogram.floorDivide(start, step) + 1) * step
            while t < end {
                let text = HTMLText.time(t)
                let label = step >= 86_400_000 ? String(text.prefix(10))
                    : (t % 86_400_000 == 0 || span > 86_400_000 ? String(text.dropFirst(5).prefix(11)) : String(text.dropFirst(11).prefix(5)))
                svg += "<line class=\"tick\" x1=\"\(f(x(t)))\" x2=\"\(f(x(t)))\" y1=\"\(f(y - height))\" y2=\"\(f(y + 4))\"/>"
                // A label that would stick out of the chart is left off (its line stays).
                if x(t) + 3.2 * Double(label.count) < width {
                    svg += "<text class=\"axis\" x=\"\(f(x(t)))\" y=\"\(f(y + 16))\" text-anchor=\"middle\">\(HTMLText.escape(label))</text>"
                }
                t += step
            }
            return svg
        }
    }

    /// A bin width for `span`: a round one that is a multiple of the histogram's own, `maxBins` bins at most.
    static func binWidth(span: Int64, stored: Int64) -> Int64 {
        let wanted = max(span / Int64(maxBins) + 1, stored)
        let round: [Int64] = [60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000,
                              21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000]
        if let width = round.first(where: { $0 >= wanted && $0 % stored == 0 }) { return width }
        return stored * ((wanted + stored - 1) / stored)
    }

    /// Alerts per bin stacked by severity, and below them one row per source of activity, over `axis`.
    static func timeline(
        axis: TimeAxis, alerts: TimeHistogram, activity: TimeHistogram?, sources: [String], activityLabel: String
    ) -> String {
        let stored = max(alerts.width, activity?.width ?? 0)
        let step = binWidth(span: axis.end - axis.start, stored: stored)
        let first = TimeHistogram.floorDivide(axis.start, step) * step
        let count = Int((axis.end - first) / step) + 1
        let alertBins = alerts.rebinned(start: first, binWidth: step, bins: count)
        let activityBins = activity?.rebinned(start: first, binWidth: step, bins: count) ?? []
        let barHeight = 110.0
        let rowHeight = 34.0
        let rows = activity == nil ? 0 : sources.count
        let height = 30 + barHeight + 14 + Double(rows) * rowHeight + 30
        var svg = "<svg class=\"chart\" id=\"timeline-chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"Timeline of alerts and activity per source\">"
        svg += "<text class=\"label\" x=\"4\" y=\"18\">alerts per \(HTMLText.escape(duration(step)))</text>"
        let peak = max(alertBins.map { $0.reduce(0, +) }.max() ?? 0, 1)
        svg += "<text class=\"axis\" x=\"\(f(labelWidth - 6))\" y=\"34\" text-anchor=\"end\">\(peak)</text>"
        let baseline = 30 + barHeight
        svg += "<line class=\"frame\" x1=\"\(f(labelWidth))\" x2=\"\(f(width - 10))\" y1=\"\(f(baseline))\" y2=\"\(f(baseline))\"/>"
        for (i, bin) in alertBins.enumerated() where bin.reduce(0, +) > 0 {
            let t0 = first + Int64(i) * step
            let x0 = axis.x(max(t0, axis.start)), x1 = axis.x(min(t0 + step, axis.end))
            var y = baseline
            var tip = "\(HTMLText.time(t0)) – \(HTMLText.time(t0 + step)): \(bin.reduce(0, +)) alerts"
            for severity in stride(from: 6, through: 0, by: -1) where bin[severity] > 0 {
                tip += ", \(bin[severity]) \(HTMLText.severityNames[severity].lowercased())"
            }
            svg += "<g class=\"bin\"><title>\(HTMLText.escape(tip))</title>"
            for severity in 0...6 where bin[severity] > 0 {
                let h = barHeight * Double(bin[severity]) / Double(peak)
                y -= h
                svg += "<rect class=\"sev\(severity)\" x=\"\(f(x0))\" y=\"\(f(y))\" width=\"\(f(max(x1 - x0 - 0.5, 1.5)))\" height=\"\(f(h))\"/>"
            }
            svg += "</g>"
        }
        if let activity {
            var y = baseline + 14
            let peakActivity = max(activityBins.flatMap { $0 }.max() ?? 0, 1)
            svg += "<text class=\"label\" x=\"4\" y=\"\(f(y + 2))\">\(HTMLText.escape(activityLabel))</text>"
            y += 8
            for (s, source) in sources.enumerated() where s < activity.seriesCount {
                let rowBase = y + rowHeight - 6
                svg += "<text class=\"label\" x=\"\(f(labelWidth - 6))\" y=\"\(f(rowBase - 4))\" text-anchor=\"end\">\(HTMLText.escape(source, cut: 24))</text>"
                svg += "<line class=\"frame\" x1=\"\(f(labelWidth))\" x2=\"\(f(width - 10))\" y1=\"\(f(rowBase))\" y2=\"\(f(rowBase))\"/>"
                for (i, bin) in activityBins.enumerated() where bin[s] > 0 {
                    let t0 = first + Int64(i) * step
                    let x0 = axis.x(max(t0, axis.start)), x1 = axis.x(min(t0 + step, axis.end))
                    // Square root: a quiet source stays visible next to a loud one.
                    let h = max((rowHeight - 10) * (Double(bin[s]) / Double(peakActivity)).squareRoot(), 1)
                    svg += "<rect class=\"src\(s % 8)\" x=\"\(f(x0))\" y=\"\(f(rowBase - h))\" width=\"\(f(max(x1 - x0 - 0.5, 1.5)))\" height=\"\(f(h))\"><title>\(HTMLText.escape("\(source) \(HTMLText.time(t0)): \(bin[s])"))</title></rect>"
                }
                y += rowHeight
            }
        }
        svg += axis.ticks(y: height - 26, height: height - 56)
        return svg + "</svg>"
    }

    /// The alerts of `[axis.start, axis.end]` one by one: a row per rule, a dot per alert linking to its detail.
    static func swimlane(axis: TimeAxis, alerts: [(alert: ReportedAlert, anchor: String)], maxRows: Int = 40) -> String {
        let labelWidth = 290.0
        var rows: [String] = []
        var titles: [String: String] = [:]
        for (alert, _) in alerts.sorted(by: { $0.alert.time < $1.alert.time }) where titles[alert.ruleID] == nil {
            titles[alert.ruleID] = alert.ruleTitle
            rows.append(alert.ruleID)
        }
        let shown = Array(rows.prefix(maxRows))
        let rowHeight = 18.0
        let height = Double(shown.count) * rowHeight + 40
        var svg = "<svg class=\"chart\" id=\"swimlane-chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"Alerts one by one, a row per rule\">"
        for (r, rule) in shown.enumerated() {
            let y = 10 + Double(r) * rowHeight + rowHeight / 2
            svg += "<text class=\"label\" x=\"\(f(labelWidth - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(HTMLText.escape(titles[rule] ?? rule, cut: 46))<title>\(HTMLText.escape(titles[rule] ?? rule))</title></text>"
            svg += "<line class=\"lane\" x1=\"\(f(labelWidth))\" x2=\"\(f(width - 10))\" y1=\"\(f(y))\" y2=\"\(f(y))\"/>"
        }
        for (alert, anchor) in alerts {
            guard let r = shown.firstIndex(of: alert.ruleID), alert.time >= axis.start, alert.time <= axis.end else { continue }
            let y = 10 + Double(r) * rowHeight + rowHeight / 2
            let tip = "\(HTMLText.time(alert.time)) \(HTMLText.severityNames[alert.severity]): \(alert.ruleTitle)"
                + (alert.entities.first.map { " — \($0.value)" } ?? "")
            svg += "<a href=\"#\(anchor)\"><circle class=\"sev\(alert.severity) dot\" cx=\"\(f(axis.x(alert.time)))\" cy=\"\(f(y))\" r=\"5\"><title>\(HTMLText.escape(tip))</title></circle></a>"
        }
        svg += axis.ticks(y: height - 24, height: height - 34)
        return svg + "</svg>"
    }

    /// One volume series: each judged bucket's value against its baseline band (mean ± threshold × σ).
    static func volume(_ series: InvestigationReport.VolumeSeries, anchors: [String: String]) -> String {
        let points = series.points.sorted { $0.time < $1.time }
        guard let firstPoint = points.first, let lastPoint = points.last else { return "" }
        let pad = max((lastPoint.time - firstPoint.time) / 10, 3_600_000)
        let axis = TimeAxis(start: firstPoint.time - pad, end: lastPoint.time + pad, x0: 60, x1: width - 20)
        let height = 200.0, top = 14.0, bottom = 160.0
        let peak = max(points.map { max($0.value, $0.mean + $0.threshold * $0.sigma) }.max() ?? 1, 1) * 1.1
        func y(_ v: Double) -> Double { bottom - (bottom - top) * max(v, 0) / peak }
        var svg = "<svg class=\"chart volume-chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"Volume against its baseline band\">"
        svg += "<line class=\"frame\" x1=\"60\" x2=\"\(f(width - 20))\" y1=\"\(f(bottom))\" y2=\"\(f(bottom))\"/>"
        for tick in [0, peak / 2, peak] {
            svg += "<text class=\"axis\" x=\"54\" y=\"\(f(y(tick) + 4))\" text-anchor=\"end\">\(HTMLText.escape(HTMLText.number((tick * 10).rounded() / 10)))</text>"
        }
        let band = max(min(16, (axis.x1 - axis.x0) / Double(max(points.count, 1)) * 0.6), 4)
        var line = ""
        for point in points {
            let x = axis.x(point.time)
            let low = point.mean - point.threshold * point.sigma, high = point.mean + point.threshold * point.sigma
            svg += "<rect class=\"band\" x=\"\(f(x - band / 2))\" y=\"\(f(y(high)))\" width=\"\(f(band))\" height=\"\(f(max(y(low) - y(high), 1)))\"><title>\(HTMLText.escape("baseline band: mean \(HTMLText.number(point.mean)) ± \(HTMLText.number(point.threshold)) × σ \(HTMLText.number(point.sigma))"))</title></rect>"
            svg += "<line class=\"mean\" x1=\"\(f(x - band / 2))\" x2=\"\(f(x + band / 2))\" y1=\"\(f(y(point.mean)))\" y2=\"\(f(y(point.mean)))\"/>"
            line += "\(line.isEmpty ? "" : " ")\(f(x)),\(f(y(point.value)))"
        }
        if points.count > 1 { svg += "<polyline class=\"value-line\" points=\"\(line)\"/>" }
        for point in points {
            let x = axis.x(point.time)
            let tip = "\(HTMLText.time(point.time)): value \(HTMLText.number(point.value)), mean \(HTMLText.number(point.mean)), σ \(HTMLText.number(point.sigma))"
            let dot = "<circle class=\"value\" cx=\"\(f(x))\" cy=\"\(f(y(point.value)))\" r=\"5\"><title>\(HTMLText.escape(tip))</title></circle>"
            svg += anchors[point.uid].map { "<a href=\"#\($0)\">\(dot)</a>" } ?? dot
            svg += "<text class=\"label\" x=\"\(f(x + 8))\" y=\"\(f(y(point.value) + 4))\">\(HTMLText.escape(HTMLText.number(point.value)))</text>"
        }
        svg += axis.ticks(y: bottom + 14, height: bottom - top + 14)
        return svg + "</svg>"
    }

    /// One new_value rule: a row per group, a mark where each value was first seen, labelled with the value.
    static func newValues(_ series: InvestigationReport.NewValueSeries, anchors: [String: String], maxRows: Int = 12) -> String {
        let sightings = series.sightings.sorted { $0.time < $1.time }
        guard let first = sightings.first, let last = sightings.last else { return "" }
        var groups: [String] = []
        for sighting in sightings where !groups.contains(sighting.group) && groups.count < maxRows { groups.append(sighting.group) }
        let pad = max((last.time - first.time) / 10, 3_600_000)
        let axis = TimeAxis(start: first.time - pad, end: last.time + pad)
        let rowHeight = 34.0
        let height = Double(groups.count) * rowHeight + 44
        var svg = "<svg class=\"chart newvalue-chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"First sightings of new values\">"
        for (r, group) in groups.enumerated() {
            let y = 16 + Double(r) * rowHeight + rowHeight / 2
            svg += "<text class=\"label\" x=\"\(f(labelWidth - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(HTMLText.escape(group.isEmpty ? "(all)" : group, cut: 26))<title>\(HTMLText.escape(group))</title></text>"
            svg += "<line class=\"lane\" x1=\"\(f(labelWidth))\" x2=\"\(f(width - 10))\" y1=\"\(f(y))\" y2=\"\(f(y))\"/>"
        }
        for (i, sighting) in sightings.enumerated() {
            guard let r = groups.firstIndex(of: sighting.group) else { continue }
            let x = axis.x(sighting.time)
            let y = 16 + Double(r) * rowHeight + rowHeight / 2
            let tip = "\(HTMLText.time(sighting.time)): first sighting of \(sighting.value)"
            let mark = "<path class=\"sighting\" d=\"M\(f(x)) \(f(y - 6))L\(f(x + 6)) \(f(y))L\(f(x)) \(f(y + 6))L\(f(x - 6)) \(f(y))Z\"><title>\(HTMLText.escape(tip))</title></path>"
            svg += anchors[sighting.uid].map { "<a href=\"#\($0)\">\(mark)</a>" } ?? mark
            // Alternate above and below the lane so that neighbours' labels overlap less.
            svg += "<text class=\"label\" x=\"\(f(x + 8))\" y=\"\(f(y + (i % 2 == 0 ? -6 : 14)))\">\(HTMLText.escape(sighting.value, cut: 40))</text>"
        }
        svg += axis.ticks(y: height - 22, height: height - 30)
        return svg + "</svg>"
    }

    static func duration(_ milliseconds: Int64) -> String {
        switch milliseconds {
        case let m where m % 86_400_000 == 0: return m == 86_400_000 ? "day" : "\(m / 86_400_000) days"
        case let m where m % 3_600_000 == 0: return m == 3_600_000 ? "hour" : "\(m / 3_600_000) hours"
        case let m where m % 60_000 == 0: return m == 60_000 ? "minute" : "\(m / 60_000) minutes"
        default: return "\(milliseconds / 1000) s"
        }
    }

    /// A coordinate with one decimal.
    static func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}

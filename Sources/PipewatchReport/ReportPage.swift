import Crypto
import Foundation

/// The investigation report as one self-contained HTML file: inline CSS and SVG, no script and nothing loaded
/// from anywhere, which a Content-Security-Policy in the page itself enforces (so it also holds when the file is
/// opened from disk). Every value from an alert is escaped (`HTMLText`).
extension InvestigationReport {
    /// The page, stating its own size. `generatedAt` is shown as given.
    public func html(generatedAt: String, version: String) -> [UInt8] {
        // The size is written into a fixed-width slot after the page is complete (HTML collapses the padding).
        let slot = "\u{1}SIZE-OF-THIS-FILE\u{1}"
        let page = render(generatedAt: generatedAt, version: version, sizeSlot: slot)
        let size = page.utf8.count
        let text = HTMLText.grouped(size)
        let padded = String(repeating: " ", count: max(slot.utf8.count - text.utf8.count, 0)) + text
        return Array(page.replacingOccurrences(of: slot, with: padded).utf8)
    }

    static let styleSheet = """
        :root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#ffffff;--panel:#f6f8fa}
        *{box-sizing:border-box}
        body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
        header.page{padding:18px 28px;background:#0d1b2a;color:#e6edf3}
        header.page h1{margin:0 0 4px;font-size:22px}
        header.page p{margin:2px 0;color:#b6c2cf}
        nav{padding:8px 28px;background:var(--panel);border-bottom:1px solid var(--line)}
        nav a{margin-right:16px;color:#0b5cad;text-decoration:none}
        main{padding:4px 28px 40px;max-width:1280px}
        section{margin-top:22px}
        h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px}
        h3{font-size:15px;margin:18px 0 6px}
        table{border-collapse:collapse;width:100%;margin:6px 0}
        th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{background:var(--panel);font-weight:600}
        table.kv th{width:150px}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.t{white-space:nowrap}
        code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
        pre{background:var(--panel);border:1px solid var(--line);padding:8px;overflow:auto;max-height:480px;white-space:pre-wrap;word-break:break-all}
        .muted{color:var(--muted)}
        .note{color:var(--muted);font-size:13px}
        .tiles{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0}
        .tile{min-width:120px;padding:8px 12px;border-radius:6px;border:1px solid var(--line);background:var(--panel)}
        .tile b{display:block;font-size:22px}
        .badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
        .badge.sev0,.badge.sev1{background:#6e7781}.badge.sev2{background:#2f6fdb}.badge.sev3{background:#b58100}
        .badge.sev4{background:#d4570b}.badge.sev5{background:#c8102e}.badge.sev6{background:#6d0019}
        .tile.sev5{border-left:5px solid #c8102e}.tile.sev4{border-left:5px solid #d4570b}.tile.sev3{border-left:5px solid #b58100}
        .tile.sev2{border-left:5px solid #2f6fdb}.tile.sev1,.tile.sev0{border-left:5px solid #6e7781}
        svg.chart{width:100%;height:auto;background:#fff;border:1px solid var(--line);border-radius:6px;margin:6px 0}
        svg .sev0,svg .sev1{fill:#8c959f}svg .sev2{fill:#2f6fdb}svg .sev3{fill:#d9a400}svg .sev4{fill:#e8590c}
        svg .sev5{fill:#c8102e}svg .sev6{fill:#6d0019}
        svg .src0{fill:#0969da}svg .src1{fill:#1a7f37}svg .src2{fill:#8250df}svg .src3{fill:#bf3989}
        svg .src4{fill:#9a6700}svg .src5{fill:#0a7b83}svg .src6{fill:#57606a}svg .src7{fill:#cf222e}
        svg .frame{stroke:#8c959f;stroke-width:1}svg .tick{stroke:#d1d9e0;stroke-width:1}svg .lane{stroke:#eaeef2;stroke-width:1}
        svg text{font:11px system-ui,sans-serif;fill:#1f2328}svg text.axis{fill:#59636e}
        svg .dot{stroke:#fff;stroke-width:1}
        svg .band{fill:#54aeff;fill-opacity:.25;stroke:#54aeff}svg .mean{stroke:#0969da;stroke-width:2}
        svg .value{fill:#c8102e}svg .value-line{fill:none;stroke:#c8102e;stroke-width:1.5}
        svg .sighting{fill:#8250df}
        article.alert{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:8px 0}
        article.alert:target{outline:3px solid #54aeff}
        article.alert header{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
        article.alert p{margin:4px 0}
        details summary{cursor:pointer;color:#0b5cad}
        details.entity{margin:6px 0;border-left:3px solid var(--line);padding-left:10px}
        ol.alerts{margin:4px 0;padding-left:22px}
        ol.alerts li{margin:2px 0}
        svg.hbar{vertical-align:middle}svg.hbar rect{fill:#d4570b}
        """

    private func render(generatedAt: String, version: String, sizeSlot: String) -> String {
        let styleHash = Data(SHA256.hash(data: Data(Self.styleSheet.utf8))).base64EncodedString()
        let anchors = Dictionary(detailed.enumerated().map { ($0.element.uid, "a\($0.offset)") }, uniquingKeysWith: { first, _ in first })
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-\(styleHash)'; img-src 'none'; font-src 'none'; connect-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'">
            <meta name="referrer" content="no-referrer">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Pipewatch investigation report: \(HTMLText.grouped(alertCount)) alerts</title>
            <style>\(Self.styleSheet)</style>
            </head>
            <body>
            <header class="page"><h1>Investigation report</h1>
            <p>\(HTMLText.grouped(alertCount)) alerts · generated \(HTMLText.escape(generatedAt)) by Pipewatch \(HTMLText.escape(version)) · all times UTC</p>
            <p id="file-size">This file: \(sizeSlot) bytes, self-contained (it loads nothing); a report is never larger than \(HTMLText.bytes(limits.maxPageBytes)), whatever the run.</p>
            </header>
            <nav><a href="#scope">Scope</a><a href="#timeline">Timeline</a><a href="#alerts-summary">Alerts</a><a href="#hours">Hours</a><a href="#entities">Entities</a><a href="#detectors">Detectors</a><a href="#alert-details">Alerts in detail</a></nav>
            <main>

            """
        // The listing sections get a share of the size limit each; the alerts in detail get what is left.
        let limit = limits.maxPageBytes
        page += scopeSection()
        page += timelineSection(anchors: anchors)
        page += summarySection(budget: limit / 16)
        page += hoursSection()
        page += entitySections(anchors: anchors, budget: limit / 5)
        page += detectorSection(anchors: anchors, budget: limit / 10)
        let end = "</main>\n</body>\n</html>\n"
        page += detailSection(budget: limit - page.utf8.count - end.utf8.count - sizeSlot.utf8.count)
        return page + end
    }

    private func scopeSection() -> String {
        var s = "<section id=\"scope\"><h2>Scope</h2><table class=\"kv\">"
        s += "<tr><th>Command</th><td><code>\(HTMLText.escape(scope.command, cut: 2000))</code></td></tr>"
        let inputs = scope.inputs.prefix(50).map { "<li><code>\(HTMLText.escape($0, cut: 400))</code></li>" }.joined()
        s += "<tr><th>Inputs</th><td><ul>\(inputs)</ul>"
            + (scope.inputs.count > 50 ? "<span class=\"note\">and \(scope.inputs.count - 50) more</span>" : "") + "</td></tr>"
        var range = ""
        if let activity = scope.activity, let earliest = activity.earliest, let latest = activity.latest {
            range += "events \(HTMLText.time(earliest)) to \(HTMLText.time(latest)); "
        }
        if let earliest = timeline.earliest, let latest = timeline.latest {
            range += "alerts \(HTMLText.time(earliest)) to \(HTMLText.time(latest))"
        } else {
            range += "no alerts"
        }
        s += "<tr><th>Time range</th><td>\(range)</td></tr>"
        if scope.eventsBySource.isEmpty {
            let totals = alertsBySource.seriesTotals
            let list = alertSources.enumerated().map { "\(HTMLText.escape($0.element)): \(HTMLText.grouped(totals[$0.offset])) alerts" }
            s += "<tr><th>Sources</th><td>\(list.isEmpty ? "none" : list.joined(separator: "; "))"
                + " <span class=\"note\">(from the alerts: an alerts file does not say which events raised none)</span></td></tr>"
        } else {
            let list = scope.eventsBySource.map { "\(HTMLText.escape($0.source)): \(HTMLText.grouped($0.events)) events" }
            s += "<tr><th>Sources</th><td>\(list.joined(separator: "; "))</td></tr>"
        }
        if let ruleCount = scope.ruleCount {
            s += "<tr><th>Rules</th><td>\(HTMLText.grouped(ruleCount)) loaded; \(rules.count + (otherRules > 0 ? 1 : 0) == 0 ? "none" : HTMLText.grouped(rules.count)) alerted</td></tr>"
        } else {
            s += "<tr><th>Rules</th><td>\(HTMLText.grouped(rules.count)) alerted <span class=\"note\">(the rule set itself is not in an alerts file)</span></td></tr>"
        }
        if let records = scope.records {
            var text = "\(HTMLText.grouped(records)) read"
            if let bad = scope.badRecords { text += ", \(HTMLText.grouped(bad)) dead-lettered" }
            if let late = scope.lateRecords { text += ", \(HTMLText.grouped(late)) late" }
            s += "<tr><th>Records</th><td>\(text)</td></tr>"
        }
        if scope.unreadableLines > 0 {
            s += "<tr><th>Unreadable</th><td>\(HTMLText.grouped(scope.unreadableLines)) lines of the input were not OCSF Detection Findings (listed on stderr) and are not in this report</td></tr>"
        }
        s += "<tr><th>Alerts</th><td>\(HTMLText.grouped(alertCount))"
            + (isComplete ? ", all shown in detail" : ", the first \(HTMLText.grouped(detailed.count)) shown in detail and every one counted") + "</td></tr>"
        return s + "</table></section>\n"
    }

    private func summarySection(budget: Int) -> String {
        var s = "<section id=\"alerts-summary\"><h2>Alerts by severity and rule</h2><div class=\"tiles\" id=\"severity-tiles\">"
        for severity in stride(from: 6, through: 0, by: -1) where bySeverity[severity] > 0 || (1...5).contains(severity) {
            s += "<div class=\"tile sev\(severity)\"><b>\(HTMLText.grouped(bySeverity[severity]))</b>\(HTMLText.severityNames[severity])</div>"
        }
        s += "</div><table id=\"rules-table\"><tr><th>Rule</th><th>Severity</th><th class=\"n\">Alerts</th><th>First</th><th>Last</th><th>ATT&amp;CK</th><th>Sources</th></tr>"
        let ordered = ruleOrder.sorted { (rules[$0]!.count, rules[$1]!.first) > (rules[$1]!.count, rules[$0]!.first) }
        var listed = 0
        for id in ordered.prefix(500) where s.utf8.count < budget - 2_000 {
            listed += 1
            let rule = rules[id]!
            s += "<tr><td>\(HTMLText.escape(rule.title, cut: ReportLimits.maxTextLength))<br><code class=\"muted\">\(HTMLText.escape(id, cut: 100))</code></td>"
            s += "<td><span class=\"badge sev\(rule.severity)\">\(HTMLText.severityNames[rule.severity])</span></td><td class=\"n\">\(HTMLText.grouped(rule.count))</td>"
            s += "<td class=\"t\">\(HTMLText.time(rule.first))</td><td class=\"t\">\(HTMLText.time(rule.last))</td>"
            s += "<td>\(rule.attacks.prefix(8).map { HTMLText.escape($0, cut: 80) }.joined(separator: "<br>"))</td>"
            s += "<td>\(rule.sources.sorted().map { HTMLText.escape($0, cut: 40) }.joined(separator: ", "))</td></tr>"
        }
        s += "</table>"
        if ordered.count > listed { s += "<p class=\"note\">\(ordered.count - listed) rules with fewer alerts are not listed.</p>" }
        if otherRules > 0 { s += "<p class=\"note\">\(HTMLText.grouped(otherRules)) alerts of rules beyond the first \(limits.rules) are counted in the totals only.</p>" }
        return s + "</section>\n"
    }

    private func timelineSection(anchors: [String: String]) -> String {
        var s = "<section id=\"timeline\"><h2>Timeline</h2>"
        let activity = scope.activity ?? alertsBySource
        let sources = scope.activity == nil ? alertSources + (alertsBySource.seriesTotals.last ?? 0 > 0 ? ["other"] : []) : scope.activitySources
        let starts = [timeline.earliest, activity.earliest].compactMap { $0 }
        let ends = [timeline.latest, activity.latest].compactMap { $0 }
        guard let start = starts.min(), let end = ends.max() else {
            return s + "<p>Nothing to draw: no events and no alerts.</p></section>\n"
        }
        let pad = max((end - start) / 50, 60_000)
        let axis = ReportCharts.TimeAxis(start: start - pad, end: end + pad)
        let label = scope.activity == nil ? "alerts per source" : "events per source"
        s += ReportCharts.timeline(axis: axis, alerts: timeline, activity: activity, sources: sources, activityLabel: label)
        if scope.activity == nil {
            s += "<p class=\"note\" id=\"activity-note\">Activity per source is drawn from the alerts only: an alerts file holds no count of the events that raised none. <code>pipewatch replay … --report</code> draws every event read.</p>"
        } else {
            s += "<p class=\"note\" id=\"activity-note\">Activity per source: every event read, by its own time (bar height by square root, so that a quiet source stays visible).</p>"
        }
        // The alerts one by one, over the shortest stretch that holds four in five of them when that is a small part
        // of the run (an attack of an hour in a week of logs), else over all of them.
        let times = detailed.map(\.time).filter { $0 != 0 }.sorted()
        if let first = times.first, let last = times.last {
            var lo = first, hi = last
            let k = max(Int((Double(times.count) * 0.8).rounded(.up)), 1)
            if times.count >= 5 {
                var best = Int64.max
                for i in 0...(times.count - k) where times[i + k - 1] - times[i] < best {
                    best = times[i + k - 1] - times[i]
                    (lo, hi) = (times[i], times[i + k - 1])
                }
                if hi - lo > (last - first) / 4 { (lo, hi) = (first, last) }
            }
            // A margin, and whole minutes at both ends.
            let margin = max((hi - lo) / 20, 60_000)
            let zoom = ReportCharts.TimeAxis(
                start: TimeHistogram.floorDivide(lo - margin, 60_000) * 60_000,
                end: (TimeHistogram.floorDivide(hi + margin, 60_000) + 1) * 60_000, x0: 290)
            let inside = detailed.enumerated().filter { $0.element.time >= zoom.start && $0.element.time <= zoom.end }
            s += "<h3>Alerts one by one, \(HTMLText.time(zoom.start)) to \(HTMLText.time(zoom.end))</h3>"
            s += "<p class=\"note\">\(inside.count) of the \(HTMLText.grouped(detailed.count)) alerts shown in detail"
                + ((lo, hi) == (first, last) ? "" : " (the busiest stretch: the shortest that holds four in five of them)")
                + "; each dot links to its alert.</p>"
            s += ReportCharts.swimlane(axis: zoom, alerts: inside.map { ($0.element, anchors[$0.element.uid] ?? "a\($0.offset)") })
        }
        return s + "</section>\n"
    }

    private func hoursSection() -> String {
        var s = "<section id=\"hours\"><h2>Alerts per hour</h2>"
        var shown = hours.keys.sorted()
        if shown.count > limits.hourRows {
            let busiest = Set(hours.sorted { $0.value.reduce(0, +) > $1.value.reduce(0, +) }.prefix(limits.hourRows).map(\.key))
            shown = shown.filter(busiest.contains)
            s += "<p class=\"note\">The \(limits.hourRows) busiest of \(HTMLText.grouped(hours.count)) hours with alerts, in order.</p>"
        }
        let peak = max(shown.map { hours[$0]!.reduce(0, +) }.max() ?? 1, 1)
        s += "<table><tr><th>Hour</th><th class=\"n\">Alerts</th><th></th><th>By severity</th></tr>"
        for hour in shown {
            let counts = hours[hour]!
            let total = counts.reduce(0, +)
            let parts = stride(from: 6, through: 0, by: -1).filter { counts[$0] > 0 }.map { "\(counts[$0]) \(HTMLText.severityNames[$0].lowercased())" }
            s += "<tr><td class=\"t\">\(String(HTMLText.time(hour * 3_600_000).prefix(13))):00Z</td><td class=\"n\">\(HTMLText.grouped(total))</td>"
            s += "<td><svg class=\"hbar\" width=\"200\" height=\"10\"><rect width=\"\(max(total * 200 / peak, 1))\" height=\"10\"/></svg></td><td>\(parts.joined(separator: ", "))</td></tr>"
        }
        s += "</table>"
        if otherHours > 0 { s += "<p class=\"note\">\(HTMLText.grouped(otherHours)) alerts fall in hours beyond the first \(limits.hours) tracked.</p>" }
        return s + "</section>\n"
    }

    private func entitySections(anchors: [String: String], budget: Int) -> String {
        var s = "<section id=\"entities\"><h2>Entities</h2>"
        for kind in EntityKind.allCases {
            let table = entities[kind.rawValue]
            guard !table.isEmpty else { continue }
            let ordered = table.sorted { ($0.value.count, $1.value.first, $1.key) > ($1.value.count, $0.value.first, $0.key) }
            s += "<h3 id=\"entities-\(kind.singular)\">\(kind.title) (\(HTMLText.grouped(table.count))\(otherEntities[kind.rawValue] > 0 ? "+" : ""))</h3>"
            s += "<table><tr><th>\(kind.singular.capitalized)</th><th class=\"n\">Alerts</th><th>Highest</th><th>First</th><th>Last</th><th>Rules</th></tr>"
            let sections = ordered.prefix(limits.entitySections)
            for (value, tally) in sections {
                let highest = (0...6).last { tally.bySeverity[$0] > 0 } ?? 0
                let topRules = tally.rules.sorted { $0.value > $1.value }.prefix(3).map {
                    HTMLText.escape(rules[$0.key]?.title ?? $0.key, cut: 60) + " (\($0.value))"
                }
                s += "<tr><td><code>\(HTMLText.escape(value, cut: ReportLimits.maxTextLength))</code></td><td class=\"n\">\(HTMLText.grouped(tally.count))</td>"
                s += "<td><span class=\"badge sev\(highest)\">\(HTMLText.severityNames[highest])</span></td><td class=\"t\">\(HTMLText.time(tally.first))</td><td class=\"t\">\(HTMLText.time(tally.last))</td>"
                s += "<td>\(topRules.joined(separator: "<br>"))</td></tr>"
            }
            s += "</table>"
            if ordered.count > limits.entitySections {
                s += "<p class=\"note\">\(HTMLText.grouped(ordered.count - limits.entitySections)) more with fewer alerts are not listed.</p>"
            }
            if otherEntities[kind.rawValue] > 0 {
                s += "<p class=\"note\">\(HTMLText.grouped(otherEntities[kind.rawValue])) alerts name a \(kind.singular) beyond the first \(HTMLText.grouped(limits.entitiesPerKind)) tracked.</p>"
            }
            for (n, (value, tally)) in sections.enumerated() {
                guard s.utf8.count < budget - 4_000 else {
                    s += "<p class=\"note\">The alerts of \(sections.count - n) more \(kind.title.lowercased()) are not listed: the page keeps to its size limit.</p>"
                    break
                }
                let open = kind == .principal && n < 3 ? " open" : ""
                s += "<details class=\"entity\" id=\"entity-\(kind.singular)-\(n)\"\(open)><summary>\(kind.singular) <code>\(HTMLText.escape(value, cut: ReportLimits.maxTextLength))</code>: \(HTMLText.grouped(tally.count)) alerts, \(HTMLText.time(tally.first)) to \(HTMLText.time(tally.last))</summary><ol class=\"alerts\">"
                let list = tally.alerts.sorted { (detailed[$0].time, $0) < (detailed[$1].time, $1) }
                var shown = 0
                for index in list.prefix(limits.alertsPerEntity) where s.utf8.count < budget - 4_000 {
                    shown += 1
                    let alert = detailed[index]
                    s += "<li><time>\(HTMLText.time(alert.time))</time> <span class=\"badge sev\(alert.severity)\">\(HTMLText.severityNames[alert.severity])</span> "
                    s += "<a href=\"#\(anchors[alert.uid] ?? "a\(index)")\">\(HTMLText.escape(alert.ruleTitle, cut: 120))</a>"
                    if let operation = alert.operation { s += " <code>\(HTMLText.escape(operation, cut: 100))</code>" }
                    s += "</li>"
                }
                s += "</ol>"
                let more = tally.count - shown
                if more > 0 { s += "<p class=\"note\">\(HTMLText.grouped(more)) more alerts (beyond those shown in detail) are counted above.</p>" }
                s += "</details>"
            }
        }
        if entities.allSatisfy(\.isEmpty) { s += "<p>No alert names a principal, person, address, model or artifact.</p>" }
        return s + "</section>\n"
    }

    private func detectorSection(anchors: [String: String], budget: Int) -> String {
        var s = "<section id=\"detectors\"><h2>Detectors</h2>"
        if volumeOrder.isEmpty && newValueOrder.isEmpty {
            s += "<p>No volume or new-value detector alerted.</p>"
        }
        for key in volumeOrder where s.utf8.count < budget - 200_000 {
            let series = volumeCharts[key]!
            s += "<h3>\(HTMLText.escape(series.title, cut: ReportLimits.maxTextLength))\(series.group.isEmpty ? "" : " — <code>\(HTMLText.escape(series.group, cut: 200))</code>")</h3>"
            if let last = series.points.max(by: { $0.time < $1.time }) {
                s += "<p class=\"note\">Volume per bucket (dots) against the baseline band, mean ± \(HTMLText.number(last.threshold)) σ, from each alert's evidence. Latest: \(HTMLText.number(last.value)) against a mean of \(HTMLText.number(last.mean)) (σ \(HTMLText.number(last.sigma))).</p>"
            }
            s += ReportCharts.volume(series, anchors: anchors)
            if series.leftOut > 0 { s += "<p class=\"note\">\(series.leftOut) more points are not drawn.</p>" }
        }
        for key in newValueOrder where s.utf8.count < budget - 200_000 {
            let series = newValueCharts[key]!
            s += "<h3>\(HTMLText.escape(series.title, cut: ReportLimits.maxTextLength))</h3>"
            s += "<p class=\"note\">First sightings of a new \(HTMLText.escape(series.fields.joined(separator: ", "), cut: 200)) per group.</p>"
            s += ReportCharts.newValues(series, anchors: anchors)
            s += "<table><tr><th>First seen</th><th>Group</th><th>New value</th></tr>"
            for sighting in series.sightings.sorted(by: { $0.time < $1.time }) {
                let value = HTMLText.escape(sighting.value, cut: ReportLimits.maxTextLength)
                s += "<tr><td class=\"t\">\(HTMLText.time(sighting.time))</td><td><code>\(HTMLText.escape(sighting.group, cut: 200))</code></td>"
                s += "<td>" + (anchors[sighting.uid].map { "<a href=\"#\($0)\"><code>\(value)</code></a>" } ?? "<code>\(value)</code>") + "</td></tr>"
            }
            s += "</table>"
            if series.leftOut > 0 { s += "<p class=\"note\">\(series.leftOut) more sightings are not listed.</p>" }
        }
        return s + "</section>\n"
    }

    private func detailSection(budget: Int) -> String {
        var s = "<section id=\"alert-details\"><h2>Alerts in detail</h2>"
        if !isComplete {
            s += "<p class=\"note\" id=\"aggregation-note\">The first \(HTMLText.grouped(detailed.count)) of \(HTMLText.grouped(alertCount)) alerts are shown one by one; every alert is counted in the tables and charts above.</p>"
        }
        if evidenceLeftOut > 0 {
            s += "<p class=\"note\">The evidence of \(HTMLText.grouped(evidenceLeftOut)) alerts is cut or left out: the report keeps at most \(HTMLText.bytes(limits.evidenceBytesInAll)) of evidence.</p>"
        }
        let order = detailed.indices.sorted { (detailed[$0].time, $0) < (detailed[$1].time, $1) }
        for (n, index) in order.enumerated() {
            let alert = detailed[index]
            var article = ""
            article += "<article class=\"alert\" id=\"a\(index)\" data-uid=\"\(HTMLText.escape(alert.uid, cut: 100))\"><header>"
            article += "<span class=\"badge sev\(alert.severity)\">\(HTMLText.severityNames[alert.severity])</span> <time>\(HTMLText.time(alert.time))</time> "
            article += "<b>\(HTMLText.escape(alert.ruleTitle, cut: ReportLimits.maxTextLength))</b></header><p class=\"muted\">"
            var facts = ["source \(HTMLText.escape(alert.source, cut: 40))"]
            if let operation = alert.operation { facts.append("operation <code>\(HTMLText.escape(operation, cut: 200))</code>") }
            if let outcome = alert.outcome { facts.append(HTMLText.escape(outcome, cut: 40)) }
            for (kind, value) in alert.entities { facts.append("\(kind.singular) <code>\(HTMLText.escape(value, cut: ReportLimits.maxTextLength))</code>") }
            if let record = alert.recordID { facts.append("record <code>\(HTMLText.escape(record, cut: 200))</code>") }
            facts.append("alert <code>\(HTMLText.escape(alert.uid, cut: 100))</code>")
            article += facts.joined(separator: " · ") + "</p>"
            if !alert.attacks.isEmpty { article += "<p>ATT&amp;CK: \(alert.attacks.prefix(8).map { HTMLText.escape($0, cut: 80) }.joined(separator: "; "))</p>" }
            if let evidence = alert.evidence {
                article += "<details><summary>Evidence\(alert.detector != nil ? " (detector and triggering event)" : " (normalized event and raw record)")</summary><pre>\(evidence)</pre>"
                if alert.evidenceTruncated { article += "<p class=\"note\">Cut at \(HTMLText.bytes(alert.evidence?.utf8.count ?? 0)): the alert itself holds the rest.</p>" }
                article += "</details>"
            }
            article += "</article>\n"
            // Room is kept for the note that says the list stops.
            guard s.utf8.count + article.utf8.count < budget - 1_000 else {
                s += "<p class=\"note\" id=\"size-limit-note\">\(HTMLText.grouped(order.count - n)) more alerts are not listed: the page keeps to its size limit of \(HTMLText.bytes(limits.maxPageBytes)).</p>"
                break
            }
            s += article
        }
        if detailed.isEmpty { s += "<p>No alerts.</p>" }
        return s + "</section>\n"
    }
}

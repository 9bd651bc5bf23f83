/// Loading of correlation documents (Sigma), detector documents (Pipewatch) and `tuning` blocks.
extension RuleLoader {
    /// A correlation or detector read but not yet resolved against the rules (they may come later in the files).
    struct PendingCorrelation {
        var rule: CorrelationRule
        var rulesLine: Int
    }

    struct PendingDetector {
        var rule: DetectorRule
        var rulesLine: Int
    }

    // MARK: Shared pieces

    mutating func checkMetadata(_ document: YAMLNode, _ file: String, kind: String) -> Bool {
        let before = problems.count
        if let title = document["title"] {
            if title.text == nil { problem(file, title.line, "title must be a string") }
        } else {
            problem(file, document.line, "the \(kind) has no title")
        }
        checkScalar(document, "id", file)
        checkScalar(document, "name", file)
        checkScalar(document, "description", file)
        checkScalar(document, "author", file)
        for key in ["references", "tags", "falsepositives"] { checkList(document, key, file) }
        if let level = document["level"], level.text.flatMap(RuleLevel.init(rawValue:)) == nil {
            problem(file, level.line, "level '\(level.text ?? "")' is not one of \(RuleLevel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let status = document["status"], status.text.flatMap(RuleStatus.init(rawValue:)) == nil {
            problem(file, status.line, "status '\(status.text ?? "")' is not one of \(RuleStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let id = document["id"]?.text, let first = ids[id] {
            problem(file, document["id"]!.line, "rule id \(id) is already used by \(first.file):\(first.line)")
        }
        return problems.count == before
    }

    mutating func readStrings(_ node: YAMLNode, _ file: String, _ what: String) -> [String]? {
        if let text = node.text { return [text] }
        guard let items = node.sequence else {
            problem(file, node.line, "\(what) must be a list of strings, not \(node.kindName)")
            return nil
        }
        var strings: [String] = []
        for item in items {
            guard let text = item.text else {
                problem(file, item.line, "\(what) must be a list of strings; this item is \(item.kindName)")
                return nil
            }
            strings.append(text)
        }
        return strings
    }

    mutating func readDuration(_ node: YAMLNode, _ file: String, _ what: String, positive: Bool = true) -> Int64? {
        guard let text = node.text, let milliseconds = DurationText.milliseconds(text), !positive || milliseconds > 0 else {
            problem(file, node.line, "\(what) '\(node.text ?? node.kindName)' is not a duration (a number and s, m, h, d or w: 90m, 1h, 7d)")
            return nil
        }
        return milliseconds
    }

    mutating func readNumber(_ node: YAMLNode, _ file: String, _ what: String) -> Double? {
        guard let text = node.text, let value = Double(text), value.isFinite else {
            problem(file, node.line, "\(what) must be a number, not '\(node.text ?? node.kindName)'")
            return nil
        }
        return value
    }

    /// One of an enumeration's cases by its name; the problem lists them all.
    mutating func readChoice<Choice: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ file: String, _ what: String) -> Choice?
    where Choice.RawValue == String {
        if let choice = node.text.flatMap(Choice.init(rawValue:)) { return choice }
        let names = Choice.allCases.map(\.rawValue)
        problem(file, node.line, "\(what) must be \(names.dropLast().joined(separator: ", ")) or \(names.last!)")
        return nil
    }

    mutating func readInteger(_ node: YAMLNode, _ file: String, _ what: String, minimum: Int = 1) -> Int? {
        guard let text = node.text, let value = Int(text), value >= minimum else {
            problem(file, node.line, "\(what) must be a whole number of at least \(minimum), not '\(node.text ?? node.kindName)'")
            return nil
        }
        return value
    }

    mutating func readBool(_ node: YAMLNode, _ file: String, _ what: String) -> Bool? {
        guard let value = node.bool else {
            problem(file, node.line, "\(what) must be true or false, not '\(node.text ?? node.kindName)'")
            return nil
        }
        return value
    }

    /// A condition map: gt/gte/lt/lte/eq/neq (and `field`, returned apart, when allowed).
    mutating func readCondition(_ node: YAMLNode, _ file: String, allowField: Bool) -> (ThresholdCondition, [String]?)? {
        guard let pairs = node.mapping else {
            problem(file, node.line, "condition must be a map such as {gte: 10}, not \(node.kindName)")
            return nil
        }
        var condition = ThresholdCondition()
        var fields: [String]?
        var ok = true
        for (key, value) in pairs {
            let name = key.text ?? ""
            if name == "field" && allowField {
                fields = readStrings(value, file, "condition.field")
                if fields == nil || fields!.isEmpty { ok = false }
                continue
            }
            guard ThresholdCondition.operators.contains(name) else {
                problem(file, key.line, "unknown condition '\(name)' (expected \((ThresholdCondition.operators + (allowField ? ["field"] : [])).joined(separator: ", ")))")
                ok = false
                continue
            }
            guard let number = readNumber(value, file, "condition \(name)") else {
                ok = false
                continue
            }
            switch name {
            case "gt": condition.gt = number
            case "gte": condition.gte = number
            case "lt": condition.lt = number
            case "lte": condition.lte = number
            case "eq": condition.eq = number
            default: condition.neq = number
            }
        }
        guard ok else { return nil }
        if condition.isEmpty {
            problem(file, node.line, "condition has no comparison (gt, gte, lt, lte, eq or neq)")
            return nil
        }
        return (condition, fields)
    }

    /// The `tuning` block.
    mutating func readTuning(_ node: YAMLNode?, _ file: String, allowSignalCondition: Bool, allowGroupBy: Bool) -> Tuning? {
        var tuning = Tuning()
        guard let node else { return tuning }
        guard let pairs = node.mapping else {
            problem(file, node.line, "tuning must be a map (observe, learning, persist, window, suppress\(allowGroupBy ? ", group-by" : "")\(allowSignalCondition ? ", signal_condition" : ""))")
            return nil
        }
        let before = problems.count
        for (key, value) in pairs {
            let name = key.text ?? ""
            switch name {
            case "observe":
                tuning.observe = readBool(value, file, "tuning.observe") ?? false
            case "learning":
                tuning.learning = readDuration(value, file, "tuning.learning", positive: false)
            case "window":
                tuning.window = readDuration(value, file, "tuning.window")
            case "suppress":
                tuning.suppress = readDuration(value, file, "tuning.suppress")
            case "persist":
                if let text = value.text, let count = Int(text), count >= 1 {
                    tuning.persist = count
                    tuning.persistOf = count
                } else if let text = value.text, case let parts = text.split(separator: " "), parts.count == 3, parts[1] == "of",
                    let m = Int(parts[0]), let n = Int(parts[2]), m >= 1, n >= m, n <= 64
                {
                    tuning.persist = m
                    tuning.persistOf = n
                } else {
                    problem(file, value.line, "tuning.persist must be a number of consecutive windows (3) or 'M of N' (2 of 3, N at most 64), not '\(value.text ?? value.kindName)'")
                }
                if tuning.persistOf > 64 {
                    problem(file, value.line, "tuning.persist counts at most 64 windows")
                }
            case "group-by" where allowGroupBy:
                tuning.groupBy = readStrings(value, file, "tuning.group-by") ?? []
            case "signal_condition" where allowSignalCondition:
                tuning.signalCondition = readCondition(value, file, allowField: false)?.0
            default:
                var known = ["observe", "learning", "persist", "window", "suppress"]
                if allowGroupBy { known.append("group-by") }
                if allowSignalCondition { known.append("signal_condition") }
                problem(file, key.line, "unknown key '\(name)' in tuning (expected \(known.joined(separator: ", ")))")
            }
        }
        return problems.count == before ? tuning : nil
    }

    // MARK: Correlations

    mutating func loadCorrelation(_ document: YAMLNode, file: String) {
        let before = problems.count
        _ = checkMetadata(document, file, kind: "correlation")
        let section = document["correlation"]!
        guard let pairs = section.mapping else {
            problem(file, section.line, "correlation must be a map (type, rules, group-by, timespan, condition, aliases)")
            return
        }
        var type: CorrelationType?
        var ruleNames: [String] = []
        var rulesLine = section.line
        var groupBy: [String] = []
        var groupByLine = section.line
        var timespan: Int64?
        var condition: ThresholdCondition?
        var fields: [String] = []
        var aliases: [String: [String: String]] = [:]
        var generate = document["generate"].flatMap { readBool($0, file, "generate") } ?? false
        for (key, value) in pairs {
            let name = key.text ?? ""
            switch name {
            case "type":
                type = value.text.flatMap(CorrelationType.init(rawValue:))
                if type == nil {
                    problem(file, value.line, "correlation type '\(value.text ?? value.kindName)' is not one of \(CorrelationType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            case "rules":
                rulesLine = value.line
                ruleNames = readStrings(value, file, "correlation rules") ?? []
                if ruleNames.isEmpty && value.sequence?.isEmpty == true {
                    problem(file, value.line, "correlation rules is an empty list")
                }
                if Set(ruleNames).count != ruleNames.count {
                    problem(file, value.line, "correlation rules names a rule twice")
                }
            case "group-by":
                groupBy = readStrings(value, file, "group-by") ?? []
                groupByLine = value.line
            case "timespan":
                timespan = readDuration(value, file, "timespan")
            case "condition":
                if let (read, readFields) = readCondition(value, file, allowField: true) {
                    condition = read
                    fields = readFields ?? []
                }
            case "aliases":
                guard let aliasPairs = value.mapping else {
                    problem(file, value.line, "aliases must be a map of alias → {rule name: field}")
                    continue
                }
                for (aliasKey, aliasValue) in aliasPairs {
                    guard let alias = aliasKey.text, let targets = aliasValue.mapping else {
                        problem(file, aliasValue.line, "alias '\(aliasKey.text ?? "")' must map rule names to field names")
                        continue
                    }
                    var mapping: [String: String] = [:]
                    for (ruleKey, fieldValue) in targets {
                        guard let rule = ruleKey.text, let field = fieldValue.text else {
                            problem(file, fieldValue.line, "alias '\(alias)' must map rule names to field names")
                            continue
                        }
                        mapping[rule] = field
                    }
                    aliases[alias] = mapping
                }
            case "generate":
                generate = readBool(value, file, "generate") ?? false
            default:
                problem(file, key.line, "unknown key '\(name)' in correlation (expected type, rules, group-by, timespan, condition, aliases, generate)")
            }
        }
        if section["type"] == nil { problem(file, section.line, "the correlation has no type") }
        if section["rules"] == nil { problem(file, section.line, "the correlation names no rules") }
        if section["timespan"] == nil { problem(file, section.line, "the correlation has no timespan") }
        if let type {
            switch type {
            case .eventCount, .valueCount, .valueSum, .valueAvg, .valuePercentile:
                if section["condition"] == nil { problem(file, section.line, "a \(type.rawValue) correlation needs a condition") }
            case .temporal, .temporalOrdered:
                break
            }
            if type.needsField && condition != nil && fields.isEmpty {
                problem(file, section["condition"]!.line, "a \(type.rawValue) correlation needs condition.field")
            }
            if !type.needsField && !fields.isEmpty {
                problem(file, section["condition"]!.line, "condition.field is only for value_count, value_sum, value_avg and value_percentile")
            }
            if type == .temporalOrdered && condition != nil {
                problem(file, section["condition"]!.line, "a temporal_ordered correlation takes no condition: every rule must match, in order")
            }
            if type == .valuePercentile, let condition, [condition.gt, condition.gte, condition.lt, condition.lte, condition.eq, condition.neq]
                .contains(where: { ($0 ?? 50) < 0 || ($0 ?? 50) > 100 })
            {
                problem(file, section["condition"]!.line, "a value_percentile condition is a percentage, from 0 to 100")
            }
        }
        // `field|prefix` (Pipewatch extension): a later step joins the first step's value or any path under it.
        var prefixGroup: Int?
        for (k, entry) in groupBy.enumerated() where entry.contains("|") {
            let parts = entry.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[1] == "prefix", !parts[0].isEmpty else {
                problem(file, groupByLine, "group-by '\(entry)': the only group-by modifier is |prefix")
                continue
            }
            if type != .temporalOrdered {
                problem(file, groupByLine, "group-by '\(entry)': |prefix is for temporal_ordered correlations (the first rule names the prefix)")
            } else if prefixGroup != nil {
                problem(file, groupByLine, "group-by '\(entry)': only one group-by field can be a prefix")
            }
            prefixGroup = k
            groupBy[k] = String(parts[0])
        }
        for alias in aliases.keys.sorted() where !groupBy.contains(alias) && !fields.contains(alias) {
            warnings.append(RuleProblem(file: file, line: section["aliases"]!.line, reason: "alias '\(alias)' is used by neither group-by nor condition.field"))
        }
        let tuning = readTuning(document["tuning"], file, allowSignalCondition: true, allowGroupBy: false)
        var evidenceFromFirstStep = false
        if let evidence = document["evidence"] {
            if evidence.text == "first" || evidence.text == "last" {
                evidenceFromFirstStep = evidence.text == "first"
                if type != .temporalOrdered && evidenceFromFirstStep {
                    problem(file, evidence.line, "evidence: first is for temporal_ordered correlations")
                }
            } else {
                problem(file, evidence.line, "evidence must be first or last, not '\(evidence.text ?? evidence.kindName)'")
            }
        }
        guard problems.count == before, let type, let timespan, let tuning else { return }
        var rule = CorrelationRule(
            index: pendingCorrelations.count, info: RuleInfo(document: document, file: file), type: type, ruleNames: ruleNames,
            groupBy: groupBy, timespan: timespan, condition: condition, fields: fields, aliases: aliases, generate: generate,
            tuning: tuning)
        rule.evidenceFromFirstStep = evidenceFromFirstStep
        rule.prefixGroup = prefixGroup
        if let id = rule.info.id { ids[id] = (file, document.line) }
        pendingCorrelations.append(PendingCorrelation(rule: rule, rulesLine: rulesLine))
    }

    // MARK: Detectors

    static let detectorCommonKeys = ["type", "rules", "group-by"]
    static let detectorKeys: [DetectorType: [String]] = [
        .volume: ["bucket", "field", "baseline", "alpha", "threshold", "signal_threshold", "direction", "min_sigma", "min_samples", "utc_offset", "expire"],
        .newValue: ["field", "history", "max_values"],
        .drift: ["field", "bucket", "metric", "alpha", "threshold", "signal_threshold", "max_categories", "min_count", "min_samples", "expire"],
        .outsideHours: ["threshold", "signal_threshold", "tolerance", "profile", "min_events", "utc_offset", "half_life", "expire"],
        .valueChange: ["field", "change", "compare", "history", "expire"],
        .silence: ["after", "expire"],
    ]

    mutating func loadDetector(_ document: YAMLNode, file: String) {
        let before = problems.count
        _ = checkMetadata(document, file, kind: "detector")
        let section = document["detector"]!
        guard let pairs = section.mapping else {
            problem(file, section.line, "detector must be a map (type, rules or the document's own detection, group-by, …)")
            return
        }
        guard let typeNode = section["type"] else {
            problem(file, section.line, "the detector has no type (\(DetectorType.allCases.map(\.rawValue).joined(separator: ", ")))")
            return
        }
        guard let type = typeNode.text.flatMap(DetectorType.init(rawValue:)) else {
            problem(file, typeNode.line, "detector type '\(typeNode.text ?? typeNode.kindName)' is not one of \(DetectorType.allCases.map(\.rawValue).joined(separator: ", "))")
            return
        }
        var parameters = DetectorParameters()
        // Type defaults.
        switch type {
        case .volume:
            parameters.threshold = 2
        case .drift:
            parameters.bucket = 86_400_000
            parameters.minSamples = 3
        case .outsideHours:
            parameters.threshold = 0.01
        case .newValue, .valueChange, .silence:
            break
        }
        var ruleNames: [String] = []
        var rulesLine = section.line
        var groupBy: [String] = []
        var fields: [String] = []
        var signalThreshold: Double?
        var explicitAlpha = false
        var explicitThreshold = false
        var explicitMinSamples = false
        let allowed = RuleLoader.detectorCommonKeys + RuleLoader.detectorKeys[type]!
        for (key, value) in pairs {
            let name = key.text ?? ""
            guard allowed.contains(name) else {
                problem(file, key.line, "unknown key '\(name)' for a \(type.rawValue) detector (expected \(allowed.joined(separator: ", ")))")
                continue
            }
            switch name {
            case "type":
                break
            case "rules":
                rulesLine = value.line
                ruleNames = readStrings(value, file, "detector rules") ?? []
            case "group-by":
                groupBy = readStrings(value, file, "group-by") ?? []
            case "field":
                fields = readStrings(value, file, "detector field") ?? []
            case "bucket":
                parameters.bucket = readDuration(value, file, "bucket") ?? parameters.bucket
            case "baseline":
                parameters.baseline = readChoice(value, file, "baseline") ?? parameters.baseline
            case "alpha":
                if let alpha = readNumber(value, file, "alpha") {
                    if alpha > 0 && alpha <= 1 { parameters.alpha = alpha } else { problem(file, value.line, "alpha must be in (0, 1]") }
                }
                explicitAlpha = true
            case "threshold":
                if let threshold = readNumber(value, file, "threshold") {
                    if threshold >= 0 { parameters.threshold = threshold } else { problem(file, value.line, "threshold must not be negative") }
                }
                explicitThreshold = true
            case "signal_threshold":
                signalThreshold = readNumber(value, file, "signal_threshold")
            case "direction":
                parameters.direction = readChoice(value, file, "direction") ?? parameters.direction
            case "min_sigma":
                if let sigma = readNumber(value, file, "min_sigma") {
                    if sigma >= 0 { parameters.minSigma = sigma } else { problem(file, value.line, "min_sigma must not be negative") }
                }
            case "min_samples":
                parameters.minSamples = readInteger(value, file, "min_samples") ?? parameters.minSamples
                explicitMinSamples = true
            case "history" where type == .valueChange:
                parameters.historyValues = readInteger(value, file, "history (previous distinct values)") ?? parameters.historyValues
                if parameters.historyValues > 1000 { problem(file, value.line, "history is at most 1000 previous values") }
            case "history":
                parameters.history = readDuration(value, file, "history") ?? parameters.history
            case "change":
                parameters.change = readChoice(value, file, "change") ?? parameters.change
            case "compare":
                parameters.comparison = readChoice(value, file, "compare") ?? parameters.comparison
            case "after":
                parameters.after = readDuration(value, file, "after") ?? parameters.after
            case "max_values":
                parameters.maxValues = readInteger(value, file, "max_values") ?? parameters.maxValues
            case "metric":
                parameters.metric = readChoice(value, file, "metric") ?? parameters.metric
            case "max_categories":
                parameters.maxCategories = readInteger(value, file, "max_categories", minimum: 2) ?? parameters.maxCategories
            case "min_count":
                parameters.minCount = readInteger(value, file, "min_count") ?? parameters.minCount
            case "tolerance":
                parameters.tolerance = readInteger(value, file, "tolerance", minimum: 0) ?? parameters.tolerance
                if parameters.tolerance > 12 { problem(file, value.line, "tolerance is at most 12 hours") }
            case "profile":
                parameters.profile = readChoice(value, file, "profile") ?? parameters.profile
            case "min_events":
                parameters.minEvents = readInteger(value, file, "min_events") ?? parameters.minEvents
            case "utc_offset":
                if let minutes = RuleLoader.utcOffsetMinutes(value.text ?? "") {
                    parameters.utcOffsetMinutes = minutes
                } else {
                    problem(file, value.line, "utc_offset must be +HH:MM or -HH:MM, not '\(value.text ?? value.kindName)'")
                }
            case "half_life":
                parameters.halfLife = readDuration(value, file, "half_life") ?? parameters.halfLife
            case "expire":
                parameters.expire = readDuration(value, file, "expire") ?? parameters.expire
            default:
                break
            }
        }
        // Defaults that depend on other settings.
        if type == .volume && parameters.baseline == .seasonal {
            if !explicitAlpha { parameters.alpha = 0.25 }
            if !explicitMinSamples { parameters.minSamples = 2 }
            if parameters.bucket > 3_600_000 || 3_600_000 % parameters.bucket != 0 {
                problem(file, section.line, "a seasonal baseline needs a bucket that divides an hour (1h, 30m, 15m, …)")
            }
        }
        if type == .drift && parameters.metric == .js && !explicitThreshold { parameters.threshold = 0.1 }
        if type == .drift && parameters.metric == .psi && !explicitThreshold { parameters.threshold = 0.25 }
        parameters.signalThreshold = signalThreshold ?? parameters.threshold
        if let signalThreshold {
            if type == .outsideHours && signalThreshold < parameters.threshold {
                problem(file, section["signal_threshold"]!.line, "signal_threshold of an outside_hours detector is a share at least as large as threshold (signals are the looser test)")
            } else if type != .outsideHours && signalThreshold > parameters.threshold {
                problem(file, section["signal_threshold"]!.line, "signal_threshold must not exceed threshold (signals are the looser test)")
            }
        }
        if type == .newValue || type == .drift || type == .valueChange, fields.isEmpty {
            problem(file, section.line, "a \(type.rawValue) detector needs a field")
        }
        if type == .drift && fields.count > 1 {
            problem(file, section["field"]!.line, "a drift detector reads one field")
        }
        if type == .volume && fields.count > 1 {
            problem(file, section["field"]!.line, "a volume detector sums one field")
        }
        if type == .outsideHours && !fields.isEmpty {
            problem(file, section.line, "an outside_hours detector takes no field")
        }
        if type == .valueChange && fields.count > 1 {
            problem(file, section["field"]!.line, "a value_change detector compares one field")
        }
        if type == .silence && section["after"] == nil {
            problem(file, section.line, "a silence detector needs after: how long a group must have no events to alert (30m, 6h, 1d)")
        }
        if type == .silence && parameters.expire <= parameters.after {
            problem(file, section["expire"]?.line ?? section.line, "expire must be longer than after (a silent group is kept until then, to report its resumption)")
        }
        if parameters.bucket > 0, 86_400_000 * 7 % parameters.bucket != 0 && (type == .volume || type == .drift) {
            problem(file, section["bucket"]?.line ?? section.line, "bucket must divide a week (1m, 15m, 1h, 6h, 1d, …)")
        }
        let hasDetection = document["detection"] != nil
        if hasDetection && !ruleNames.isEmpty {
            problem(file, section["rules"]!.line, "a detector reads either its own detection or the rules it names, not both")
        }
        if !hasDetection && ruleNames.isEmpty {
            problem(file, section.line, "the detector selects no events: name rules (detector.rules) or give it a logsource and a detection")
        }
        let generate = document["generate"].flatMap { readBool($0, file, "generate") } ?? false
        let tuning = readTuning(document["tuning"], file, allowSignalCondition: false, allowGroupBy: false)
        let problemsBefore = problems.count
        var inlineRule: Int?
        if hasDetection {
            let rulesBefore = rules.count
            let skippedBefore = skipped.count
            loadRule(document, file: file)
            if rules.count > rulesBefore {
                inlineRule = rulesBefore
            } else if problems.count == problemsBefore && skipped.count > skippedBefore {
                return  // its logsource is not one Pipewatch reads: skipped with the rule
            }
        }
        guard problems.count == before, let tuning else { return }
        let rule = DetectorRule(
            index: pendingDetectors.count, info: RuleInfo(document: document, file: file), type: type, ruleNames: ruleNames,
            inlineRule: inlineRule, groupBy: groupBy, fields: fields, parameters: parameters, generate: generate, tuning: tuning)
        if let id = rule.info.id, inlineRule == nil { ids[id] = (file, document.line) }
        pendingDetectors.append(PendingDetector(rule: rule, rulesLine: rulesLine))
    }

    static func utcOffsetMinutes(_ text: String) -> Int? {
        if let minutes = Int(text), abs(minutes) <= 14 * 60 { return minutes }
        guard text.count == 6, let sign = text.first, sign == "+" || sign == "-" else { return nil }
        let parts = text.dropFirst().split(separator: ":")
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), hours <= 14, minutes < 60 else { return nil }
        return (sign == "-" ? -1 : 1) * (hours * 60 + minutes)
    }

    // MARK: Tuning of detection rules

    mutating func loadRuleTuning(_ document: YAMLNode, file: String, rule: Int) {
        guard let node = document["tuning"] else { return }
        if let tuning = readTuning(node, file, allowSignalCondition: false, allowGroupBy: true), !tuning.isNeutral {
            if tuning.persistOf > 1 && tuning.window == nil {
                problem(file, node.line, "tuning.persist of a detection rule needs tuning.window (the window persistence counts in)")
                return
            }
            ruleTuning[rule] = tuning
        }
    }

    // MARK: Resolution

    /// Resolves every reference once all files are read; drops (as problems, or skipped when loading leniently)
    /// correlations and detectors that name something not loaded, and correlation cycles.
    mutating func resolveCorrelations() -> (correlations: [CorrelationRule], detectors: [DetectorRule]) {
        var alive = pendingCorrelations.map { _ in true }
        func ruleIndex(_ name: String) -> Int? {
            rules.firstIndex { $0.id == name } ?? rules.firstIndex { $0.name == name }
        }
        func correlationIndex(_ name: String) -> Int? {
            pendingCorrelations.indices.first { alive[$0] && pendingCorrelations[$0].rule.info.id == name }
                ?? pendingCorrelations.indices.first { alive[$0] && pendingCorrelations[$0].rule.info.name == name }
        }
        func drop(_ file: String, _ line: Int, _ reason: String) {
            if options.skipUnsupported {
                skipped.append(RuleProblem(file: file, line: line, reason: reason))
            } else {
                problems.append(RuleProblem(file: file, line: line, reason: reason))
            }
        }
        // Cycles: a correlation reaching itself through the correlations it references (judged on all of them
        // before anything is dropped, so each correlation of a cycle is named).
        var cyclic: [Int] = []
        for k in pendingCorrelations.indices {
            var stack = [k]
            var seen: Set<Int> = []
            var found = false
            while let current = stack.popLast(), !found {
                for name in pendingCorrelations[current].rule.ruleNames where ruleIndex(name) == nil {
                    guard let next = correlationIndex(name) else { continue }
                    if next == k { found = true }
                    if seen.insert(next).inserted { stack.append(next) }
                }
            }
            if found { cyclic.append(k) }
        }
        for k in cyclic {
            let pending = pendingCorrelations[k]
            problems.append(RuleProblem(file: pending.rule.info.file, line: pending.rulesLine, reason: "correlation '\(pending.rule.info.title)' references itself through a chain of correlations"))
            alive[k] = false
        }
        // Unknown references, until nothing changes (dropping one correlation can orphan another).
        var changed = true
        while changed {
            changed = false
            for k in pendingCorrelations.indices where alive[k] {
                let pending = pendingCorrelations[k]
                for name in pending.rule.ruleNames where ruleIndex(name) == nil && correlationIndex(name) == nil {
                    drop(pending.rule.info.file, pending.rulesLine, "correlation '\(pending.rule.info.title)' references '\(name)', which is not loaded")
                    alive[k] = false
                    changed = true
                    break
                }
            }
        }
        var finalIndex = [Int?](repeating: nil, count: pendingCorrelations.count)
        var next = 0
        for k in pendingCorrelations.indices where alive[k] {
            finalIndex[k] = next
            next += 1
        }
        var correlations: [CorrelationRule] = []
        for k in pendingCorrelations.indices where alive[k] {
            var rule = pendingCorrelations[k].rule
            let evidenceFromFirstStep = rule.evidenceFromFirstStep
            let prefixGroup = rule.prefixGroup
            rule = CorrelationRule(
                index: finalIndex[k]!, info: rule.info, type: rule.type, ruleNames: rule.ruleNames, groupBy: rule.groupBy,
                timespan: rule.timespan, condition: rule.condition, fields: rule.fields, aliases: rule.aliases,
                generate: rule.generate, tuning: rule.tuning)
            rule.evidenceFromFirstStep = evidenceFromFirstStep
            rule.prefixGroup = prefixGroup
            rule.inputs = rule.ruleNames.map { name in
                if let index = ruleIndex(name) { return .rule(index) }
                return .correlation(finalIndex[correlationIndex(name)!]!)
            }
            correlations.append(rule)
        }
        var detectors: [DetectorRule] = []
        for pending in pendingDetectors {
            var inputs: [RuleReference] = []
            var missing: String?
            if let inline = pending.rule.inlineRule {
                inputs = [.rule(inline)]
            } else {
                for name in pending.rule.ruleNames {
                    if let index = ruleIndex(name) {
                        inputs.append(.rule(index))
                    } else if let index = correlationIndex(name) {
                        inputs.append(.correlation(finalIndex[index]!))
                    } else {
                        missing = name
                        break
                    }
                }
            }
            if let missing {
                drop(pending.rule.info.file, pending.rulesLine, "detector '\(pending.rule.info.title)' references '\(missing)', which is not loaded")
                continue
            }
            var rule = pending.rule
            rule = DetectorRule(
                index: detectors.count, info: rule.info, type: rule.type, ruleNames: rule.ruleNames, inlineRule: rule.inlineRule,
                groupBy: rule.groupBy, fields: rule.fields, parameters: rule.parameters, generate: rule.generate, tuning: rule.tuning)
            rule.inputs = inputs
            detectors.append(rule)
        }
        return (correlations, detectors)
    }
}

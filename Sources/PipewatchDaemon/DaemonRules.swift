import Foundation
import PipewatchInputs
import PipewatchPipeline
import PipewatchRules

/// Loading the configured rules, and telling when their files changed (for reloads).
extension Daemon {
    /// Compiles the configured rules; throws with every problem if any rule file is bad.
    public static func loadRules(_ rules: DaemonConfiguration.Rules) throws -> RuleSet {
        var mapping = FieldMapping.sigmaDefault
        let placeholders: Placeholders
        do {
            if let path = rules.fieldMapping { mapping = mapping.overridden(by: try FieldMapping.load(path: path)) }
            placeholders = try rules.placeholders.map { try Placeholders.load(path: $0) } ?? .none
        } catch {
            throw DaemonConfigurationError(problems: ["\(error)"])
        }
        let ruleSet = RuleSet(
            paths: rules.paths,
            options: RuleLoadOptions(fieldMapping: mapping, placeholders: placeholders, skipUnsupported: true))
        guard ruleSet.problems.isEmpty else {
            throw DaemonConfigurationError(problems: ruleSet.problems.map(\.description))
        }
        return ruleSet
    }

    /// Modification time of every rule file, mapping and placeholder file.
    static func fingerprint(_ rules: DaemonConfiguration.Rules) -> [String: Date] {
        var times: [String: Date] = [:]
        let files = InputPaths.expand(rules.paths).files + [rules.fieldMapping, rules.placeholders].compactMap { $0 }
        for file in files {
            times[file] = (try? FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date) ?? .distantPast
        }
        return times
    }
}

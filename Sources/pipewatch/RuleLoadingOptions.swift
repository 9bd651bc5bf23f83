import ArgumentParser
import PipewatchRules

/// How rules are read, shared by `replay` and `rules`.
struct RuleLoadingOptions: ParsableArguments {
    @Option(name: .customLong("field-mapping"), help: ArgumentHelp(
        "YAML file renaming rule fields before they resolve (pySigma's field_name_mapping).",
        discussion: "Applied on top of the built-in mapping for SigmaHQ's cloud and Kubernetes field names."))
    var fieldMappingPath: String?

    @Option(name: .customLong("placeholders"), help: "YAML file of %placeholder% values for the expand modifier.")
    var placeholdersPath: String?

    func loadOptions(skipUnsupported: Bool) throws -> RuleLoadOptions {
        var mapping = FieldMapping.sigmaDefault
        if let fieldMappingPath { mapping = mapping.overridden(by: try FieldMapping.load(path: fieldMappingPath)) }
        let placeholders = try placeholdersPath.map { try Placeholders.load(path: $0) } ?? .none
        return RuleLoadOptions(fieldMapping: mapping, placeholders: placeholders, skipUnsupported: skipUnsupported)
    }
}

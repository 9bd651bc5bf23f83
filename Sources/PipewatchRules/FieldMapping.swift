import Foundation

/// Renames rule field names before they are resolved (the pySigma `field_name_mapping` idea), globally or per
/// logsource. A mapping file is YAML:
///
///     field_name_mapping:                 # every rule
///         user: actor.user
///         ip: [src.ip, raw.requestMetadata.callerIp]   # several targets: any of them may match
///     field_name_prefix_mapping:
///         'my.prefix.': 'raw.other.prefix.'
///     logsources:                          # only rules whose logsource has these values
///         - product: gcp                   # category, product, service: each one given must be equal
///           service: gcp.audit
///           field_name_mapping: { gcp.audit.method_name: protoPayload.methodName }
///           field_name_prefix_mapping: { 'gcp.audit.request.': 'protoPayload.request.' }
///
/// A name is mapped once: an exact entry beats a prefix entry, a logsource entry beats a global one, and a mapping
/// loaded later (a user's file) beats the default one. Targets then resolve as usual: a normalized field name, the
/// event properties `source`, `outcome`, `preliminary` and `time`, a `raw.` path, or any other name as a raw path.
public struct FieldMapping: Sendable {
    struct Entries: Sendable {
        var exact: [String: [String]] = [:]
        var prefixes: [(from: String, to: String)] = []

        var isEmpty: Bool { exact.isEmpty && prefixes.isEmpty }

        func targets(_ name: String) -> [String]? {
            if let targets = exact[name] { return targets }
            var best: (from: String, to: String)?
            for entry in prefixes where name.hasPrefix(entry.from) {
                if best == nil || entry.from.count > best!.from.count { best = entry }
            }
            if let best { return [best.to + name.dropFirst(best.from.count)] }
            return nil
        }
    }

    struct Scope: Sendable {
        var category: String?
        var product: String?
        var service: String?
        var entries: Entries

        func applies(to logsource: LogSource) -> Bool {
            func same(_ wanted: String?, _ actual: String?) -> Bool {
                guard let wanted else { return true }
                return actual?.lowercased() == wanted.lowercased()
            }
            return same(category, logsource.category) && same(product, logsource.product) && same(service, logsource.service)
        }
    }

    struct Layer: Sendable {
        var global = Entries()
        var scopes: [Scope] = []
    }

    /// Highest precedence first.
    var layers: [Layer]

    /// No renaming at all.
    public static let none = FieldMapping(layers: [])

    /// The mapping for the field names SigmaHQ's GCP audit and Kubernetes audit rules use (see
    /// `FieldMapping.defaultMappingYAML`).
    public static let sigmaDefault: FieldMapping = {
        do {
            return try FieldMapping.parse(yaml: FieldMapping.defaultMappingYAML, file: "<default field mapping>")
        } catch {
            preconditionFailure("the default field mapping does not parse: \(error)")
        }
    }()

    /// `other` on top of this mapping: its entries win.
    public func overridden(by other: FieldMapping) -> FieldMapping {
        FieldMapping(layers: other.layers + layers)
    }

    /// The names `field` stands for under `logsource`: usually one, itself when nothing maps it.
    public func targets(for field: String, logsource: LogSource) -> [String] {
        for layer in layers {
            for scope in layer.scopes where scope.applies(to: logsource) {
                if let targets = scope.entries.targets(field) { return targets }
            }
            if let targets = layer.global.targets(field) { return targets }
        }
        return [field]
    }

    /// Reads a mapping file.
    public static func load(path: String) throws(RuleProblem) -> FieldMapping {
        let text: String
        do {
            text = try YAMLReader.text(ofFile: path)
        } catch {
            throw RuleProblem(file: path, line: error.line, reason: error.line == 0 ? "field mapping: \(error.reason)" : error.reason)
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml: String, file: String) throws(RuleProblem) -> FieldMapping {
        let (documents, syntaxError) = YAMLReader.documents(yaml)
        if let syntaxError { throw RuleProblem(file: file, line: syntaxError.line, reason: syntaxError.reason) }
        var layer = Layer()
        for document in documents where !document.isNull {
            guard let pairs = document.mapping else {
                throw RuleProblem(file: file, line: document.line, reason: "a field mapping file is a map, not \(document.kindName)")
            }
            for (key, value) in pairs {
                switch key.text {
                case "field_name_mapping":
                    try readExact(value, file: file, into: &layer.global)
                case "field_name_prefix_mapping":
                    try readPrefixes(value, file: file, into: &layer.global)
                case "logsources":
                    try readScopes(value, file: file, into: &layer.scopes)
                default:
                    throw RuleProblem(
                        file: file, line: key.line,
                        reason: "unknown key '\(key.text ?? "")' (expected field_name_mapping, field_name_prefix_mapping or logsources)")
                }
            }
        }
        return FieldMapping(layers: [layer])
    }

    private static func readExact(_ node: YAMLNode, file: String, into entries: inout Entries) throws(RuleProblem) {
        guard let pairs = node.mapping else {
            throw RuleProblem(file: file, line: node.line, reason: "field_name_mapping must map field names to names")
        }
        for (key, value) in pairs {
            guard let name = key.text else { throw RuleProblem(file: file, line: key.line, reason: "empty field name") }
            var targets: [String] = []
            if let text = value.text {
                targets = [text]
            } else if let items = value.sequence {
                for item in items {
                    guard let text = item.text else {
                        throw RuleProblem(file: file, line: item.line, reason: "targets of '\(name)' must be field names")
                    }
                    targets.append(text)
                }
            }
            guard !targets.isEmpty else {
                throw RuleProblem(file: file, line: value.line, reason: "'\(name)' maps to nothing")
            }
            entries.exact[name] = targets
        }
    }

    private static func readPrefixes(_ node: YAMLNode, file: String, into entries: inout Entries) throws(RuleProblem) {
        guard let pairs = node.mapping else {
            throw RuleProblem(file: file, line: node.line, reason: "field_name_prefix_mapping must map prefixes to prefixes")
        }
        for (key, value) in pairs {
            guard let from = key.text, let to = value.text else {
                throw RuleProblem(file: file, line: key.line, reason: "a prefix mapping needs a prefix and a replacement")
            }
            entries.prefixes.append((from, to))
        }
    }

    private static func readScopes(_ node: YAMLNode, file: String, into scopes: inout [Scope]) throws(RuleProblem) {
        guard let items = node.sequence else {
            throw RuleProblem(file: file, line: node.line, reason: "logsources must be a list of maps")
        }
        for item in items {
            guard let pairs = item.mapping else {
                throw RuleProblem(file: file, line: item.line, reason: "each entry of logsources must be a map")
            }
            var scope = Scope(entries: Entries())
            for (key, value) in pairs {
                switch key.text {
                case "category": scope.category = value.text
                case "product": scope.product = value.text
                case "service": scope.service = value.text
                case "field_name_mapping": try readExact(value, file: file, into: &scope.entries)
                case "field_name_prefix_mapping": try readPrefixes(value, file: file, into: &scope.entries)
                default:
                    throw RuleProblem(
                        file: file, line: key.line,
                        reason: "unknown key '\(key.text ?? "")' in a logsources entry (expected category, product, service, field_name_mapping, field_name_prefix_mapping)")
                }
            }
            if scope.category == nil && scope.product == nil && scope.service == nil {
                throw RuleProblem(file: file, line: item.line, reason: "a logsources entry needs category, product or service")
            }
            scopes.append(scope)
        }
    }

    /// The default mapping. SigmaHQ's GCP audit rules name fields the way Elastic's GCP integration flattens a
    /// LogEntry (`gcp.audit.method_name` for `protoPayload.methodName`, …) or with a `data.` prefix; its Kubernetes
    /// audit rules use a few names outside the audit event schema. CloudTrail rules use CloudTrail's own names.
    public static let defaultMappingYAML = """
        logsources:
            - product: gcp
              field_name_mapping:
                  gcp.audit.method_name: protoPayload.methodName
                  gcp.audit.service_name: protoPayload.serviceName
                  gcp.audit.resource_name: protoPayload.resourceName
                  gcp.audit.type: protoPayload.@type
                  gcp.audit.num_response_items: protoPayload.numResponseItems
                  gcp.audit.status.code: protoPayload.status.code
                  gcp.audit.status.message: protoPayload.status.message
                  gcp.audit.authentication_info.principal_email: protoPayload.authenticationInfo.principalEmail
                  gcp.audit.authentication_info.authority_selector: protoPayload.authenticationInfo.authoritySelector
                  gcp.audit.authorization_info.permission: protoPayload.authorizationInfo.permission
                  gcp.audit.authorization_info.granted: protoPayload.authorizationInfo.granted
                  gcp.audit.authorization_info.resource: protoPayload.authorizationInfo.resource
                  gcp.audit.request_metadata.caller_ip: protoPayload.requestMetadata.callerIp
                  gcp.audit.request_metadata.caller_supplied_user_agent: protoPayload.requestMetadata.callerSuppliedUserAgent
                  gcp.audit.request.proto_name: protoPayload.request.@type
                  gcp.audit.request.resource_name: protoPayload.request.resourceName
                  gcp.audit.response.proto_name: protoPayload.response.@type
                  gcp.audit.resource_location.current_locations: protoPayload.resourceLocation.currentLocations
                  gcp.audit.log_name: logName
                  data.protoPayload.resource.type: raw.resource.type
                  data.protoPayload.logName: logName
              field_name_prefix_mapping:
                  gcp.audit.request.: protoPayload.request.
                  gcp.audit.response.: protoPayload.response.
                  data.protoPayload.: protoPayload.
            - product: kubernetes
              service: audit
              field_name_mapping:
                  apiGroup: objectRef.apiGroup
                  capabilities: requestObject.spec.containers.securityContext.capabilities
                  hostPath: requestObject.spec.volumes.hostPath
        """
}

/// Values for `%name%` placeholders of the `expand` modifier, from a YAML file:
///
///     placeholders:               # the key may be left out: a plain map of names works too
///         Administrators: ['adm_*', root]
///         Legitimate_Countries: [US, DE]
///
/// Each value is a Sigma string (wildcards apply). A rule with a placeholder that has no value is refused.
public struct Placeholders: Sendable {
    public var values: [String: [String]]

    public init(_ values: [String: [String]] = [:]) { self.values = values }

    public static let none = Placeholders()

    public static func load(path: String) throws(RuleProblem) -> Placeholders {
        let text: String
        do {
            text = try YAMLReader.text(ofFile: path)
        } catch {
            throw RuleProblem(file: path, line: error.line, reason: error.line == 0 ? "placeholders: \(error.reason)" : error.reason)
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml: String, file: String) throws(RuleProblem) -> Placeholders {
        let (documents, syntaxError) = YAMLReader.documents(yaml)
        if let syntaxError { throw RuleProblem(file: file, line: syntaxError.line, reason: syntaxError.reason) }
        var values: [String: [String]] = [:]
        for document in documents where !document.isNull {
            var root = document
            if let inner = document["placeholders"] { root = inner }
            guard let pairs = root.mapping else {
                throw RuleProblem(file: file, line: root.line, reason: "placeholders must be a map of names to values")
            }
            for (key, value) in pairs {
                guard let name = key.text else { throw RuleProblem(file: file, line: key.line, reason: "empty placeholder name") }
                if let text = value.text {
                    values[name] = [text]
                } else if let items = value.sequence {
                    var list: [String] = []
                    for item in items {
                        guard let text = item.text else {
                            throw RuleProblem(file: file, line: item.line, reason: "values of placeholder '\(name)' must be scalars")
                        }
                        list.append(text)
                    }
                    values[name] = list
                } else {
                    throw RuleProblem(file: file, line: value.line, reason: "placeholder '\(name)' needs a value or a list of values")
                }
            }
        }
        return Placeholders(values)
    }
}

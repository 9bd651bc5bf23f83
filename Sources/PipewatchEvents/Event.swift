import PipewatchJSON

/// Where a record came from, detected from its shape.
public enum EventSource: UInt8, CaseIterable, Sendable, Codable {
    case cloudTrail, kubernetesAudit, gcpAudit, mlflowWebhook

    /// The `source` value of the normalized event.
    public var name: String {
        switch self {
        case .cloudTrail: return "aws.cloudtrail"
        case .kubernetesAudit: return "k8s.audit"
        case .gcpAudit: return "gcp.audit"
        case .mlflowWebhook: return "mlflow.webhook"
        }
    }

    public init?(name: String) {
        guard let source = EventSource.allCases.first(where: { $0.name == name }) else { return nil }
        self = source
    }
}

/// Whether the API call succeeded.
public enum Outcome: UInt8, Sendable {
    case unknown, success, failure

    public var name: String {
        switch self {
        case .unknown: return "unknown"
        case .success: return "success"
        case .failure: return "failure"
        }
    }
}

/// A piece of an event's text: a range of the record's bytes (a JSON string body, maybe with escapes) or of the
/// batch's arena (text the normalizer composed). Twelve bytes, no allocation.
@frozen
public struct TextRef: Sendable, Equatable {
    public var offset: UInt32
    public var length: UInt32
    public var flags: UInt8

    public static let present: UInt8 = 1
    /// The bytes are a JSON string body with backslash escapes still in it.
    public static let escaped: UInt8 = 2
    /// The bytes live in the batch's arena, not in the input.
    public static let inArena: UInt8 = 4

    @inlinable
    public init(offset: UInt32, length: UInt32, flags: UInt8) {
        self.offset = offset
        self.length = length
        self.flags = flags
    }

    public static let missing = TextRef(offset: 0, length: 0, flags: 0)

    @inlinable public var isPresent: Bool { flags & TextRef.present != 0 }
}

/// The normalized text fields of an event (OCSF API Activity in shape). `name` is how rules and outputs spell them.
public enum EventField: Int, CaseIterable, Sendable {
    case uid
    case apiService, apiOperation, apiRequestID
    case actorUser, actorUserType, actorImpersonatedBy, actorSessionIssuer
    case actorPrincipal, actorPerson, actorSession, actorKind
    case srcIP, userAgent
    case statusCode, errorCode, errorMessage
    case resourceType, resourceName, resourceNamespace, resourceUID
    case cloudProvider, cloudRegion, cloudAccount
    case mlEntity, mlName, mlVersion, mlAlias, mlStage, mlRunID, mlSource, mlTagKey, mlTagValue
    case mlArtifactURI, mlModelName, mlModelVersion
    case stage

    public static let count = 37

    public var name: String {
        switch self {
        case .uid: return "uid"
        case .apiService: return "api.service"
        case .apiOperation: return "api.operation"
        case .apiRequestID: return "api.request_id"
        case .actorUser: return "actor.user"
        case .actorUserType: return "actor.user_type"
        case .actorImpersonatedBy: return "actor.impersonated_by"
        case .actorSessionIssuer: return "actor.session_issuer"
        case .actorPrincipal: return "actor.principal"
        case .actorPerson: return "actor.person"
        case .actorSession: return "actor.session"
        case .actorKind: return "actor.kind"
        case .srcIP: return "src.ip"
        case .userAgent: return "user_agent"
        case .statusCode: return "status_code"
        case .errorCode: return "error.code"
        case .errorMessage: return "error.message"
        case .resourceType: return "resource.type"
        case .resourceName: return "resource.name"
        case .resourceNamespace: return "resource.namespace"
        case .resourceUID: return "resource.uid"
        case .cloudProvider: return "cloud.provider"
        case .cloudRegion: return "cloud.region"
        case .cloudAccount: return "cloud.account"
        case .mlEntity: return "ml.entity"
        case .mlName: return "ml.name"
        case .mlVersion: return "ml.version"
        case .mlAlias: return "ml.alias"
        case .mlStage: return "ml.stage"
        case .mlRunID: return "ml.run_id"
        case .mlSource: return "ml.source"
        case .mlTagKey: return "ml.tag_key"
        case .mlTagValue: return "ml.tag_value"
        case .mlArtifactURI: return "ml.artifact.uri"
        case .mlModelName: return "ml.model.name"
        case .mlModelVersion: return "ml.model.version"
        case .stage: return "stage"
        }
    }

    private static let byName: [String: EventField] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.name, $0) })

    public init?(name: String) {
        guard let field = EventField.byName[name] else { return nil }
        self = field
    }
}

/// One normalized event. Its text lives in the batch it was normalized in (see `TextRef`); read it through an
/// `EventView`. `record` is the root of the original record on the batch's tape, so every raw field stays reachable.
public struct Event: Sendable {
    public var source: EventSource
    /// Event time in milliseconds since the Unix epoch; `Event.unknownTime` when the record has none (see `hasTime`).
    public var time: Int64
    public var outcome: Outcome
    /// A Kubernetes record at stage RequestReceived: the same request is logged again when it completes, so rules
    /// usually skip these (`preliminary: true` in the event).
    public var isPreliminary: Bool
    /// Tape index of the record's root.
    public var record: UInt32
    public var fields: InlineArray<37, TextRef>

    public static let unknownTime = Int64.min

    /// Whether the record carried a time. A record of a known source without one is still an event, for the
    /// stand-alone rules: its JSON has no `time` and says `"time_absent": true`, and since it cannot be placed in
    /// event time it is for no correlation, statistical detector or tuned rule.
    @inlinable public var hasTime: Bool { time != Event.unknownTime }

    public init(source: EventSource, record: UInt32) {
        self.source = source
        self.record = record
        time = Event.unknownTime
        outcome = .unknown
        isPreliminary = false
        fields = InlineArray(repeating: .missing)
    }

    @inlinable
    public subscript(field: EventField) -> TextRef {
        get { fields[field.rawValue] }
        set { fields[field.rawValue] = newValue }
    }
}

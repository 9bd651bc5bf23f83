import PipewatchJSON

/// `actor.kind`: what kind of identity acted. One rule for every source (README, "Who acted"):
///
/// 1. `anonymous`: the source says the caller was not authenticated (S3's `anonymous` account, Kubernetes'
///    `system:anonymous`).
/// 2. `service`: the platform acting under its own identity, for no principal of the customer's: an AWS service
///    principal (`userIdentity.type: AWSService`), the Kubernetes control plane (`system:` users other than service
///    accounts, EKS's `eks:` users).
/// 3. `human`: a person is known (`actor.person` is set), or the principal is a person's own account (IAM user,
///    root, federated and SAML users, Identity Center users, GCP user accounts and workforce pools, Kubernetes users).
/// 4. `workload`: any other authenticated identity: role sessions that name no person (roles assumed by services,
///    pipelines, instances, pods), Kubernetes service accounts, GCP service accounts and service agents,
///    workload identity pools.
///
/// A person known through a delegation (a human who impersonates a service account, an SSO session) makes the
/// event `human`: a human chose to act, whatever identity carried it.
enum ActorKind {
    case human, workload, service, anonymous

    var constant: ArenaConstant {
        switch self {
        case .human: return .human
        case .workload: return .workload
        case .service: return .service
        case .anonymous: return .anonymous
        }
    }

    /// A Kubernetes username (also GKE's principals in GCP records): `system:anonymous`, service accounts
    /// (`system:serviceaccount:<namespace>:<name>`), the control plane (`system:node:<n>`,
    /// `system:kube-controller-manager`, EKS's `eks:…`), else a user.
    static func ofKubernetesUser(_ name: UnsafeBufferPointer<UInt8>) -> ActorKind {
        if JSONString.equals(name, "system:anonymous") { return .anonymous }
        if JSONString.hasPrefix(name, "system:serviceaccount:") { return .workload }
        if JSONString.hasPrefix(name, "system:") || JSONString.hasPrefix(name, "eks:") { return .service }
        return .human
    }

    /// A GCP principal (principalEmail or principalSubject); nil when its form says nothing.
    static func ofGCPPrincipal(_ name: UnsafeBufferPointer<UInt8>) -> ActorKind? {
        if JSONString.hasPrefix(name, "system:") { return ofKubernetesUser(name) }
        if TextSearch.hasSuffixIgnoringCase(name, ".gserviceaccount.com") || JSONString.hasPrefix(name, "serviceAccount:") {
            return .workload
        }
        if JSONString.hasPrefix(name, "principal://") || JSONString.hasPrefix(name, "principalSet://") {
            if TextSearch.contains(name, "/workloadIdentityPools/") { return .workload }
            if TextSearch.contains(name, "/workforcePools/") { return .human }
        }
        if JSONString.hasPrefix(name, "user:") || TextSearch.contains(name, byte: UInt8(ascii: "@")) { return .human }
        return nil
    }

    /// The person a GCP human principal names: the email without `user:`, a workforce pool's subject.
    static func gcpPersonRange(_ name: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        if JSONString.hasPrefix(name, "user:") { return 5..<name.count }
        if let subject = TextSearch.find("/subject/", in: name) { return (subject + 9)..<name.count }
        return 0..<name.count
    }
}

/// How AWS names identities, for the CloudTrail normalizer and the EKS identities of Kubernetes records.
enum AWSIdentity {
    /// `userIdentity.type`, or the kind of ARN when a record has no type.
    enum IdentityType {
        case iamUser, assumedRole, root, federatedUser, awsService, awsAccount, samlUser, webIdentityUser
        case identityCenterUser, other

        init(type: UnsafeBufferPointer<UInt8>?, arn: UnsafeBufferPointer<UInt8>?) {
            if let type {
                switch true {
                case JSONString.equals(type, "IAMUser"): self = .iamUser
                case JSONString.equals(type, "AssumedRole"): self = .assumedRole
                case JSONString.equals(type, "Root"): self = .root
                case JSONString.equals(type, "FederatedUser"): self = .federatedUser
                case JSONString.equals(type, "AWSService"): self = .awsService
                case JSONString.equals(type, "AWSAccount"): self = .awsAccount
                case JSONString.equals(type, "SAMLUser"): self = .samlUser
                case JSONString.equals(type, "WebIdentityUser"): self = .webIdentityUser
                case JSONString.equals(type, "IdentityCenterUser"): self = .identityCenterUser
                default: self = .other
                }
                if self != .other { return }
            }
            self = arn.map(IdentityType.init(arn:)) ?? .other
        }

        init(arn: UnsafeBufferPointer<UInt8>) {
            if TextSearch.contains(arn, ":assumed-role/") {
                self = .assumedRole
            } else if TextSearch.contains(arn, ":user/") {
                self = .iamUser
            } else if TextSearch.hasSuffix(arn, ":root") {
                self = .root
            } else if TextSearch.contains(arn, ":federated-user/") {
                self = .federatedUser
            } else {
                self = .other
            }
        }
    }

    /// An IAM Identity Center permission-set role (`AWSReservedSSO_<set>_<id>`): its sessions are named for the
    /// signed-in user.
    static func isSSORole(_ arnOrName: UnsafeBufferPointer<UInt8>) -> Bool {
        TextSearch.contains(arnOrName, "AWSReservedSSO_")
    }

    /// A session name that names a person: IdPs federating people into roles (SAML, OIDC) conventionally set the
    /// role session name to the user's email.
    static func sessionNamesPerson(_ session: UnsafeBufferPointer<UInt8>) -> Bool {
        TextSearch.contains(session, byte: UInt8(ascii: "@"))
    }

    /// Web identity issuers of workloads: Kubernetes clusters (EKS IRSA) and CI systems.
    static func isWorkloadIssuer(_ provider: UnsafeBufferPointer<UInt8>) -> Bool {
        TextSearch.contains(provider, "oidc.eks.") || TextSearch.contains(provider, "token.actions.githubusercontent.com")
    }

    /// The part of `arn:…:assumed-role/<role>/<session>` that is the role name, as a range of `arn`.
    static func assumedRoleNameRange(_ arn: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard let marker = TextSearch.find(":assumed-role/", in: arn) else { return nil }
        let start = marker + 14
        let end = arn[start...].firstIndex(of: UInt8(ascii: "/")) ?? arn.count
        return end > start ? start..<end : nil
    }

    /// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`), as a range of `arn`.
    static func partitionRange(_ arn: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard JSONString.hasPrefix(arn, "arn:") else { return nil }
        guard let end = arn[4...].firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return 4..<end
    }

    /// The account of an ARN (its fifth part), as a range of `arn`.
    static func accountRange(_ arn: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var colons = 0
        var start = 0
        for k in 0..<arn.count where arn[k] == UInt8(ascii: ":") {
            colons += 1
            if colons == 4 { start = k + 1 }
            if colons == 5 { return start..<k }
        }
        return nil
    }

    /// The partition of a region's ARNs, for ARNs composed without one.
    static func partition(ofRegion region: UnsafeBufferPointer<UInt8>?) -> StaticString {
        guard let region else { return "aws" }
        if JSONString.hasPrefix(region, "cn-") { return "aws-cn" }
        if JSONString.hasPrefix(region, "us-gov-") { return "aws-us-gov" }
        return "aws"
    }
}

extension Event {
    /// An empty string names nobody (CloudTrail writes `"principalId": ""` for S3's anonymous requester, GCP may
    /// leave a redacted email empty).
    mutating func dropEmptyActorNames() {
        if self[.actorPrincipal].isPresent && self[.actorPrincipal].length == 0 { self[.actorPrincipal] = .missing }
        if self[.actorPerson].isPresent && self[.actorPerson].length == 0 { self[.actorPerson] = .missing }
        if self[.actorSession].isPresent && self[.actorSession].length == 0 { self[.actorSession] = .missing }
    }
}

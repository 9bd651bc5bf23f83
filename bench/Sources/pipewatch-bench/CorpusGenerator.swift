import Foundation
import PipewatchEvents

// Deterministic synthetic audit records for benchmarks.
//
// The records follow the public wire formats of AWS CloudTrail and Kubernetes audit (`audit.k8s.io/v1`):
// real field names and order, nesting, value styles, timestamp formats and id shapes. All organisations,
// people, accounts, keys and ids are fictional; public addresses come from the documentation ranges
// 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24.
//
// The same seed and parameters always produce the same bytes, on every platform: the only randomness is
// the generator's own xoshiro256** stream, and the output never depends on the wall clock or on hashing.

/// Produces realistic CloudTrail and Kubernetes audit records, byte-for-byte reproducible from a seed.
///
/// Records are appended as compact JSON without a trailing newline. Event times start at `startTime` and
/// advance by a random gap (mean `meanGapMicros`) per record, shared by both record kinds.
struct CorpusGenerator {
    let seed: UInt64
    let principalCount: Int
    let ipCount: Int
    let bucketCount: Int
    let meanGapMicros: Int64

    /// Event time of the most recent record, in microseconds since the Unix epoch.
    internal(set) var clockMicros: Int64
    internal(set) var cloudTrailRecords = 0
    internal(set) var kubernetesRecords = 0

    var rng: CorpusRandom
    var resourceVersion: Int
    var resourcesScratch: [UInt8] = []
    var nameScratch: [UInt8] = []
    let awsPrincipals: [AWSPrincipal]
    let kubePrincipals: [KubePrincipal]
    let ips: [[UInt8]]
    let buckets: [[UInt8]]
    let kmsKeys: [[UInt8]]
    let ssoSuffixes: [[UInt8]]
    let eventTable: [CloudTrailEvent]

    /// - Parameters:
    ///   - seed: selects the stream; every byte of output is a function of the seed and the parameters.
    ///   - principalCount: distinct AWS principals and distinct Kubernetes users.
    ///   - ipCount: distinct caller addresses (default: twice the principal count).
    ///   - bucketCount: distinct S3 buckets (default: a tenth of the principal count, at least 4).
    ///   - startTime: first event time, seconds since the Unix epoch (default 2026-11-03T08:00:00Z).
    ///   - meanGapMicros: mean time between consecutive records.
    init(
        seed: UInt64, principalCount: Int = 200, ipCount: Int? = nil, bucketCount: Int? = nil,
        startTime: Int64 = 1_793_692_800, meanGapMicros: Int64 = 20_000
    ) {
        precondition(principalCount > 0, "principalCount must be positive")
        self.seed = seed
        self.principalCount = principalCount
        self.ipCount = max(1, ipCount ?? principalCount * 2)
        self.bucketCount = max(1, bucketCount ?? max(4, principalCount / 10))
        self.meanGapMicros = max(0, meanGapMicros)
        self.clockMicros = startTime * 1_000_000
        self.rng = CorpusRandom(seed: seed)
        // The pools come from their own stream so that record-level choices never shift them.
        var setup = CorpusRandom(seed: seed ^ 0x5EED_0F_C0_4B_05)
        self.resourceVersion = 48_000_000 + setup.below(1_000_000)

        var table: [CloudTrailEvent] = []
        table.reserveCapacity(10_000)
        for event in CloudTrailEvent.allCases {
            table.append(contentsOf: repeatElement(event, count: event.weight))
        }
        precondition(table.count == 10_000, "CloudTrail event weights must sum to 10,000")
        self.eventTable = table

        self.ips = Self.makeIPs(count: self.ipCount)
        self.buckets = Self.makeBuckets(count: self.bucketCount)
        var keys: [[UInt8]] = []
        for _ in 0..<6 { keys.append(Self.uuidBytes(&setup)) }
        self.kmsKeys = keys
        var sso: [[UInt8]] = []
        for _ in Vocabulary.permissionSets { sso.append(bytes(Self.hexString(&setup, digits: 16))) }
        self.ssoSuffixes = sso
        self.awsPrincipals = Self.makeAWSPrincipals(
            count: principalCount, ipCount: self.ipCount, ssoSuffixes: sso, rng: &setup)
        self.kubePrincipals = Self.makeKubePrincipals(count: principalCount, ipCount: self.ipCount, rng: &setup)
        resourcesScratch.reserveCapacity(512)
        nameScratch.reserveCapacity(256)
    }


    static func makeIPs(count: Int) -> [[UInt8]] {
        let publicPrefixes = ["198.51.100.", "203.0.113.", "192.0.2."]
        var result: [[UInt8]] = []
        result.reserveCapacity(count)
        var publicIndex = 0
        var privateIndex = 0
        for i in 0..<count {
            if i % 3 != 2 && publicIndex < 3 * 254 {
                let prefix = publicPrefixes[publicIndex % 3]
                result.append(bytes(prefix + String(publicIndex / 3 + 1)))
                publicIndex += 1
            } else {
                let q = privateIndex
                privateIndex += 1
                result.append(bytes("10.\(20 + q / 64_516 % 200).\(q / 254 % 254 + 1).\(q % 254 + 1)"))
            }
        }
        return result
    }

    static func makeBuckets(count: Int) -> [[UInt8]] {
        let canonical = ["acme-ml-training-data", "acme-ml-model-artifacts", "acme-ml-feature-store", "acme-ml-inference-capture"]
        let purposes = ["datasets", "artifacts", "features", "capture", "scratch", "eval"]
        var result: [[UInt8]] = []
        for i in 0..<count {
            if i < canonical.count {
                result.append(bytes(canonical[i]))
                continue
            }
            let j = i - canonical.count
            result.append(bytes("acme-ml-\(purposes[j % purposes.count])-\(j / purposes.count + 1)"))
        }
        return result
    }

    static func personName(_ i: Int) -> (first: String, last: String) {
        let first = Vocabulary.firstNames[i % Vocabulary.firstNames.count]
        let k = i / Vocabulary.firstNames.count
        var last = Vocabulary.lastNames[(k + i * 7) % Vocabulary.lastNames.count]
        let round = i / (Vocabulary.firstNames.count * Vocabulary.lastNames.count)
        if round > 0 { last += String(round + 1) }
        return (first, last)
    }

    static func makeAWSPrincipals(
        count: Int, ipCount: Int, ssoSuffixes: [[UInt8]], rng: inout CorpusRandom
    ) -> [AWSPrincipal] {
        var result: [AWSPrincipal] = []
        result.reserveCapacity(count)
        // One human with a non-ASCII name (escaped in JSON), placed outside the busiest part of the pool.
        var accentedHuman = -1
        if count >= 50 {
            var i = count - 1
            while i >= 0 && i % 10 != 7 { i -= 1 }
            accentedHuman = i
        }
        for i in 0..<count {
            let slot = i % 10
            let role: AWSPrincipalRole
            switch slot {
            case 0..<6: role = .pipeline
            case 6..<8: role = .human
            case 8: role = .iamUser
            default: role = .automation
            }
            let accountRoll = rng.below(100)
            let account = Vocabulary.accounts[accountRoll < 70 ? 0 : (accountRoll < 90 ? 1 : 2)]
            let team = rng.below(Vocabulary.models.count)
            let model = Vocabulary.models[team].description
            let regionRoll = rng.below(100)
            let homeRegion = regionRoll < 80 ? 0 : (regionRoll < 93 ? 1 : 2)
            var agent: String
            var agentStyle = AgentStyle.plain
            var roleName = ""
            var sessionName = ""
            var mfa = "false"
            var userName = ""

            switch role {
            case .pipeline:
                switch (i / 10) % 3 {
                case 0:
                    let stamp = "2026\(twoDigits(1 + rng.below(10)))\(twoDigits(1 + rng.below(28)))T\(twoDigits(rng.below(24)))\(twoDigits(rng.below(60)))\(twoDigits(rng.below(60)))"
                    roleName = "AmazonSageMaker-ExecutionRole-\(stamp)"
                    sessionName = "SageMaker"
                case 1:
                    roleName = "\(model)-pipeline-role"
                    sessionName = "SageMaker-pipeline-run-\(randomChars(&rng, 12, lowerAlnum))"
                default:
                    roleName = "ml-batch-\(model)-role"
                    sessionName = "botocore-session-\(1_790_000_000 + rng.below(3_000_000))"
                }
                let roll = rng.below(100)
                if roll < 35 {
                    agent = Vocabulary.legacyBoto3Agents[rng.below(Vocabulary.legacyBoto3Agents.count)]
                } else if roll < 75 {
                    agent = Vocabulary.boto3Agents[rng.below(Vocabulary.boto3Agents.count)]
                } else {
                    agent = Vocabulary.javaAgents[rng.below(Vocabulary.javaAgents.count)]
                }
            case .human:
                let person = personName(i)
                var email = "\(person.first).\(person.last)@acme.example"
                if i == accentedHuman { email = "ren\\u00e9e.\(person.last)@acme.example" }
                let permission = rng.below(Vocabulary.permissionSets.count)
                let suffix = String(decoding: ssoSuffixes[permission], as: UTF8.self)
                roleName = "AWSReservedSSO_\(Vocabulary.permissionSets[permission])_\(suffix)"
                sessionName = email
                let roll = rng.below(100)
                if roll < 50 {
                    agent = Vocabulary.cliAgentPrefixes[rng.below(Vocabulary.cliAgentPrefixes.count)]
                    agentStyle = .cli
                } else if roll < 80 {
                    agent = Vocabulary.boto3Agents[2]
                } else {
                    agent = Vocabulary.consoleAgents[rng.below(Vocabulary.consoleAgents.count)]
                }
            case .iamUser:
                let bases = ["svc-ci-deployer", "terraform-ci", "airflow-prod", "jenkins-ml", "feature-sync", "label-export"]
                let k = i / 10
                userName = bases[k % bases.count] + (k >= bases.count ? "-\(k / bases.count + 1)" : "")
                let roll = rng.below(100)
                if roll < 40 {
                    agent = Vocabulary.terraformAgent
                } else if roll < 70 {
                    agent = Vocabulary.javaAgents[rng.below(Vocabulary.javaAgents.count)]
                } else {
                    agent = Vocabulary.cliAgentPrefixes[rng.below(Vocabulary.cliAgentPrefixes.count)]
                    agentStyle = .cli
                }
                mfa = "false"
            case .automation:
                let bases = ["MLOpsDeployRole", "GitHubActionsDeployRole", "airflow-worker-role", "ModelMonitorRole"]
                let k = i / 10
                roleName = bases[k % bases.count] + (k >= bases.count ? "-\(k / bases.count + 1)" : "")
                switch k % bases.count {
                case 1: sessionName = "GitHubActions-\(1_000_000_000 + rng.below(900_000_000))"
                case 2: sessionName = "airflow-\(randomChars(&rng, 8, lowerAlnum))"
                default: sessionName = "\(roleName.lowercased())-\(rng.below(100_000))"
                }
                agent = rng.percent(50) ? Vocabulary.terraformAgent : Vocabulary.boto3Agents[rng.below(2)]
                mfa = rng.percent(10) ? "true" : "false"
            }

            let head: String
            var tail = ""
            let arn: String
            let issuerArn: String
            let roleId: String
            if role == .iamUser {
                roleId = "AIDA" + randomChars(&rng, 17, upperBase32)
                arn = "arn:aws:iam::\(account):user/\(userName)"
                issuerArn = arn
                head = "{\"type\":\"IAMUser\",\"principalId\":\"\(roleId)\",\"arn\":\"\(arn)\",\"accountId\":\"\(account)\",\"accessKeyId\":\"AKIA\(randomChars(&rng, 16, upperBase32))\",\"userName\":\"\(userName)\""
            } else {
                roleId = "AROA" + randomChars(&rng, 17, upperBase32)
                arn = "arn:aws:sts::\(account):assumed-role/\(roleName)/\(sessionName)"
                issuerArn = role == .human
                    ? "arn:aws:iam::\(account):role/aws-reserved/sso.amazonaws.com/\(roleName)"
                    : (role == .pipeline && roleName.hasPrefix("AmazonSageMaker")
                        ? "arn:aws:iam::\(account):role/service-role/\(roleName)"
                        : "arn:aws:iam::\(account):role/\(roleName)")
                userName = roleName
                head = "{\"type\":\"AssumedRole\",\"principalId\":\"\(roleId):\(sessionName)\",\"arn\":\"\(arn)\",\"accountId\":\"\(account)\",\"accessKeyId\":\"ASIA\(randomChars(&rng, 16, upperBase32))\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"\(roleId)\",\"arn\":\"\(issuerArn)\",\"accountId\":\"\(account)\",\"userName\":\"\(roleName)\"},\"webIdFederationData\":{},\"attributes\":{\"creationDate\":\""
                tail = "\",\"mfaAuthenticated\":\"\(mfa)\"}}"
            }
            result.append(AWSPrincipal(
                role: role, identityHead: bytes(head), identityTail: bytes(tail), hasSession: role != .iamUser,
                arn: bytes(arn), issuerArn: bytes(issuerArn), roleId: bytes(roleId), sessionName: bytes(sessionName),
                userName: bytes(userName), account: bytes(account), agent: bytes(agent), agentStyle: agentStyle,
                homeIP: rng.below(ipCount), homeRegion: homeRegion, team: team,
                sessionPhase: Int64(rng.below(3600))))
        }
        return result
    }

    static func makeKubePrincipals(count: Int, ipCount: Int, rng: inout CorpusRandom) -> [KubePrincipal] {
        // Service-account templates: namespace ("" = the owner's profile namespace), name, agent, ops, binding.
        typealias Template = (namespace: String, name: String, agent: String, ops: [KubeOp], binding: String)
        let pipelineOps: [KubeOp] = [
            .createPod, .createPod, .getPod, .getPod, .listPods, .watchPods, .deletePod, .listWorkflows,
            .patchWorkflow, .patchWorkflow, .createEvent, .getConfigMap, .getSecret, .patchPodStatus,
        ]
        let kserveOps: [KubeOp] = [
            .watchInferenceServices, .getInferenceService, .getInferenceService, .getInferenceService,
            .getDeployment, .getDeployment, .updateDeploymentStatus, .createEvent, .getConfigMap,
        ]
        let notebookOps: [KubeOp] = [.listPods, .getPod, .listScheduledWorkflows, .listWorkflows, .getConfigMap, .getSecret]
        let templates: [Template] = [
            ("kubeflow", "pipeline-runner", "argo-workflows/v3.5.14 argo-controller", pipelineOps,
             "RBAC: allowed by RoleBinding \\\"pipeline-runner-binding/kubeflow\\\" of ClusterRole \\\"pipeline-runner\\\" to ServiceAccount \\\"pipeline-runner/kubeflow\\\""),
            ("kubeflow", "argo", "workflow-controller/v3.5.14 (linux/amd64) kubernetes/$Format", pipelineOps,
             "RBAC: allowed by ClusterRoleBinding \\\"argo-binding\\\" of ClusterRole \\\"argo-cluster-role\\\" to ServiceAccount \\\"argo/kubeflow\\\""),
            ("kserve", "kserve-controller-manager", "manager/v0.0.0 (linux/amd64) kubernetes/$Format", kserveOps,
             "RBAC: allowed by ClusterRoleBinding \\\"kserve-manager-rolebinding\\\" of ClusterRole \\\"kserve-manager-role\\\" to ServiceAccount \\\"kserve-controller-manager/kserve\\\""),
            ("", "default-editor", "OpenAPI-Generator/30.1.0/python", notebookOps,
             "RBAC: allowed by RoleBinding \\\"default-editor/NS\\\" of ClusterRole \\\"kubeflow-edit\\\" to ServiceAccount \\\"default-editor/NS\\\""),
            ("kubeflow", "ml-pipeline", "apiserver/v0.0.0 (linux/amd64) kubernetes/$Format",
             [.listWorkflows, .listScheduledWorkflows, .getPod, .listPods, .getConfigMap, .getSecret],
             "RBAC: allowed by ClusterRoleBinding \\\"ml-pipeline\\\" of ClusterRole \\\"ml-pipeline\\\" to ServiceAccount \\\"ml-pipeline/kubeflow\\\""),
            ("kubeflow", "ml-pipeline-persistenceagent", "persistence_agent/v0.0.0 (linux/amd64) kubernetes/$Format",
             [.listWorkflows, .listScheduledWorkflows, .listWorkflows],
             "RBAC: allowed by ClusterRoleBinding \\\"ml-pipeline-persistenceagent-binding\\\" of ClusterRole \\\"ml-pipeline-persistenceagent-role\\\" to ServiceAccount \\\"ml-pipeline-persistenceagent/kubeflow\\\""),
        ]
        let nodeOps: [KubeOp] = [
            .updateLease, .updateLease, .updateLease, .updateLease, .getLease, .patchPodStatus, .patchPodStatus,
            .getPod, .watchConfigMap, .getSecret, .createToken, .createToken, .getConfigMap, .createEvent,
        ]
        let humanOps: [KubeOp] = [
            .listPods, .listPods, .getPod, .getPod, .getPodLog, .getPodLog, .getInferenceService, .getInferenceService,
            .patchInferenceService, .listSecrets, .getSecret, .getConfigMap, .listWorkflows, .getPod, .listPods,
            .getInferenceService, .getPodLog, .listWorkflows, .getConfigMap, .createPodExec,
        ]
        let controlOps: [KubeOp] = [
            .getLease, .getLease, .updateLease, .updateLease, .updateLease, .createTokenReview,
            .createSubjectAccessReview, .createEvent, .listPods, .getDeployment, .updateDeploymentStatus,
        ]
        let controlUsers: [(user: String, agent: String, uid: Bool)] = [
            ("system:kube-controller-manager", "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/leader-election", false),
            ("system:kube-scheduler", "kube-scheduler/v1.31.0 (linux/amd64) kubernetes/a737599/leader-election", false),
            ("system:serviceaccount:kube-system:replicaset-controller", "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/system:serviceaccount:kube-system:replicaset-controller", true),
            ("system:serviceaccount:kube-system:generic-garbage-collector", "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/system:serviceaccount:kube-system:generic-garbage-collector", true),
            ("eks:cloud-controller-manager", "aws-cloud-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/leader-election", false),
            ("system:apiserver", "kube-apiserver/v1.31.0 (linux/amd64) kubernetes/a737599", true),
        ] + [
            "endpointslice-controller", "job-controller", "deployment-controller", "statefulset-controller",
            "daemon-set-controller", "namespace-controller", "horizontal-pod-autoscaler", "cronjob-controller",
            "resourcequota-controller", "node-controller", "pvc-protection-controller", "ttl-after-finished-controller",
        ].map { controller in
            ("system:serviceaccount:kube-system:\(controller)",
             "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/system:serviceaccount:kube-system:\(controller)",
             true)
        }
        let humanGroups = ["oidc:ml-engineers", "oidc:data-scientists", "oidc:platform-admins"]

        var result: [KubePrincipal] = []
        result.reserveCapacity(count)
        var usedTemplates = Set<Int>()
        for i in 0..<count {
            var slot = i % 10
            let team = rng.below(Vocabulary.models.count)
            let homeIP = rng.below(ipCount)
            let person = personName(i)
            let profile = "kubeflow-user-\(person.first)-\(person.last)"
            // Control-plane identities are few; once they are used up the slot becomes a service account.
            if slot == 8 && i / 10 >= controlUsers.count { slot = 9 }
            switch slot {
            case 0..<4, 9:
                let templateIndex = (i / 10 + slot) % templates.count
                var t = templates[templateIndex]
                // Each shared controller account exists once; repeats become per-profile service accounts
                // (multi-user Kubeflow runs pipelines in the owner's profile namespace).
                if !usedTemplates.insert(templateIndex).inserted && !t.namespace.isEmpty {
                    t = (namespace: "", name: "default-editor", agent: t.agent, ops: t.name == "kserve-controller-manager" ? notebookOps : t.ops,
                         binding: "RBAC: allowed by RoleBinding \\\"default-editor/NS\\\" of ClusterRole \\\"kubeflow-edit\\\" to ServiceAccount \\\"default-editor/NS\\\"")
                }
                let namespace = t.namespace.isEmpty ? profile : t.namespace
                let username = "system:serviceaccount:\(namespace):\(t.name)"
                let podName: String
                switch t.name {
                case "pipeline-runner":
                    podName = "\(Vocabulary.models[team])-pipeline-\(randomChars(&rng, 5, kubeSuffix))-system-dag-driver-\(1_000_000_000 + rng.below(3_000_000_000))"
                case "default-editor":
                    podName = "\(person.first)-notebook-0"
                default:
                    podName = "\(t.name)-\(randomChars(&rng, 10, lowerHex))-\(randomChars(&rng, 5, kubeSuffix))"
                }
                let node = "ip-10-42-\(rng.below(16))-\(1 + rng.below(254)).ec2.internal"
                let user = "{\"username\":\"\(username)\",\"uid\":\"\(uuidString(&rng))\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:\(namespace)\",\"system:authenticated\"],\"extra\":{\"authentication.kubernetes.io/credential-id\":[\"JTI=\(uuidString(&rng))\"],\"authentication.kubernetes.io/node-name\":[\"\(node)\"],\"authentication.kubernetes.io/node-uid\":[\"\(uuidString(&rng))\"],\"authentication.kubernetes.io/pod-name\":[\"\(podName)\"],\"authentication.kubernetes.io/pod-uid\":[\"\(uuidString(&rng))\"]}}"
                let reason = t.binding.replacingOccurrences(of: "NS", with: namespace)
                let ip = "10.42.\(rng.below(16)).\(1 + rng.below(254))"
                let opsNamespace = t.name == "kserve-controller-manager" ? "kserve-inference" : namespace
                result.append(KubePrincipal(
                    kind: .serviceAccount, user: bytes(user), agent: bytes(t.agent), sourceIP: bytes(ip),
                    reason: bytes(reason), namespace: bytes(opsNamespace), name: bytes(t.name), ops: t.ops,
                    homeIP: homeIP, team: team))
            case 4, 5:
                let a = rng.below(64)
                let b = 1 + rng.below(254)
                let node = "ip-10-42-\(a)-\(b).ec2.internal"
                let user = "{\"username\":\"system:node:\(node)\",\"groups\":[\"system:nodes\",\"system:authenticated\"]}"
                result.append(KubePrincipal(
                    kind: .node, user: bytes(user), agent: bytes(Vocabulary.kubeletAgent), sourceIP: bytes("10.42.\(a).\(b)"),
                    reason: [], namespace: bytes("kube-node-lease"), name: bytes(node), ops: nodeOps,
                    homeIP: homeIP, team: team))
            case 6, 7:
                let email = "\(person.first).\(person.last)@acme.example"
                let group = humanGroups[rng.below(humanGroups.count)]
                let user = "{\"username\":\"\(email)\",\"groups\":[\"\(group)\",\"system:authenticated\"]}"
                let reason = rng.percent(50)
                    ? "RBAC: allowed by RoleBinding \\\"namespaceAdmin/\(profile)\\\" of ClusterRole \\\"kubeflow-admin\\\" to User \\\"\(email)\\\""
                    : "RBAC: allowed by ClusterRoleBinding \\\"\(group.dropFirst(5))-edit\\\" of ClusterRole \\\"edit\\\" to Group \\\"\(group)\\\""
                result.append(KubePrincipal(
                    kind: .human, user: bytes(user),
                    agent: bytes(Vocabulary.kubectlAgents[rng.below(Vocabulary.kubectlAgents.count)]), sourceIP: [],
                    reason: bytes(reason), namespace: bytes(profile), name: bytes(email), ops: humanOps,
                    homeIP: homeIP, team: team))
            default:
                let c = controlUsers[(i / 10) % controlUsers.count]
                var user = "{\"username\":\"\(c.user)\""
                if c.uid { user += ",\"uid\":\"\(uuidString(&rng))\"" }
                if c.user == "system:apiserver" {
                    user += ",\"groups\":[\"system:authenticated\",\"system:masters\"]}"
                } else if c.user.hasPrefix("system:serviceaccount:") {
                    user += ",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\",\"system:authenticated\"]}"
                } else {
                    user += ",\"groups\":[\"system:authenticated\"]}"
                }
                let reason = c.user == "system:apiserver"
                    ? ""
                    : "RBAC: allowed by ClusterRoleBinding \\\"\(c.user)\\\" of ClusterRole \\\"\(c.user)\\\" to User \\\"\(c.user)\\\""
                let leaseName = c.user.split(separator: ":").last.map(String.init) ?? "kube-controller-manager"
                result.append(KubePrincipal(
                    kind: .controlPlane, user: bytes(user), agent: bytes(c.agent),
                    sourceIP: bytes("172.16.\(rng.below(64)).\(1 + rng.below(254))"), reason: bytes(reason),
                    namespace: bytes("kube-system"), name: bytes(leaseName), ops: controlOps,
                    homeIP: homeIP, team: team))
            }
        }
        return result
    }


    static let upperBase32: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    static let lowerAlnum: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    static let lowerHex: [UInt8] = Array("0123456789abcdef".utf8)
    /// The alphabet Kubernetes uses for generated name suffixes.
    static let kubeSuffix: [UInt8] = Array("bcdfghjklmnpqrstvwxz2456789".utf8)

    static func randomChars(_ rng: inout CorpusRandom, _ n: Int, _ alphabet: [UInt8]) -> String {
        var b: [UInt8] = []
        for _ in 0..<n { b.append(alphabet[rng.below(alphabet.count)]) }
        return String(decoding: b, as: UTF8.self)
    }

    static func twoDigits(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    static func hexString(_ rng: inout CorpusRandom, digits: Int) -> String {
        randomChars(&rng, digits, lowerHex)
    }

    static func uuidBytes(_ rng: inout CorpusRandom) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(36)
        let x = rng.next()
        let y = rng.next()
        writeUUID(x, y, into: &b)
        return b
    }

    static func uuidString(_ rng: inout CorpusRandom) -> String {
        String(decoding: uuidBytes(&rng), as: UTF8.self)
    }

    @inline(__always)
    static func writeUUID(_ a: UInt64, _ b: UInt64, into out: inout [UInt8]) {
        out.hex(a >> 32, digits: 8)
        out.append(45)
        out.hex(a >> 16, digits: 4)
        out.append(45)
        out.hex(0x4000 | (a & 0x0FFF), digits: 4)
        out.append(45)
        out.hex(0x8000 | ((b >> 48) & 0x3FFF), digits: 4)
        out.append(45)
        out.hex(b, digits: 12)
    }


    @inline(__always)
    mutating func advanceClock() {
        if meanGapMicros > 0 {
            clockMicros += Int64(rng.below(Int(meanGapMicros * 2) + 1))
        }
    }

    /// About half of the picks land in the first eighth of the pool, so a few principals are busy.
    @inline(__always)
    mutating func skewedIndex(_ n: Int) -> Int {
        let r = rng.below(n)
        return rng.next() & 1 == 0 ? r : r >> 3
    }

    @inline(__always)
    mutating func uuid(_ out: inout [UInt8]) {
        let a = rng.next()
        let b = rng.next()
        Self.writeUUID(a, b, into: &out)
    }

    /// `n` characters of [A-Z0-9] (S3 request ids).
    mutating func upperAlnum(_ n: Int, _ out: inout [UInt8]) {
        for _ in 0..<n {
            let d = UInt8(truncatingIfNeeded: rng.below(36))
            out.append(d < 10 ? d &+ 48 : d &+ 55)
        }
    }

    /// `n` characters of [a-z0-9].
    mutating func lowerAlnumChars(_ n: Int, _ out: inout [UInt8]) {
        for _ in 0..<n {
            let d = UInt8(truncatingIfNeeded: rng.below(36))
            out.append(d < 10 ? d &+ 48 : d &+ 87)
        }
    }

    /// `n` characters of the Kubernetes name-suffix alphabet.
    mutating func kubeSuffixChars(_ n: Int, _ out: inout [UInt8]) {
        Self.kubeSuffix.withUnsafeBufferPointer { alphabet in
            for _ in 0..<n { out.append(alphabet[rng.below(alphabet.count)]) }
        }
    }

    /// `n` characters of base64 (the `x-amz-id-2` style).
    mutating func base64Chars(_ n: Int, _ out: inout [UInt8]) {
        var bits: UInt64 = 0
        var left = 0
        for _ in 0..<n {
            if left < 6 {
                bits = rng.next()
                left = 64
            }
            let d = UInt8(truncatingIfNeeded: bits & 63)
            bits >>= 6
            left -= 6
            let c: UInt8
            switch d {
            case 0..<26: c = d &+ 65
            case 26..<52: c = d &+ 71
            case 52..<62: c = d &- 4
            case 62: c = 43
            default: c = 47
            }
            out.append(c)
        }
    }

    @inline(__always)
    mutating func pickModel(_ team: Int) -> StaticString {
        Vocabulary.models[rng.percent(70) ? team : rng.below(Vocabulary.models.count)]
    }

    @inline(__always)
    mutating func pickBucket(_ team: Int) -> Int {
        rng.percent(70) ? (team &* 7 &+ rng.below(3)) % buckets.count : rng.below(buckets.count)
    }
}

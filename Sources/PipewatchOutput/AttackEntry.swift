import PipewatchJSON

/// One OCSF `attacks[]` entry (OCSF 1.1 `attack`: technique, sub-technique, one tactic, the ATT&CK version), made
/// from a rule's Sigma `attack.*` tags once per rule.
///
/// Each technique tag is paired with each of the rule's tactic tags that ATT&CK lists the technique under (one
/// entry per pair: OCSF 1.1 deprecates the `tactics` array for a single `tactic`). When none of the rule's tactics
/// fits, or the rule tags none, the technique's own ATT&CK tactics are used. A tactic tag that no technique took
/// becomes an entry of its own. Groups (`attack.g0016`) and software (`attack.s0002`) are not attacks.
///
/// Unknown to `AttackCatalog` (a technique newer than the table, or a typo): a technique keeps its uid and has no
/// name, and is paired with every tactic the rule tags; a tactic tag keeps its name (the tag in title case) and has
/// no uid. Nothing a rule tags is dropped.
struct AttackEntry: Sendable, Equatable {
    struct Reference: Sendable, Equatable {
        var uid: String?
        var name: String?
    }

    var technique: Reference?
    var subTechnique: Reference?
    var tactic: Reference?
    var version: String

    /// The entries of a rule's tags, in tag order.
    static func entries(forTags tags: [String]) -> [AttackEntry] {
        var techniques: [String] = []
        var tactics: [TacticTag] = []
        for tag in tags {
            let lower = tag.lowercased()
            guard lower.hasPrefix("attack."), lower.count > "attack.".count else { continue }
            let rest = lower.dropFirst("attack.".count)
            if rest.first == "t", rest.dropFirst().first?.isNumber == true {
                let uid = rest.uppercased()
                if !techniques.contains(uid) { techniques.append(uid) }
            } else if (rest.first == "g" || rest.first == "s"), rest.dropFirst().allSatisfy(\.isNumber) {
                continue
            } else {
                let tactic = TacticTag(String(rest))
                if !tactics.contains(tactic) { tactics.append(tactic) }
            }
        }
        var entries: [AttackEntry] = []
        var taken = Set<Int>()
        for uid in techniques {
            let parentUID = uid.split(separator: ".").first.map(String.init) ?? uid
            let known = AttackCatalog.technique(uid)
            let technique = Reference(uid: parentUID, name: AttackCatalog.technique(parentUID)?.name)
            let subTechnique = parentUID != uid ? Reference(uid: uid, name: known?.name) : nil
            // The rule's tactics this technique belongs to; all of them for a technique the catalog does not know.
            let paired = tactics.indices.filter { index in
                guard let known else { return true }
                guard let tactic = tactics[index].known else { return false }
                return known.tactics.contains { $0.lineage == tactic.lineage }
            }
            taken.formUnion(paired)
            var pairs = paired.map { tactics[$0] }
            if pairs.isEmpty, let known { pairs = known.tactics.map { TacticTag($0) } }
            let version = known?.version ?? AttackCatalog.version
            if pairs.isEmpty {
                entries.append(AttackEntry(technique: technique, subTechnique: subTechnique, tactic: nil, version: version))
            }
            for tactic in pairs {
                entries.append(AttackEntry(
                    technique: technique, subTechnique: subTechnique, tactic: tactic.reference,
                    version: AttackCatalog.later(version, tactic.version)))
            }
        }
        for (index, tactic) in tactics.enumerated() where !taken.contains(index) {
            entries.append(AttackEntry(technique: nil, subTechnique: nil, tactic: tactic.reference, version: tactic.version))
        }
        return entries
    }

    func write(to w: inout JSONWriter) {
        w.beginObject()
        if let technique { write("technique", technique, to: &w) }
        if let subTechnique { write("sub_technique", subTechnique, to: &w) }
        if let tactic { write("tactic", tactic, to: &w) }
        w.key("version"); w.string(version)
        w.endObject()
    }

    private func write(_ key: String, _ reference: Reference, to w: inout JSONWriter) {
        w.key(key)
        w.beginObject()
        if let name = reference.name { w.key("name"); w.string(name) }
        if let uid = reference.uid { w.key("uid"); w.string(uid) }
        w.endObject()
    }
}

/// A tactic tag: a known ATT&CK tactic, or the tag's own words.
private struct TacticTag: Equatable {
    var known: AttackTactic?
    var words: String

    init(_ tag: String) {
        let normalized = tag.replacingOccurrences(of: "_", with: "-")
        known = AttackTactic(rawValue: normalized)
        words = normalized
    }

    init(_ tactic: AttackTactic) {
        known = tactic
        words = tactic.rawValue
    }

    var reference: AttackEntry.Reference {
        if let known { return AttackEntry.Reference(uid: known.uid, name: known.name) }
        return AttackEntry.Reference(uid: nil, name: words.split(separator: "-").map(\.capitalized).joined(separator: " "))
    }

    var version: String { known?.version ?? AttackCatalog.version }
}

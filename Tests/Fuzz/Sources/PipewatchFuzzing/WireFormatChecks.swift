import PipewatchOutput

/// What a SIEM's parser needs of each line-oriented alert format, checked from the outside: a line break or an
/// unescaped separator in a field would let a hostile value forge fields or whole events.
public enum WireFormatChecks {
    /// Nil when `line` is one well-framed CEF:0 line whose extension keys are among `keys`, each once.
    public static func cefProblem(_ line: [UInt8], keys: Set<String>) -> String? {
        if let problem = oneLineProblem(line) { return problem }
        let prefix = Array("CEF:0|".utf8)
        guard line.starts(with: prefix) else { return "does not start with CEF:0|" }
        var i = prefix.count
        // Vendor, product, version, signature id, name: `\\` and `\|` are the only escapes; `|` ends a field.
        let limits = CEFFormatter.headerLimits
        for (field, limit) in [("vendor", limits.vendor), ("product", limits.product), ("version", limits.version),
                               ("signature id", limits.signatureID), ("name", limits.name)] {
            let start = i
            while true {
                guard i < line.count else { return "header ends inside \(field)" }
                let c = line[i]
                if c == UInt8(ascii: "|") { break }
                if c == UInt8(ascii: "\\") {
                    guard i + 1 < line.count, line[i + 1] == UInt8(ascii: "\\") || line[i + 1] == UInt8(ascii: "|") else {
                        return "bad escape in header \(field)"
                    }
                    i += 2
                    continue
                }
                i += 1
            }
            if i - start > limit { return "header \(field) longer than \(limit) bytes" }
            i += 1
        }
        let severityStart = i
        while i < line.count, line[i] >= 0x30 && line[i] <= 0x39 { i += 1 }
        guard i > severityStart, i < line.count, line[i] == UInt8(ascii: "|"),
              let severity = Int(String(decoding: line[severityStart..<i], as: UTF8.self)), (0...10).contains(severity)
        else { return "severity is not 0-10 followed by |" }
        i += 1
        return cefExtensionProblem(Array(line[i...]), keys: keys)
    }

    /// `key=value` pairs separated by spaces; in values `\\`, `\=`, `\n`, `\r` are the only escapes and an
    /// unescaped `=` would start a forged key.
    static func cefExtensionProblem(_ text: [UInt8], keys: Set<String>) -> String? {
        var seen = Set<String>()
        var i = 0
        while i < text.count {
            let keyStart = i
            while i < text.count, text[i] != UInt8(ascii: "=") {
                let c = text[i]
                guard (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) else {
                    return "extension key contains byte \(c)"
                }
                i += 1
            }
            guard i < text.count, i > keyStart else { return "extension pair without key=" }
            let key = String(decoding: text[keyStart..<i], as: UTF8.self)
            guard keys.contains(key) else { return "unexpected extension key \(key)" }
            guard seen.insert(key).inserted else { return "extension key \(key) twice" }
            i += 1
            let valueStart = i
            // The value runs to the space before the next key (keys were checked to be made of letters and digits).
            var valueEnd = text.count
            var j = i
            while j < text.count {
                let c = text[j]
                if c == UInt8(ascii: "\\") {
                    guard j + 1 < text.count else { return "value of \(key) ends with a lone backslash" }
                    let e = text[j + 1]
                    guard e == UInt8(ascii: "\\") || e == UInt8(ascii: "=") || e == UInt8(ascii: "n") || e == UInt8(ascii: "r") else {
                        return "bad escape \\\(Character(Unicode.Scalar(e))) in value of \(key)"
                    }
                    j += 2
                    continue
                }
                if c == UInt8(ascii: "=") { return "unescaped = in value of \(key)" }
                if c == UInt8(ascii: " "), nextIsKey(text, from: j + 1, keys: keys) {
                    valueEnd = j
                    break
                }
                j += 1
            }
            if valueEnd == valueStart { return "empty value of \(key)" }
            if let limit = CEFFormatter.extensionLimits[key], valueEnd - valueStart > limit {
                return "value of \(key) longer than \(limit) bytes"
            }
            i = valueEnd == text.count ? text.count : valueEnd + 1
        }
        return nil
    }

    /// Whether a known key and `=` start at `index`.
    static func nextIsKey(_ text: [UInt8], from index: Int, keys: Set<String>) -> Bool {
        var j = index
        while j < text.count, text[j] != UInt8(ascii: "="), text[j] != UInt8(ascii: " ") { j += 1 }
        guard j < text.count, text[j] == UInt8(ascii: "=") else { return false }
        return keys.contains(String(decoding: text[index..<j], as: UTF8.self))
    }

    /// Nil when `line` is one LEEF 2.0 line with a TAB delimiter whose attribute keys are among `keys`, each once.
    public static func leefProblem(_ line: [UInt8], keys: Set<String>) -> String? {
        if let problem = oneLineProblem(line) { return problem }
        let prefix = Array("LEEF:2.0|".utf8)
        guard line.starts(with: prefix) else { return "does not start with LEEF:2.0|" }
        var i = prefix.count
        for field in ["vendor", "product", "version", "event id"] {
            while i < line.count, line[i] != UInt8(ascii: "|") {
                if line[i] == LEEFFormatter.delimiter { return "delimiter inside header \(field)" }
                i += 1
            }
            guard i < line.count else { return "header ends inside \(field)" }
            i += 1
        }
        let declaration = Array((LEEFFormatter.delimiterDeclaration + "|").utf8)
        guard line[i...].starts(with: declaration) else { return "delimiter declaration missing after four header fields" }
        i += declaration.count
        var seen = Set<String>()
        for attribute in line[i...].split(separator: LEEFFormatter.delimiter, omittingEmptySubsequences: false) {
            guard let equals = attribute.firstIndex(of: UInt8(ascii: "=")) else { return "attribute without =" }
            let key = String(decoding: attribute[attribute.startIndex..<equals], as: UTF8.self)
            guard keys.contains(key) else { return "unexpected attribute key \(key)" }
            guard seen.insert(key).inserted else { return "attribute \(key) twice" }
            if equals + 1 == attribute.endIndex { return "empty value of \(key)" }
        }
        return nil
    }

    /// Nil when `message` is one RFC 5424 message as `SyslogMessage.format` builds it: PRI 0–191, version 1, a
    /// UTC timestamp, four header fields of printable ASCII within their limits, the NILVALUE for SD, then MSG.
    public static func syslogProblem(_ message: [UInt8]) -> String? {
        let parts = message.split(separator: UInt8(ascii: " "), maxSplits: 7, omittingEmptySubsequences: false)
        guard parts.count == 8 else { return "fewer than eight space-separated parts" }
        let pri = Array(parts[0])
        guard pri.first == UInt8(ascii: "<"), pri.count >= 4, Array(pri.suffix(2)) == [UInt8(ascii: ">"), UInt8(ascii: "1")],
              let value = Int(String(decoding: pri[1..<(pri.count - 2)], as: UTF8.self)), (0...191).contains(value)
        else { return "PRI and version are not <0-191>1" }
        let time = String(decoding: parts[1], as: UTF8.self)
        guard time.utf8.count == 24, time.hasSuffix("Z"), Array(time.utf8)[10] == UInt8(ascii: "T") else {
            return "timestamp \(time) is not YYYY-MM-DDTHH:MM:SS.mmmZ"
        }
        let limits = [SyslogMessage.hostnameLimit, SyslogMessage.appNameLimit, SyslogMessage.procIDLimit, SyslogMessage.msgIDLimit]
        for (index, limit) in limits.enumerated() {
            let field = parts[2 + index]
            guard !field.isEmpty, field.count <= limit, field.allSatisfy({ $0 >= 33 && $0 <= 126 }) else {
                return "header field \(index + 1) is empty, too long or not printable ASCII"
            }
        }
        guard parts[6].elementsEqual("-".utf8) else { return "STRUCTURED-DATA is not the NILVALUE" }
        return nil
    }

    /// Nil when `bytes` hold no CR or LF and are valid UTF-8.
    static func oneLineProblem(_ bytes: [UInt8]) -> String? {
        if let index = bytes.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) { return "line break at byte \(index)" }
        return StrictJSON.utf8Problem(bytes)
    }
}

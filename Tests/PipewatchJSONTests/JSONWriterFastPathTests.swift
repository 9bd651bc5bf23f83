import PipewatchJSON
import Testing

/// The writer's eight-bytes-at-a-time paths and the tape's compactness test give the bytes the byte-at-a-time
/// writer gave (kept below as the reference) on records with whitespace, escapes, Unicode and invalid UTF-8.
@Suite struct JSONWriterFastPathTests {
    /// The byte-at-a-time writer these paths replaced: the reference for their output.
    enum Reference {
        static func raw(_ json: [UInt8]) -> [UInt8] {
            var bytes: [UInt8] = []
            var inString = false
            var escaped = false
            var runStart = 0
            for (i, c) in json.enumerated() {
                if inString {
                    if escaped {
                        escaped = false
                    } else if c == UInt8(ascii: "\\") {
                        escaped = true
                    } else if c == UInt8(ascii: "\"") {
                        inString = false
                    }
                } else if c == UInt8(ascii: "\"") {
                    inString = true
                } else if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                    bytes += json[runStart..<i]
                    runStart = i + 1
                }
            }
            return bytes + json[runStart...]
        }

        static func quoted(_ s: [UInt8]) -> [UInt8] {
            let hex = Array("0123456789abcdef".utf8)
            var bytes: [UInt8] = [UInt8(ascii: "\"")]
            var i = 0
            var runStart = 0
            while i < s.count {
                let c = s[i]
                if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") && c < 0x80 {
                    i += 1
                    continue
                }
                if c >= 0x80 {
                    let length = s.withUnsafeBufferPointer { JSONWriter.utf8SequenceLength($0, i) }
                    if let length {
                        i += length
                        continue
                    }
                    bytes += s[runStart..<i] + [0xEF, 0xBF, 0xBD]
                    i += 1
                    runStart = i
                    continue
                }
                bytes += s[runStart..<i]
                switch c {
                case UInt8(ascii: "\""): bytes += Array(#"\""#.utf8)
                case UInt8(ascii: "\\"): bytes += Array(#"\\"#.utf8)
                case 0x0A: bytes += Array(#"\n"#.utf8)
                case 0x0D: bytes += Array(#"\r"#.utf8)
                case 0x09: bytes += Array(#"\t"#.utf8)
                default: bytes += Array(#"\u00"#.utf8) + [hex[Int(c >> 4)], hex[Int(c & 0xF)]]
                }
                i += 1
                runStart = i
            }
            return bytes + s[runStart...] + [UInt8(ascii: "\"")]
        }
    }

    static let records: [String] = [
        #"{"a":1,"b":"x y","c":[true,false,null],"d":{}}"#,
        "{\n  \"eventName\" : \"GetObject\",\n\t\"userAgent\": \"aws-cli/2.0 Python/3.11\",\r\n  \"n\": [ 1 , 2.5e3 , -0 ]\n}",
        #"{"msg":"quote \" inside, backslash \\\" then space after","k":"\\","z":" "}"#,
        #"{"text":"Zoë 模型 🚀 \u00e9\ud83d\ude80","esc":"\\\\ \/ \b\f\n\r\t","e":[]}"#,
        #"  {"padded" : "  leading and trailing  " }  "#,
        #"["a b",{"c d":"e\"f g"},[[],{}],"\\"]"#,
        #""just a string with spaces""#,
        #"{"k":"12345678\"12345678 \\ 12345678","l":"abcdefghijklmnopqrstuvwxyz ABCDEFGH"}"#,
    ]

    func parse(_ text: [UInt8], _ body: (JSONDocument, UInt32) throws -> Void) throws {
        let tape = JSONTape()
        try text.withUnsafeBufferPointer { buffer in
            let root = try JSONParser.parse(buffer.baseAddress!, from: 0, to: buffer.count, into: tape)
            try body(JSONDocument(bytes: buffer.baseAddress!, nodes: tape.nodes), root)
        }
    }

    @Test func rawDropsWhitespaceAsTheReferenceDid() throws {
        for record in Self.records + Self.records.map(Self.prettyPrinted) {
            let text = Array(record.utf8)
            var writer = JSONWriter()
            try parse(text) { document, root in writer.raw(json: document.jsonText(root)) }
            #expect(writer.bytes == Reference.raw(Array(text.drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed())), "\(record)")
        }
    }

    @Test func isCompactExactlyWhenRawChangesNothing() throws {
        var compactSeen = 0
        for record in Self.records + Self.records.map(Self.prettyPrinted) + Self.records.map({ Self.compacted($0) }) {
            let text = Array(record.utf8)
            try parse(text) { document, root in
                let json = Array(document.jsonText(root))
                let compact = document.isCompact(root)
                #expect(compact == (Reference.raw(json) == json), "\(record)")
                if compact { compactSeen += 1 }
                // The verbatim copy gives what the scanning copy gives, whenever the tape says it may be used.
                var fast = JSONWriter(), slow = JSONWriter()
                if compact { fast.raw(compactJSON: document.jsonText(root)) } else { fast.raw(json: document.jsonText(root)) }
                slow.raw(json: document.jsonText(root))
                #expect(fast.bytes == slow.bytes)
            }
        }
        #expect(compactSeen >= Self.records.count)
    }

    @Test func quotingMatchesTheReference() {
        var cases: [[UInt8]] = [
            [], Array("plain ascii text that is longer than eight bytes".utf8), Array("\"".utf8),
            Array("tab\there\nnew \"q\" back\\slash \u{1} \u{1f}".utf8), Array("Zoë 模型 🚀 and more text".utf8),
            [0x61, 0xFF, 0x62], [0xE6, 0xA8], Array("12345678".utf8) + [0xC3], [0xED, 0xA0, 0x80],
            Array("abcdefg\"".utf8), Array("abcdefgh\\".utf8), Array("abcdefghijklmno\u{7f}".utf8),
        ]
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("ab \"\\\n\t".utf8) + [0x01, 0x7F, 0xC3, 0xA9, 0xE6, 0xA8, 0xA1, 0xF0, 0x9F, 0x9A, 0x80, 0xFF]
        for _ in 0..<2000 {
            cases.append((0..<Int.random(in: 0..<40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        }
        for bytes in cases {
            var writer = JSONWriter()
            bytes.withUnsafeBufferPointer { writer.string(utf8: $0) }
            #expect(writer.bytes == Reference.quoted(bytes), "\(bytes)")
            // Text without quotes, backslashes or control characters may take the verbatim path: same bytes.
            if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                var verbatim = JSONWriter()
                bytes.withUnsafeBufferPointer { verbatim.string(verbatim: $0) }
                #expect(verbatim.bytes == Reference.quoted(bytes), "\(bytes)")
            }
        }
    }

    @Test func numbersAreSpelledAsStringDoes() {
        let values: [Int64] = [0, 7, -7, 9, 10, 99, 100, 1_700_000_000_123, -1_000_000, .max, .min, .min + 1]
        for value in values {
            var writer = JSONWriter()
            writer.number(value)
            #expect(writer.bytes == Array(String(value).utf8))
        }
        var writer = JSONWriter()
        writer.beginArray(); writer.number(2.0); writer.number(-3.0); writer.number(0.5); writer.number(Double.nan); writer.endArray()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[2,-3,0.5,null]")
    }

    @Test func aCopiedWriterKeepsItsOwnBytes() {
        var first = JSONWriter(capacity: 16)
        first.beginObject(); first.key("a"); first.number(1)
        var second = first
        second.key("b"); second.string(String(repeating: "x", count: 100)); second.endObject()
        first.endObject()
        #expect(String(decoding: first.bytes, as: UTF8.self) == #"{"a":1}"#)
        #expect(String(decoding: second.bytes, as: UTF8.self) == #"{"a":1,"b":""# + String(repeating: "x", count: 100) + #""}"#)
        second.reset()
        second.null()
        #expect(second.bytes == Array("null".utf8))
        #expect(first.count == 7)
    }

    /// The record with a space after every ':' and ',' and a newline after every '{' outside strings.
    static func prettyPrinted(_ text: String) -> String {
        var out = ""
        var inString = false, escaped = false
        for c in text {
            out.append(c)
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == ":" || c == "," {
                out.append(" ")
            } else if c == "{" {
                out.append("\n  ")
            }
        }
        return out
    }

    static func compacted(_ text: String) -> String {
        String(decoding: Reference.raw(Array(text.utf8)), as: UTF8.self)
    }
}

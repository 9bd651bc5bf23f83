import Foundation
import Testing

@testable import PipewatchJSON

/// Parses `text` and keeps the bytes and tape alive for the document view.
final class Parsed {
    let bytes: UnsafeMutablePointer<UInt8>
    let count: Int
    let tape = JSONTape(capacity: 16)
    let root: UInt32

    convenience init(_ text: String) throws(JSONError) { try self.init(bytes: Array(text.utf8)) }

    init(bytes raw: [UInt8]) throws(JSONError) {
        count = raw.count
        bytes = .allocate(capacity: max(count, 1))
        bytes.update(from: raw, count: count)
        do {
            root = try JSONParser.parse(bytes, from: 0, to: count, into: tape)
        } catch {
            bytes.deallocate()
            throw error
        }
    }

    deinit { bytes.deallocate() }

    var document: JSONDocument { JSONDocument(bytes: bytes, nodes: tape.nodes) }

    func values(_ path: String) -> [String] {
        var found: [String] = []
        JSONPath(path).anyValue(in: document, from: root) { index in
            found.append(document.scalarText(index) ?? String(decoding: document.rawBytes(index), as: UTF8.self))
            return false
        }
        return found
    }

    func string(_ path: String) -> String? { values(path).first }
}

func parseError(_ text: String) -> JSONError? {
    do {
        _ = try Parsed(text)
        return nil
    } catch {
        return error
    }
}

@Suite struct JSONParserTests {
    @Test func scalarsAndNesting() throws {
        let parsed = try Parsed(#" {"a": [1, -2.5e3, 0, true, false, null, "x"], "b": {"c": {"d": []}}, "e": {}} "#)
        let doc = parsed.document
        #expect(doc[parsed.root].kind == .object)
        let a = try #require(doc.member(parsed.root, "a"))
        var elements: [String] = []
        doc.forEachElement(a) { elements.append(doc.scalarText($0) ?? "?") }
        #expect(elements == ["1", "-2.5e3", "0", "true", "false", "null", "x"])
        #expect(doc.childCount(a) == 7)
        #expect(doc.double(try #require(doc.element(a, at: 1))) == -2500)
        #expect(doc[try #require(doc.element(a, at: 5))].kind == .null)
        let d = try #require(JSONPath("b.c.d").first(in: doc, from: parsed.root))
        #expect(doc[d].kind == .array && doc.childCount(d) == 0)
        #expect(doc.childCount(try #require(doc.member(parsed.root, "e"))) == 0)
        // Siblings are one hop apart: the node after "b"'s subtree is the key "e".
        let b = try #require(doc.member(parsed.root, "b"))
        #expect(doc.string(doc[b].next) == "e")
    }

    @Test func stringEscapesAndSurrogatePairs() throws {
        let parsed = try Parsed(#"{"s": "q\"b\\s\/n\nt\tu\u00e9\u20ac\ud83d\ude00 end", "k\u0065y": 1}"#)
        #expect(parsed.string("s") == "q\"b\\s/n\nt\tué€😀 end")
        // A key written with an escape is found by its decoded spelling.
        #expect(parsed.string("key") == "1")
        let s = try #require(parsed.document.member(parsed.root, "s"))
        #expect(parsed.document[s].isEscaped)
    }

    @Test func rawUTF8IsKept() throws {
        let parsed = try Parsed(#"{"name": "Zoë 模型 🚀"}"#)
        #expect(parsed.string("name") == "Zoë 模型 🚀")
        #expect(!parsed.document[try #require(parsed.document.member(parsed.root, "name"))].isEscaped)
    }

    @Test func longStringsCrossTheEightByteFastPath() throws {
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000] {
            let body = String(repeating: "a", count: length)
            let parsed = try Parsed("[\"\(body)\",\"\(body)\\\"\(body)\"]")
            #expect(parsed.values("0") == [body])
            #expect(parsed.values("1") == [body + "\"" + body])
        }
    }

    @Test func numbersFollowTheGrammar() throws {
        for valid in ["0", "-0", "12", "-12.5", "1e10", "1E+2", "1.5e-3", "123456789012345678901234567890"] {
            let parsed = try Parsed("[\(valid)]")
            #expect(parsed.values("0") == [valid])
        }
        for invalid in ["01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "1.e5", "--1"] {
            #expect(parseError("[\(invalid)]") != nil, "\(invalid) must be rejected")
        }
    }

    @Test(arguments: [
        (#"{"a": "x"#, JSONErrorReason.unterminatedString, 6),
        (#"{"a" "x"}"#, .expectedColon, 5),
        (#"{"a": 1,}"#, .expectedKey, 8),
        (#"{"a": 1 "b": 2}"#, .expectedCommaOrObjectEnd, 8),
        (#"[1 2]"#, .expectedCommaOrArrayEnd, 3),
        (#"{"a": tru}"#, .invalidLiteral, 6),
        (#"{"a": nul"#, .invalidLiteral, 6),
        (#"{"a": "\q"}"#, .invalidEscape(UInt8(ascii: "q")), 7),
        (#"{"a": "\u12G4"}"#, .invalidUnicodeEscape, 7),
        (#"{"a": "\ud800"}"#, .loneSurrogate, 7),
        (#"{"a": "\ud800\u0041"}"#, .loneSurrogate, 7),
        (#"{"a": "\udc00"}"#, .loneSurrogate, 7),
        (#"{"a": 1} x"#, .trailingCharacters, 9),
        (#"{"a": [1, 2"#, .unexpectedEnd, 11),
        (#"   "#, .empty, 3),
        (#"{"a": @}"#, .unexpectedCharacter(UInt8(ascii: "@")), 6),
    ])
    func errorsNameTheByteOffset(text: String, reason: JSONErrorReason, offset: Int) {
        let error = parseError(text)
        #expect(error == JSONError(reason, at: offset), "\(text)")
        #expect(error?.description.contains("byte \(offset)") == true)
    }

    @Test func controlCharactersAndInvalidUTF8AreRejected() {
        #expect(parseError("{\"a\": \"x\ny\"}") == JSONError(.controlCharacterInString(0x0A), at: 8))
        let invalid: [[UInt8]] = [
            [0xC3, 0x28],  // bad continuation
            [0xC0, 0x80],  // overlong
            [0xED, 0xA0, 0x80],  // UTF-16 surrogate encoded in UTF-8
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0xE2, 0x82],  // truncated sequence
            [0xFF],
        ]
        for sequence in invalid {
            let bytes = Array(#"{"a": "xx"#.utf8) + sequence + Array(#"yy"}"#.utf8)
            do {
                _ = try Parsed(bytes: bytes)
                Issue.record("accepted invalid UTF-8 \(sequence)")
            } catch {
                #expect(error == JSONError(.invalidUTF8, at: 9))
            }
        }
    }

    @Test func depthIsBounded() throws {
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(parseError(deep)?.reason == .tooDeep)
        let fine = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect(parseError(fine) == nil)
    }

    /// Input that fails can write a node per byte first ("[[[[…" opens a container per byte): the tape must have
    /// room for every one, or the parser writes past it (a webhook body of 400 "[" did, found by fuzz-webhook).
    @Test func unterminatedContainersStayWithinTheTape() throws {
        for opened in [100, 300, 500, JSONParser.maxDepth] {
            let tape = JSONTape(capacity: 16)
            let bytes = [UInt8](repeating: UInt8(ascii: "["), count: opened)
            bytes.withUnsafeBufferPointer { buffer in
                #expect(throws: JSONError.self) { try JSONParser.parse(buffer.baseAddress!, from: 0, to: buffer.count, into: tape) }
            }
            #expect(tape.capacity >= opened, "\(opened) containers opened in a tape of \(tape.capacity) nodes")
        }
    }

    @Test func failedParseLeavesTheTapeAsItWas() throws {
        let tape = JSONTape(capacity: 16)
        let good = Array(#"{"a":[1,2,3]}"#.utf8)
        let bad = Array(#"{"a":[1,2"#.utf8)
        try good.withUnsafeBufferPointer { _ = try JSONParser.parse($0.baseAddress!, from: 0, to: $0.count, into: tape) }
        let count = tape.count
        bad.withUnsafeBufferPointer { buffer in
            #expect(throws: JSONError.self) { try JSONParser.parse(buffer.baseAddress!, from: 0, to: buffer.count, into: tape) }
        }
        #expect(tape.count == count)
    }

    @Test func agreesWithFoundationOnValidity() throws {
        // A deterministic mix of valid and broken documents, judged against Foundation's parser.
        let pieces = ["{", "}", "[", "]", "\"a\"", ":", ",", "1", "-0.5", "true", "null", " ", "\"\\u00e9\"", "\"\\x\""]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int(state % 9 + 1) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text += pieces[Int((state >> 33) % UInt64(pieces.count))]
            }
            let foundation = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
            let ours = parseError(text) == nil
            #expect(ours == foundation, "disagree on \(text)")
        }
    }
}

@Suite struct JSONPathTests {
    let record = #"""
        {"userIdentity": {"type": "AssumedRole", "sessionContext": {"attributes": {"mfaAuthenticated": "true"}}},
         "requestObject": {"spec": {"containers": [
             {"name": "main", "image": "python:3.11", "securityContext": {"privileged": false}},
             {"name": "side", "image": "busybox", "securityContext": {"privileged": true}}],
           "volumes": [{"name": "v", "hostPath": {"path": "/"}}]}},
         "annotations": {"authorization.k8s.io/decision": "allow"},
         "matrix": [[1, 2], [3]]}
        """#

    @Test func dottedPathsReachNestedFields() throws {
        let parsed = try Parsed(record)
        #expect(parsed.string("userIdentity.sessionContext.attributes.mfaAuthenticated") == "true")
        #expect(parsed.values("userIdentity.missing").isEmpty)
        #expect(parsed.values("userIdentity.type.deeper").isEmpty)
    }

    @Test func pathsFanOutAcrossArrays() throws {
        let parsed = try Parsed(record)
        #expect(parsed.values("requestObject.spec.containers.image") == ["python:3.11", "busybox"])
        #expect(parsed.values("requestObject.spec.containers.securityContext.privileged") == ["false", "true"])
        #expect(parsed.values("requestObject.spec.volumes.hostPath.path") == ["/"])
        #expect(parsed.values("matrix") .count == 1)
        #expect(parsed.values("matrix.0.1") == ["2"])
    }

    @Test func indicesSelectOneElement() throws {
        let parsed = try Parsed(record)
        #expect(parsed.values("requestObject.spec.containers.1.name") == ["side"])
        #expect(parsed.values("requestObject.spec.containers[0].name") == ["main"])
        #expect(parsed.values("requestObject.spec.containers[5].name").isEmpty)
    }

    @Test func keysContainingDotsResolve() throws {
        let parsed = try Parsed(record)
        #expect(parsed.string("annotations.authorization.k8s.io/decision") == "allow")
    }

    @Test func wholeContainersAreReachable() throws {
        let parsed = try Parsed(record)
        let containers = try #require(JSONPath("requestObject.spec.containers").first(in: parsed.document, from: parsed.root))
        #expect(parsed.document[containers].kind == .array)
        #expect(parsed.document.childCount(containers) == 2)
    }

    @Test func earlyStopReportsIt() throws {
        let parsed = try Parsed(record)
        var seen = 0
        let stopped = JSONPath("requestObject.spec.containers.name").anyValue(in: parsed.document, from: parsed.root) { _ in
            seen += 1
            return true
        }
        #expect(stopped && seen == 1)
    }
}

@Suite struct JSONWriterTests {
    @Test func escapesRoundTripThroughFoundation() throws {
        let hostile = "quote\" backslash\\ slash/ newline\n tab\t cr\r bell\u{07} nul\u{00} é 模 😀"
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("k\"ey")
        writer.string(hostile)
        writer.key("n")
        writer.number(Int64(-42))
        writer.key("list")
        writer.beginArray()
        writer.bool(true)
        writer.null()
        writer.number(1.5)
        writer.endArray()
        writer.endObject()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any])
        #expect(object["k\"ey"] as? String == hostile)
        #expect(object["n"] as? Int == -42)
        // And our own parser reads it back identically.
        let parsed = try Parsed(bytes: writer.bytes)
        #expect(parsed.document.string(try #require(parsed.document.member(parsed.root, "k\"ey"))) == hostile)
    }

    @Test func invalidUTF8BecomesReplacementCharacter() throws {
        var writer = JSONWriter()
        let bytes: [UInt8] = [0x61, 0xC3, 0x28, 0x62, 0xFF]
        bytes.withUnsafeBufferPointer { writer.string(utf8: $0) }
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"a\u{FFFD}(b\u{FFFD}\"")
        #expect(!bytes.withUnsafeBufferPointer { JSONWriter.isValidUTF8($0) })
    }
}

@Suite struct RawJSONEmbeddingTests {
    @Test func prettyPrintedRecordsStayOnOneLine() throws {
        let pretty = "{\n  \"a\" : [ 1,\n 2 ],\r\n\t\"s\": \"keep  spaces \\\" and\\n escapes\"\n}"
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("raw")
        Array(pretty.utf8).withUnsafeBufferPointer { writer.raw(json: $0) }
        writer.endObject()
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text == #"{"raw":{"a":[1,2],"s":"keep  spaces \" and\n escapes"}}"#)
        #expect(!text.contains("\n"))
    }
}

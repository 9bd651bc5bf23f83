import Foundation
import Testing

@testable import PipewatchJSON

/// Feeds `input` to a framer through a buffer that receives at most `chunk` new bytes per call, the way a reader
/// does, and returns each record's text (or its problem) with its position.
func frame(_ input: String, chunk: Int = 1 << 20, maxRecordBytes: Int = 1 << 20, endedByError: Bool = false) -> (records: [(text: String, line: Int, offset: Int64, problem: FramingProblem?)], framing: Framing?, maxPending: Int) {
    frame(bytes: Array(input.utf8), chunk: chunk, maxRecordBytes: maxRecordBytes, endedByError: endedByError)
}

/// `maxPending` is the most bytes the framer left unconsumed: what a reader's buffer must hold.
func frame(bytes input: [UInt8], chunk: Int, maxRecordBytes: Int, endedByError: Bool = false) -> (records: [(text: String, line: Int, offset: Int64, problem: FramingProblem?)], framing: Framing?, maxPending: Int) {
    var framer = RecordFramer(maxRecordBytes: maxRecordBytes)
    var pending: [UInt8] = []
    var position = 0
    var maxPending = 0
    var out: [(String, Int, Int64, FramingProblem?)] = []
    while true {
        let take = min(chunk, input.count - position)
        pending.append(contentsOf: input[position..<(position + take)])
        position += take
        let isFinal = position == input.count
        var records: [FramedRecord] = []
        let consumed = pending.withUnsafeBufferPointer { buffer in
            framer.frame(
                buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: buffer.count, isFinal: isFinal,
                endedByError: isFinal && endedByError, into: &records)
        }
        for record in records {
            out.append((String(decoding: pending[record.start..<record.end], as: UTF8.self), record.line, record.streamOffset, record.problem))
        }
        pending.removeFirst(consumed)
        maxPending = max(maxPending, pending.count)
        if isFinal { break }
    }
    return (out, framer.framing, maxPending)
}

@Suite struct RecordFramerTests {
    @Test func ndjsonWithCRLFAndBlankLines() {
        let result = frame("{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":3}")
        #expect(result.framing == .ndjson)
        #expect(result.records.map(\.text) == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(result.records.map(\.line) == [1, 4, 5])
        #expect(result.records.map(\.offset) == [0, 14, 22])
    }

    @Test func ndjsonKeepsBadLinesApart() {
        let result = frame("{\"a\":1}\n{\"broken\": \n{\"c\":3}\nnot json\n")
        #expect(result.framing == .ndjson)
        #expect(result.records.map(\.text) == ["{\"a\":1}", "{\"broken\": ", "{\"c\":3}", "not json"])
        #expect(result.records.allSatisfy { $0.problem == nil })  // parsing, not framing, rejects them
    }

    @Test func fileStartingWithGarbageIsLineFramed() {
        let result = frame("garbage\n{\"a\":1}\n")
        #expect(result.framing == .ndjson)
        #expect(result.records.map(\.text) == ["garbage", "{\"a\":1}"])
    }

    @Test func cloudTrailDeliveryFile() {
        let file = #"{"Records":[{"eventName":"A","x":{"y":"}]\"["}},{"eventName":"B"} , {"eventName":"C"}]}"#
        for chunk in [1, 2, 3, 7, 1 << 20] {
            let result = frame(file, chunk: chunk)
            #expect(result.framing == .cloudTrailRecords)
            #expect(result.records.map(\.text) == [#"{"eventName":"A","x":{"y":"}]\"["}}"#, #"{"eventName":"B"}"#, #"{"eventName":"C"}"#], "chunk \(chunk)")
            #expect(result.records.map(\.offset) == [12, 48, 68])
            #expect(result.records.allSatisfy { $0.line == 0 && $0.problem == nil })
        }
    }

    @Test func kubernetesEventListPrettyPrinted() {
        let body = """
            {
              "kind": "EventList",
              "apiVersion": "audit.k8s.io/v1",
              "metadata": {"resourceVersion": "[{not an array}]"},
              "items": [
                {
                  "auditID": "1",
                  "verb": "get"
                },
                {"auditID": "2", "verb": "list"}
              ]
            }
            """
        for chunk in [5, 64, 1 << 20] {
            let result = frame(body, chunk: chunk)
            #expect(result.framing == .eventList)
            #expect(result.records.count == 2)
            #expect(result.records.last?.text == #"{"auditID": "2", "verb": "list"}"#)
        }
    }

    @Test func topLevelArrayAndConcatenatedWrappers() {
        let array = frame(#"[{"a":1},{"b":2}]"#)
        #expect(array.framing == .array)
        #expect(array.records.map(\.text) == [#"{"a":1}"#, #"{"b":2}"#])

        // Two delivery files concatenated (e.g. `cat` of two decompressed files).
        let two = frame(#"{"Records":[{"a":1}]}"# + "\n" + #"{"Records":[{"b":2},{"c":3}]}"#)
        #expect(two.records.map(\.text) == [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#])
    }

    @Test func scalarsInsideRecordArraysAreCutOutForReporting() {
        let result = frame(#"[{"a":1}, 42, "text", {"b":2}]"#)
        #expect(result.records.map(\.text) == [#"{"a":1}"#, "42", "\"text\"", #"{"b":2}"#])
    }

    @Test func prettyPrintedRecordsOneAfterAnother() {
        let input = "{\n  \"a\": 1\n}\n{\n  \"b\": [1,\n 2]\n}\n"
        for chunk in [1, 4, 1 << 20] {
            let result = frame(input, chunk: chunk)
            #expect(result.framing == .concatenated)
            #expect(result.records.map(\.text) == ["{\n  \"a\": 1\n}", "{\n  \"b\": [1,\n 2]\n}"], "chunk \(chunk)")
        }
    }

    @Test func truncatedStreamReportsTheLastRecord() {
        let result = frame(#"{"Records":[{"a":1},{"b":"unfinished"#)
        #expect(result.records.count == 2)
        #expect(result.records[0].problem == nil)
        #expect(result.records[1].problem == .truncated)
        #expect(result.records[1].text == #"{"b":"unfinished"#)
    }

    @Test func oversizedRecordsAreCutAndFramingResumes() {
        let big = "{\"x\":\"" + String(repeating: "a", count: 300) + "\"}"
        let ndjson = frame("{\"a\":1}\n" + big + "\n{\"c\":3}\n", chunk: 64, maxRecordBytes: 100)
        #expect(ndjson.records.map(\.problem) == [nil, .tooLarge(limit: 100), nil])
        #expect(ndjson.records[1].text.count == 100)
        #expect(ndjson.records[2].text == "{\"c\":3}")
        #expect(ndjson.records[2].line == 3)

        let records = frame("{\"Records\":[{\"a\":1}," + big + ",{\"c\":3}]}", chunk: 64, maxRecordBytes: 100)
        #expect(records.records.map(\.problem) == [nil, .tooLarge(limit: 100), nil])
        #expect(records.records[2].text == "{\"c\":3}")
    }

    @Test func byteOrderMarkIsSkipped() {
        let result = frame(bytes: [0xEF, 0xBB, 0xBF] + Array("{\"a\":1}\n".utf8), chunk: 2, maxRecordBytes: 1 << 20)
        #expect(result.records.map(\.text) == ["{\"a\":1}"])
    }

    @Test func emptyInputHasNoRecords() {
        #expect(frame("").records.isEmpty)
        #expect(frame("\n\n  \n").records.isEmpty)
    }
}

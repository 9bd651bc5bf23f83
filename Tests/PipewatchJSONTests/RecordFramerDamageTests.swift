import Foundation
import Testing

@testable import PipewatchJSON

/// Records shaped like CloudTrail's (nested objects in arrays included), one line each.
func trailRecord(_ n: Int) -> String {
    #"{"eventVersion":"1.09","eventName":"Get\#(n)","resources":[{"ARN":"arn:aws:s3:::b-\#(n)","type":"AWS::S3::Bucket"},{"ARN":"arn:aws:s3:::b-\#(n)/k","type":"AWS::S3::Object"}],"requestParameters":{"bucketName":"b-\#(n)","x":[1,2.5,true,null]},"n":\#(n)}"#
}

/// The same record pretty-printed as `jq .` writes it; lines after the first indented by `indent` more spaces (as
/// the elements of a pretty-printed array are).
func prettyRecord(_ n: Int, indent: Int = 0) -> String {
    let pad = String(repeating: " ", count: indent)
    let lines = """
        {
          "eventVersion": "1.09",
          "eventName": "Get\(n)",
          "resources": [
            {
              "ARN": "arn:aws:s3:::b-\(n)",
              "type": "AWS::S3::Bucket"
            }
          ],
          "n": \(n)
        }
        """.split(separator: "\n", omittingEmptySubsequences: false)
    return String(lines[0]) + lines.dropFirst().map { "\n" + pad + $0 }.joined()
}

/// Removes the closing quote of the string value `"Get<n>"` in a record's text: an unterminated string.
func unterminate(_ record: String, _ n: Int) -> String {
    record.replacingOccurrences(of: "\"Get\(n)\"", with: "\"Get\(n)")
}

/// Bounded framing whatever the input: the first record too (framing detection never buffers a whole value), and
/// damaged array or pretty-printed input resynchronises at the next record instead of swallowing the rest.
@Suite struct RecordFramerDamageTests {
    @Test(arguments: [4096, 65_536])
    func aHugeFirstLineIsCutAtTheLimitAndFramingResumes(chunk: Int) throws {
        let huge = #"{"eventVersion":"1.09","userAgent":""# + String(repeating: "A", count: 2 << 20) + "\"}"
        let result = frame(huge + "\n" + trailRecord(1) + "\n", chunk: chunk, maxRecordBytes: 65_536)
        #expect(result.framing == .ndjson)
        try #require(result.records.map(\.problem) == [.tooLarge(limit: 65_536), nil])
        #expect(result.records[0].offset == 0 && result.records[0].line == 1 && result.records[0].text.utf8.count == 65_536)
        #expect(result.records[1].text == trailRecord(1) && result.records[1].line == 2)
        #expect(result.maxPending <= 65_536 + 2, "the framer never keeps more than a record")
    }

    @Test func aHugePrettyPrintedFirstRecordIsCutAtTheLimit() throws {
        let huge = "{\n  \"eventVersion\": \"1.09\",\n  \"userAgent\": \"" + String(repeating: "A", count: 2 << 20) + "\"\n}"
        let result = frame(huge + "\n" + prettyRecord(1) + "\n", chunk: 8192, maxRecordBytes: 65_536)
        #expect(result.framing == .concatenated)
        try #require(result.records.map(\.problem) == [.tooLarge(limit: 65_536), nil])
        #expect(result.records[1].text == prettyRecord(1))
        #expect(result.maxPending <= 65_536 + 2)
    }

    @Test func longScalarsAndGarbageBetweenRecordsAreBoundedToo() throws {
        let long = String(repeating: "z", count: 1 << 20)
        let inputs = [
            "[" + trailRecord(0) + ",\"" + long + "\"," + trailRecord(1) + "]",
            "[" + trailRecord(0) + "," + long + "," + trailRecord(1) + "]",
            "[" + trailRecord(0) + " " + long + "," + trailRecord(1) + "]",
            prettyRecord(0) + "\n" + long + "\n" + prettyRecord(1) + "\n",
        ]
        for input in inputs {
            let result = frame(input, chunk: 4096, maxRecordBytes: 16_384)
            try #require(result.records.count == 3, "\(input.prefix(40))")
            #expect(result.records.first?.problem == nil && result.records.last?.problem == nil)
            #expect(result.records[1].problem != nil && result.records[1].text.utf8.count <= 16_384)
            #expect(result.maxPending <= 16_384 + 2)
        }
    }

    @Test func aCompleteValueLongerThanTheLimitIsTooLargeEvenWhenItFitsTheBuffer() {
        let result = frame("[" + trailRecord(0) + "," + trailRecord(1) + "]", chunk: 1 << 20, maxRecordBytes: 100)
        #expect(result.records.map(\.problem) == [.tooLarge(limit: 100), .tooLarge(limit: 100)])
        #expect(result.records.allSatisfy { $0.text.utf8.count == 100 })
    }

    @Test(arguments: [1 << 20, 4096, 37])
    func anUnterminatedStringInASingleLineArrayLosesOnlyItsRecord(chunk: Int) throws {
        var records = (0..<1_002).map(trailRecord)
        records[500] = unterminate(records[500], 500)
        let file = #"{"Records":["# + records.joined(separator: ",") + "]}"
        let result = frame(file, chunk: chunk)
        try #require(result.records.count == 1_002)
        #expect(result.records.filter { $0.problem == nil }.count == 1_001)
        #expect(result.records[500].problem == .malformed)
        #expect(result.records[500].text == records[500], "only the damaged record is cut out")
        #expect(result.records[501].text == records[501])
        let before: Int = records[0..<500].reduce(#"{"Records":["#.utf8.count) { $0 + $1.utf8.count + 1 }
        #expect(result.records[500].offset == Int64(before))
    }

    @Test(arguments: [1 << 20, 4096, 37])
    func anUnterminatedStringInPrettyPrintedRecordsLosesOnlyItsRecord(chunk: Int) throws {
        var records = (0..<1_002).map { prettyRecord($0) }
        records[500] = unterminate(records[500], 500)
        let result = frame(records.joined(separator: "\n") + "\n", chunk: chunk)
        #expect(result.framing == .concatenated)
        try #require(result.records.count == 1_002)
        #expect(result.records.filter { $0.problem == nil }.count == 1_001)
        #expect(result.records[500].problem == .malformed)
        #expect(result.records[500].text == records[500])
        #expect(result.records[501].text == prettyRecord(501))
    }

    @Test func anUnterminatedStringInAPrettyPrintedArrayLosesOnlyItsRecord() throws {
        var records = (0..<300).map { prettyRecord($0, indent: 2) }
        records[7] = unterminate(records[7], 7)
        let file = "[\n  " + records.joined(separator: ",\n  ") + "\n]\n"
        let result = frame(file, chunk: 999)
        #expect(result.framing == .array)
        try #require(result.records.count == 300)
        #expect(result.records.filter { $0.problem == nil }.count == 299)
        #expect(result.records[7].problem == .malformed && result.records[7].text == records[7])
    }

    @Test func theFirstRecordDamagedStillFramesTheRest() throws {
        var pretty = (0..<20).map { prettyRecord($0) }
        pretty[0] = unterminate(pretty[0], 0)
        let result = frame(pretty.joined(separator: "\n") + "\n", chunk: 64)
        #expect(result.framing == .concatenated)
        try #require(result.records.count == 20)
        #expect(result.records[0].problem == .malformed)
        #expect(result.records.dropFirst().allSatisfy { $0.problem == nil })

        var line = (0..<20).map(trailRecord)
        line[0] = unterminate(line[0], 0)
        let array = frame("[" + line.joined(separator: ",") + "]", chunk: 64)
        try #require(array.records.count == 20)
        #expect(array.records[0].problem == .malformed && array.records[0].text == line[0])
    }

    @Test func aMissingClosingBraceResynchronisesAtTheNextRecord() throws {
        var records = (0..<50).map(trailRecord)
        records[20] = String(records[20].dropLast())
        let result = frame("[" + records.joined(separator: ",") + "]", chunk: 512)
        try #require(result.records.count == 50)
        #expect(result.records.filter { $0.problem == nil }.count == 49)
        #expect(result.records[20].text == records[20])
    }

    @Test func anObjectInsideARecordIsNeverTakenForTheNextRecord() {
        // The damaged record holds objects (in "resources") that open like records do: framing must resume at the
        // next record, not inside the damaged one.
        let damaged = #"{"eventVersion":"1.09","eventName":"Bad,"resources":[{"eventVersion":"nested"},{"eventVersion":"x"}],"n":1}"#
        let result = frame("[" + trailRecord(0) + "," + damaged + "," + trailRecord(2) + "]", chunk: 1 << 20)
        #expect(result.records.map(\.text) == [trailRecord(0), damaged, trailRecord(2)])
        #expect(result.records.map(\.problem) == [nil, .malformed, nil])
    }

    @Test func aLineCutByDamagedInputIsTruncatedOnlyWhenIncomplete() throws {
        let cut = frame(trailRecord(0) + "\n" + String(trailRecord(1).prefix(40)), endedByError: true)
        try #require(cut.records.map(\.problem) == [nil, .truncated])
        #expect(cut.records[1].line == 2)
        let whole = frame(trailRecord(0) + "\n" + trailRecord(1), endedByError: true)
        #expect(whole.records.map(\.problem) == [nil, nil])
        // Without damage, a last line without its newline is a record like the others (parsing judges it).
        let plain = frame(trailRecord(0) + "\n" + String(trailRecord(1).prefix(40)))
        #expect(plain.records.map(\.problem) == [nil, nil])
    }

    @Test func aRecordOfExactlyTheLimitWithCRLFIsKept() {
        let record = #"{"a":""# + String(repeating: "b", count: 92) + "\"}"
        #expect(record.utf8.count == 100)
        for chunk in [1, 7, 101, 102, 1 << 20] {
            let result = frame(record + "\r\n" + record + "\r\n", chunk: chunk, maxRecordBytes: 100)
            #expect(result.records.map(\.problem) == [nil, nil], "chunk \(chunk)")
        }
    }
}

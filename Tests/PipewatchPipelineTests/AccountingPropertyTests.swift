import Foundation
import PipewatchInputs
import PipewatchPipeline
import Testing

/// SplitMix64: small, fast and seeded, so a failing case is reproduced from its seed alone.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A JSON value to generate records from, written compact (one line) or pretty-printed as `jq .` does.
indirect enum GeneratedValue {
    case object([(String, GeneratedValue)])
    case array([GeneratedValue])
    /// String contents as raw bytes, so they can hold invalid UTF-8.
    case string([UInt8])
    case number(String)
    case literal(String)
    /// Written compact even in pretty-printed records.
    case compact(GeneratedValue)

    static func text(_ text: String) -> GeneratedValue { .string(Array(text.utf8)) }

    func write(to out: inout [UInt8], pretty: Bool, indent: Int = 0) {
        func newline(_ level: Int) {
            guard pretty else { return }
            out.append(0x0A)
            out += [UInt8](repeating: 0x20, count: level * 2)
        }
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                out += Array("\"\(member.0)\":".utf8)
                if pretty { out.append(0x20) }
                member.1.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if !members.isEmpty { newline(indent) }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                element.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if !elements.isEmpty { newline(indent) }
            out.append(UInt8(ascii: "]"))
        case .string(let bytes):
            out.append(UInt8(ascii: "\""))
            out += bytes
            out.append(UInt8(ascii: "\""))
        case .number(let text), .literal(let text):
            out += Array(text.utf8)
        case .compact(let value):
            value.write(to: &out, pretty: false)
        }
    }
}

/// Inputs built the way real ones are (each framing, gzip and zstd, one source per file) and then damaged: invalid
/// UTF-8, nesting deeper than the parser takes, records over the limit, unterminated strings, garbage between
/// records, truncation anywhere. The generator knows where each item (a record or a run of garbage) lies.
struct AccountingCase: CustomStringConvertible {
    enum Layout: CaseIterable { case ndjson, array, cloudTrailRecords, eventList, pretty, prettyArray }
    enum Item: CaseIterable { case valid, invalidUTF8, deep, oversize, unterminated, garbage }

    static let maxRecordBytes = 8192

    let seed: UInt64
    var layout: Layout
    var compression: String
    var items: [Item] = []
    /// The decompressed text and the span of each item in it.
    var text: [UInt8] = []
    var spans: [Range<Int>] = []
    /// Bytes before the first item that open a wrapper object (cutting inside them leaves one fragment).
    var opening = 0
    var stored: [UInt8] = []
    var cut: Int?
    var bufferSize: Int

    var description: String {
        "seed \(seed): \(layout), \(compression), items \(items.map { "\($0)" }.joined(separator: " ")), \(text.count) bytes, buffer \(bufferSize)"
            + (cut.map { ", stored bytes cut at \($0) of \(stored.count)" } ?? "")
    }

    init(seed: UInt64) {
        self.seed = seed
        var random = SeededRandom(seed: seed)
        layout = Layout.allCases.randomElement(using: &random)!
        compression = ["none", "gzip", "zstd"].randomElement(using: &random)!
        bufferSize = [4096, 65_536, 4 << 20].randomElement(using: &random)!
        let kubernetes = layout == .eventList || (layout != .cloudTrailRecords && Bool.random(using: &random))
        let pretty = layout == .pretty || layout == .prettyArray
        let count = Int.random(in: 1...24, using: &random)
        for _ in 0..<count {
            var item: Item
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<55: item = .valid
            case 55..<64: item = .invalidUTF8
            case 64..<70: item = .deep
            case 70..<77: item = .oversize
            case 77..<90: item = .unterminated
            default: item = .garbage
            }
            // Framing resumes at the next record after a damaged one; garbage right after it is taken with it.
            if item == .garbage && items.last == .unterminated && layout != .ndjson { item = .valid }
            items.append(item)
        }

        var body: [UInt8] = []
        switch layout {
        case .ndjson, .pretty: break
        case .array: body += Array("[".utf8)
        case .prettyArray: body += Array("[\n  ".utf8)
        case .cloudTrailRecords: body += Array(#"{"Records":["#.utf8)
        case .eventList: body += Array(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#.utf8)
        }
        opening = layout == .cloudTrailRecords || layout == .eventList ? body.count : 0
        for (index, item) in items.enumerated() {
            if index > 0 {
                switch layout {
                case .ndjson, .pretty: body.append(0x0A)
                case .array, .cloudTrailRecords, .eventList: body.append(UInt8(ascii: ","))
                case .prettyArray: body += Array(",\n  ".utf8)
                }
            }
            let start = body.count
            if item == .garbage {
                let words = ["garbage", "lorem", "42", "x y z", "-- cut here --", "NaN", "tail"]
                body += Array((0..<Int.random(in: 1...4, using: &random)).map { _ in words.randomElement(using: &random)! }
                    .joined(separator: " ").utf8)
            } else {
                let record = AccountingCase.record(index, kubernetes: kubernetes, item: item, using: &random)
                var bytes: [UInt8] = []
                record.write(to: &bytes, pretty: pretty, indent: layout == .prettyArray ? 1 : 0)
                if item == .unterminated {
                    // Drop the closing quote of the "note" value.
                    let marker = Array("zz-\(index)\"".utf8)
                    let at = bytes.firstRange(of: marker)!.upperBound - 1
                    bytes.remove(at: at)
                }
                body += bytes
            }
            spans.append(start..<body.count)
        }
        switch layout {
        case .ndjson, .pretty: body.append(0x0A)
        case .array: body += Array("]".utf8)
        case .prettyArray: body += Array("\n]\n".utf8)
        case .cloudTrailRecords, .eventList: body += Array("]}".utf8)
        }
        text = body
        switch compression {
        case "gzip":
            // Sometimes two members, split anywhere.
            if Bool.random(using: &random) && text.count > 2 {
                let split = Int.random(in: 1..<text.count, using: &random)
                stored = Compressor.gzip(Array(text[0..<split])) + Compressor.gzip(Array(text[split...]))
            } else {
                stored = Compressor.gzip(text)
            }
        case "zstd": stored = Compressor.zstd(text)
        default: stored = text
        }
        if Int.random(in: 0..<10, using: &random) < 4 && stored.count > 2 {
            cut = Int.random(in: 1..<stored.count, using: &random)
        }
    }

    /// A CloudTrail or Kubernetes audit record, damaged as `item` says.
    static func record(_ index: Int, kubernetes: Bool, item: Item, using random: inout SeededRandom) -> GeneratedValue {
        var members: [(String, GeneratedValue)]
        if kubernetes {
            members = [
                ("kind", .text("Event")), ("apiVersion", .text("audit.k8s.io/v1")), ("level", .text("Metadata")),
                ("auditID", .text("a-\(index)")), ("stage", .text("ResponseComplete")),
                ("requestURI", .text("/api/v1/namespaces/kubeflow/secrets/s\(index)")), ("verb", .text("get")),
                ("user", .object([("username", .text("alice@acme.example")), ("groups", .array([.text("system:authenticated")]))])),
                ("sourceIPs", .array([.text("203.0.113.9")])),
                ("objectRef", .object([("resource", .text("secrets")), ("namespace", .text("kubeflow")), ("name", .text("s\(index)"))])),
                ("responseStatus", .object([("metadata", .object([])), ("code", .number("200"))])),
                ("requestReceivedTimestamp", .text("2026-11-03T10:00:00.000001Z")),
                ("stageTimestamp", .text("2026-11-03T10:00:00.000900Z")),
            ]
        } else {
            members = [
                ("eventVersion", .text("1.09")),
                ("userIdentity", .object([("type", .text("AssumedRole")), ("arn", .text("arn:aws:sts::111122223333:assumed-role/R/run-\(index)")), ("accountId", .text("111122223333"))])),
                ("eventTime", .text("2026-11-03T10:00:00Z")), ("eventSource", .text("s3.amazonaws.com")),
                ("eventName", .text("GetObject")), ("awsRegion", .text("us-east-1")),
                ("sourceIPAddress", .text("198.51.100.7")), ("userAgent", .text("Boto3/1.34.0")),
                ("requestParameters", .object([("bucketName", .text("b-\(index)")), ("key", .text("k")), ("flags", .array([.literal("true"), .literal("null"), .number("2.5e3")]))])),
                ("resources", .array([
                    .object([("ARN", .text("arn:aws:s3:::b-\(index)")), ("type", .text("AWS::S3::Bucket"))]),
                    .object([("ARN", .text("arn:aws:s3:::b-\(index)/k")), ("type", .text("AWS::S3::Object"))]),
                ])),
                ("responseElements", .literal("null")), ("eventID", .text("e-\(index)")), ("eventType", .text("AwsApiCall")),
            ]
        }
        switch item {
        case .invalidUTF8:
            let bad: [[UInt8]] = [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98]]
            members.insert(("note", .string(Array("bad ".utf8) + bad.randomElement(using: &random)! + Array(" bytes".utf8))), at: 2)
        case .deep:
            var value = GeneratedValue.array([])
            for _ in 0..<Int.random(in: 513...700, using: &random) { value = .array([value]) }
            members.insert(("deep", .compact(value)), at: 3)
        case .oversize:
            let size = maxRecordBytes + Int.random(in: 1...3 * maxRecordBytes, using: &random)
            members.insert(("padding", .text(String(repeating: "p", count: size))), at: Int.random(in: 0...members.count, using: &random))
        case .unterminated:
            members.insert(("note", .text("zz-\(index)")), at: Int.random(in: 1...members.count, using: &random))
        case .valid, .garbage:
            break
        }
        return .object(members)
    }
}

/// The accounting invariant: every record of the input, as `gzip -dc` / `zstd -dc` recover it and a strict reading of
/// the generated layout counts it, is either processed or dead-lettered, once; and nothing crashes.
@Suite struct AccountingPropertyTests {
    /// PIPEWATCH_PROPERTY_SEED=N runs that case alone; PIPEWATCH_PROPERTY_CASES=N runs N cases instead of 300.
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let seed = environment["PIPEWATCH_PROPERTY_SEED"].flatMap(UInt64.init) { return [seed] }
        return Array(1...max(1, environment["PIPEWATCH_PROPERTY_CASES"].flatMap(UInt64.init) ?? 300))
    }

    @Test func recordsProcessedPlusDeadLetteredEqualRecordsInTheInput() throws {
        let dir = try TemporaryDirectory()
        let reader = (small: RecordReader(bufferSize: 4096, maxRecordBytes: AccountingCase.maxRecordBytes),
                      medium: RecordReader(bufferSize: 65_536, maxRecordBytes: AccountingCase.maxRecordBytes),
                      large: RecordReader(bufferSize: 4 << 20, maxRecordBytes: AccountingCase.maxRecordBytes))
        let decoder = EventDecoder()
        var failures = 0
        for seed in Self.seeds {
            let input = AccountingCase(seed: seed)
            let stored = input.cut.map { Array(input.stored[0..<$0]) } ?? input.stored
            let path = try dir.write("case-\(seed)", stored)

            let records = input.bufferSize == 4096 ? reader.small : input.bufferSize == 65_536 ? reader.medium : reader.large
            var processed = 0
            var deadLettered = 0
            let summary = records.read(path) { chunk in
                decoder.decode(chunk)
                processed += decoder.events.count
                deadLettered += decoder.failures.count
            }

            // What the reference tool recovers is the input. zlib also decodes the last few complete symbols that
            // gzip's own inflate leaves undecoded when its input ends (it asks for a longest code's bits first), so
            // the reader may recover a little more, never less; what it recovers is then the input.
            var tool = input.text.count
            if let cut = input.cut {
                tool = input.compression == "none" ? cut : try ExternalTool.decompress(input.compression, path).output.count
            }
            let extra = input.compression == "gzip" && input.cut != nil ? 4 * 258 : 0  // a few matches of 258 bytes at most
            let recovered = summary.bytes >= Int64(tool) && summary.bytes <= Int64(tool + extra) ? Int(summary.bytes) : tool
            let fragment = recovered > 0 && recovered < input.opening ? 1 : 0
            let expected = fragment + input.spans.filter { $0.lowerBound < recovered }.count

            let problems = [
                processed + deadLettered == expected ? nil : "\(processed) processed + \(deadLettered) dead-lettered, expected \(expected)",
                summary.records == processed + deadLettered ? nil : "\(summary.records) records framed",
                summary.bytes == Int64(recovered) ? nil : "\(summary.bytes) bytes decompressed, the tool recovers \(tool)",
                input.cut == nil && input.items.allSatisfy({ $0 == .valid }) && deadLettered > 0 ? "valid records dead-lettered" : nil,
                input.cut == nil && summary.error != nil ? "input error \(summary.error!)" : nil,
            ].compactMap { $0 }
            if !problems.isEmpty {
                failures += 1
                Issue.record("\(input): \(problems.joined(separator: "; ")) (PIPEWATCH_PROPERTY_SEED=\(seed) reruns it)")
                if failures >= 10 { break }
            }
        }
    }
}

import Foundation
import PipewatchEvents
import PipewatchOutput
import Testing

/// An alert on a record that had no time: every format says so, none shows a made-up event time, and those that
/// require a time carry the alert's creation.
@Suite("Alerts on events without time")
struct TimeAbsentAlertTests {
    /// The plain CloudTrail record without its eventTime, as some exports have it.
    static var timeless: String {
        HostileRecords.plainCloudTrail.replacingOccurrences(of: #""eventTime":"2026-11-03T10:07:00Z","#, with: "")
    }

    static func alerts() throws -> (timeless: Alert, timed: Alert, madeBetween: ClosedRange<Int64>) {
        #expect(timeless != HostileRecords.plainCloudTrail)
        let before = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let timeless = try makeAlert(timeless, rule: HostileRecords.plainRule)
        let after = Int64((Date().timeIntervalSince1970 * 1000).rounded(.up))
        return (timeless, try makeAlert(HostileRecords.plainCloudTrail, rule: HostileRecords.plainRule), before...after)
    }

    @Test("the alert is marked and its time is when it was made")
    func alertIsMarked() throws {
        let (timeless, timed, made) = try Self.alerts()
        #expect(timeless.timeAbsent)
        #expect(made.contains(timeless.time), "\(timeless.time) not in \(made)")
        #expect(!timed.timeAbsent)
        #expect(timed.time == 1_793_700_420_000)
        // The uid stays the content's: the same record gives the same alert uid whenever it is seen.
        #expect(try makeAlert(Self.timeless, rule: HostileRecords.plainRule).uid == timeless.uid)
        let event = try jsonObject(timeless.eventJSON)
        #expect(event["time"] == nil)
        #expect(event["time_absent"] as? Bool == true)
    }

    @Test("OCSF: unmapped.time_absent, time from the alert's creation, no seen times")
    func ocsf() throws {
        let (timeless, timed, made) = try Self.alerts()
        let doc = try jsonObject(OCSFDetectionFinding.format(timeless))
        #expect((doc["unmapped"] as? [String: Any])?["time_absent"] as? Bool == true)
        #expect(made.contains((doc["time"] as? NSNumber)?.int64Value ?? 0))
        let info = try #require(doc["finding_info"] as? [String: Any])
        #expect(info["first_seen_time"] == nil && info["last_seen_time"] == nil)
        let timedDoc = try jsonObject(OCSFDetectionFinding.format(timed))
        #expect(timedDoc["unmapped"] == nil)
        #expect((timedDoc["time"] as? NSNumber)?.int64Value == 1_793_700_420_000)
        #expect(((timedDoc["finding_info"] as? [String: Any])?["first_seen_time"] as? NSNumber)?.int64Value == 1_793_700_420_000)
    }

    @Test("ECS: pipewatch.time_absent, @timestamp from the alert's creation")
    func ecs() throws {
        let (timeless, timed, made) = try Self.alerts()
        let doc = try jsonObject(ECSFormatter.format(timeless))
        let pipewatch = try #require(doc["pipewatch"] as? [String: Any])
        #expect(pipewatch["time_absent"] as? Bool == true)
        #expect((pipewatch["event"] as? [String: Any])?["time_absent"] as? Bool == true)
        let stamp = try #require(doc["@timestamp"] as? String)
        #expect(made.contains(Timestamp.parseRFC3339(stamp) ?? 0), "\(stamp)")
        let timedDoc = try jsonObject(ECSFormatter.format(timed))
        #expect((timedDoc["pipewatch"] as? [String: Any])?["time_absent"] == nil)
        #expect(timedDoc["@timestamp"] as? String == "2026-11-03T10:07:00.000Z")
    }

    @Test("CEF, LEEF and Splunk HEC leave the event time out and say why")
    func lineFormats() throws {
        let (timeless, timed, _) = try Self.alerts()
        let cef = String(decoding: CEFFormatter.format(timeless), as: UTF8.self)
        #expect(!cef.contains(" rt=") && !cef.contains("|rt="), "\(cef)")
        #expect(cef.contains("flexString1=true") && cef.contains("flexString1Label=timeAbsent"), "\(cef)")
        let timedCEF = String(decoding: CEFFormatter.format(timed), as: UTF8.self)
        #expect(timedCEF.contains("rt=1793700420000") && !timedCEF.contains("flexString1"), "\(timedCEF)")

        let leef = String(decoding: LEEFFormatter.format(timeless), as: UTF8.self)
        let attributes = leef.split(separator: "|", maxSplits: 6).last.map { $0.split(separator: "\t").map(String.init) } ?? []
        #expect(attributes.contains("timeAbsent=true"), "\(leef)")
        #expect(!attributes.contains { $0.hasPrefix("devTime") }, "\(leef)")
        let timedLEEF = String(decoding: LEEFFormatter.format(timed), as: UTF8.self)
        #expect(timedLEEF.contains("devTime=1793700420000") && !timedLEEF.contains("timeAbsent"), "\(timedLEEF)")

        let hec = SplunkHECFormatter(host: "h")
        #expect(try jsonObject(hec.format(timeless))["time"] == nil)
        #expect((try jsonObject(hec.format(timed))["time"] as? NSNumber)?.doubleValue == 1_793_700_420)
    }
}

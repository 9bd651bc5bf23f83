import Testing

@testable import PipewatchRules

@Suite struct SmokeTests {
    @Test func plainEqualityMatchesCaseInsensitively() {
        #expect(ruleMatches("selection:\n    eventName: getobject\ncondition: selection", cloudTrail()))
        #expect(!ruleMatches("selection:\n    eventName: PutObject\ncondition: selection", cloudTrail()))
    }
}

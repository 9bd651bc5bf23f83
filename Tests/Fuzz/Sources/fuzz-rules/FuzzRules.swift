import PipewatchFuzzing

@main
enum FuzzRules {
    static func main() { FuzzDriver.main(RuleLoaderHarness.run) }
}

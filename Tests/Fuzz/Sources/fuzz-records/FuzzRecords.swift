import PipewatchFuzzing

@main
enum FuzzRecords {
    static func main() { FuzzDriver.main(RecordsHarness.run) }
}

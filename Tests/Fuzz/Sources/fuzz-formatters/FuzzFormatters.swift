import PipewatchFuzzing

@main
enum FuzzFormatters {
    static func main() { FuzzDriver.main(FormatterHarness.run) }
}

import PipewatchFuzzing

@main
enum FuzzWebhook {
    static func main() { FuzzDriver.main(WebhookHarness.run) }
}

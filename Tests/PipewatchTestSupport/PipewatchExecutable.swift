import Foundation

/// The built `pipewatch` executable (built with the tests by `swift build --build-tests`) and the repository it
/// was built from.
public enum PipewatchExecutable {
    /// The test bundle sits in the same build folder as the executables.
    public static var url: URL {
        var folder = Bundle.main.bundleURL
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("pipewatch").path) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("pipewatch")
    }

    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

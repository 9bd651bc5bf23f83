import Foundation

/// Runs one harness: under libFuzzer (built with `-sanitize=fuzzer,address -DLIBFUZZER`, see Tests/Fuzz/run) it
/// hands the command line to libFuzzer's driver; in an ordinary build it replays the files and directories named on
/// the command line, so a saved crash can be re-run in a debugger without the sanitizers.
public enum FuzzDriver {
    public typealias Harness = (UnsafeRawBufferPointer) -> Void

    nonisolated(unsafe) static var harness: Harness = { _ in }

    public static func main(_ harness: @escaping Harness) -> Never {
        FuzzDriver.harness = harness
        #if LIBFUZZER
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        exit(replay(Array(CommandLine.arguments.dropFirst())))
        #endif
    }

    /// Runs the harness on every file named (directories: every file in them, in name order).
    static func replay(_ paths: [String]) -> Int32 {
        guard !paths.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments[0]) FILE|DIR… (a libFuzzer build fuzzes; this one replays)\n".utf8))
            return 64
        }
        var count = 0
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("\(path): no such file or directory\n".utf8))
                return 1
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { harness($0) }
                count += 1
            }
        }
        print("\(count) inputs replayed, no invariant broken")
        return 0
    }
}

/// libFuzzer's entry for each input (also exported under the conventional name, which its runtime expects).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzDriver.harness(UnsafeRawBufferPointer(start: size == 0 ? nil : data, count: size))
    return 0
}

#if LIBFUZZER
/// libFuzzer's driver (compiler-rt's FuzzerInterface.h); linked in by `-sanitize=fuzzer`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafeRawPointer?, Int) -> CInt
) -> CInt
#endif

/// A harness's invariant did not hold: stops the process so libFuzzer saves the input that broke it.
public func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant broken: \(message())") }
}

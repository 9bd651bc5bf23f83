import Foundation
import PipewatchEvents
import PipewatchInputs

/// The sources a replay's inputs carry, told by the first decodable record of each file. A replay declares them as
/// `DetectorOptions.expectedSources`: inputs are read file after file, so without them a source whose files come
/// later would find the release already moved on by the sources read before it, and its records late.
public enum InputSources {
    /// The first chunk of each file is all that is read: a file's records are expected to be of one source.
    static let chunkBytes = 64 << 10
    /// A first record longer than this is given up on rather than read whole (the file is then not sniffed).
    static let maxRecordBytes = 1 << 20

    private struct FirstChunkRead: Error {}

    /// The sources of the first decodable record of each file in `paths` (directories expanded, compression detected
    /// as the replay does), stopping once every source is found. Only regular files are looked at: what stdin or a
    /// pipe gives cannot be read twice, so the replay would lose it. Files that cannot be read or hold no decodable
    /// record in their first chunk add nothing (the replay itself reports them).
    public static func sniff(_ paths: [String]) -> Set<EventSource> {
        let reader = RecordReader(bufferSize: chunkBytes, maxRecordBytes: maxRecordBytes)
        let decoder = EventDecoder()
        var found = Set<EventSource>()
        for file in InputPaths.expand(paths).files where isRegularFile(file) {
            if found.count == EventSource.allCases.count { break }
            _ = try? reader.read(file) { chunk in
                decoder.decode(chunk)
                if let first = decoder.events.first { found.insert(first.source) }
                throw FirstChunkRead()
            }
        }
        return found
    }

    /// Follows symbolic links, as opening the file does.
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return path != "-" && stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}

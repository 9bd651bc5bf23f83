import Foundation

/// A one-line progress report on a terminal: the bytes read of the inputs' total (compressed files count by their
/// stored bytes, as read), percent, rate, ETA, records and alerts so far and the current file. Redrawn in place
/// (carriage return, then the line, then the rest of the old one cleared) at most four times a second, and cut to
/// the terminal's width so that it never wraps onto a second line.
public final class ProgressLine {
    static let redrawInterval: UInt64 = 250_000_000

    private let clock: () -> UInt64
    private let width: () -> Int
    private let emit: (String) -> Void
    private var start: UInt64
    private var lastDraw: UInt64?
    private var drawn = false
    /// The inputs' stored size; nil when an input has no size known in advance (stdin, a pipe).
    private var total: Int64?
    private var bytes: Int64 = 0
    private var file = ""
    private var records = 0
    private var alerts = 0
    /// Whether the line counts alerts (replay does; normalize has none).
    public var showsAlerts = false

    /// Draws on stderr, as wide as the terminal it is.
    public convenience init() {
        self.init(
            clock: { DispatchTime.now().uptimeNanoseconds }, width: ProgressLine.terminalColumns,
            emit: { FileHandle.standardError.write(Data($0.utf8)) })
    }

    init(clock: @escaping () -> UInt64, width: @escaping () -> Int, emit: @escaping (String) -> Void) {
        self.clock = clock
        self.width = width
        self.emit = emit
        start = clock()
    }

    /// The run begins: `totalBytes` is what the inputs hold as stored (nil if unknown). Rate and ETA count from here.
    func begin(totalBytes: Int64?) {
        total = totalBytes
        start = clock()
    }

    /// `storedBytes` of all inputs are read, the last of them from `file`.
    func update(file: String, storedBytes: Int64) {
        self.file = file
        bytes = storedBytes
        redraw()
    }

    func countRecords(_ n: Int) { records += n }

    /// Counts alerts raised so far (shown at the next redraw).
    public func countAlerts(_ n: Int = 1) { alerts += n }

    /// Clears the line, so that the summary printed after it starts on a clean one.
    func finish() {
        if drawn { emit("\r\u{1B}[K") }
        drawn = false
    }

    private func redraw() {
        let now = clock()
        if let lastDraw, now - lastDraw < Self.redrawInterval { return }
        lastDraw = now
        emit("\r" + line(seconds: Double(now - start) / 1e9, columns: width()) + "\u{1B}[K")
        drawn = true
    }

    /// The text of the line after `seconds`, at most `columns - 1` characters (the last column would wrap on some
    /// terminals). The file name goes last, so that a narrow terminal loses the start of it first.
    func line(seconds: Double, columns: Int) -> String {
        let megabytes = Double(bytes) / 1_000_000
        let rate = seconds > 0 ? megabytes / seconds : 0
        var parts: [String] = []
        if let total, total > 0 {
            let done = min(Double(bytes) / Double(total), 1)
            parts.append(String(format: "%5.1f%%", done * 100))
            parts.append(String(format: "%.1f of %.1f MB", megabytes, Double(total) / 1_000_000))
            parts.append(String(format: "%.1f MB/s", rate))
            let remaining = Double(max(total - bytes, 0)) / 1_000_000
            parts.append("ETA " + (rate > 0 ? Self.duration(remaining / rate) : "--:--"))
        } else {
            parts.append(String(format: "%.1f MB read", megabytes))
            parts.append(String(format: "%.1f MB/s", rate))
        }
        parts.append("\(Self.grouped(records)) records")
        if showsAlerts { parts.append("\(Self.grouped(alerts)) alert" + (alerts == 1 ? "" : "s")) }
        let fixed = parts.joined(separator: "  ")
        let room = max(columns - 1, 1)
        if fixed.count >= room { return String(fixed.prefix(room)) }
        let space = room - fixed.count - 2
        guard space >= 4, !file.isEmpty else { return fixed }
        let name = file.count <= space ? file : "…" + file.suffix(space - 1)
        return fixed + "  " + name
    }

    /// `m:ss`, or `h:mm:ss` from an hour on.
    static func duration(_ seconds: Double) -> String {
        let total = Int(min(seconds.rounded(.up), 359_999))
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    /// The width of the terminal on stderr, 80 when it does not say.
    static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// The stored size of each input, summed: nil if one of them is not a regular file (stdin, a pipe), whose
    /// size is not known before it ends.
    static func totalBytes(_ files: [String]) -> Int64? {
        var total: Int64 = 0
        for file in files {
            var info = stat()
            guard file != "-", stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            total += Int64(info.st_size)
        }
        return total
    }
}

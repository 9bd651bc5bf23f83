/// Numbers compared by value without floating point: a number in JSON's syntax rewritten into one spelling per value,
/// so that `401`, `401.0`, `4.01e2`, `401e0` and `4010e-1` become the same bytes and equality stays a byte comparison
/// (one hash probe in a literal table). Exact for any number of digits, where a `Double` would merge neighbours
/// above 2^53.
///
/// The spelling: an integer of at most 21 digits as its plain digits (`401`, `-5`, `0`: how integers are usually
/// written, so their spelling does not change), any other value as its significant digits and a decimal exponent
/// (`4015e-1` for 401.5, `1e21`). Negative zero is `0`.
enum DecimalNumber {
    /// What the canonical spelling may need beyond the length of the text it is made from.
    static let extraCapacity = 48

    /// Integers with up to this many digits are written out.
    static let plainDigits = 21

    /// Exponents beyond this magnitude are not compared by value (the text still is).
    static let exponentLimit = 100_000_000

    /// A number in JSON's syntax as positions in its text. The digits of integer and fraction form one mantissa M
    /// (digit `k` of M is `digit(k)`); its significant digits are M's digits `first...last`, and the value is those
    /// digits × 10^`scale`. Zero has no significant digits (`first > last`).
    struct Layout {
        var negative = false
        var integerStart = 0, integerEnd = 0, fractionStart = 0, fractionEnd = 0
        var first = 0, last = -1, scale = 0

        var isZero: Bool { first > last }
        var significantCount: Int { last - first + 1 }
        /// The power of ten of the leading significant digit (2 for 401, -1 for 0.5).
        var magnitude: Int { scale + significantCount - 1 }

        @inline(__always)
        func digit(_ k: Int, _ text: UnsafeBufferPointer<UInt8>) -> UInt8 {
            let integerCount = integerEnd - integerStart
            return k < integerCount ? text[integerStart + k] : text[fractionStart + k - integerCount]
        }
    }

    /// The layout of `text`; nil when it is not a number in JSON's syntax
    /// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) or its exponent is beyond `exponentLimit`.
    static func layout(_ text: UnsafeBufferPointer<UInt8>) -> Layout? {
        let count = text.count
        var layout = Layout()
        var i = 0
        @inline(__always) func isDigit(_ k: Int) -> Bool { k < count && text[k] &- UInt8(ascii: "0") < 10 }
        layout.negative = count > 0 && text[0] == UInt8(ascii: "-")
        if layout.negative { i = 1 }
        // Integer part: `0` or a digit string without a leading zero.
        layout.integerStart = i
        guard isDigit(i) else { return nil }
        if text[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        layout.integerEnd = i
        // Fraction.
        layout.fractionStart = i
        layout.fractionEnd = i
        if i < count && text[i] == UInt8(ascii: ".") {
            i += 1
            layout.fractionStart = i
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
            layout.fractionEnd = i
        }
        // Exponent.
        var exponent = 0
        if i < count && (text[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            var exponentNegative = false
            if i < count && (text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-")) {
                exponentNegative = text[i] == UInt8(ascii: "-")
                i += 1
            }
            guard isDigit(i) else { return nil }
            while isDigit(i) {
                exponent = exponent * 10 + Int(text[i] &- UInt8(ascii: "0"))
                guard exponent <= exponentLimit else { return nil }
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        guard i == count else { return nil }

        // Significant digits: M without its leading and trailing zeros (each trailing zero raises the scale).
        let fractionCount = layout.fractionEnd - layout.fractionStart
        let digitCount = (layout.integerEnd - layout.integerStart) + fractionCount
        var first = 0
        while first < digitCount && layout.digit(first, text) == UInt8(ascii: "0") { first += 1 }
        guard first < digitCount else { return layout }  // zero, of either sign
        var last = digitCount - 1
        while layout.digit(last, text) == UInt8(ascii: "0") { last -= 1 }
        layout.first = first
        layout.last = last
        layout.scale = exponent - fractionCount + (digitCount - 1 - last)
        return layout
    }

    /// Writes the canonical spelling of `text` to `output`, which holds at least `text.count + extraCapacity` bytes,
    /// and returns its length; nil when `text` is not a number in JSON's syntax or its exponent is beyond
    /// `exponentLimit`.
    static func canonical(_ text: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int? {
        guard let layout = layout(text) else { return nil }
        if layout.isZero {
            output[0] = UInt8(ascii: "0")
            return 1
        }
        var length = 0
        if layout.negative {
            output[0] = UInt8(ascii: "-")
            length = 1
        }
        for k in layout.first...layout.last {
            output[length] = layout.digit(k, text)
            length += 1
        }
        let scale = layout.scale
        if scale >= 0 && layout.significantCount + scale <= plainDigits {
            for _ in 0..<scale {
                output[length] = UInt8(ascii: "0")
                length += 1
            }
            return length
        }
        output[length] = UInt8(ascii: "e")
        length += 1
        if scale < 0 {
            output[length] = UInt8(ascii: "-")
            length += 1
        }
        // The scale's digits, most significant first.
        var magnitude = scale.magnitude
        let digitsStart = length
        repeat {
            output[length] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            length += 1
            magnitude /= 10
        } while magnitude > 0
        var digits = UnsafeMutableBufferPointer(start: output + digitsStart, count: length - digitsStart)
        digits.reverse()
        return length
    }

    /// Calls `body` with the canonical spelling of `text` (in a temporary buffer, on the stack for short texts); nil
    /// without calling when `text` is not a number in JSON's syntax.
    @inline(__always)
    static func withCanonical<R>(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: text.count + extraCapacity) { buffer in
            guard let length = canonical(text, into: buffer.baseAddress!) else { return nil }
            return body(UnsafeBufferPointer(start: buffer.baseAddress, count: length))
        }
    }

    /// The canonical spelling of `bytes`, or nil when they are not a number in JSON's syntax.
    static func canonical(_ bytes: [UInt8]) -> [UInt8]? {
        bytes.withUnsafeBufferPointer { text in withCanonical(text) { Array($0) } }
    }

    /// A rule's bound for `lt`, `lte`, `gt`, `gte`, kept exactly: its sign, significant digits and magnitude.
    struct Bound: Sendable {
        let negative: Bool
        /// Significant digits (ASCII), none for zero.
        let digits: [UInt8]
        let magnitude: Int

        /// nil when `text` is not a number in JSON's syntax.
        init?(_ text: String) {
            let parsed = Array(text.utf8).withUnsafeBufferPointer { text -> (Bool, [UInt8], Int)? in
                guard let layout = DecimalNumber.layout(text) else { return nil }
                if layout.isZero { return (false, [], 0) }
                return (layout.negative, (layout.first...layout.last).map { layout.digit($0, text) }, layout.magnitude)
            }
            guard let parsed else { return nil }
            (negative, digits, magnitude) = parsed
        }
    }

    /// How the number `text` orders against `bound`, exactly (-1, 0, 1); nil when `text` is not a number in JSON's
    /// syntax. Where a `Double` rounds 2^53 + 1 to 2^53, this tells them apart, as equality does.
    static func compare(_ text: UnsafeBufferPointer<UInt8>, _ bound: Bound) -> Int? {
        guard let value = layout(text) else { return nil }
        @inline(__always) func sign(_ zero: Bool, _ negative: Bool) -> Int { zero ? 0 : (negative ? -1 : 1) }
        let valueSign = sign(value.isZero, value.negative)
        let boundSign = sign(bound.digits.isEmpty, bound.negative)
        if valueSign != boundSign { return valueSign < boundSign ? -1 : 1 }
        if valueSign == 0 { return 0 }
        // Same sign: compare magnitudes, then the digits from the leading one (the shorter padded with zeros).
        var order = 0
        if value.magnitude != bound.magnitude {
            order = value.magnitude < bound.magnitude ? -1 : 1
        } else {
            let count = max(value.significantCount, bound.digits.count)
            for k in 0..<count {
                let a = k < value.significantCount ? value.digit(value.first + k, text) : UInt8(ascii: "0")
                let b = k < bound.digits.count ? bound.digits[k] : UInt8(ascii: "0")
                if a != b {
                    order = a < b ? -1 : 1
                    break
                }
            }
        }
        return valueSign < 0 ? -order : order
    }
}

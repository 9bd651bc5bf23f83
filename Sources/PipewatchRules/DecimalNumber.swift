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

    /// Writes the canonical spelling of `text` to `output`, which holds at least `text.count + extraCapacity` bytes,
    /// and returns its length; nil when `text` is not a number in JSON's syntax
    /// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) or its exponent is beyond `exponentLimit`.
    static func canonical(_ text: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int? {
        let count = text.count
        var i = 0
        @inline(__always) func isDigit(_ k: Int) -> Bool { k < count && text[k] &- UInt8(ascii: "0") < 10 }
        let negative = count > 0 && text[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        // Integer part: `0` or a digit string without a leading zero.
        let integerStart = i
        guard isDigit(i) else { return nil }
        if text[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        let integerEnd = i
        // Fraction.
        var fractionStart = i
        var fractionEnd = i
        if i < count && text[i] == UInt8(ascii: ".") {
            i += 1
            fractionStart = i
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
            fractionEnd = i
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

        // The digits of integer and fraction form one mantissa M; the value is M × 10^(exponent − fraction digits).
        // Significant digits: M without its leading and trailing zeros (each trailing zero raises the scale).
        let fractionCount = fractionEnd - fractionStart
        let digitCount = (integerEnd - integerStart) + fractionCount
        @inline(__always) func digit(_ k: Int) -> UInt8 {
            let integerCount = integerEnd - integerStart
            return k < integerCount ? text[integerStart + k] : text[fractionStart + k - integerCount]
        }
        var first = 0
        while first < digitCount && digit(first) == UInt8(ascii: "0") { first += 1 }
        if first == digitCount {
            output[0] = UInt8(ascii: "0")
            return 1
        }
        var last = digitCount - 1
        while digit(last) == UInt8(ascii: "0") { last -= 1 }
        let significant = last - first + 1
        let scale = exponent - fractionCount + (digitCount - 1 - last)

        var length = 0
        if negative {
            output[0] = UInt8(ascii: "-")
            length = 1
        }
        for k in first...last {
            output[length] = digit(k)
            length += 1
        }
        if scale >= 0 && significant + scale <= plainDigits {
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
}

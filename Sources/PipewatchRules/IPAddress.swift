/// An IPv4 or IPv6 address parsed from text without allocating. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are
/// read as IPv4, so an IPv4 network contains them.
struct IPAddress: Sendable, Equatable {
    var high: UInt64
    var low: UInt64
    var isV4: Bool

    init(v4: UInt32) {
        high = 0
        low = UInt64(v4)
        isV4 = true
    }

    init(high: UInt64, low: UInt64) {
        if high == 0 && low >> 32 == 0xFFFF {
            self.high = 0
            self.low = low & 0xFFFF_FFFF
            isV4 = true
        } else {
            self.high = high
            self.low = low
            isV4 = false
        }
    }

    init?(_ text: String) {
        var text = text
        guard let address = text.withUTF8({ IPAddress($0) }) else { return nil }
        self = address
    }

    init?(_ text: UnsafeBufferPointer<UInt8>) {
        guard !text.isEmpty, text.count <= 64 else { return nil }
        if text.contains(UInt8(ascii: ":")) {
            guard let (high, low) = IPAddress.parseV6(text) else { return nil }
            self.init(high: high, low: low)
        } else {
            guard let v4 = IPAddress.parseV4(text, 0, text.count) else { return nil }
            self.init(v4: v4)
        }
    }

    static func parseV4(_ s: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        var i = start
        while i < end {
            var octet: UInt32 = 0
            var digits = 0
            while i < end, s[i] &- UInt8(ascii: "0") < 10 {
                octet = octet * 10 + UInt32(s[i] &- UInt8(ascii: "0"))
                digits += 1
                i += 1
                if digits > 3 { return nil }
            }
            guard digits > 0, octet <= 255 else { return nil }
            value = value << 8 | octet
            octets += 1
            if i < end {
                guard s[i] == UInt8(ascii: "."), octets < 4 else { return nil }
                i += 1
                guard i < end else { return nil }
            }
        }
        return octets == 4 ? value : nil
    }

    static func parseV6(_ s: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        var end = s.count
        // A zone (`fe80::1%eth0`) does not change the address.
        if let percent = s.firstIndex(of: UInt8(ascii: "%")) { end = percent }
        var groups: [UInt16] = []
        groups.reserveCapacity(8)
        var gap: Int?
        var i = 0
        if end >= 2 && s[0] == UInt8(ascii: ":") && s[1] == UInt8(ascii: ":") {
            gap = 0
            i = 2
        } else if end >= 1 && s[0] == UInt8(ascii: ":") {
            return nil
        }
        while i < end {
            // An embedded IPv4 address ends the text.
            var j = i
            var sawDot = false
            while j < end && s[j] != UInt8(ascii: ":") {
                if s[j] == UInt8(ascii: ".") { sawDot = true }
                j += 1
            }
            if sawDot {
                guard j == end, let v4 = parseV4(s, i, end) else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
                i = end
                break
            }
            guard j > i, j - i <= 4 else { return nil }
            var group: UInt16 = 0
            for k in i..<j {
                let c = s[k]
                let digit: UInt8
                if c &- UInt8(ascii: "0") < 10 {
                    digit = c &- UInt8(ascii: "0")
                } else if (c | 0x20) &- UInt8(ascii: "a") < 6 {
                    digit = (c | 0x20) &- UInt8(ascii: "a") + 10
                } else {
                    return nil
                }
                group = group << 4 | UInt16(digit)
            }
            groups.append(group)
            i = j
            if i < end {
                // s[i] is ':'
                if i + 1 < end && s[i + 1] == UInt8(ascii: ":") {
                    guard gap == nil else { return nil }
                    gap = groups.count
                    i += 2
                } else {
                    i += 1
                    guard i < end else { return nil }
                }
            }
            if groups.count > 8 { return nil }
        }
        if let gap {
            guard groups.count < 8 else { return nil }
            groups.insert(contentsOf: [UInt16](repeating: 0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for k in 0..<4 { high = high << 16 | UInt64(groups[k]) }
        for k in 4..<8 { low = low << 16 | UInt64(groups[k]) }
        return (high, low)
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); an address without a length is a single host.
struct IPNetwork: Sendable, Equatable {
    var address: IPAddress
    var prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.isV4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), parsed >= 0, parsed <= maximum else { return nil }
            length = parsed
        }
        self.address = address
        prefixLength = length
        // Keep only the network bits.
        self.address = mask(address)
    }

    private func mask(_ a: IPAddress) -> IPAddress {
        var masked = a
        if a.isV4 {
            let bits: UInt64 = prefixLength == 0 ? 0 : (0xFFFF_FFFF << UInt64(32 - prefixLength)) & 0xFFFF_FFFF
            masked.low = a.low & bits
        } else {
            let highBits: UInt64 = prefixLength >= 64 ? ~0 : (prefixLength == 0 ? 0 : ~0 << UInt64(64 - prefixLength))
            let lowBits: UInt64 = prefixLength <= 64 ? 0 : (prefixLength == 128 ? ~0 : ~0 << UInt64(128 - prefixLength))
            masked.high = a.high & highBits
            masked.low = a.low & lowBits
        }
        return masked
    }

    func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.isV4 == address.isV4 else { return false }
        return mask(candidate) == address
    }
}

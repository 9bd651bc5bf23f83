/// A parsed Sigma condition, before its identifiers are bound to the detection's search identifiers.
indirect enum ConditionNode: Sendable, Equatable {
    case identifier(String, column: Int)
    case and(ConditionNode, ConditionNode)
    case or(ConditionNode, ConditionNode)
    case not(ConditionNode)
    /// `1 of pattern`, `all of pattern`, `N of pattern`; `pattern` is nil for `them`. `count` nil means all.
    case of(count: Int?, pattern: String?, column: Int)
}

/// A condition syntax error; `column` counts characters from 1.
struct ConditionError: Error, Equatable, CustomStringConvertible {
    var column: Int
    var message: String
    var description: String { "condition: \(message) at column \(column)" }
}

/// The condition grammar, least to most binding: `or`, `and`, `not`, `x of`, parentheses.
///
///     expression := and-expr ("or" and-expr)*
///     and-expr   := unary ("and" unary)*
///     unary      := "not" unary | "(" expression ")" | ("1" | "any" | "all" | N) "of" (pattern | "them") | identifier
enum ConditionParser {
    struct Token: Equatable {
        enum Kind: Equatable { case word, open, close, pipe }
        var kind: Kind
        var text: String
        var column: Int
    }

    static func tokenize(_ text: String) throws(ConditionError) -> [Token] {
        var tokens: [Token] = []
        var column = 0
        var word = ""
        var wordColumn = 0
        func flush() {
            if !word.isEmpty { tokens.append(Token(kind: .word, text: word, column: wordColumn)) }
            word = ""
        }
        for character in text {
            column += 1
            switch character {
            case "(", ")", "|":
                flush()
                let kind: Token.Kind = character == "(" ? .open : character == ")" ? .close : .pipe
                tokens.append(Token(kind: kind, text: String(character), column: column))
            case " ", "\t", "\n", "\r":
                flush()
            default:
                if word.isEmpty { wordColumn = column }
                word.append(character)
            }
        }
        flush()
        return tokens
    }

    static func parse(_ text: String) throws(ConditionError) -> ConditionNode {
        let tokens = try tokenize(text)
        guard !tokens.isEmpty else { throw ConditionError(column: 1, message: "empty condition") }
        if let pipe = tokens.first(where: { $0.kind == .pipe }) {
            throw ConditionError(
                column: pipe.column,
                message: "aggregation expressions ('| count() …') are Sigma 1.0 syntax and not supported; write a correlation rule")
        }
        var parser = Parser(tokens: tokens, end: text.count + 1)
        let node = try parser.expression()
        if parser.position < tokens.count {
            let token = tokens[parser.position]
            if token.kind == .close { throw ConditionError(column: token.column, message: "unbalanced ')'") }
            throw ConditionError(column: token.column, message: "expected 'and', 'or' or the end, found '\(token.text)'")
        }
        return node
    }

    static func isKeyword(_ word: String, _ keyword: String) -> Bool {
        word.lowercased() == keyword
    }

    struct Parser {
        let tokens: [Token]
        let end: Int
        var position = 0

        init(tokens: [Token], end: Int) {
            self.tokens = tokens
            self.end = end
        }

        var current: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func expression() throws(ConditionError) -> ConditionNode {
            var left = try andExpression()
            while let token = current, token.kind == .word, isKeyword(token.text, "or") {
                position += 1
                left = .or(left, try andExpression())
            }
            return left
        }

        mutating func andExpression() throws(ConditionError) -> ConditionNode {
            var left = try unary()
            while let token = current, token.kind == .word, isKeyword(token.text, "and") {
                position += 1
                left = .and(left, try unary())
            }
            return left
        }

        mutating func unary() throws(ConditionError) -> ConditionNode {
            guard let token = current else {
                let previous = position > 0 ? "'\(tokens[position - 1].text)'" : "the start"
                throw ConditionError(column: end, message: "expected an identifier after \(previous), found the end")
            }
            switch token.kind {
            case .open:
                position += 1
                let inner = try expression()
                guard let close = current, close.kind == .close else {
                    throw ConditionError(column: token.column, message: "'(' is never closed")
                }
                position += 1
                return inner
            case .close:
                throw ConditionError(column: token.column, message: "expected an identifier, found ')'")
            case .pipe:
                throw ConditionError(column: token.column, message: "unexpected '|'")
            case .word:
                break
            }
            let word = token.text
            if isKeyword(word, "not") {
                position += 1
                return .not(try unary())
            }
            if isKeyword(word, "and") || isKeyword(word, "or") {
                throw ConditionError(column: token.column, message: "expected an identifier, found '\(word)'")
            }
            if isKeyword(word, "of") || isKeyword(word, "them") {
                throw ConditionError(column: token.column, message: "'\(word)' must follow '1 of' or 'all of'")
            }
            // Quantifier: `1 of`, `any of`, `all of`, `N of`.
            if position + 1 < tokens.count, tokens[position + 1].kind == .word, isKeyword(tokens[position + 1].text, "of") {
                let count: Int?
                if isKeyword(word, "all") {
                    count = nil
                } else if isKeyword(word, "any") {
                    count = 1
                } else if let number = Int(word), number >= 1 {
                    count = number
                } else {
                    throw ConditionError(
                        column: token.column, message: "'\(word) of' is not a quantifier; use '1 of', 'all of' or 'any of'")
                }
                position += 2
                guard let target = current, target.kind == .word else {
                    throw ConditionError(
                        column: current?.column ?? end,
                        message: "expected a search identifier pattern or 'them' after '\(word) of'")
                }
                position += 1
                if isKeyword(target.text, "them") { return .of(count: count, pattern: nil, column: token.column) }
                if ["and", "or", "not"].contains(where: { isKeyword(target.text, $0) }) {
                    throw ConditionError(
                        column: target.column,
                        message: "expected a search identifier pattern or 'them' after '\(word) of', found '\(target.text)'")
                }
                return .of(count: count, pattern: target.text, column: token.column)
            }
            position += 1
            return .identifier(word, column: token.column)
        }
    }
}

/// Matching identifiers against `1 of selection_*` patterns (`*` any run of characters).
enum IdentifierPattern {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let value = SigmaString(parts: pattern.split(separator: "*", omittingEmptySubsequences: false).enumerated().flatMap {
            index, piece -> [SigmaString.Part] in
            (index > 0 ? [.anyString] : []) + [.literal(Array(piece.utf8))]
        })
        return Array(name.utf8).withUnsafeBufferPointer { GlobPattern(value, cased: true).matches($0) }
    }
}

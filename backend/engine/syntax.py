"""Syntax errors in words a person building a flow can act on: what was found, where (the
column, and the line when the source has several) and what was expected there, e.g.
"Expected a name after “.” at column 7" or "Unexpected “)” at column 12: expected an
expression".

Jinja's tokens carry a line number only, and its messages speak of tokens ("expected token
',', got 'end of template'"). `Located` records where each token the parser reads starts (the
sandbox's `_tokenize` makes every parse go through one), so that the token the parser gave up
at has a column; `explain` turns Jinja's message into one of ours, an `ExpressionSyntaxError`
(an `ExpressionError`) that also carries the line, column and expectation.
"""

from __future__ import annotations

import re
from ast import literal_eval
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from jinja2.exceptions import TemplateSyntaxError
from jinja2.lexer import TOKEN_EOF, Lexer, Token, TokenStream, newline_re

from backend.engine.limits import ExpressionError

OPENERS = {"(": ")", "[": "]", "{": "}"}
W = "\0"  # in a message: where the position goes
_SYMBOLS = {"variable_end": "}}", "block_end": "%}", "variable_begin": "{{",
            "block_begin": "{%"}
_EXPECTED_TOKENS = {"end of print statement": "“}}”", "end of statement block": "“%}”",
                    "name": "a name", "begin of print statement": "“{{”"}
_LAST: ContextVar[Located | None] = ContextVar("waybill_last_located", default=None)


class ExpressionSyntaxError(ExpressionError):
    """An expression or template that does not parse, said in words, with its position."""

    def __init__(self, message: str, *, line: int, column: int, expected: str = "") -> None:
        super().__init__(message)
        self.line, self.column, self.expected = line, column, expected


class Located:
    """The tokens of one source in the order the parser reads them, with their offsets."""

    def __init__(self, lexer: Lexer, source: str, state: str | None) -> None:
        self.lexer, self.state = lexer, state
        self.text = newline_re.sub("\n", source)
        self.tokens: list[tuple[Token, int]] = []
        self.offset = 0  # where the lexer is: the end of the last piece it read
        self.lexer_failed = False
        self.stream: TokenStream | None = None

    def _raw(self) -> Iterator[tuple[int, str, str]]:
        try:
            for lineno, kind, value in self.lexer.tokeniter(self.text, None, None, self.state):
                found = self.text.find(value, self.offset) if value else -1
                self.start = found if found >= 0 else self.offset
                self.offset = self.start + len(value)
                yield lineno, kind, value
        except TemplateSyntaxError:
            self.lexer_failed = True
            raise

    def _tokens(self) -> Iterator[Token]:
        for token in self.lexer.wrap(self._raw()):
            self.tokens.append((token, self.start))
            yield token

    def index_of(self, token: Token) -> int:
        """Where `token` is among those read (the end of the source: after all of them)."""
        return next((i for i, (seen, _) in enumerate(self.tokens) if seen is token),
                    len(self.tokens))

    def offset_at(self, index: int) -> int:
        return self.tokens[index][1] if index < len(self.tokens) else len(self.text.rstrip())

    def where(self, offset: int) -> tuple[int, int, str]:
        return _where(self.text, offset)

    def unclosed(self, before: int) -> list[tuple[str, int]]:
        """The brackets opened and not yet closed before token `before`: (opener, offset)."""
        stack: list[tuple[str, int]] = []
        for token, offset in self.tokens[:before]:
            if token.value in OPENERS and token.type != "string":
                stack.append((token.value, offset))
            elif stack and token.type != "string" and token.value == OPENERS[stack[-1][0]]:
                stack.pop()
        return stack


def located_stream(lexer: Lexer, source: str, name: str | None, filename: str | None,
                   state: str | None) -> TokenStream:
    """The token stream a parser reads, remembered (for `explain`) with where each token is."""
    located = Located(lexer, source, state)
    _LAST.set(located)
    located.stream = TokenStream(located._tokens(), name, filename)
    return located.stream


def last_located() -> Located | None:
    return _LAST.get()


@dataclass
class _At:
    located: Located
    index: int  # of the token the parser stopped at (len(tokens): the end)
    what: str  # "expression" or "template"

    @property
    def token(self) -> Token | None:
        return self.located.tokens[self.index][0] if self.index < len(self.located.tokens) else None

    def found(self) -> str:
        token = self.token
        if token is None or token.type == TOKEN_EOF:
            return f"end of the {self.what}"
        if token.type == "data":
            return "text"
        if token.type == "string":
            return f"the text “'{token.value}'”"
        return f"“{_SYMBOLS.get(token.type, token.value)}”"

    def before(self) -> str | None:
        """The token just before this one, as written."""
        if self.index == 0:
            return None
        token = self.located.tokens[self.index - 1][0]
        return _SYMBOLS.get(token.type, str(token.value))

    def fail(self, message: str, expected: str = "", offset: int | None = None) -> ExpressionSyntaxError:
        line, column, where = self.located.where(
            self.located.offset_at(self.index) if offset is None else offset)
        return ExpressionSyntaxError(message.replace(W, where, 1), line=line, column=column,
                                     expected=expected)

    def unexpected(self, expected: str) -> ExpressionSyntaxError:
        return self.fail(f"Unexpected {self.found()} {W}: expected {expected}", expected)


def explain(exc: TemplateSyntaxError, located: Located | None, *,
            template: bool) -> ExpressionSyntaxError:
    """Jinja's syntax error `exc`, said in words, with where it is in the source."""
    message = exc.message or str(exc)
    if located is None:  # never expected: every parse tokenizes through `located_stream`
        return ExpressionSyntaxError(_sentence(message), line=exc.lineno, column=0)
    what = "template" if template else "expression"
    if not template and located.text.lstrip().startswith("{{"):
        return ExpressionSyntaxError("An expression is written without “{{ }}” around it "
                                     "(those are for templates)", line=1, column=1,
                                     expected="an expression")
    if located.lexer_failed:
        return _lexer_error(message, located, what)
    stream = located.stream
    current = stream.current if stream is not None else None
    at = _At(located, located.index_of(current) if current is not None else len(located.tokens),
             what)
    return _parser_error(message, at)


def leftover(located: Located, token: Token) -> ExpressionSyntaxError:
    """A token after a complete expression (`1 2`, `a b`)."""
    at = _At(located, located.index_of(token), "expression")
    return at.unexpected("an operator (like +, == or and) or the end of the expression")


def _parser_error(message: str, at: _At) -> ExpressionSyntaxError:
    if message == "expected name or number":  # after a dot: the parser has moved past the name
        dot = max((i for i, (token, _) in enumerate(at.located.tokens[:at.index + 1])
                   if token.type == "dot"), default=at.index - 1)
        after = _At(at.located, dot + 1, at.what)
        return after.fail(f"Expected a name after “.” {W}", "a name")
    expected = re.fullmatch(r"(?:expected token|unexpected end of template, expected) "
                            r"'(.+?)'(?:, got '.*')?\.?", message, re.DOTALL)
    if expected:
        return _expected_token(at, expected[1])
    if re.fullmatch(r"unexpected '.*'|Expected an expression, got '.*'", message, re.DOTALL):
        return _expected_value(at)
    if message == "expected subscript expression":
        return at.unexpected("an index or a key inside “[ ]”")
    if message == "invalid syntax for function call expression":
        return at.unexpected("an argument, “,” or “)”")
    tag = re.match(r"Encountered unknown tag '(.+?)'", message)
    if tag:
        return at.fail(f"Unknown tag “{tag[1]}” {W}: expected a tag like if, for or set",
                       "a tag like if, for or set")
    block = re.search(r"innermost block that needs to be closed is '(\w+)'", message)
    if block:
        name = block[1]
        return at.fail(f"Unexpected end of the template {W}: the “{{% {name} %}}” block "
                       f"is never closed, expected “{{% end{name} %}}”", f"{{% end{name} %}}")
    return at.fail(f"{_sentence(message)} {W}")


def _expected_token(at: _At, token: str) -> ExpressionSyntaxError:
    wanted = _EXPECTED_TOKENS.get(token, f"“{token}”")
    opened = at.located.unclosed(at.index)
    if token == "," and opened:
        wanted = f"“,” or “{OPENERS[opened[-1][0]]}”"
    if at.token is None and opened:
        opener, offset = opened[-1]
        _, _, where = at.located.where(offset)
        closer = OPENERS[opener]
        return at.fail(f"Unexpected end of the {at.what} {W}: expected “{closer}” to close "
                       f"the “{opener}” {where}", f"“{closer}”")
    return at.unexpected(wanted)


def _expected_value(at: _At) -> ExpressionSyntaxError:
    before = at.before()
    if at.token is None and before is not None:
        return at.fail(f"Unexpected end of the {at.what} {W}: expected a value after "
                       f"“{before}”", "a value")
    return at.unexpected("an expression")


def _lexer_error(message: str, located: Located, what: str) -> ExpressionSyntaxError:
    at = _At(located, len(located.tokens), what)
    char = re.fullmatch(r"unexpected char (.+) at (\d+)", message, re.DOTALL)
    if char:
        symbol, offset = str(literal_eval(char[1])), int(char[2])
        if symbol in ("'", '"'):
            return at.fail(f"The text in quotes that starts {W} is never closed: expected a "
                           f"closing {symbol}", symbol, offset)
        return at.fail(f"Unexpected “{symbol}” {W}: expected a name, a number, text in "
                       "quotes or an operator", "a name, a number, text in quotes or an operator",
                       offset)
    closing = re.fullmatch(r"unexpected '(.)'(?:, expected '(.)')?", message)
    if closing:
        found, wanted = closing[1], closing[2]
        offset = located.text.find(found, located.offset)
        offset = located.offset if offset < 0 else offset
        if wanted is None:
            return at.fail(f"Unexpected “{found}” {W}: there is no opening bracket for it "
                           "to close", "", offset)
        opener = next(key for key, value in OPENERS.items() if value == wanted)
        opened = located.unclosed(len(located.tokens))
        _, _, opened_at = located.where(opened[-1][1]) if opened else (0, 0, "")
        return at.fail(f"Unexpected “{found}” {W}: expected “{wanted}” to close the "
                       f"“{opener}” {opened_at}".rstrip(), f"“{wanted}”", offset)
    return at.fail(f"{_sentence(message)} {W}", "", located.offset)


def compile_error(message: str, source: str) -> ExpressionError:
    """A name the parser took but compiling refused: an unknown filter or test."""
    unknown = re.match(r"No (filter|test) named '(.+?)'", message)
    if not unknown:
        return ExpressionError(_sentence(message))
    kind, name = unknown[1], unknown[2]
    written = (rf"\|\s*({re.escape(name)})\b" if kind == "filter"
               else rf"\bis\s+(?:not\s+)?({re.escape(name)})\b")
    text = newline_re.sub("\n", source)
    found = re.search(written, text)
    what, expected = (("function", "the name of a registered function") if kind == "filter"
                      else ("test", "a test like defined, none or number"))
    if found is None:
        return ExpressionError(f"Unknown {what} “{name}”: expected {expected}")
    line, column, where = _where(text, found.start(1))
    return ExpressionSyntaxError(f"Unknown {what} “{name}” {where}: expected {expected}",
                                 line=line, column=column, expected=expected)


def _where(text: str, offset: int) -> tuple[int, int, str]:
    """(line, column, "at column C" or "at line L, column C"), both counted from 1."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column, (f"at column {column}" if "\n" not in text
                          else f"at line {line}, column {column}")


def _sentence(message: str) -> str:
    text = message.strip().rstrip(".")
    return text[:1].upper() + text[1:]

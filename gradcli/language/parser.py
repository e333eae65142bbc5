"""Tokens -> op graph. A precedence-climbing parser for SPEC section 1.

    expr  := term (('+' | '-') term)*
    term  := unary (('*' | '/') unary)*
    unary := ('+' | '-') unary | power
    power := atom (('**' | '^') unary)?          right-associative
    atom  := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'

Precedence, loosest first (the printer reads the same table):
    + -   (binary)   left-assoc
    * /              left-assoc
    + -   (unary)    -x**2 is -(x**2)
    ** ^             right-assoc: 2**3**2 is 2**(3**2); 2**-1 is 0.5

A power whose exponent is a constant integer (``x**2``, ``x**(6/2)``, ``x**-1``)
becomes the exact ``powi`` op, so no derivative of ``x**4`` passes through log.
"""
from __future__ import annotations

import math
import sys

from . import lexer
from ..compiled.tuning import building
from ..errors import ParseError
from ..graph import NAMED_CONSTANTS, Builder, Node, evaluate, topological
from ..limits import MAX_NESTING_DEPTH
from ..registry import language_functions

NUMBER, NAME, OP, LPAREN = lexer.NUMBER, lexer.NAME, lexer.OP, lexer.LPAREN

MAX_DEPTH = MAX_NESTING_DEPTH  # nested parentheses, calls, signs and powers (gradcli/limits.py)
MAX_INT_EXPONENT = 2**31

# precedence table shared with the printer: op -> (binding power, associativity)
PRECEDENCE = {
    "add": (1, "left"), "sub": (1, "left"),
    "mul": (2, "left"), "div": (2, "left"),
    "neg": (3, "prefix"),
    "powi": (4, "right"), "pow": (4, "right"),
}
BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
SYMBOLS = {v: k for k, v in BINARY.items()}
# the binary operators of each binding power in PRECEDENCE, loosest first: [('+', '-'), ('*', '/')]
INFIX_LEVELS = [tuple(s for s, o in BINARY.items() if PRECEDENCE[o][0] == power)
                for power in sorted({PRECEDENCE[o][0] for o in BINARY.values()})]
# the parser's two levels (expr, term) from that table: symbol -> op
_LOOSE, _TIGHT = ({s: BINARY[s] for s in symbols} for symbols in INFIX_LEVELS)


def _describe(tok: lexer.Token) -> str:
    if tok.kind == lexer.END:
        return "end of expression"
    return f"'{tok.text}'"


class Parser:
    """Recursive descent over the parallel token lists of lexer.scan (kinds, texts, columns):
    a Token object is made only where a rarer form or an error needs one."""

    def __init__(self, text: str, builder: Builder | None = None):
        self.text = text
        self.kinds, self.texts, self.columns = lexer.scan(text)
        self.pos = 0
        self.b = builder or Builder()
        self.functions = language_functions()
        self.leaves: dict[str, Node] = {}   # token text -> node, for numbers and names
        self.powers: dict[tuple[str, str], Node] = {}   # (base, exponent) texts -> node

    # -- token helpers ---------------------------------------------------
    def token(self, i: int) -> lexer.Token:
        """The token at position i."""
        kind, text = self.kinds[i], self.texts[i]
        return lexer.Token(kind, text, self.columns[i], float(text) if kind == NUMBER else None)

    @property
    def tok(self) -> lexer.Token:
        return self.token(self.pos)

    def advance(self) -> lexer.Token:
        tok = self.token(self.pos)
        self.pos += 1
        return tok

    def error(self, message: str, tok: lexer.Token | None = None, hint: str | None = None):
        tok = tok or self.tok
        return ParseError(message, column=tok.column, text=self.text, hint=hint)

    def expect(self, kind: str, what: str, opener: lexer.Token | None = None):
        if self.tok.kind != kind:
            if opener is not None and self.tok.kind in (lexer.END, lexer.COMMA, lexer.NAME,
                                                         lexer.NUMBER, lexer.LPAREN):
                raise self.error("expected ')'", hint=f"to close the '(' at column {opener.column}")
            raise self.error(f"expected {what}, found {_describe(self.tok)}")
        return self.advance()

    # -- grammar -------------------------------------------------------------
    def parse(self) -> Node:
        if self.tok.kind == lexer.END:
            raise ParseError("empty expression", column=1, text=self.text)
        node = self.expr(0)
        if self.tok.kind != lexer.END:
            tok = self.tok
            if tok.kind == lexer.RPAREN:
                raise self.error("unmatched ')'")
            if tok.kind in (lexer.NAME, lexer.NUMBER, lexer.LPAREN):
                prev = self.texts[self.pos - 1]
                hint = self.line_break_hint(self.pos) or f"write {prev}*{tok.text} to multiply"
                raise self.error(f"unexpected {_describe(tok)} after a complete expression",
                                 hint=hint)
            if tok.kind == lexer.COMMA:
                raise self.error("unexpected ','", hint=self.comma_hint())
            raise self.error(f"unexpected {_describe(tok)}")
        return node

    def line_break_hint(self, i: int) -> str | None:
        """Token i after a CR or LF: two lines in one argument (a file with CR-only line
        ends read by $(...)), where 'write 1*2 to multiply' would mislead."""
        gap = self.text[self.columns[i - 1] - 1 + len(self.texts[i - 1]):self.columns[i] - 1]
        if "\r" in gap or "\n" in gap:
            return (f"'{self.texts[i]}' follows a line break: give one expression or point "
                    "per argument, or one per line on stdin with '-'")
        return None

    def comma_hint(self) -> str:
        """',' outside a call: a decimal comma (1,5) or arguments without their function."""
        before, after = self.pos - 1, self.pos + 1
        if self.kinds[before] == NUMBER and self.kinds[after] == NUMBER \
                and "." not in self.texts[before] + self.texts[after]:
            return f"write {self.texts[before]}.{self.texts[after]} for a decimal number"
        return "',' separates the arguments of a function call, as in max(x, y)"

    def expr(self, depth: int) -> Node:
        """The loosest operators, INFIX_LEVELS[0] (+ -), over terms: a loop along the chain
        (a + b - c ...), one call per operand."""
        kinds, texts = self.kinds, self.texts
        binary, term, loose = self.b.binary, self.term, _LOOSE.get
        left = term(depth)
        pos = self.pos
        while kinds[pos] == OP:
            op = loose(texts[pos])
            if op is None:
                break
            self.pos = pos + 1
            left = binary(op, left, term(depth))
            pos = self.pos
        return left

    def term(self, depth: int) -> Node:
        """INFIX_LEVELS[1] (* /) over unary operands, as ``expr``."""
        kinds, texts = self.kinds, self.texts
        unary = self.unary
        left = unary(depth)
        pos = self.pos
        if kinds[pos] != OP:
            return left
        binary, tight = self.b.binary, _TIGHT.get
        while kinds[pos] == OP:
            op = tight(texts[pos])
            if op is None:
                break
            self.pos = pos + 1
            left = binary(op, left, unary(depth))
            pos = self.pos
        return left

    def unary(self, depth: int) -> Node:
        kinds, texts = self.kinds, self.texts
        pos = self.pos
        kind = kinds[pos]
        if kind == NUMBER or kind == NAME:  # the usual operands: a number or a name, or x**2
            after = kinds[pos + 1]
            if after != LPAREN:
                star = texts[pos + 1]
                if after != OP or (star != "**" and star != "^"):
                    self.pos = pos + 1
                    node = self.leaves.get(texts[pos])
                    return node if node is not None else self.leaf(pos)
                exponent = kinds[pos + 2]
                if (exponent == NUMBER or exponent == NAME) and depth < MAX_DEPTH:
                    follows, star = kinds[pos + 3], texts[pos + 3]  # the exponent is not END
                    if follows != LPAREN and (follows != OP or (star != "**" and star != "^")):
                        self.pos = pos + 3
                        node = self.powers.get((texts[pos], texts[pos + 2]))
                        return node if node is not None else self.leaf_power(pos, pos + 2)
        if kind != OP or texts[pos] not in "+-":  # no sign
            return self.power(depth)
        operand = kinds[pos + 1]
        if (operand == NUMBER or operand == NAME) and depth < MAX_DEPTH:  # one sign: -3, -x
            after, star = kinds[pos + 2], texts[pos + 2]
            if after != LPAREN and (after != OP or (star != "**" and star != "^")):
                self.pos = pos + 2
                node = self.leaves.get(texts[pos + 1])
                if node is None:
                    node = self.leaf(pos + 1)
                return self.b.apply("neg", node) if texts[pos] == "-" else node
        signs = []
        while self.tok.kind == OP and self.tok.text in "+-":
            signs.append(self.advance())
            if len(signs) + depth > MAX_DEPTH:
                raise self.error(f"expression nested too deeply (the limit is {MAX_DEPTH} levels)",
                                 signs[-1])
        node = self.power(depth + len(signs))
        for sign in reversed(signs):
            if sign.text == "-":
                node = self.b.apply("neg", node)
        return node

    def leaf(self, pos: int) -> Node:
        """The node of the number or name at pos (kept in ``leaves`` by its text, as the
        builder would give it again)."""
        tok = self.token(pos)
        if tok.kind == NUMBER:
            if not math.isfinite(tok.value):
                raise self.error(f"number '{tok.text}' is too large for float64", tok)
            node = self.b.const(tok.value, text=tok.text)
        else:
            node = self.name(tok)
        self.leaves[tok.text] = node
        return node

    def leaf_power(self, base: int, exponent: int) -> Node:
        """base**exponent for a number or a name each, at those positions (kept in
        ``powers`` by their texts)."""
        leaves = self.leaves
        base_node = leaves.get(self.texts[base]) or self.leaf(base)
        digits = self.texts[exponent]
        if self.kinds[exponent] == NUMBER and len(digits) <= 9 and digits.isdigit():
            # x**7: the exponent is the op's attribute, not a node (its const node was
            # built and never used: a node, a key and a dict entry a term)
            node = self.b.powi(base_node, int(digits))
        else:
            node = self.make_power(base_node, leaves.get(digits) or self.leaf(exponent))
        self.powers[self.texts[base], self.texts[exponent]] = node
        return node

    def power(self, depth: int) -> Node:
        base = self.atom(depth)
        pos = self.pos
        if self.kinds[pos] == OP and (self.texts[pos] == "**" or self.texts[pos] == "^"):
            star = self.token(pos)
            self.pos += 1
            if depth + 1 > MAX_DEPTH:
                raise self.error(f"expression nested too deeply (the limit is {MAX_DEPTH} levels)", star)
            exponent = self.unary(depth + 1)
            return self.make_power(base, exponent)
        return base

    def atom(self, depth: int) -> Node:
        # the usual kinds read from the token lists (no Token object), the rest as before
        pos = self.pos
        kind = self.kinds[pos]
        if kind == NUMBER:
            self.pos = pos + 1
            return self.leaves.get(self.texts[pos]) or self.leaf(pos)
        if kind == NAME:
            self.pos = pos + 1
            if self.kinds[pos + 1] == LPAREN:
                return self.call(self.token(pos), depth)
            return self.leaves.get(self.texts[pos]) or self.leaf(pos)
        if kind == LPAREN:
            self.pos = pos + 1
            if depth + 1 > MAX_DEPTH:
                raise self.error(f"expression nested too deeply (the limit is {MAX_DEPTH} levels)",
                                 self.token(pos))
            if self.kinds[pos + 1] == lexer.RPAREN:
                raise self.error("empty parentheses")
            node = self.expr(depth + 1)
            if self.kinds[self.pos] == lexer.RPAREN:
                self.pos += 1
                return node
            self.expect(lexer.RPAREN, "')'", opener=self.token(pos))   # raises
            return node
        tok = self.token(pos)
        if tok.kind == lexer.END:
            raise self.error("unexpected end of expression")
        if tok.kind == lexer.OP and tok.text in ("**", "^") and self.pos > 0 \
                and self.texts[self.pos - 1] in ("*", "/"):
            raise self.error("unexpected '**'", hint="write ** for a power, with nothing between")
        raise self.error(f"unexpected {_describe(tok)}")

    def name(self, tok: lexer.Token) -> Node:
        if tok.text in NAMED_CONSTANTS:
            return self.b.const(NAMED_CONSTANTS[tok.text], name=tok.text)
        if tok.text in self.functions or tok.text == "pow":
            raise self.error(f"'{tok.text}' is a function", tok, hint=f"call it as {tok.text}(...)")
        return self.b.var(tok.text)

    def call(self, name: lexer.Token, depth: int) -> Node:
        opener = self.advance()  # '('
        if depth + 1 > MAX_DEPTH:
            raise self.error(f"expression nested too deeply (the limit is {MAX_DEPTH} levels)", opener)
        fname = name.text
        known = dict(self.functions)
        if fname not in known:
            if fname in NAMED_CONSTANTS:
                raise self.error(f"'{fname}' is a constant, not a function", name,
                                 hint=f"write {fname}*(...) to multiply")
            from .hints import unknown_function_hint  # only for the error's hint

            raise self.error(f"unknown function '{fname}'", name,
                             hint=self.line_break_hint(self.pos - 1)
                             or unknown_function_hint(fname, sorted(known)))
        if self.tok.kind == lexer.RPAREN:
            raise self.error(f"function '{fname}' needs an argument", self.tok)
        args = [self.expr(depth + 1)]
        while self.tok.kind == lexer.COMMA:
            self.advance()
            args.append(self.expr(depth + 1))
        self.expect(lexer.RPAREN, "')' or ','", opener=opener)
        return self.make_call(name, args)

    # -- building ---------------------------------------------------------------
    def make_call(self, name: lexer.Token, args: list[Node]) -> Node:
        fname = name.text
        if fname == "log" and len(args) == 2:
            return self.b.apply("div", self.b.apply("log", args[0]), self.b.apply("log", args[1]))
        if fname == "pow" and len(args) == 2:
            return self.make_power(args[0], args[1])
        spec = self.functions[fname]
        if len(args) != spec.arity:
            wanted = "1 argument" if spec.arity == 1 else f"{spec.arity} arguments"
            also = " (or 2: log(x, base))" if fname == "log" else ""
            raise self.error(f"function '{fname}' takes {wanted}{also}, got {len(args)}", name)
        return self.b.apply(spec.name, *args)

    def make_power(self, base: Node, exponent: Node) -> Node:
        n = constant_integer(exponent)
        if n is not None:
            return self.b.powi(base, n)
        return self.b.apply("pow", base, exponent)


def constant_integer(node: Node) -> int | None:
    """The exponent's value if it is a constant (no variables) integer, else None."""
    if node.op == "const":  # the usual case, without a graph walk
        value = node.value
        if math.isfinite(value) and value.is_integer() and abs(value) <= MAX_INT_EXPONENT:
            return int(value)
        return None
    nodes = topological(node)
    if any(n.op == "var" for n in nodes):
        return None
    value = float(evaluate(node, {}, nodes=nodes)[node.id])
    if math.isfinite(value) and value.is_integer() and abs(value) <= MAX_INT_EXPONENT:
        return int(value)
    return None


def parse_graph(text: str) -> Node:
    """Parse expression text into the root node of its op graph."""
    needed = 6 * MAX_DEPTH + 200
    limit = sys.getrecursionlimit()
    if limit < needed + 200:  # each nesting level costs a few Python frames
        sys.setrecursionlimit(needed + 200 + limit)
    # tokens and nodes are all kept: the cycle collector would rescan them again and
    # again while a long expression is read (measured 40% of the time at 100,000 terms);
    # it pauses only in the CLI's process (compiled/tuning.py), and the recursion limit
    # is put back: the library leaves the interpreter as it found it
    try:
        with building():
            return Parser(text).parse()
    finally:
        sys.setrecursionlimit(limit)

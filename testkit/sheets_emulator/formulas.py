"""A deliberately small formula evaluator: arithmetic, cell references, SUM, CONCATENATE,
HYPERLINK and IMAGE. Anything else yields #NAME? (as Sheets shows for unknown functions)."""
import ast
import re

from . import a1

_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)(?::\$?([A-Za-z]{1,3})\$?(\d+))?")


def _error(kind, display):
    return {"errorValue": {"type": kind, "message": display}}


def evaluate(formula, lookup, depth=0):
    """lookup(row, col) -> effective value dict of another cell (or None)."""
    expr = formula[1:].strip()
    m = re.match(r'(?i)^IMAGE\(', expr)
    if m:
        return None  # images have no value; their formattedValue is empty
    try:
        value = _Eval(lookup).run(expr)
    except ZeroDivisionError:
        return _error("DIVIDE_BY_ZERO", "#DIV/0!")
    except Exception:  # unsupported syntax or function
        return _error("NAME", "#NAME?")
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": value}
    return {"stringValue": str(value)}


class _Eval:
    def __init__(self, lookup):
        self.lookup = lookup

    def run(self, expr):
        # String literals ("" is a quote inside one) are kept apart from the rewriting of
        # operators and cell references around them.
        parts = re.split(r'("(?:[^"]|"")*")', expr)
        py = "".join(repr(part[1:-1].replace('""', '"')) if i % 2 else self._code(part)
                     for i, part in enumerate(parts))
        return self._node(ast.parse(py, mode="eval").body)

    @staticmethod
    def _code(text):
        py = _REF.sub(lambda m: f'_ref("{m.group(0)}")', text.replace("&", "+").replace("^", "**"))
        return re.sub(r'(?i)\b(TRUE|FALSE)\b', lambda m: m.group(1).capitalize(), py)

    def _node(self, n):
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, ast.BinOp):
            return self._binop(n)
        if isinstance(n, ast.UnaryOp):
            v = self._num(self._node(n.operand))
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            return self._call(n.func.id, n.args)
        raise ValueError("unsupported")

    def _binop(self, n):
        left, right = self._node(n.left), self._node(n.right)
        if isinstance(n.op, ast.Add) and (isinstance(left, str) or isinstance(right, str)):
            return f"{_text(left)}{_text(right)}"
        ops = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
               ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
               ast.Pow: lambda a, b: a ** b}
        return ops[type(n.op)](self._num(left), self._num(right))

    def _call(self, name, args):
        name = name.upper()
        if name == "_REF":
            return self._ref(args[0].value)
        vals = [self._node(a) for a in args]
        if name == "SUM":
            return sum(self._num(x) for v in vals for x in (v if isinstance(v, list) else [v])
                       if x != "")
        if name in ("CONCATENATE", "CONCAT"):
            return "".join(_text(x) for v in vals for x in (v if isinstance(v, list) else [v]))
        if name == "HYPERLINK":
            return vals[-1]
        raise ValueError(name)

    def _ref(self, text):
        m = _REF.fullmatch(text)
        r0, c0 = int(m.group(2)) - 1, a1.col_to_index(m.group(1))
        if not m.group(3):
            return _plain(self.lookup(r0, c0))
        r1, c1 = int(m.group(4)) - 1, a1.col_to_index(m.group(3))
        return [_plain(self.lookup(r, c)) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]

    @staticmethod
    def _num(v):
        if v == "" or v is None:
            return 0
        if isinstance(v, str):
            return float(v)
        return v


def _plain(ev):
    if not ev:
        return ""
    for k in ("numberValue", "stringValue", "boolValue"):
        if k in ev:
            return ev[k]
    raise ValueError("error value")


def _text(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(v)

"""What one evaluation of a user expression or template may cost, and the checks that keep it
there. `expressions.Sandbox` calls these on every operator, call, filter, loop item and piece
of output; a check that fails raises `ExpressionLimit` (an `ExpressionError`: a permanent
step error in the worker, a 4xx in the API).

Three kinds of bound:
- a value's own size (`MAX_SIZE` characters or items, `MAX_INT_BITS` for a number), checked
  before an operation when its result can be foreseen (`'a' * n`, `'x'.center(n)`, `9 ** n`,
  `'%*d'`, `'{:>n}'`) and on every result after it;
- a value with everything inside it counted, repeats included (`MAX_NESTED_SIZE`), so that
  `[[x] * 1000] * 1000`-style sharing cannot build a value that is tiny in memory but
  enormous to print, compare or store;
- per evaluation: `TIME_BUDGET` seconds of processor time and `MAX_PRODUCED` characters/items made in all
  (temporaries included), held in a `Budget` in a context variable that nested calls share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from contextvars import ContextVar, Token
from functools import wraps
from itertools import chain
from math import log2
from threading import get_ident
from time import thread_time
from types import MappingProxyType
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2 import pass_eval_context
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import Cycler, Namespace, generate_lorem_ipsum

MAX_SIZE = 1_000_000  # characters of a str, bytes of a bytes, items of a list/tuple/dict
MAX_NESTED_SIZE = 4_000_000  # characters + items of a value and everything inside it
MAX_PRODUCED = 8_000_000  # characters + items made by one evaluation, all values together
MAX_INT_BITS = 4096  # about 1,233 decimal digits
MAX_RANGE = 100_000  # items of range()
MAX_LOOP = 100_000  # items one {% for %} loop, or an item-by-item filter (sort, map...), goes through
MAX_SLOW_TEXT = 100_000  # characters of input to the slow text filters (wordwrap, urlize)
MAX_LIPSUM_PARAGRAPHS = 100
MAX_LIPSUM_WORDS = 200
# processor seconds of the evaluating thread per evaluate()/render() call, nested calls
# included: a busy machine that leaves a cheap `order.id` waiting for the processor does not
# fail it, nor do other threads of the process at work meanwhile (the process's clock counted
# theirs: a test's client thread failed a worker's `{{ order.id }}`). A budget carried into
# another thread with its context is that thread's own (`start`).
TIME_BUDGET = 0.25


class ExpressionError(Exception):
    """An expression or template that does not parse, or fails when evaluated."""


class ExpressionLimit(ExpressionError):
    """An expression or template that would go over one of the limits above."""


# -- the per-evaluation budget -------------------------------------------------------------


class Budget:
    __slots__ = ("deadline", "thread", "produced", "sizes", "cached")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.thread = get_ident()  # whose clock the deadline is on
        self.produced = 0
        self.sizes: dict[int, tuple[Any, int]] | None = None  # id -> (value kept alive, size)
        self.cached = 0


_BUDGET: ContextVar[Budget | None] = ContextVar("waybill_expression_budget", default=None)


def start() -> Token[Budget | None] | None:
    """Open a budget unless this thread has one open already (a nested call shares the outer
    one; a context copied into another thread brings a budget on a clock not its own)."""
    budget = _BUDGET.get()
    if budget is not None and budget.thread == get_ident():
        return None
    return _BUDGET.set(Budget(thread_time() + TIME_BUDGET))


def stop(token: Token[Budget | None] | None) -> None:
    if token is not None:
        _BUDGET.reset(token)


def _slow() -> ExpressionLimit:
    return ExpressionLimit(f"took longer than {TIME_BUDGET} s of processor time (the limit of one "
                          "evaluation)")


def tick() -> None:
    budget = _BUDGET.get()
    if budget is not None and thread_time() > budget.deadline:
        raise _slow()


def charge(amount: int) -> None:
    """Count `amount` characters/items made (the clock is checked by `tick`, which every
    operator, call, filter, read and loop item goes through)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.produced += amount
        if budget.produced > MAX_PRODUCED:
            raise ExpressionLimit(f"makes more than {MAX_PRODUCED:,} characters and items in "
                                  "all (the limit of one evaluation)")


# -- sizes ---------------------------------------------------------------------------------

_LEAVES = frozenset({int, float, bool, type(None)})
_TEXT = (str, bytes, bytearray)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))


def short(value: Any) -> str:
    text = repr(value) if isinstance(value, str | bytes | int | float) else type(value).__name__
    return text if len(text) <= 24 else text[:20] + "…" + text[-3:]


def _unit(value: Any) -> str:
    if isinstance(value, str):
        return "characters"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    return "items"


Name = str | Callable[[], str]  # a description, or how to make one only when it is needed


def _name(what: Name) -> str:
    return what() if callable(what) else what


def too_big(what: Name, size: int, unit: str = "characters", limit: int = MAX_SIZE) -> ExpressionLimit:
    return ExpressionLimit(f"{_name(what)} would make a value of {size:,} {unit} (the limit is {limit:,})")


def _too_many_bits(what: Name, bits: float) -> ExpressionLimit:
    return ExpressionLimit(f"{_name(what)} would make a number of about {int(bits):,} bits "
                           f"(the limit is {MAX_INT_BITS:,})")


def nested_size(value: Any, limit: int = MAX_NESTED_SIZE) -> int:
    """Characters + items of `value` and everything inside it, a shared part counted each time
    it appears (what printing or comparing it goes through). Stops counting past `limit`."""
    return _walk(value, limit, _BUDGET.get(), None)[0]


def _walk(value: Any, limit: int, budget: Budget | None, path: set[int] | None) -> tuple[int, bool]:
    """(size, cacheable): a size that depends on a namespace (mutable) is not cached."""
    kind = type(value)
    if kind is str or kind is bytes:
        return len(value) + 2, True
    if kind in _LEAVES:
        return 1, True
    if isinstance(value, _CONTAINERS):
        if budget is not None and budget.sizes and (hit := budget.sizes.get(id(value))):
            return hit[1], True
        total, cacheable = 2 * len(value), True
        items: Iterable[Any] = value
        if isinstance(value, dict):
            items = [*value, *value.values()] if len(value) < 64 else chain(value, value.values())
        for item in items:
            item_kind = type(item)
            if item_kind is str:
                total += len(item) + 2
            elif item_kind in _LEAVES:
                total += 1
            else:
                size, ok = _walk(item, limit - total, budget, path)
                total += size
                cacheable = cacheable and ok
            if total > limit:
                return total, False
        if cacheable:
            remember(value, total, budget)
        return total, cacheable
    if isinstance(value, _TEXT):
        return len(value) + 2, True
    if isinstance(value, Namespace):
        inner: Any = value._Namespace__attrs  # type: ignore[attr-defined]
    elif isinstance(value, Cycler):
        inner = value.items
    elif isinstance(value, _VIEWS):
        inner = dict(value.mapping)  # type: ignore[attr-defined]
    elif isinstance(value, MappingProxyType):
        inner = dict(value)
    else:
        return 1, True
    path = path if path is not None else set()
    if id(value) in path:  # a namespace that holds itself
        return 1, False
    path.add(id(value))
    try:
        size, _ = _walk(inner, limit, budget, path)
    finally:
        path.discard(id(value))
    return size, False


def remember(value: Any, size: int, budget: Budget | None = None) -> None:
    """Keep a container's nested size for the rest of the evaluation (the container is kept
    alive with it, so its id cannot be reused); forget all when the cache holds too much."""
    budget = budget if budget is not None else _BUDGET.get()
    if budget is None or len(value) < 16:
        return
    budget.cached += len(value)
    if budget.sizes is None or budget.cached > 2 * MAX_SIZE:
        budget.sizes = {}
        budget.cached = len(value)
    budget.sizes[id(value)] = (value, size)


def check_nested(value: Any, what: Name) -> int:
    size = nested_size(value)
    if size > MAX_NESTED_SIZE:
        raise too_big(what, size, "characters and items, counting everything inside it",
                      MAX_NESTED_SIZE)
    return size


def check_value(value: Any, what: Name = "the result") -> Any:
    """The post-check of every operator, call and filter result: size, bits, nested size.
    Iterators come back wrapped, each item counted and the clock checked."""
    kind = type(value)
    if kind is str or kind is bytes:
        if len(value) > MAX_SIZE:
            raise too_big(what, len(value), _unit(value))
        charge(len(value))
        return value
    if kind is int:
        if value.bit_length() > MAX_INT_BITS:
            raise _too_many_bits(what, value.bit_length())
        return value
    if kind in _LEAVES:
        return value
    if isinstance(value, _TEXT + _CONTAINERS):
        if len(value) > MAX_SIZE:
            raise too_big(what, len(value), _unit(value))
        charge(len(value))
        if not isinstance(value, _TEXT):
            check_nested(value, what)
        return value
    if isinstance(value, Namespace | Cycler):
        check_nested(value, what)
        return value
    if hasattr(type(value), "__next__") and not isinstance(value, LoopContext):
        return bounded_iter(value, MAX_SIZE, what)
    return value


def bounded_iter(iterable: Iterable[Any], limit: int, what: Name, each: int = 0) -> Iterator[Any]:
    """Items of `iterable`, at most `limit` (a list known to be longer is refused before its
    first item), the clock checked (and `each` charged) per item."""
    def too_many() -> ExpressionLimit:
        return ExpressionLimit(f"{_name(what)} goes through more than {limit:,} items (the limit)")

    budget = _BUDGET.get()
    if isinstance(iterable, Sized) and len(iterable) > limit:
        raise too_many()
    for count, item in enumerate(iterable, 1):
        if count > limit:
            raise too_many()
        if budget is not None:
            budget.produced += each
            if budget.produced > MAX_PRODUCED:
                charge(0)
            if thread_time() > budget.deadline:
                raise _slow()
        yield item


def loop_items(iterable: Iterable[Any], static_chars: int = 0) -> Iterator[Any]:
    """The iterable of a {% for %} loop; `static_chars` is the loop body's literal text, which
    each pass writes out."""
    return bounded_iter(iterable, MAX_LOOP, "a loop", static_chars)


def text_size(value: Any) -> int:
    """About how many characters `value` makes as text."""
    if isinstance(value, _TEXT):
        return len(value)
    return nested_size(value, MAX_NESTED_SIZE)


def check_text(value: Any, what: str, limit: int = MAX_SIZE) -> None:
    """Before converting `value` to text: a container must be small enough to print."""
    if isinstance(value, _TEXT):
        size = len(value)
    elif type(value) in _LEAVES:
        return
    else:
        size = nested_size(value, limit)
    if size > limit:
        raise ExpressionLimit(f"{what}: the value is about {size:,} characters long as text "
                              f"(the limit is {limit:,})")


def output(value: Any) -> str:
    """`finalize` of the sandbox: every {{ ... }} of a template becomes text here, counted."""
    if type(value) is not str:
        check_text(value, "writing out a value")
        value = str(value)
        if len(value) > MAX_SIZE:
            raise too_big("writing out a value", len(value))
    budget = _BUDGET.get()
    if budget is not None:
        budget.produced += len(value)
        if budget.produced > MAX_PRODUCED:
            charge(0)
        if thread_time() > budget.deadline:
            raise _slow()
    return value


def concat(parts: tuple[Any, ...]) -> str:
    """`a ~ b ~ c`."""
    texts = []
    total = 0
    for part in parts:
        if type(part) is not str:
            check_text(part, "'~'")
            part = str(part)
        total += len(part)
        texts.append(part)
    if total > MAX_SIZE:
        raise too_big("'~'", total)
    charge(total)
    return "".join(texts)


def literal(value: Any) -> Any:
    """A list, tuple or dict written in the source: `[x, x]` must not hide a huge value."""
    if _walk(value, MAX_NESTED_SIZE, _BUDGET.get(), None)[0] > MAX_NESTED_SIZE:
        check_nested(value, "a literal " + type(value).__name__)  # raises, with the size
    return value


# -- operators ------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def check_binop(operator: str, left: Any, right: Any) -> int | None:
    """Refuse an operation whose result would be too big; the nested size of a list/tuple
    result when it can be known beforehand (and cached: no namespace inside)."""
    if operator == "*":
        seq, times = (left, right) if _is_int(right) else (right, left)
        if not _is_int(times) or times <= 0:
            return None
        if isinstance(seq, str | bytes | list | tuple):
            size = len(seq) * times
            if size > MAX_SIZE:
                raise too_big(f"{short(left)} * {short(right)}", size, _unit(seq))
            if isinstance(seq, list | tuple):
                one, cacheable = _walk(seq, MAX_NESTED_SIZE, _BUDGET.get(), None)
                if one * times > MAX_NESTED_SIZE:
                    raise too_big(f"{short(left)} * {short(right)}", one * times,
                                  "characters and items, counting everything inside it",
                                  MAX_NESTED_SIZE)
                return one * times if cacheable else None
        return None
    if operator == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            bits = right * log2(abs(left))
            if bits > MAX_INT_BITS:
                raise _too_many_bits(f"{short(left)} ** {short(right)}", bits)
        return None
    if operator == "%" and isinstance(left, str | bytes):
        check_printf(left, right, "'%'")
        return None
    if operator == "+" and isinstance(left, list | tuple) and isinstance(right, list | tuple):
        budget = _BUDGET.get()
        (first, ok_first), (second, ok_second) = (_walk(left, MAX_NESTED_SIZE, budget, None),
                                                  _walk(right, MAX_NESTED_SIZE, budget, None))
        return first + second if ok_first and ok_second else None
    return None


_PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d*))?[hlL]?(?P<conv>.?)",
    re.DOTALL,
)


def check_printf(fmt: Any, args: Any, what: str) -> None:
    """`'%5d' % x`: no `*` widths, widths and precisions within MAX_SIZE, and an estimate of
    the whole result within MAX_SIZE."""
    pattern = _PRINTF if isinstance(fmt, str) else re.compile(_PRINTF.pattern.encode(), re.DOTALL)
    mapping = args if isinstance(args, Mapping) else None
    positional = list(args) if isinstance(args, tuple) else [args]
    total, index = len(fmt), 0
    for match in pattern.finditer(fmt):
        conv = match["conv"]
        if conv in ("%", b"%"):
            continue
        width, prec = match["width"], match["prec"]
        if width in ("*", b"*") or prec in ("*", b"*"):
            raise ExpressionLimit(f"{what}: a '*' width or precision is not allowed")
        width_n, prec_n = int(width or 0), int(prec or 0)
        if max(width_n, prec_n) > MAX_SIZE:
            raise too_big(f"{what} with a width of {max(width_n, prec_n):,}",
                          max(width_n, prec_n))
        if match["key"] is not None and mapping is not None:
            key = match["key"]
            value = mapping.get(key.decode() if isinstance(key, bytes) else key)
        else:
            value = positional[index] if index < len(positional) else None
            index += 1
        if conv in ("s", "r", "a", b"s", b"r", b"a", b"b"):
            estimate = text_size(value)
        else:
            digits = value.bit_length() // 3 + 2 if isinstance(value, int) else 330
            estimate = prec_n + digits
        total += max(width_n, estimate)
        if total > MAX_SIZE:
            raise too_big(what, total)


def _check_spec(spec: str, what: str) -> None:
    """A str.format spec (`>10`, `.3f`, `0{n}`, already filled in): widths within MAX_SIZE."""
    for digits in re.findall(r"\d+", spec):
        size = int(digits) if len(digits) <= 18 else 10 ** 18
        if size > MAX_SIZE:
            raise too_big(f"{what} with the format {short(spec)}", size)


class _Counting:
    """str.format/format_map: every field is checked and counted as it is made."""

    _made = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._made = len(format_string)
        return super().vformat(format_string, args, kwargs)  # type: ignore[misc]

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec, "format()")
        check_text(value, "format()")
        text = super().format_field(value, format_spec)  # type: ignore[misc]
        self._made += len(text)
        if self._made > MAX_SIZE:
            raise too_big("format()", self._made)
        return text


class BoundedFormatter(_Counting, SandboxedFormatter):
    pass


class BoundedEscapeFormatter(_Counting, SandboxedEscapeFormatter):
    pass



# -- calls ---------------------------------------------------------------------------------

_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
_TEXT_METHODS = _WIDTH_METHODS | {"expandtabs", "replace", "join", "translate"}


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Before a call: the str/bytes methods that can multiply a size, int.to_bytes, and the
    iterable of a recursive loop's `loop(...)`. Returns the (maybe bounded) arguments."""
    owner: Any = getattr(obj, "__self__", None)
    if owner is None:
        if isinstance(obj, LoopContext) and args:
            return (loop_items(args[0]), *args[1:])
        return args
    name = getattr(obj, "__name__", "")
    if isinstance(owner, str | bytes | bytearray) and name in _TEXT_METHODS:
        what = f"{short(owner)}.{name}()"
        if name in _WIDTH_METHODS:
            width = _arg(args, kwargs, 0, "width", 0)
            if _is_int(width) and width > MAX_SIZE:
                raise too_big(what, width, _unit(owner))
        elif name == "expandtabs":
            tabsize = _arg(args, kwargs, 0, "tabsize", 8)
            tab: Any = "\t" if isinstance(owner, str) else b"\t"
            if _is_int(tabsize) and len(owner) + owner.count(tab) * tabsize > MAX_SIZE:
                raise too_big(what, len(owner) + owner.count(tab) * tabsize, _unit(owner))
        elif name == "replace":
            _check_replace(owner, _arg(args, kwargs, 0, "old", None),
                           _arg(args, kwargs, 1, "new", None),
                           _arg(args, kwargs, 2, "count", -1), what)
        elif name == "join" and args:
            items = list(bounded_iter(args[0], MAX_SIZE, what))
            size = sum(len(item) for item in items if isinstance(item, str | bytes | bytearray))
            size += len(owner) * max(len(items) - 1, 0)
            if size > MAX_SIZE:
                raise too_big(what, size, _unit(owner))
            return (items, *args[1:])
        elif name == "translate" and args and isinstance(args[0], Mapping):
            longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
            if len(owner) * longest > MAX_SIZE:
                raise too_big(what, len(owner) * longest, _unit(owner))
    elif isinstance(owner, int) and name == "to_bytes":
        length = _arg(args, kwargs, 0, "length", 1)
        if _is_int(length) and length > MAX_SIZE:
            raise too_big(f"({short(owner)}).to_bytes({length})", length, "bytes")
    return args


def _check_replace(text: Any, old: Any, new: Any, count: Any, what: str) -> None:
    """`text.replace(old, new, count)`: refused when the result would be too long."""
    if not (isinstance(old, str | bytes) and isinstance(new, str | bytes)) or len(new) <= len(old):
        return
    if not isinstance(text, str | bytes):
        return
    counting: Any = text  # str and bytes do not mix: a TypeError below means no estimate
    try:
        times = counting.count(old) if old else len(text) + 1
    except TypeError:
        return
    if _is_int(count) and count >= 0:
        times = min(times, count)
    size = len(text) + times * (len(new) - len(old))
    if size > MAX_SIZE:
        raise too_big(what, size, _unit(text))


# -- globals -------------------------------------------------------------------------------


def bounded_range(*args: int) -> range:
    """range(), at most MAX_RANGE items."""
    items = range(*args)
    try:
        count = len(items)
    except OverflowError:
        count = MAX_RANGE + 1
    if count > MAX_RANGE:
        shown = ", ".join(str(arg) for arg in args)
        raise ExpressionLimit(f"Range too big: range({shown}) would have more than "
                              f"{MAX_RANGE:,} items (the limit)")
    return items


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    """Jinja's lorem ipsum, at most MAX_LIPSUM_PARAGRAPHS paragraphs of MAX_LIPSUM_WORDS words."""
    if n > MAX_LIPSUM_PARAGRAPHS:
        raise ExpressionLimit(f"lipsum({n}): at most {MAX_LIPSUM_PARAGRAPHS} paragraphs")
    if max > MAX_LIPSUM_WORDS or min > MAX_LIPSUM_WORDS:
        raise ExpressionLimit(f"lipsum(): at most {MAX_LIPSUM_WORDS} words a paragraph")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


# -- filters -------------------------------------------------------------------------------

# Filters that work item by item in Python (or pull their whole input at once): their input
# is bounded like a loop's.
ITEMWISE = frozenset({"sort", "unique", "dictsort", "groupby", "xmlattr", "min", "max", "sum",
                      "batch", "slice", "map", "select", "reject", "selectattr", "rejectattr",
                      "items"})
# Filters that turn their input into text: a container must be small enough to print.
TEXTUAL = frozenset({"capitalize", "center", "e", "escape", "forceescape", "format", "indent",
                     "lower", "replace", "safe", "string", "striptags", "title", "trim", "truncate",
                     "upper", "urlencode", "urlize", "wordcount", "wordwrap", "tojson", "pprint"})
SLOW_TEXT = frozenset({"wordwrap", "urlize"})


def _bounded_input(value: Any, what: str) -> Any:
    if hasattr(value, "__len__"):  # an Undefined raises here, as the filter would
        count = len(value)
        if count > MAX_LOOP:
            raise ExpressionLimit(f"{what} over {count:,} items (the limit is {MAX_LOOP:,})")
        return value
    if hasattr(value, "__iter__"):
        return list(bounded_iter(value, MAX_LOOP, what))
    return value


def bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` with its input bounded (ITEMWISE, TEXTUAL, SLOW_TEXT) and its result post-checked."""
    if getattr(fn, "waybill_bounded", False):
        return fn
    offset = 1 if hasattr(fn, "jinja_pass_arg") else 0
    what = f"the filter {name!r}"
    itemwise, textual, slow = name in ITEMWISE, name in TEXTUAL, name in SLOW_TEXT

    @wraps(fn)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        tick()
        if len(args) > offset:
            value = args[offset]
            if itemwise:
                bounded_value = _bounded_input(value, what)
                if bounded_value is not value:
                    args = (*args[:offset], bounded_value, *args[offset + 1:])
            elif textual:
                check_text(value, what, MAX_SLOW_TEXT if slow or name == "pprint" else MAX_SIZE)
        return check_value(fn(*args, **kwargs), what)

    bounded.waybill_bounded = True  # type: ignore[attr-defined]
    return bounded


def center(value: Any, width: int = 80) -> str:
    if _is_int(width) and width > MAX_SIZE:
        raise too_big(f"center({width})", width)
    return jinja_filters.do_center(value, width)


def indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    lines = str(s).count("\n") + 1
    each = len(width) if isinstance(width, str) else width
    if _is_int(each) and (each > MAX_SIZE or len(str(s)) + lines * each > MAX_SIZE):
        raise too_big(f"indent({short(width)})", max(each, len(str(s)) + lines * each))
    return jinja_filters.do_indent(s, width, first, blank)


@pass_eval_context
def join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = value if type(value) is list else list(bounded_iter(value, MAX_SIZE, "join"))
    if attribute is None:
        size = len(str(d)) * len(items)
        for item in items:
            size += len(item) if type(item) is str else text_size(item)
        if size > MAX_SIZE:
            raise too_big("join", size)
    return jinja_filters.sync_do_join(eval_ctx, items, d, attribute)


def batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Any:
    if _is_int(linecount) and linecount > MAX_SIZE:
        raise too_big(f"batch({linecount})", linecount, "items")
    return jinja_filters.do_batch(value, linecount, fill_with)


def slice_(value: Any, slices: int, fill_with: Any = None) -> Any:
    if _is_int(slices) and slices > MAX_LOOP:
        raise ExpressionLimit(f"slice({slices:,}): at most {MAX_LOOP:,} slices")
    return jinja_filters.sync_do_slice(value, slices, fill_with)


def format_(value: Any, *args: Any, **kwargs: Any) -> str:
    check_printf(str(value), kwargs or args, "format")
    return jinja_filters.do_format(value, *args, **kwargs)


@pass_eval_context
def replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> str:
    _check_replace(str(s), str(old), str(new), -1 if count is None else count, "replace")
    return jinja_filters.do_replace(eval_ctx, s, old, new, count)


BOUNDED_FILTERS: dict[str, Callable[..., Any]] = {
    "center": center, "indent": indent, "join": join, "batch": batch, "slice": slice_,
    "format": format_, "replace": replace,
}

"""Cell values: parse user input (RAW / USER_ENTERED), compute effective and formatted values.

Google stores a `userEnteredValue` (stringValue/numberValue/boolValue/formulaValue); the
`effectiveValue` is the computed value and `formattedValue` what the UI shows.
"""
import datetime as dt
import re

from . import formulas

_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_PERCENT = re.compile(r"^([+-]?\d*\.?\d+)%$")
_TIME = re.compile(r"^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s*([AaPp][Mm])?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
EPOCH = dt.date(1899, 12, 30)  # Sheets' serial day 0

TIME_FORMAT = {"type": "TIME", "pattern": "h:mm:ss"}
DATE_ISO_FORMAT = {"type": "DATE", "pattern": "yyyy-mm-dd"}
DATE_US_FORMAT = {"type": "DATE", "pattern": "M/d/yyyy"}
PERCENT_FORMAT = {"type": "PERCENT", "pattern": "0.00%"}


def number(v):
    """JSON numbers the way Google prints them: 3.0 -> 3."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    return v


def raw_value(v):
    """valueInputOption=RAW: strings stay strings (a leading '=' is text)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, (int, float)):
        return {"numberValue": number(v)}
    if v == "":
        return {}
    return {"stringValue": str(v)}


def user_entered_value(v, number_format=None):
    """valueInputOption=USER_ENTERED: parse like the Sheets UI. Returns (value, auto
    numberFormat)."""
    if v is None:
        return None, None
    if not isinstance(v, str):
        return raw_value(v), None
    if v == "":
        return {}, None
    if number_format and number_format.get("type") == "TEXT":
        return {"stringValue": v}, None  # the '@' text format prevents any parsing
    if v.startswith("'"):
        return {"stringValue": v[1:]}, None
    if v.startswith("=") and len(v) > 1:
        return {"formulaValue": v}, None
    return _parse_literal(v.strip(), v)


def _parse_literal(s, original):
    if s.upper() in ("TRUE", "FALSE"):
        return {"boolValue": s.upper() == "TRUE"}, None
    if s and _NUMBER.match(s) and any(ch.isdigit() for ch in s):
        return {"numberValue": number(float(s.replace(",", "")))}, None
    m = _PERCENT.match(s)
    if m:
        return {"numberValue": number(float(m.group(1)) / 100)}, PERCENT_FORMAT
    fraction = _parse_time(s)
    if fraction is not None:
        return {"numberValue": number(fraction)}, TIME_FORMAT
    serial, fmt = _parse_date(s)
    if serial is not None:
        return {"numberValue": serial}, fmt
    return {"stringValue": original}, None


def _parse_time(s):
    m = _TIME.match(s)
    if not m:
        return None
    h, mi, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if m.group(4):
        if h > 12 or h == 0:
            return None
        h = h % 12 + (12 if m.group(4).lower() == "pm" else 0)
    if mi > 59 or sec > 59 or h > 23:
        return None
    return (h * 3600 + mi * 60 + sec) / 86400


def _parse_date(s):
    for rx, order, fmt in ((_ISO_DATE, "ymd", DATE_ISO_FORMAT), (_US_DATE, "mdy", DATE_US_FORMAT)):
        m = rx.match(s)
        if m:
            parts = dict(zip(order, map(int, m.groups())))
            try:
                d = dt.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None, None
            return (d - EPOCH).days, fmt
    return None, None


def effective_value(cell, lookup):
    """The computed value: formulas are evaluated by the small evaluator in formulas.py."""
    uev = cell.get("userEnteredValue") or {}
    if "formulaValue" in uev:
        return formulas.evaluate(uev["formulaValue"], lookup)
    return dict(uev) if uev else None


def formatted_value(ev, number_format):
    if ev is None:
        return None
    if "stringValue" in ev:
        return ev["stringValue"]
    if "boolValue" in ev:
        return "TRUE" if ev["boolValue"] else "FALSE"
    if "errorValue" in ev:
        return ev["errorValue"].get("message", "#ERROR!")
    if "numberValue" in ev:
        return format_number(ev["numberValue"], number_format)
    return None


def format_number(x, fmt):
    kind = (fmt or {}).get("type")
    pattern = (fmt or {}).get("pattern", "")
    if kind in ("TIME", "DATE", "DATE_TIME"):
        return _format_datetime(x, pattern or _default_pattern(kind))
    if kind == "PERCENT":
        decimals = len(pattern.split(".")[1].rstrip("%")) if "." in pattern else 0
        return f"{x * 100:.{decimals}f}%"
    if kind in ("NUMBER", "CURRENCY") and pattern:
        return _format_pattern(x, pattern)
    return general(x)


def general(x):
    """Google's automatic number format: integers without '.0', ~10 significant digits."""
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    text = f"{x:.10g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"{mant}E{'+' if int(exp) >= 0 else '-'}{abs(int(exp)):02d}"
    return text


def _format_pattern(x, pattern):
    core = pattern.split(";")[0].strip('"$ ')
    decimals = len(core.split(".")[1]) if "." in core else 0
    text = f"{x:,.{decimals}f}" if "," in core else f"{x:.{decimals}f}"
    return ("$" + text) if pattern.startswith("$") or "[$$" in pattern else text


def _default_pattern(kind):
    return {"TIME": "h:mm:ss", "DATE": "yyyy-mm-dd", "DATE_TIME": "yyyy-mm-dd h:mm:ss"}[kind]


def _format_datetime(x, pattern):
    day = int(x // 1)
    secs = round((x - day) * 86400)
    if secs >= 86400:
        day, secs = day + 1, secs - 86400
    d = EPOCH + dt.timedelta(days=day)
    h, rem = divmod(secs, 3600)
    mi, s = divmod(rem, 60)
    am_pm = "AM/PM" in pattern.upper()
    hour = (h % 12 or 12) if am_pm else h
    out = pattern
    for token, val in (("yyyy", f"{d.year:04d}"), ("hh", f"{hour:02d}"), ("ss", f"{s:02d}"),
                       ("dd", f"{d.day:02d}")):
        out = out.replace(token, val)
    out = re.sub(r"(?<=[h:])mm|mm(?=:)", f"{mi:02d}", out)
    out = out.replace("mm", f"{d.month:02d}").replace("M", str(d.month))
    out = re.sub(r"(?<![A-Za-z])h(?![A-Za-z])", str(hour), out)
    out = re.sub(r"(?<![A-Za-z])d(?![A-Za-z])", str(d.day), out)
    if am_pm:
        out = re.sub("(?i)am/pm", "PM" if h >= 12 else "AM", out)
    return out


def unformatted(ev):
    """UNFORMATTED_VALUE rendering of an effective value."""
    if ev is None:
        return None
    for key in ("numberValue", "stringValue", "boolValue"):
        if key in ev:
            return number(ev[key]) if key == "numberValue" else ev[key]
    return formatted_value(ev, None)

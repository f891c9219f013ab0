"""PyYAML's implicit resolvers as data: which plain scalars YAML 1.1 reads as something
else than a string (`yes`, `~`, `0x1f`, `1:20`, `<<`...), for the code that must know it
without importing PyYAML (about 20 ms): the renderer's quoting (memkb.records.render)
and the fast reader's pre-filter (memkb.records.prefilter). The timestamp resolver is
left out, as memkb's loader leaves it out (dates stay strings).
tests/unit/records/test_render_scalars.py holds the table equal to PyYAML's own.
"""

from __future__ import annotations

import re
from functools import cache

# PyYAML's implicit resolvers without the timestamp one (as memkb loads): which first
# characters each applies to, its pattern and flags, verbatim from PyYAML 6. A plain
# scalar matching one would read back as a bool, number, null, merge key...
_N = "\n                    "
# (tag, the first characters it applies to, pattern, flags)
IMPLICIT_RESOLVERS: tuple[tuple[str, str, str, int], ...] = (
    ("tag:yaml.org,2002:bool", "yYnNtTfFoO",
     f"^(?:yes|Yes|YES|no|No|NO{_N}|true|True|TRUE|false|False|FALSE{_N}|on|On|ON|off|Off|OFF)$",
     re.X | re.U),
    ("tag:yaml.org,2002:float", "-+0123456789.",
     f"^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?{_N}|\\.[0-9][0-9_]*"
     f"(?:[eE][-+][0-9]+)?{_N}|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*{_N}"
     f"|[-+]?\\.(?:inf|Inf|INF){_N}|\\.(?:nan|NaN|NAN))$",
     re.X | re.U),
    ("tag:yaml.org,2002:int", "-+0123456789",
     f"^(?:[-+]?0b[0-1_]+{_N}|[-+]?0[0-7_]+{_N}|[-+]?(?:0|[1-9][0-9_]*){_N}"
     f"|[-+]?0x[0-9a-fA-F_]+{_N}|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
     re.X | re.U),
    ("tag:yaml.org,2002:merge", "<", "^(?:<<)$", re.U),
    ("tag:yaml.org,2002:null", "~nN", f"^(?: ~{_N}|null|Null|NULL{_N}| )$", re.X | re.U),
    ("tag:yaml.org,2002:value", "=", "^(?:=)$", re.U),
    ("tag:yaml.org,2002:yaml", "!&*", "^(?:!|&|\\*)$", re.U),
)  # fmt: skip
# Every first character some resolver applies to; "" (the empty scalar) is null.
FIRST_CHARACTERS = frozenset(
    {"", *(c for _tag, firsts, _p, _f in IMPLICIT_RESOLVERS for c in firsts)}
)


@cache
def _resolvers(first: str) -> tuple[re.Pattern[str], ...]:
    return tuple(
        re.compile(pattern, flags)
        for _tag, firsts, pattern, flags in IMPLICIT_RESOLVERS
        if first in firsts  # "" is in every one: only null matches the empty scalar
    )


def reads_as_text(text: str) -> bool:
    """True if `text`, written plain, reads back as a string in YAML 1.1 (no resolver
    applies to it); compiled for a first character when it is first asked about."""
    if text[:1] not in FIRST_CHARACTERS:
        return True
    return not any(rx.match(text) for rx in _resolvers(text[:1]))

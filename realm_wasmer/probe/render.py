"""A readable memory map of a :class:`~realm_wasmer.probe.LayoutReport`: the
out-slot and the object word by word, as text and as an SVG diagram."""

from __future__ import annotations

from html import escape
from typing import Any, Optional

#: SVG fill colours by role.
COLOURS = {
    "object_ptr": "#7fb3d5",
    "error": "#f5b7b1",
    "is_err": "#f9e79f",
    "payload": "#d2b4de",
    "guard": "#e5e7e9",
    "borrow_flag": "#f0b27a",
    "setter": "#82e0aa",
    "variant": "#abebc6",
    "initialised": "#d5f5e3",
    "untouched": "#ffffff",
}


def _word_label(data: dict[str, Any], offset: int) -> tuple[str, str]:
    """(role, label) of the object's word at ``offset``."""
    obj = data["object"]
    if obj.get("borrow_flag_offset") == offset:
        return "borrow_flag", "borrow flag (0 = free, n = shared borrows, 0xFFFFFFFF = mutably borrowed)"
    for source in ("setter", "variant", "initialised"):
        for f in obj["fields"]:
            if f["source"] == source and f["offset"] <= offset < f["offset"] + f["size"]:
                head = "field" if f["offset"] == offset else "  (cont.)"
                what = f["evidence"].split(": ", 1)[-1]
                return source, f"{head} [{f['offset']}, {f['offset'] + f['size']}) {source}: {what[:70]}"
    for a, b in obj["initialized"]:
        if a <= offset < b:
            return "initialised", "initialised"
    return "untouched", ""


def slot_rows(data: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    """``(offset, hex, role, label)`` per 4-byte word of the slot's footprint."""
    slot = data["out_slot"]
    words = {w["offset"]: w for w in slot["words"]}
    values = data["reference"]["words"]
    rows = []
    for offset in sorted(words):
        w = words[offset]
        value = values[offset // 4] if offset // 4 < len(values) else 0
        hexed = " ".join(f"{b:02x}" for b in int(value).to_bytes(4, "little"))
        rows.append((offset, hexed, w["role"], f"{w['role']} = {value:#x} ({w['basis']})"))
    return rows


def object_rows(data: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    obj = data["object"]
    raw = bytes.fromhex(obj["bytes"])
    rows = []
    for offset in range(0, len(raw) - len(raw) % 4, 4):
        role, label = _word_label(data, offset)
        rows.append((offset, raw[offset : offset + 4].hex(" "), role, label))
    return rows


def text_map(data: dict[str, Any]) -> str:
    """The report as a memory map (plain text)."""
    lines = [f"{data['export']} {data['signature']}: pattern {data['pattern']} on {data['engine']}"]
    slot = data["out_slot"]
    if slot.get("words"):
        lines.append("")
        lines.append(
            f"out-slot: writes {slot['footprint']} -> minimum size {slot['min_size']} bytes, alignment {slot['align']} "
            f"(misaligned slots on this engine: {slot['misaligned']})"
        )
        lines.append("   -16..-1   guard bytes (canary), intact in every clean trial")
        for offset, hexed, _role, label in slot_rows(data):
            lines.append(f"   +{offset:<3}      {hexed}  {label}")
        end = max(b for _, b in slot["footprint"])
        lines.append(f"   +{end}..      untouched by the callee; guard bytes follow the slot")
        lines.append("placements:")
        for p in slot["placements"]:
            if not p["available"]:
                lines.append(f"   {p['name']:<17} {p['explanation']}")
            elif p["safe"]:
                lines.append(f"   {p['name']:<17} safe   ({p['examples']} examples)")
            else:
                lines.append(f"   {p['name']:<17} UNSAFE {p['explanation']}")
        if slot.get("failing_call"):
            f = slot["failing_call"]
            call = f"{f['export']}({', '.join(f['args'])})"
            lines.append(f"error words confirmed by {call} -> {f['words']}: {f['error']}")
    else:
        lines.append(f"no out-slot: {slot.get('note', '')}")
    obj: Optional[dict[str, Any]] = data.get("object")
    if obj:
        lines.append("")
        chunk = obj.get("chunk") or {}
        size = obj.get("size") or {}
        lines.append(
            f"object at {obj['ptr']:#x}: dlmalloc chunk {obj['alloc_size']} bytes (header at "
            f"{chunk.get('header_address', 0):#x}), usable {obj['usable_size']}, requested {obj['request_range']}"
            + (f", size {size['value']} ({size['basis']})" if size else "")
        )
        facts = []
        for key in ("align", "value_offset"):
            if obj.get(key):
                facts.append(f"{key.replace('_', ' ')} {obj[key]['value']} ({obj[key]['basis']})")
        if obj.get("borrow_flag"):
            facts.append(f"borrow flag at +{obj['borrow_flag_offset']} (measured)")
        if facts:
            lines.append("   " + ", ".join(facts))
        rows = object_rows(data)
        skipping = False
        for offset, hexed, role, label in rows:
            if role == "untouched":
                if not skipping:
                    lines.append(f"   +{offset:<4}     {hexed}  not initialised by the constructor ...")
                skipping = True
                continue
            skipping = False
            lines.append(f"   +{offset:<4}     {hexed}  {label}")
    seeds = data.get("seeds")
    if seeds:
        lines.append("")
        conditions = "; ".join(f"{k}: {v}" for k, v in seeds["conditions"].items())
        lines.append(f"seeds (upstream host's conditions): {conditions}")
        for step in seeds["steps"]:
            lines.append(f"   {step['call']} -> {step['outcome']} {step['detail'] if step['outcome'] != 'ok' else ''}")
            if step.get("explanation"):
                lines.append(f"      {step['explanation']}")
        for step in seeds["correct"]:
            lines.append(f"   correct: {step['call']} -> {step['outcome']}")
    lines.append("")
    lines.append(f"{data['trials']} trials, {data['trials_per_second']} trials/s")
    return "\n".join(lines)


def svg_diagram(data: dict[str, Any]) -> str:
    """The slot and the object as two columns of 4-byte words (SVG)."""
    row_h, width, gap = 18, 520, 40
    columns = []
    if data["out_slot"].get("words"):
        columns.append(("out-slot", slot_rows(data)))
    if data.get("object"):
        columns.append((f"object at {data['object']['ptr']:#x}", object_rows(data)))
    height = 40 + row_h * max((len(rows) for _, rows in columns), default=1)
    total = 20 + len(columns) * (width + gap)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{height}" font-family="monospace" '
        'font-size="11">',
        f'<text x="10" y="16" font-size="13">{escape(data["export"])} {escape(data["signature"])}: pattern '
        f'{data["pattern"]}</text>',
    ]
    for index, (title, rows) in enumerate(columns):
        x = 10 + index * (width + gap)
        parts.append(f'<text x="{x}" y="32">{escape(title)}</text>')
        for row, (offset, hexed, role, label) in enumerate(rows):
            y = 38 + row * row_h
            colour = COLOURS.get(role, "#ffffff")
            parts.append(f'<rect x="{x}" y="{y}" width="{width}" height="{row_h}" fill="{colour}" stroke="#888"/>')
            parts.append(
                f'<text x="{x + 4}" y="{y + 13}">+{offset:<4} {escape(hexed)}  {escape(label[:60])}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)

#!/usr/bin/env python3
"""Regenerate crates/catalog/data/prices.json from LiteLLM's price catalog.

Usage: scripts/gen-catalog.py [path/to/model_prices.json]

The default input is ../shared/data/model_prices.json beside the repository
root. Standard library only. Prices are parsed as decimal.Decimal (never as
float) and written as integers of nano-USD per million tokens
(USD per token x 10^15). A price that is not a whole number at that scale is
rounded half-up and counted.
"""

import decimal
import json
import re
import sys
from pathlib import Path

SOURCE = (
    "model_prices_and_context_window_backup.json from the PyPI package litellm 1.110.2, "
    "MIT licence, copyright (c) Berri AI"
)
MODES = {"chat", "completion", "responses", "embedding"}
BASE_FIELDS = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write",
    "output_cost_per_token": "output",
    "output_cost_per_reasoning_token": "reasoning",
}
TIER_FIELDS = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write",
    "output_cost_per_token": "output",
}
# Only the plain token-count tiers; the _batches/_priority/_flex/... variants
# end in something other than `k_tokens` and do not match.
TIER = re.compile(r"^(" + "|".join(TIER_FIELDS) + r")_above_(\d+)k_tokens$")
SCALE = 15  # USD per token -> nano-USD (10^9) per million tokens (10^6)
MAX = 2**63 - 1

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPO_ROOT.parent / "shared" / "data" / "model_prices.json"
OUTPUT = REPO_ROOT / "crates" / "catalog" / "data" / "prices.json"


class Converter:
    def __init__(self):
        self.rounded = []

    def per_million(self, key, field, value):
        if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal)):
            raise SystemExit(f"{key}.{field}: not a number: {value!r}")
        scaled = decimal.Decimal(value).scaleb(SCALE)
        whole = scaled.to_integral_value(rounding=decimal.ROUND_HALF_UP)
        if whole != scaled:
            self.rounded.append((key, field, str(value), int(whole)))
        whole = int(whole)
        if whole < 0 or whole > MAX:
            raise SystemExit(f"{key}.{field}: price out of range: {value}")
        return whole


def convert(raw):
    conv = Converter()
    defaulted = []
    models = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict) or entry.get("mode") not in MODES:
            continue
        if "input_cost_per_token" not in entry and "output_cost_per_token" not in entry:
            continue
        provider = entry.get("litellm_provider")
        if not isinstance(provider, str) or not provider:
            raise SystemExit(f"{key}: no litellm_provider")
        model = {"provider": provider, "mode": entry["mode"]}
        for field, name in BASE_FIELDS.items():
            if field in entry:
                model[name] = conv.per_million(key, field, entry[field])
        for name in ("input", "output"):
            if name not in model:
                # LiteLLM's own convention: an absent token price is zero.
                model[name] = 0
                defaulted.append((key, name))
        tiers = {}
        for field, value in entry.items():
            m = TIER.match(field)
            if m:
                above = int(m.group(2)) * 1000
                tier = tiers.setdefault(above, {"above_input_tokens": above})
                tier[TIER_FIELDS[m.group(1)]] = conv.per_million(key, field, value)
        if tiers:
            model["tiers"] = [tiers[t] for t in sorted(tiers)]
        models[key] = model
    return models, conv.rounded, defaulted


def render(models):
    # One model per line: compact, sorted, deterministic, and diffable.
    lines = [
        "{" + json.dumps("models") + ":{",
    ]
    items = sorted(models.items())
    for i, (key, model) in enumerate(items):
        sep = "," if i + 1 < len(items) else ""
        lines.append(json.dumps(key) + ":" + json.dumps(model, sort_keys=True, separators=(",", ":")) + sep)
    lines.append("}," + json.dumps("source") + ":" + json.dumps(SOURCE) + "}")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        sys.stderr.write(__doc__)
        return 2
    src = Path(argv[1]) if len(argv) == 2 else DEFAULT_INPUT
    decimal.getcontext().prec = 60
    with open(src, encoding="utf-8") as f:
        raw = json.load(f, parse_float=decimal.Decimal)
    models, rounded, defaulted = convert(raw)
    text = render(models)
    json.loads(text)  # the output must be valid JSON
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"read {len(raw)} entries from {src}")
    print(f"wrote {len(models)} models, {len(text.encode())} bytes, to {OUTPUT.relative_to(REPO_ROOT)}")
    print(f"{len(rounded)} prices not exact at 10^-15 USD/token, rounded half-up")
    for key, field, value, whole in rounded:
        print(f"  {key}.{field}: {value} -> {whole}")
    print(f"{len(defaulted)} absent input/output prices written as 0 (LiteLLM's convention)")
    for key, name in defaulted:
        print(f"  {key}.{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

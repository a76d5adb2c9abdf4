"""How closely our English phonemes match the lexicon Kokoro was trained on.

Takes the most frequent English words (wordfreq) that have an entry in
misaki's gold lexicon, phonemises each word alone through
wyoming_kokoro.phonemize, and compares with the gold entry (its DEFAULT
reading for heteronyms): exact, and ignoring stress marks. Prints a
Markdown table and the most frequent differences.

    pip install -e '.[bench]'
    python benchmarks/pronunciation.py --words 3000
    python benchmarks/pronunciation.py --espeak     # espeak-ng alone, for comparison
    python benchmarks/pronunciation.py --capitalised  # also "Around" through the whole text path
"""

from __future__ import annotations

import argparse
import difflib
import importlib.resources
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wyoming_kokoro.phonemize import get_g2p  # noqa: E402

_STRESS = str.maketrans("", "", "ˈˌ")


def gold(language: str) -> dict[str, str]:
    from misaki import data

    name = "gb_gold.json" if language == "en-gb" else "us_gold.json"
    entries = json.loads(importlib.resources.files(data).joinpath(name).read_text("utf-8"))
    out = {}
    for word, value in entries.items():
        value = value.get("DEFAULT") if isinstance(value, dict) else value
        if value:
            out[word] = value
    return out


def word_list(count: int, lexicon: dict[str, str]) -> list[str]:
    from wordfreq import top_n_list

    words = []
    for word in top_n_list("en", count * 4):
        if word in lexicon:
            words.append(word)
            if len(words) == count:
                break
    return words


def differences(expected: str, got: str) -> list[str]:
    """Phoneme substitutions, insertions and deletions, stress ignored."""
    a, b = expected.translate(_STRESS), got.translate(_STRESS)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            out.append(f"{a[i1:i2] or '∅'}→{b[j1:j2] or '∅'}")
    return out


def measure(language: str, count: int, use_lexicon: bool, capitalised: bool = False) -> dict:
    """capitalised: each word as it starts a sentence ("Around"), through the
    whole text path (normalisation, lexicon with its case forms, G2P)."""
    lexicon = gold(language)
    words = word_list(count, lexicon)
    if capitalised:
        from wyoming_kokoro.text import TextPipeline

        pipeline = TextPipeline()

        def g2p(word: str) -> str:
            return pipeline.phonemes(word[:1].upper() + word[1:], language)
    else:
        g2p = get_g2p(language, use_misaki=use_lexicon)
    exact = loose = 0
    diffs: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for word in words:
        expected, got = lexicon[word], g2p(word)
        if got == expected:
            exact += 1
        if got.translate(_STRESS) == expected.translate(_STRESS):
            loose += 1
        else:
            for diff in differences(expected, got):
                diffs[diff] += 1
                examples.setdefault(diff, f"{word}: {expected} → {got}")
    label = f"{language}, capitalised, text path" if capitalised else language
    return {"language": label, "words": len(words), "exact": exact / len(words),
            "stress_free": loose / len(words), "top": diffs.most_common(8), "examples": examples}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=3000)
    parser.add_argument("--espeak", action="store_true", help="espeak-ng only (no lexicon)")
    parser.add_argument("--capitalised", action="store_true",
                        help="also each word capitalised through the whole text path")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    results = [measure(lang, args.words, not args.espeak) for lang in ("en-us", "en-gb")]
    if args.capitalised:
        results += [measure(lang, args.words, True, capitalised=True) for lang in ("en-us", "en-gb")]
    print("| language | words | exact | ignoring stress | top differences (gold→ours, count) |")
    print("|---|---|---|---|---|")
    for r in results:
        top = ", ".join(f"{d} {n}" for d, n in r["top"][:5]) or "none"
        print(f"| {r['language']} | {r['words']} | {r['exact']:.1%} | {r['stress_free']:.1%} | {top} |")
    for r in results:
        print(f"\n{r['language']} examples:")
        for diff, _ in r["top"]:
            print(f"  {diff:10s} {r['examples'][diff]}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

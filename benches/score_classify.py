#!/usr/bin/env python3
"""Scores `trawl classify` verdicts against a seeded corpus's truth.jsonl (until `trawl eval`).

usage: score_classify.py TRUTH.jsonl VERDICTS.jsonl [--errors N]
Joins on the post URL; prints overall precision/recall/F1, then per language and per phenomenon
(for hard-negative phenomena, where there are no positives, the false-positive rate).
"""
import json
import sys
from collections import defaultdict


def main():
    truth_path, verdict_path = sys.argv[1], sys.argv[2]
    show = int(sys.argv[sys.argv.index("--errors") + 1]) if "--errors" in sys.argv else 0
    truth = {}
    with open(truth_path, encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)
            truth[t["url"]] = t
    verdicts = {}
    with open(verdict_path, encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            verdicts[v["url"]] = v
    cells = defaultdict(lambda: [0, 0, 0, 0])  # tp fp fn tn
    errors = {"fp": [], "fn": []}
    for url, t in truth.items():
        v = verdicts.get(url)
        pred = bool(v and v["flagged"])
        gold = t["label"] == "violating"
        k = (0 if pred and gold else 1 if pred else 2 if gold else 3)
        keys = ["all", "lang:" + t["lang"]] + ["ph:" + p for p in t.get("phenomena", [])]
        if gold:
            keys.append("cat:" + (t.get("category") or "?"))
        for key in keys:
            cells[key][k] += 1
        if k == 1:
            errors["fp"].append((t, v))
        elif k == 2:
            errors["fn"].append((t, v))

    def row(name, c):
        tp, fp, fn, tn = c
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * p * r / (p + r) if tp else (float("nan") if tp + fn == 0 else 0.0)
        fpr = fp / (fp + tn) if fp + tn else float("nan")
        print(f"{name:24} {tp+fn:6} {fp+tn:7} {p:7.3f} {r:7.3f} {f1:7.3f} {fpr:7.4f}")

    print(f"{'slice':24} {'pos':>6} {'neg':>7} {'prec':>7} {'recall':>7} {'F1':>7} {'FPrate':>7}")
    for key in sorted(cells, key=lambda k: (k != "all", k)):
        row(key, cells[key])
    missing = sum(1 for u in truth if u not in verdicts)
    if missing:
        print(f"warning: {missing} truth posts have no verdict")
    posts = {}
    if show:
        import os
        pp = os.path.join(os.path.dirname(truth_path), "posts.jsonl")
        with open(pp, encoding="utf-8") as f:
            for line in f:
                p = json.loads(line)
                posts[p["url"]] = p["text"]
        for kind in ("fp", "fn"):
            print(f"\n== {kind} (first {show})")
            for t, v in errors[kind][:show]:
                fired = [f["rule"] for f in (v or {}).get("fired", [])]
                print(f"[{t['lang']} {t.get('category')} {t.get('phenomena')}] {fired} "
                      f"{(v or {}).get('lang', {}).get('lang')} :: {posts.get(t['url'], '')[:300]!r}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generates N Sigma rules for the rule-scaling benchmark.

The rules are variants of vigil's shipped CIS pack: each copies a shipped rule's
shape (title, level, tags, logsource, rollup) and replaces its literals with
other real values from the CloudTrail vocabulary seen in the Stratus Red Team
detonations. Two thirds pin eventSource/eventName (fields the detection
prefilter indexes by exact value); one third match only on fields no
exact-value key covers (userAgent|contains, sourceIPAddress|startswith,
errorMessage|contains), which the prefilter reaches through its literal scans.

usage: make_rule_variants.py --out DIR --count N [--seed 1] [--stratus DIR] [--rules DIR]
Deterministic for the same arguments. Python 3 standard library only.
"""
import argparse
import glob
import json
import os
import random
import re
import uuid


def vocabulary(stratus_dir):
    sources, names, agents, ips, messages = set(), set(), set(), set(), set()
    for path in sorted(glob.glob(os.path.join(stratus_dir, "*.json"))):
        with open(path) as f:
            for rec in json.load(f):
                sources.add(rec.get("eventSource", ""))
                names.add(rec.get("eventName", ""))
                for tok in re.split(r"[ /()]", rec.get("userAgent", "")):
                    if len(tok) >= 8 and not tok.startswith("stratus"):
                        agents.add(tok)
                ip = rec.get("sourceIPAddress", "")
                if ip.count(".") == 3:
                    ips.add(".".join(ip.split(".")[:2]) + ".")
                msg = rec.get("errorMessage", "")
                if msg:
                    messages.add(" ".join(msg.split()[:3]))
    clean = lambda s: sorted(x for x in s if x and "'" not in x and '"' not in x and ":" not in x)
    return clean(sources), clean(names), clean(agents), clean(ips), clean(messages)


def shipped_shapes(rules_dir):
    shapes = []
    for path in sorted(glob.glob(os.path.join(rules_dir, "**", "*.yml"), recursive=True)):
        if path.endswith(".tests.yml"):
            continue
        text = open(path).read()
        level = re.search(r"^level:\s*(\S+)", text, re.M)
        title = re.search(r"^title:\s*(.+)$", text, re.M)
        tags = re.findall(r"^\s+- (attack\.\S+)", text, re.M)
        shapes.append({"level": level.group(1) if level else "medium",
                       "title": title.group(1).strip() if title else os.path.basename(path),
                       "tags": tags[:2]})
    return shapes


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stratus", default=os.path.join(root, "..", "shared", "data", "cloudtrail",
                                                     "stratus-red-team", "docs", "detonation-logs"))
    ap.add_argument("--rules", default=os.path.join(root, "rules", "aws", "cis"))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    sources, names, agents, ips, messages = vocabulary(a.stratus)
    shapes = shipped_shapes(a.rules)
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.count):
        shape = shapes[i % len(shapes)]
        rid = uuid.uuid5(uuid.NAMESPACE_URL, f"vigil-bench-variant-{a.seed}-{i}")
        lines = [f"title: '{shape['title']} (variant {i})'", f"id: {rid}", "status: experimental",
                 "logsource:", "  product: aws", "  service: cloudtrail", "detection:"]
        if i % 3 != 2:
            # Pinned on dispatch keys: one source, one to three event names.
            lines += ["  selection:", f"    eventSource: {rng.choice(sources)}", "    eventName:"]
            lines += [f"      - {n}" for n in rng.sample(names, rng.randint(1, 3))]
            if i % 2:
                lines += ["  filter:", "    errorCode|exists: true", "  condition: selection and not filter"]
            else:
                lines += ["  condition: selection"]
        else:
            kind = (i // 3) % 3
            if kind == 0:
                lines += ["  selection:", f"    userAgent|contains: '{rng.choice(agents)}'"]
            elif kind == 1:
                lines += ["  selection:", f"    sourceIPAddress|startswith: '{rng.choice(ips)}'"]
            else:
                lines += ["  selection:", f"    errorMessage|contains: '{rng.choice(messages)}'"]
            lines += ["  condition: selection"]
        lines += [f"level: {shape['level']}"]
        if shape["tags"]:
            lines += ["tags:"] + [f"  - {t}" for t in shape["tags"]]
        with open(os.path.join(a.out, f"variant_{i:05d}.yml"), "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"make_rule_variants: {a.count} rules -> {a.out}")


if __name__ == "__main__":
    main()

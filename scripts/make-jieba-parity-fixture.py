#!/usr/bin/python3
"""Reference output of Python jieba's posseg.cut on real text, for the TypeScript port's parity test.

Run once with Debian's python3-jieba (the reference):
    /usr/bin/python3 scripts/make-jieba-parity-fixture.py > test/fixtures/tagging/jieba-posseg-parity.jsonl.gz
Lines come from fortunes-zh, manpages-zh (troff text lines) and chinese-poetry (Mengzi, Lunyu, Youmengying),
sampled with a fixed seed. Output: gzip JSON lines, one per input line: {"text": s, "cut": "2n 1uj 3x ..."}:
each word as its length in code points followed by its flag, so that the fixture stays small.
"""
import glob
import gzip
import io
import json
import random
import re
import sys

import jieba
import jieba.posseg

jieba.setLogLevel(60)
CJK = re.compile("[\u4e00-\u9fff]")
POETRY = "node_modules/chinese-poetry/dist"


def fortune_lines():
    out = []
    for path in sorted(glob.glob("/usr/share/games/fortunes/*.u8")):
        with open(path, encoding="utf-8", errors="replace") as f:
            out += [l.rstrip("\n") for l in f if l.strip() and l.strip() != "%"]
    return out


def man_lines():
    out = []
    for path in sorted(glob.glob("/usr/share/man/zh_CN/man*/*.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            out += [l.rstrip("\n") for l in f if l.strip() and not l.startswith((".", "'"))]
    return out


def poetry_lines():
    out = []
    for path in ["sishuwujing/mengzi.json", "lunyu/lunyu.json"]:
        for chapter in json.load(open(f"{POETRY}/{path}", encoding="utf-8")):
            out += chapter["paragraphs"]
    for item in json.load(open(f"{POETRY}/youmengying/youmengying.json", encoding="utf-8")):
        comment = item.get("comment") or []
        out += [item["content"]] + ([comment] if isinstance(comment, str) else comment)
    return out


def sample(lines, n, rng):
    unique = sorted(set(l for l in lines if CJK.search(l)))
    rng.shuffle(unique)
    return unique[:n]


def main():
    rng = random.Random(20211013)
    lines = sample(fortune_lines(), 7000, rng) + sample(man_lines(), 4000, rng) + sample(poetry_lines(), 1500, rng)
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
        for text in lines:
            cut = " ".join(f"{len(p.word)}{p.flag}" for p in jieba.posseg.cut(text))
            gz.write((json.dumps({"text": text, "cut": cut}, ensure_ascii=False) + "\n").encode("utf-8"))
    sys.stdout.buffer.write(raw.getvalue())
    print(f"{len(lines)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()

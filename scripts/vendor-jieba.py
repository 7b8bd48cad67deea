#!/usr/bin/python3
"""Vendor jieba's dictionary and part-of-speech HMM from Debian's python3-jieba into resources/tagging/jieba/.

    /usr/bin/python3 scripts/vendor-jieba.py

Writes (deterministic bytes, gzip without timestamps):
  dict.txt.gz          jieba's dict.txt verbatim ("word freq tag" lines): the prefix dictionary and word tags
  posseg-hmm.json.gz   posseg's HMM: states sorted the way Python compares its (BMES, tag) tuples, so that the
                       port breaks ties in max() exactly like Python; start/trans/emit log probabilities as
                       Python's repr (JSON round-trips doubles exactly); char_state_tab as state indices
  LICENSE              jieba's MIT (Expat) licence, from Debian's copyright file
"""
import gzip
import io
import json
import os
import sys

JIEBA = "/usr/lib/python3/dist-packages/jieba"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "tagging", "jieba")
sys.path.insert(0, "/usr/lib/python3/dist-packages")

from jieba.posseg.char_state_tab import P as char_state_tab  # noqa: E402
from jieba.posseg.prob_emit import P as prob_emit  # noqa: E402
from jieba.posseg.prob_start import P as prob_start  # noqa: E402
from jieba.posseg.prob_trans import P as prob_trans  # noqa: E402


def write_gzip(name, data):
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(data)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(raw.getvalue())


def hmm_json():
    states = sorted(prob_trans.keys())  # Python tuple order: the tie-break order of viterbi's max()
    index = {s: i for i, s in enumerate(states)}
    assert set(prob_start) == set(states) and set(prob_emit) == set(states)
    return {
        "source": "jieba.posseg (python3-jieba) prob_start/prob_trans/prob_emit/char_state_tab",
        "states": [f"{bmes}:{tag}" for bmes, tag in states],
        "start": [prob_start[s] for s in states],
        "trans": [[[index[t], p] for t, p in sorted(prob_trans[s].items())] for s in states],
        "emit": [dict(sorted(prob_emit[s].items())) for s in states],
        "charStates": {ch: [index[s] for s in tab] for ch, tab in sorted(char_state_tab.items())},
    }


def licence_text():
    lines = open("/usr/share/doc/python3-jieba/copyright", encoding="utf-8").read().split("\n")
    start = lines.index("License: Expat", lines.index("Files: debian/*") + 3)
    body = [l[1:] if l.startswith(" ") else l for l in lines[start + 1:]]
    body = ["" if l == "." else l for l in body]
    header = [
        "jieba (https://github.com/fxsjy/jieba), as packaged by Debian (python3-jieba)",
        "Copyright (c) 2012-2017 Sun Junyi <ccnusjy@gmail.com>",
        "",
        "MIT License (Expat)",
        "",
    ]
    return "\n".join(header + body).rstrip() + "\n"


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(JIEBA, "dict.txt"), "rb") as f:
        write_gzip("dict.txt.gz", f.read())
    write_gzip("posseg-hmm.json.gz", json.dumps(hmm_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    with open(os.path.join(OUT, "LICENSE"), "w", encoding="utf-8") as f:
        f.write(licence_text())


if __name__ == "__main__":
    main()

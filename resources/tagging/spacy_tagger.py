#!/usr/bin/env python3
"""The workbench's spaCy tagger: a long-lived process speaking JSON lines on stdin/stdout.

    python spacy_tagger.py [MODEL]        (MODEL defaults to zh_core_web_sm)

First line out:  {"ready": true, "spacy": "3.x", "model": "zh_core_web_sm", "python": "3.x"}
             or  {"ready": false, "error": "<one line: what is missing>"}  and exit status 3.
Then for each request line {"id": N, "texts": ["...", ...]} one reply line
    {"id": N, "docs": [{"text", "tokens": [{"text","start","end","pos","tag"}], "ents": [{"text","start","end","label"}]}]}
or  {"id": N, "error": "<one line>"}.
Offsets are UTF-16 code units, like JavaScript string indices (spaCy counts code points; we convert here).
"""
import json
import platform
import sys


def reply(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def utf16_offsets(text):
    """offsets[i] = UTF-16 index of code point i (and of the end, at len(text))."""
    out, at = [], 0
    for ch in text:
        out.append(at)
        at += 2 if ord(ch) > 0xFFFF else 1
    out.append(at)
    return out


def to_doc(doc):
    units = utf16_offsets(doc.text)
    tokens = [{"text": t.text, "start": units[t.idx], "end": units[t.idx + len(t.text)], "pos": t.pos_, "tag": t.tag_}
              for t in doc]
    ents = [{"text": e.text, "start": units[e.start_char], "end": units[e.end_char], "label": e.label_} for e in doc.ents]
    return {"text": doc.text, "tokens": tokens, "ents": ents}


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else "zh_core_web_sm"
    try:
        import spacy
    except ImportError as err:
        reply({"ready": False, "error": f"{err} (Python {platform.python_version()} at {sys.executable})"})
        sys.exit(3)
    try:
        nlp = spacy.load(model)
    except (OSError, ImportError, ValueError) as err:
        reply({"ready": False, "error": f"spaCy {spacy.__version__} cannot load {model!r}: {str(err).splitlines()[0]}"})
        sys.exit(3)
    reply({"ready": True, "spacy": spacy.__version__, "model": model, "python": platform.python_version()})
    for line in sys.stdin:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            docs = [to_doc(doc) for doc in nlp.pipe(request["texts"])]
            reply({"id": request_id, "docs": docs})
        except Exception as err:  # one bad request must not end the tagger
            reply({"id": request_id, "error": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"})


if __name__ == "__main__":
    main()

"""Claude's loader is the truth: where Python's json and JavaScript's JSON.parse
disagree, our parser must side with Node, byte for byte.

Each case is written to a real file; one Node process reads every file the way
Claude Desktop does (readFileSync(path, "utf8") then JSON.parse) and reports
whether it parsed, and the sessionId and key count it saw.
"""

import json
import shutil
import subprocess

import pytest

from app.core import jsjson

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the reference loader)")

DEEP = 100_000
CASES: dict[str, bytes] = {
    "plain record": b'{"sessionId":"local_a","createdAt":1,"lastActivityAt":2}',
    "whitespace around": b' \t\r\n{"sessionId":"local_a"} \n',
    "bom": b'\xef\xbb\xbf{"sessionId":"local_a"}',
    "utf-16 bom": '{"sessionId":"local_a"}'.encode("utf-16"),
    "NaN": b'{"sessionId":"local_a","n":NaN}',
    "Infinity": b'{"sessionId":"local_a","n":Infinity}',
    "-Infinity": b'{"sessionId":"local_a","n":-Infinity}',
    "trailing comma in object": b'{"sessionId":"local_a",}',
    "trailing comma in array": b'{"a":[1,2,]}',
    "comment": b'{"sessionId":"local_a"} // note',
    "single quotes": b"{'sessionId':'local_a'}",
    "leading zero": b'{"n":01}',
    "hex number": b'{"n":0x10}',
    "plus sign": b'{"n":+1}',
    "bare fraction": b'{"n":.5}',
    "dot at end of number": b'{"n":1.}',
    "5000-digit integer": b'{"n":' + b"7" * 5000 + b"}",
    "1e400": b'{"n":1e400}',
    "lone surrogate escape": b'{"s":"\\ud800"}',
    "raw control character in string": b'{"s":"a\x01b"}',
    "raw tab in string": b'{"s":"a\tb"}',
    "bad utf-8 inside a string": b'{"sessionId":"local_a","t":"\xff\xfe"}',
    "bad utf-8 outside a string": b'{"sessionId":"local_a"}\xff',
    "overlong utf-8 sequence": b'{"t":"\xc0\xaf"}',
    "utf-8 line separator in string": '{"t":"a\u2028b"}'.encode(),
    "no-break space as whitespace": '\u00a0{"a":1}'.encode(),
    "vertical tab as whitespace": b'\x0b{"a":1}',
    "form feed as whitespace": b'\x0c{"a":1}',
    "escaped slash": b'{"s":"a\\/b"}',
    "invalid escape": b'{"s":"\\x41"}',
    "short unicode escape": b'{"s":"\\u12"}',
    "uppercase TRUE": b'{"b":TRUE}',
    "cut literal": b'{"b":nul',
    "duplicate keys": b'{"sessionId":"local_x","sessionId":"local_a"}',
    "__proto__ key": b'{"__proto__":{"x":1},"sessionId":"local_a"}',
    "top-level null": b"null",
    "top-level number": b"42",
    "top-level string": b'"local_a"',
    "empty": b"",
    "only whitespace": b"  \n",
    "only zeros": b"\0" * 64,
    "record then zeros": b'{"sessionId":"local_a"}' + b"\0" * 16,
    "truncated": b'{"sessionId":"local_a","title":"Fix the',
    "two documents": b'{"a":1}{"b":2}',
    # The parser reads a value straight from the C scanner, then asks whether
    # the text ended there: what may follow a whole record decides.
    "newline after record": b'{"sessionId":"local_a","createdAt":1,"lastActivityAt":2}\n',
    "comma after record": b'{"sessionId":"local_a"},',
    "NaN after record": b'{"sessionId":"local_a"}NaN',
    "zero-width space after record": '{"sessionId":"local_a"}\u200b'.encode(),
    "empty key": b'{"":1}',
    f"{DEEP} nested arrays": b'{"sessionId":"local_a","deep":' + b"[" * DEEP + b"]" * DEEP + b"}",
    f"{DEEP} nested objects": b'{"sessionId":"local_a","d":' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}",
    f"{DEEP} nested, cut short": b"[" * DEEP + b"]" * (DEEP - 1),
    "binary": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
}

NODE_SCRIPT = r"""
const fs = require("fs");
const out = {};
for (const [name, file] of Object.entries(JSON.parse(fs.readFileSync(0, "utf8")))) {
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8"));
    const obj = v !== null && typeof v === "object" && !Array.isArray(v);
    out[name] = {ok: true, kind: Array.isArray(v) ? "array" : v === null ? "null" : typeof v,
                 sessionId: obj ? (v.sessionId ?? null) : null, keys: obj ? Object.keys(v).length : null};
  } catch (e) { out[name] = {ok: false}; }
}
process.stdout.write(JSON.stringify(out));
"""


def python_view(data: bytes) -> dict:
    try:
        v = jsjson.parse(jsjson.decode_like_node(data)[0])
    except jsjson.JsonError:
        return {"ok": False}
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    obj = isinstance(v, dict)
    return {"ok": True, "kind": "null" if v is None else kinds[type(v)],
            "sessionId": v.get("sessionId") if obj else None, "keys": len(v) if obj else None}


@pytest.fixture(scope="module")
def node_verdicts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("json-cases")
    files = {}
    for i, (name, data) in enumerate(CASES.items()):
        path = folder / f"case{i}.json"
        path.write_bytes(data)
        files[name] = str(path)
    done = subprocess.run([NODE, "-e", NODE_SCRIPT], input=json.dumps(files), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", list(CASES))
def test_parser_agrees_with_node_json_parse(name, node_verdicts):
    assert python_view(CASES[name]) == node_verdicts[name]


def test_the_cases_cover_both_answers(node_verdicts):
    # A reference that accepts (or rejects) everything would prove nothing.
    answers = [v["ok"] for v in node_verdicts.values()]
    assert answers.count(True) >= 15 and answers.count(False) >= 15


def test_python_json_alone_would_disagree_with_node(node_verdicts):
    # Why jsjson exists: plain json.loads gets these wrong.
    for name in ("NaN", "Infinity", f"{DEEP} nested arrays", "5000-digit integer"):
        try:
            json.loads(CASES[name].decode("utf-8"))
            python_ok = True
        except (ValueError, RecursionError):
            python_ok = False
        assert python_ok != node_verdicts[name]["ok"], name


def _mutations(count: int, seed: int = 20261126) -> dict[str, bytes]:
    """Records broken the ways disks and editors break them: a byte changed,
    dropped or doubled, a cut, zeros, a stray BOM, a NaN."""
    import random

    rng = random.Random(seed)
    base = ('{"sessionId":"local_a","createdAt":1,"lastActivityAt":2,"title":"Fix the café – naïve ☕",'
            '"n":[1,-2.5e3,true,null,{"a":"\\u00e9"}]}').encode()
    alphabet = b'{}[]",:.-+eE0123456789 \t\n\r\\/tfnul\x00\xff\xc3\xa9\xef\xbb\xbfNaInfity'
    out = {}
    for i in range(count):
        data = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(5)
            pos = rng.randrange(len(data) + 1)
            if op == 0 and data:
                data[min(pos, len(data) - 1)] = rng.choice(alphabet)
            elif op == 1 and data:
                del data[min(pos, len(data) - 1)]
            elif op == 2:
                data[pos:pos] = bytes([rng.choice(alphabet)])
            elif op == 3:
                del data[pos:]
            else:
                data[pos:pos] = rng.choice([b"NaN", b"\xef\xbb\xbf", b"\x00" * 8, b"-Infinity", b"[" * 3])
        out[f"mutation {i}"] = bytes(data)
    return out


MUTATIONS = _mutations(400)


def test_parser_agrees_with_node_on_hundreds_of_broken_records(tmp_path):
    files = {}
    for name, data in MUTATIONS.items():
        path = tmp_path / (name.replace(" ", "_") + ".json")
        path.write_bytes(data)
        files[name] = str(path)
    done = subprocess.run([NODE, "-e", NODE_SCRIPT], input=json.dumps(files), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    node = json.loads(done.stdout)
    disagreements = {name: (MUTATIONS[name], node[name]) for name in MUTATIONS
                     if python_view(MUTATIONS[name]) != node[name]}
    assert disagreements == {}
    accepted = sum(v["ok"] for v in node.values())
    assert 20 < accepted < 380  # the corpus holds both answers, so agreement means something


def test_times_are_written_as_javascripts_toisostring_writes_them():
    """scan --json's times are what the app itself would show for a
    record's milliseconds: Date.prototype.toISOString, to the digit, also
    far in the future where float seconds would lose the last millisecond,
    before 1970, and for fractions (cut toward zero, as a Date keeps them)."""
    import random

    from app.core.display import iso_time

    rng = random.Random(7)
    stamps = [0, 1, 999, 86_399_999, 86_400_000, 951_782_400_000, 1_764_230_400_123, 106_852_994_960_411,
              253_402_300_799_999, -1, -999, -86_400_001, -62_135_596_800_000, 999.9999999, -0.5, 1.5e12 + 0.75,
              *(rng.randrange(-62_135_596_800_000, 253_402_300_800_000) for _ in range(2000)),
              *(rng.uniform(-1e13, 1e13) for _ in range(500))]
    script = ("const ms = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(ms.map(m => new Date(m).toISOString())));")
    node = subprocess.run([NODE, "-e", script], input=json.dumps(stamps), capture_output=True, text=True,
                          check=True, timeout=60)
    assert [iso_time(float(ms)) for ms in stamps] == json.loads(node.stdout)
    # Where JavaScript has a date but no four-digit year, and where it has none, there is no time to show.
    assert [iso_time(ms) for ms in (-62_135_596_800_001, 253_402_300_800_000, float("nan"), float("inf"))] == \
        [None] * 4

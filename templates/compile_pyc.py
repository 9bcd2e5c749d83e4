# mkvenv bytecode compiler: reads a JSON list of [source, target] pairs on stdin, writes the
# bytecode of each source to its target (timestamp-checked, as an installer would) with mode
# 0644 whatever the umask, and prints a JSON list of [target, RECORD hash, size] for the
# targets written. A source that does not compile is left out, as pip does. mkvenv runs
# several of these at once, one per core, each on its share of the files.
# Must run unchanged on CPython 3.7-3.14 and PyPy, under -I.
import base64
import hashlib
import json
import os
import py_compile
import sys


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def main():
    pairs = json.load(sys.stdin)
    mode = py_compile.PycInvalidationMode.TIMESTAMP
    written = []
    for source, target in pairs:
        try:
            py_compile.compile(source, cfile=target, doraise=True, invalidation_mode=mode)
            if os.name != "nt":
                os.chmod(target, 0o644)
            with open(target, "rb") as f:
                data = f.read()
        except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):
            continue
        written.append([target, record_hash(data), len(data)])
    sys.stdout.write(json.dumps(written))


main()

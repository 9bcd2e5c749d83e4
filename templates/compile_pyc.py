# mkvenv bytecode compiler: reads lines of JSON [source, target, shown_as] on stdin and, as
# each arrives, writes the bytecode of source to target (timestamp-checked, as an installer
# would, naming the file shown_as, where the source will be) with mode 0644 whatever the
# umask. At the end of its input it prints a JSON list of [target, RECORD hash, size] for the
# targets written. A source that does not compile is left out, as pip does. mkvenv runs
# several of these at once, one per core, each given its share of the files.
# Must run unchanged on CPython 3.6-3.14 and PyPy, under -I.
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
    # Timestamp-checked even where SOURCE_DATE_EPOCH would ask for hashes (3.7+); 3.6 knows
    # only timestamps.
    how = {}
    if hasattr(py_compile, "PycInvalidationMode"):
        how["invalidation_mode"] = py_compile.PycInvalidationMode.TIMESTAMP
    written = []
    for line in sys.stdin:
        source, target, shown_as = json.loads(line)
        try:
            py_compile.compile(source, cfile=target, dfile=shown_as, doraise=True, **how)
            if os.name != "nt":
                os.chmod(target, 0o644)
            with open(target, "rb") as f:
                data = f.read()
        except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):
            continue
        written.append([target, record_hash(data), len(data)])
    sys.stdout.write(json.dumps(written))


main()

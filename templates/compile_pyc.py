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
        # The paths are Unicode as mkvenv wrote them (UTF-8 on disk): each becomes the string
        # this Python uses for those bytes, whatever its file system encoding (ASCII under
        # Python 3.6's C locale, Latin-1 under a Latin-1 locale, ...).
        given = json.loads(line)
        source, target, shown_as = [os.fsdecode(p.encode("utf-8")) for p in given]
        try:
            py_compile.compile(source, cfile=target, dfile=shown_as, doraise=True, **how)
            if os.name != "nt":
                os.chmod(target, 0o644)
            with open(target, "rb") as f:
                data = f.read()
        except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):
            continue
        written.append([given[1], record_hash(data), len(data)])
    sys.stdout.write(json.dumps(written))


main()

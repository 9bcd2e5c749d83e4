# mkvenv bytecode compiler: reads a JSON list of [source, target] pairs on stdin, writes the
# bytecode of each source to its target (timestamp-checked, as an installer would), and prints
# a JSON list of the targets written. A source that does not compile is left out, as pip does.
# Must run unchanged on CPython 3.7-3.14 and PyPy, under -I.
import json
import py_compile
import sys


def main():
    pairs = json.load(sys.stdin)
    mode = py_compile.PycInvalidationMode.TIMESTAMP
    written = []
    for source, target in pairs:
        try:
            py_compile.compile(source, cfile=target, doraise=True, invalidation_mode=mode)
        except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):
            continue
        written.append(target)
    sys.stdout.write(json.dumps(written))


main()

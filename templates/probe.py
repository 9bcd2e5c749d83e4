# mkvenv interpreter probe: prints one JSON object with the facts mkvenv needs about the
# interpreter running it. Must run unchanged on CPython 3.6-3.14 and PyPy, under -I.
import json
import os
import sys
import sysconfig

SENTINEL = os.path.join(os.path.abspath(os.sep), "__mkvenv_base__")


def config_var(name):
    try:
        return sysconfig.get_config_var(name)
    except Exception:
        return None


def venv_scheme():
    if "venv" not in sysconfig.get_scheme_names():
        return None
    names = ("base", "platbase", "installed_base", "installed_platbase")
    paths = sysconfig.get_paths("venv", vars=dict((n, SENTINEL) for n in names))
    out = {}
    for key in ("scripts", "purelib", "platlib", "include"):
        value = paths.get(key)
        if value is None or not value.startswith(SENTINEL):
            out[key] = None
        else:
            out[key] = value[len(SENTINEL):].lstrip("\\/")
    return out


def ensurepip_facts():
    try:
        import importlib.util
        spec = importlib.util.find_spec("ensurepip")
    except Exception:
        spec = None
    if spec is None or not spec.origin:
        return None
    directory = os.path.dirname(spec.origin)
    bundled = os.path.join(directory, "_bundled")
    try:
        wheels = sorted(f for f in os.listdir(bundled) if f.endswith(".whl"))
    except OSError:
        wheels = []
    facts = {
        "dir": directory,
        "has_main": os.path.exists(os.path.join(directory, "__main__.py")),
        "bundled_dir": bundled,
        "bundled": wheels,
        "pip_version": None,
        "setuptools_version": None,
    }
    # Read the pinned versions from the source instead of importing ensurepip (which pulls in
    # subprocess and tempfile): the constants are plain string assignments in every version.
    try:
        with open(spec.origin, encoding="utf-8") as source:
            for line in source:
                for key, name in (("pip_version", "_PIP_VERSION"),
                                  ("setuptools_version", "_SETUPTOOLS_VERSION")):
                    if line.startswith(name + " = "):
                        value = line.split("=", 1)[1].strip()
                        if value[:1] in "\"'" and value[-1:] == value[:1]:
                            facts[key] = value[1:-1]
    except OSError:
        pass
    return facts


def listing(directory):
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def main():
    import site
    base_executable = getattr(sys, "_base_executable", None) or sys.executable
    try:
        site_packages = site.getsitepackages()
    except Exception:
        site_packages = []
    stdlib = sysconfig.get_paths().get("stdlib") or ""
    facts = {
        "probe": 1,
        "implementation": sys.implementation.name,
        "version": list(sys.version_info[:3]),
        "releaselevel": sys.version_info.releaselevel,
        "os_name": os.name,
        "sys_platform": sys.platform,
        "executable": sys.executable,
        "base_executable": base_executable,
        "has_base_executable": hasattr(sys, "_base_executable"),
        "realpath_executable": os.path.realpath(sys.executable),
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "is64": sys.maxsize > 2 ** 32,
        "fs_encoding": sys.getfilesystemencoding(),
        "abiflags": getattr(sys, "abiflags", ""),
        "gil_disabled": bool(config_var("Py_GIL_DISABLED")),
        "is_python_build": bool(sysconfig.is_python_build()),
        "venv_scheme": venv_scheme(),
        "platlibdir": config_var("platlibdir"),
        "wheel_pkg_dir": config_var("WHEEL_PKG_DIR") or None,
        "cache_tag": sys.implementation.cache_tag,
        "stdlib": stdlib,
        "site_packages": site_packages,
        "ensurepip": ensurepip_facts(),
        "windows": None,
    }
    if os.name == "nt":
        base_dir = os.path.dirname(os.path.abspath(base_executable))
        facts["windows"] = {
            "base_dir_files": [f for f in listing(base_dir)
                               if f.lower().endswith((".exe", ".dll"))],
            "venv_nt_scripts": listing(os.path.join(stdlib, "venv", "scripts", "nt")),
        }
    sys.stdout.write(json.dumps(facts))


main()

"""Activate a virtual environment inside a running Python process. Written by mkvenv.

Run it with exec() from a Python of the same version as the environment's:

    path = "/path/to/venv/bin/activate_this.py"
    exec(open(path, encoding="utf-8").read(), {"__file__": path})

It sets VIRTUAL_ENV and VIRTUAL_ENV_PROMPT, puts the environment's bin directory first on
PATH and removes PYTHONHOME (both for the processes this one starts), points sys.prefix and
sys.exec_prefix at the environment, and puts its site-packages, with the paths its .pth files
add, first on sys.path. There is no deactivate: start a new process to leave the environment.
The values below were written as Python string literals.
"""


def _mkvenv_activate():
    import os
    import site
    import sys

    venv = __MKVENV_DIR__
    bin_dir = os.path.join(venv, __MKVENV_BIN_NAME__)
    site_packages = os.path.join(venv, __MKVENV_SITE_PACKAGES__)

    os.environ["VIRTUAL_ENV"] = venv
    os.environ["VIRTUAL_ENV_PROMPT"] = __MKVENV_PROMPT__
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = bin_dir + os.pathsep + path if path else bin_dir
    os.environ.pop("PYTHONHOME", None)

    before = list(sys.path)
    site.addsitedir(site_packages)
    added = [entry for entry in sys.path if entry not in before]
    sys.path[:] = added + before
    sys.prefix = venv
    sys.exec_prefix = venv


_mkvenv_activate()
del _mkvenv_activate

# Activates a virtual environment in xonsh. Written by mkvenv.
#
# Source it:                   source bin/activate.xsh
# Leave the environment with:  deactivate
#
# xonsh shows the environment through the {env_name} field of its prompt: while the
# environment is active the field shows "(prompt) ". The values below were written as Python
# string literals. xonsh expands "$NAME" and a leading "~" in PATH entries: a path holding
# such text cannot work from xonsh, and activation says so.


def _mkvenv_activate():
    import os

    venv = __MKVENV_DIR__
    prompt = __MKVENV_PROMPT__
    bin_dir = os.path.join(venv, __MKVENV_BIN_NAME__)
    env = ${...}

    # Leave an environment activated before by this script (this one included), so nothing
    # stacks up. Newer xonsh versions may wrap an alias function: look inside.
    previous = aliases.get("deactivate")
    previous = getattr(previous, "func", previous)
    if getattr(previous, "mkvenv_deactivate", False):
        previous(["nondestructive"])

    old_path = list(env["PATH"])
    old_home = env["PYTHONHOME"] if "PYTHONHOME" in env else None
    fields = env["PROMPT_FIELDS"]
    old_field = fields["env_name"] if "env_name" in fields else None
    state = {"active": True, "prompt": False}

    def deactivate(args=None, stdin=None):
        """Leave the virtual environment; "deactivate nondestructive" keeps this command."""
        if state["active"]:
            state["active"] = False
            env["PATH"] = old_path
            if old_home is not None:
                env["PYTHONHOME"] = old_home
            if state["prompt"]:
                if old_field is None:
                    del fields["env_name"]
                else:
                    fields["env_name"] = old_field
            for name in ("VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT"):
                if name in env:
                    del env[name]
        if not args or args[0] != "nondestructive":
            if aliases.get("deactivate") is not None:
                del aliases["deactivate"]

    deactivate.mkvenv_deactivate = True
    aliases["deactivate"] = deactivate

    env["VIRTUAL_ENV"] = venv
    env["PATH"] = [bin_dir] + old_path
    # xonsh expands $NAME (of a variable it has) in PATH entries, and there is no escape.
    if env["PATH"][0] != bin_dir:
        import sys

        print(
            "activate.xsh: xonsh expands the variables in "
            + repr(bin_dir)
            + " when it reads PATH, so it finds "
            + repr(env["PATH"][0])
            + " instead: commands of the environment will not be found",
            file=sys.stderr,
        )
    env["VIRTUAL_ENV_PROMPT"] = prompt
    # Python would take its standard library from PYTHONHOME instead of the environment's.
    if old_home is not None:
        del env["PYTHONHOME"]

    if not env.get("VIRTUAL_ENV_DISABLE_PROMPT"):
        state["prompt"] = True
        shown = "(" + prompt + ") "
        fields["env_name"] = lambda: shown


_mkvenv_activate()
del _mkvenv_activate

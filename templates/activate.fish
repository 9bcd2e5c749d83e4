# Activates a virtual environment in fish. Written by mkvenv.
#
# Source it, do not run it:    source bin/activate.fish
# Leave the environment with:  deactivate
#
# The values below were quoted for fish when the file was written: single quotes, inside which
# fish still reads \\ and \' as escapes.

# Put back what activation changed. "deactivate nondestructive" keeps the function itself.
function deactivate --description 'Leave the Python virtual environment'
    if set -q _OLD_VIRTUAL_PATH
        set -gx PATH $_OLD_VIRTUAL_PATH
        set -e _OLD_VIRTUAL_PATH
    end
    if set -q _OLD_VIRTUAL_PYTHONHOME
        set -gx PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME
        set -e _OLD_VIRTUAL_PYTHONHOME
    end
    # Only the shell that changed the prompt puts it back: the marker is not exported, so a
    # fish started inside the environment leaves its own prompt alone.
    if set -q _OLD_FISH_PROMPT_OVERRIDE
        set -e _OLD_FISH_PROMPT_OVERRIDE
        functions -e fish_prompt _mkvenv_status
        if functions -q _old_fish_prompt
            functions -c _old_fish_prompt fish_prompt
            functions -e _old_fish_prompt
        end
    end
    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    if test "$argv[1]" != nondestructive
        functions -e deactivate
    end
end

# Leave any environment activated before (this one included) so nothing stacks up.
deactivate nondestructive

set -gx VIRTUAL_ENV __MKVENV_DIR__
# On Windows the path is C:\...; fish from MSYS2 or Cygwin spells it /c/... or /cygdrive/c/...
if string match -qr '^[A-Za-z]:[\\\\/]' -- $VIRTUAL_ENV; and command -q cygpath
    set -gx VIRTUAL_ENV (cygpath -u $VIRTUAL_ENV)
end

set -g _OLD_VIRTUAL_PATH $PATH
set -gx PATH $VIRTUAL_ENV/__MKVENV_BIN_NAME__ $PATH

set -gx VIRTUAL_ENV_PROMPT __MKVENV_PROMPT__

# Python would take its standard library from PYTHONHOME instead of the environment's.
if set -q PYTHONHOME
    set -g _OLD_VIRTUAL_PYTHONHOME $PYTHONHOME
    set -e PYTHONHOME
end

# Show "(prompt) " before the prompt: the old fish_prompt is kept as _old_fish_prompt and
# called after it, with the exit status of the last command, which it may show.
if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"
    if functions -q fish_prompt
        functions -c fish_prompt _old_fish_prompt
    end
    function _mkvenv_status --description 'Return the status given'
        return $argv[1]
    end
    function fish_prompt --description 'Write out the prompt, virtual environment first'
        set -l last_status $status
        printf '(%s) ' $VIRTUAL_ENV_PROMPT
        if functions -q _old_fish_prompt
            _mkvenv_status $last_status
            _old_fish_prompt
        end
    end
    set -g _OLD_FISH_PROMPT_OVERRIDE $VIRTUAL_ENV
end

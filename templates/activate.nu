# Activates a virtual environment in nushell. Written by mkvenv.
#
# Activate it as an overlay:   overlay use bin/activate.nu
# Leave the environment with:  deactivate   (the same as: overlay hide activate)
#
# An overlay keeps its own layer of environment variables, so hiding it puts PATH, PYTHONHOME
# and the prompt back exactly as they were. The values below were written as nushell strings.

export-env {
    let venv = __MKVENV_DIR__
    let prompt = __MKVENV_PROMPT__
    let bin = ($venv | path join __MKVENV_BIN_NAME__)

    # Activating again while the overlay is active starts from what was there before the
    # first activation, kept in _OLD_VIRTUAL_PATH and _OLD_PROMPT_COMMAND; hiding the overlay
    # drops those too.
    let again = ('_OLD_VIRTUAL_PATH' in ($env | columns))
    # Windows names the variable Path; without a conversion it may still be one string.
    let path_name = if ('Path' in ($env | columns)) { 'Path' } else { 'PATH' }
    let old_path = if $again {
        $env._OLD_VIRTUAL_PATH
    } else if ($path_name in ($env | columns)) {
        $env | get $path_name
    } else {
        []
    }
    let old_prompt = if $again { $env._OLD_PROMPT_COMMAND } else { $env.PROMPT_COMMAND? }
    let old_list = if (($old_path | describe) == 'string') {
        $old_path | split row (char esep)
    } else {
        $old_path
    }

    load-env {
        _OLD_VIRTUAL_PATH: $old_path
        _OLD_PROMPT_COMMAND: $old_prompt
        VIRTUAL_ENV: $venv
        VIRTUAL_ENV_PROMPT: $prompt
        $path_name: ($old_list | prepend $bin)
    }

    # Python would take its standard library from PYTHONHOME instead of the environment's.
    hide-env -i PYTHONHOME

    # Show "(prompt) " before the prompt, then whatever the prompt was.
    if ($env.VIRTUAL_ENV_DISABLE_PROMPT? | is-empty) {
        let prefix = ('(' + $prompt + ') ')
        $env.PROMPT_COMMAND = {||
            let rest = if (($old_prompt | describe) == 'closure') {
                do $old_prompt
            } else if ($old_prompt == null) {
                $env.PWD
            } else {
                $old_prompt
            }
            $prefix + $rest
        }
    }
}

# Hiding the overlay undoes everything export-env did.
export alias deactivate = overlay hide activate

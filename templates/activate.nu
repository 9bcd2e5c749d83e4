# Activates a virtual environment in nushell. Written by mkvenv.
#
# Activate it as an overlay:   overlay use bin/activate.nu
# Leave the environment with:  deactivate
#
# An overlay keeps its own layer of environment variables, so hiding it puts PATH and the
# prompt back exactly as they were. PYTHONHOME is the exception: hiding a variable set in the
# session removes it from the layer below too, so deactivate hands the saved value back as it
# hides the overlay. The values below were written as nushell strings.

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

    let old_home = if $again { $env._OLD_VIRTUAL_PYTHONHOME? } else { $env.PYTHONHOME? }

    load-env {
        _OLD_VIRTUAL_PATH: $old_path
        _OLD_PROMPT_COMMAND: $old_prompt
        _OLD_VIRTUAL_PYTHONHOME: $old_home
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

# For deactivate: set PYTHONHOME again in this overlay's layer, to the value it had before
# activation, and name it for `overlay hide --keep-env`, which carries it to the layer below.
export def --env _mkvenv_saved_pythonhome [] {
    let old = $env._OLD_VIRTUAL_PYTHONHOME?
    if $old == null { return [] }
    $env.PYTHONHOME = $old
    ['PYTHONHOME']
}

# Hiding the overlay undoes everything export-env did; PYTHONHOME is handed back.
export alias deactivate = overlay hide activate --keep-env (_mkvenv_saved_pythonhome)

# Activates a virtual environment in csh or tcsh. Written by mkvenv.
#
# Source it, do not run it:    source bin/activate.csh
# Leave the environment with:  deactivate
#
# The values below were quoted for csh when the file was written: single quotes, with every
# exclamation mark escaped, as csh expands history references even inside single quotes.

# csh has no functions: "deactivate" is an alias, assembled here one step per line. It puts
# back what activation changed; "deactivate nondestructive" keeps the alias itself.
set _mkvenv_steps = 'test $?_OLD_VIRTUAL_PATH != 0 && setenv PATH "$_OLD_VIRTUAL_PATH:q" && unset _OLD_VIRTUAL_PATH;'
set _mkvenv_steps = "$_mkvenv_steps:q"' test $?_OLD_VIRTUAL_PYTHONHOME != 0 && setenv PYTHONHOME "$_OLD_VIRTUAL_PYTHONHOME:q" && unset _OLD_VIRTUAL_PYTHONHOME;'
set _mkvenv_steps = "$_mkvenv_steps:q"' test $?_OLD_VIRTUAL_PROMPT != 0 && set prompt = "$_OLD_VIRTUAL_PROMPT:q" && unset _OLD_VIRTUAL_PROMPT;'
set _mkvenv_steps = "$_mkvenv_steps:q"' unsetenv VIRTUAL_ENV; unsetenv VIRTUAL_ENV_PROMPT; rehash;'
set _mkvenv_steps = "$_mkvenv_steps:q"' test "\!*" != nondestructive && unalias deactivate && unalias pydoc'
alias deactivate "$_mkvenv_steps:q"
unset _mkvenv_steps

# Leave any environment activated before (this one included) so nothing stacks up.
deactivate nondestructive

setenv VIRTUAL_ENV __MKVENV_DIR__
# On Windows the path is C:\...; Cygwin's tcsh spells it /cygdrive/c/... The path reaches
# cygpath through the environment: the quotes leave "$VIRTUAL_ENV" single-quoted for csh, so
# only sh expands it, as one word.
if ("$VIRTUAL_ENV:q" =~ [A-Za-z]:[\\/]*) then
    which cygpath >& /dev/null
    if ($status == 0) then
        setenv VIRTUAL_ENV "`sh -c 'cygpath -u "'"$VIRTUAL_ENV"'"'`"
    endif
endif

set _OLD_VIRTUAL_PATH = "$PATH:q"
setenv PATH "$VIRTUAL_ENV:q/"__MKVENV_BIN_NAME__":$PATH:q"

setenv VIRTUAL_ENV_PROMPT __MKVENV_PROMPT__

# Python would take its standard library from PYTHONHOME instead of the environment's.
if ($?PYTHONHOME) then
    set _OLD_VIRTUAL_PYTHONHOME = "$PYTHONHOME:q"
    unsetenv PYTHONHOME
endif

# Show "(prompt) " before the prompt, escaped for tcsh's prompt sequences (% ! \), so it is
# shown exactly as written.
set _mkvenv_show = $?prompt
if ($?VIRTUAL_ENV_DISABLE_PROMPT) then
    if ("$VIRTUAL_ENV_DISABLE_PROMPT:q" != "") set _mkvenv_show = 0
endif
if ($_mkvenv_show) then
    set _OLD_VIRTUAL_PROMPT = "$prompt:q"
    set prompt = __MKVENV_CSH_PROMPT__"$prompt:q"
endif
unset _mkvenv_show

alias pydoc python -m pydoc

rehash

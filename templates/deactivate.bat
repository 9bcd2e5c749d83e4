@echo off
rem Leaves the Python virtual environment that activate.bat activated: puts PATH, PROMPT and
rem PYTHONHOME back as they were. Written by mkvenv.

if "!!"=="" goto mkvenv_delayed
if defined _OLD_VIRTUAL_PROMPT set "PROMPT=%_OLD_VIRTUAL_PROMPT%"
if defined _MKVENV_PROMPT_WAS_UNSET set "PROMPT="
if defined _OLD_VIRTUAL_PYTHONHOME set "PYTHONHOME=%_OLD_VIRTUAL_PYTHONHOME%"
if defined _OLD_VIRTUAL_PATH set "PATH=%_OLD_VIRTUAL_PATH%"
goto mkvenv_clear

rem With delayed expansion on, !NAME! keeps "!" and "^" in the values intact.
:mkvenv_delayed
if defined _OLD_VIRTUAL_PROMPT set "PROMPT=!_OLD_VIRTUAL_PROMPT!"
if defined _MKVENV_PROMPT_WAS_UNSET set "PROMPT="
if defined _OLD_VIRTUAL_PYTHONHOME set "PYTHONHOME=!_OLD_VIRTUAL_PYTHONHOME!"
if defined _OLD_VIRTUAL_PATH set "PATH=!_OLD_VIRTUAL_PATH!"

:mkvenv_clear
set "_OLD_VIRTUAL_PROMPT="
set "_MKVENV_PROMPT_WAS_UNSET="
set "_OLD_VIRTUAL_PYTHONHOME="
set "_OLD_VIRTUAL_PATH="
set "VIRTUAL_ENV="
set "VIRTUAL_ENV_PROMPT="

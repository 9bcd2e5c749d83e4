@echo off
rem Activates a Python virtual environment in cmd.exe. Written by mkvenv.
rem
rem Run it:                      venv\Scripts\activate.bat   (or "activate" in that directory)
rem Leave the environment with:  deactivate   (deactivate.bat, next to this file)
rem
rem This file is UTF-8: the code page is switched to 65001 (UTF-8) while it runs and switched
rem back at the end, so paths and prompts in any language arrive intact. Each value is written
rem twice, once for cmd.exe as it starts by default and once for delayed expansion (cmd /v:on,
rem or the DelayedExpansion registry setting), where "!" and "^" need escaping.

set "_MKVENV_CODEPAGE="
for /f "tokens=2 delims=:." %%c in ('"%SystemRoot%\System32\chcp.com"') do set /a "_MKVENV_CODEPAGE=%%c" >nul 2>&1
"%SystemRoot%\System32\chcp.com" 65001 >nul

if "!!"=="" goto mkvenv_delayed

rem Undo an activation made before, so nothing stacks up.
if defined _OLD_VIRTUAL_PROMPT set "PROMPT=%_OLD_VIRTUAL_PROMPT%"
if defined _MKVENV_PROMPT_WAS_UNSET set "PROMPT="
if defined _OLD_VIRTUAL_PYTHONHOME set "PYTHONHOME=%_OLD_VIRTUAL_PYTHONHOME%"
if defined _OLD_VIRTUAL_PATH set "PATH=%_OLD_VIRTUAL_PATH%"
set "_OLD_VIRTUAL_PROMPT="
set "_MKVENV_PROMPT_WAS_UNSET="
set "_OLD_VIRTUAL_PYTHONHOME="

set "VIRTUAL_ENV=__MKVENV_DIR__"
set "VIRTUAL_ENV_PROMPT=__MKVENV_PROMPT__"
set "_OLD_VIRTUAL_PATH=%PATH%"
set "PATH=%VIRTUAL_ENV%\__MKVENV_BIN_NAME__;%PATH%"
rem Python would take its standard library from PYTHONHOME instead of the environment's.
if defined PYTHONHOME set "_OLD_VIRTUAL_PYTHONHOME=%PYTHONHOME%"
set "PYTHONHOME="

rem Show "(prompt) " before the prompt (written with "$" doubled: in PROMPT it starts a code).
if defined VIRTUAL_ENV_DISABLE_PROMPT goto mkvenv_end
if defined PROMPT set "_OLD_VIRTUAL_PROMPT=%PROMPT%"
if not defined PROMPT set "_MKVENV_PROMPT_WAS_UNSET=1"
if not defined PROMPT set "PROMPT=$P$G"
set "PROMPT=(__MKVENV_CMD_PROMPT__) %PROMPT%"
goto mkvenv_end

rem The same steps with delayed expansion on: variables are read with !NAME!, whose value
rem is never parsed again.
:mkvenv_delayed
if defined _OLD_VIRTUAL_PROMPT set "PROMPT=!_OLD_VIRTUAL_PROMPT!"
if defined _MKVENV_PROMPT_WAS_UNSET set "PROMPT="
if defined _OLD_VIRTUAL_PYTHONHOME set "PYTHONHOME=!_OLD_VIRTUAL_PYTHONHOME!"
if defined _OLD_VIRTUAL_PATH set "PATH=!_OLD_VIRTUAL_PATH!"
set "_OLD_VIRTUAL_PROMPT="
set "_MKVENV_PROMPT_WAS_UNSET="
set "_OLD_VIRTUAL_PYTHONHOME="

set "VIRTUAL_ENV=__MKVENV_DIR_DELAYED__"
set "VIRTUAL_ENV_PROMPT=__MKVENV_PROMPT_DELAYED__"
set "_OLD_VIRTUAL_PATH=!PATH!"
set "PATH=!VIRTUAL_ENV!\__MKVENV_BIN_NAME__;!PATH!"
if defined PYTHONHOME set "_OLD_VIRTUAL_PYTHONHOME=!PYTHONHOME!"
set "PYTHONHOME="

if defined VIRTUAL_ENV_DISABLE_PROMPT goto mkvenv_end
if defined PROMPT set "_OLD_VIRTUAL_PROMPT=!PROMPT!"
if not defined PROMPT set "_MKVENV_PROMPT_WAS_UNSET=1"
if not defined PROMPT set "PROMPT=$P$G"
set "_MKVENV_PROMPT_TEXT=__MKVENV_CMD_PROMPT_DELAYED__"
set "PROMPT=(!_MKVENV_PROMPT_TEXT!) !PROMPT!"
set "_MKVENV_PROMPT_TEXT="

:mkvenv_end
if defined _MKVENV_CODEPAGE "%SystemRoot%\System32\chcp.com" %_MKVENV_CODEPAGE% >nul
set "_MKVENV_CODEPAGE="

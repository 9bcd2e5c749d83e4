<#
.SYNOPSIS
Activates a Python virtual environment in this PowerShell session. Written by mkvenv.

.DESCRIPTION
Puts the environment's script directory first on PATH, sets VIRTUAL_ENV and VIRTUAL_ENV_PROMPT,
removes PYTHONHOME and, unless VIRTUAL_ENV_DISABLE_PROMPT is set, shows "(prompt) " before the
prompt. The command "deactivate" puts all of it back; "deactivate -NonDestructive" keeps the
command itself. Works in Windows PowerShell 5.1 and PowerShell 7 on every system, whether this
file is run or dot-sourced.

.PARAMETER VenvDir
The environment's directory, instead of the one this file was written for.

.PARAMETER Prompt
The text shown in parentheses before the prompt, instead of the one chosen at creation.

.EXAMPLE
PS> .\venv\Scripts\Activate.ps1

.NOTES
PowerShell runs a script only if the execution policy allows it. To allow local scripts for
the current user: Set-ExecutionPolicy -ExecutionPolicy RemoteSigned -Scope CurrentUser
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $false)]
    [string]$VenvDir,
    [Parameter(Mandatory = $false)]
    [string]$Prompt
)

# The values below are written with ASCII characters only (other characters as [char] codes),
# because Windows PowerShell 5.1 reads a file without a byte order mark in the ANSI code page.
if (-not $PSBoundParameters.ContainsKey('VenvDir')) {
    $VenvDir = __MKVENV_DIR__
}
if (-not $PSBoundParameters.ContainsKey('Prompt')) {
    $Prompt = __MKVENV_PROMPT__
}
$BinDir = Join-Path -Path $VenvDir -ChildPath __MKVENV_BIN_NAME__

function global:deactivate {
    [CmdletBinding()]
    param(
        [switch]$NonDestructive
    )
    if (Get-Variable -Name _OLD_VIRTUAL_PATH -Scope Global -ErrorAction SilentlyContinue) {
        $env:PATH = $global:_OLD_VIRTUAL_PATH
        Remove-Variable -Name _OLD_VIRTUAL_PATH -Scope Global
    }
    if (Get-Variable -Name _OLD_VIRTUAL_PYTHONHOME -Scope Global -ErrorAction SilentlyContinue) {
        $env:PYTHONHOME = $global:_OLD_VIRTUAL_PYTHONHOME
        Remove-Variable -Name _OLD_VIRTUAL_PYTHONHOME -Scope Global
    }
    if (Get-Variable -Name _OLD_VIRTUAL_PROMPT -Scope Global -ErrorAction SilentlyContinue) {
        if ($null -ne $global:_OLD_VIRTUAL_PROMPT) {
            Set-Item -Path function:global:prompt -Value $global:_OLD_VIRTUAL_PROMPT
        } elseif (Test-Path -Path function:prompt) {
            Remove-Item -Path function:prompt
        }
        Remove-Variable -Name _OLD_VIRTUAL_PROMPT -Scope Global
        Remove-Variable -Name _MKVENV_PROMPT_PREFIX -Scope Global -ErrorAction SilentlyContinue
    }
    foreach ($name in @('VIRTUAL_ENV', 'VIRTUAL_ENV_PROMPT')) {
        if (Test-Path -Path "env:$name") {
            Remove-Item -Path "env:$name"
        }
    }
    if (-not $NonDestructive) {
        Remove-Item -Path function:deactivate
    }
}

# Leave any environment activated before (this one included) so nothing stacks up.
deactivate -NonDestructive

$env:VIRTUAL_ENV = $VenvDir
$env:VIRTUAL_ENV_PROMPT = $Prompt

$global:_OLD_VIRTUAL_PATH = $env:PATH
if ($env:PATH) {
    $env:PATH = $BinDir + [System.IO.Path]::PathSeparator + $env:PATH
} else {
    $env:PATH = $BinDir
}

# Python would take its standard library from PYTHONHOME instead of the environment's.
if (Test-Path -Path env:PYTHONHOME) {
    $global:_OLD_VIRTUAL_PYTHONHOME = $env:PYTHONHOME
    Remove-Item -Path env:PYTHONHOME
}

# Show "(prompt) " before the prompt, then whatever the old prompt function shows. The text
# is passed to Write-Host as a value, so nothing in it is ever expanded.
$ShowPrompt = $true
if (Test-Path -Path env:VIRTUAL_ENV_DISABLE_PROMPT) {
    $ShowPrompt = -not $env:VIRTUAL_ENV_DISABLE_PROMPT
}
if ($ShowPrompt) {
    $global:_OLD_VIRTUAL_PROMPT = $function:prompt
    $global:_MKVENV_PROMPT_PREFIX = '(' + $Prompt + ') '
    function global:prompt {
        Write-Host -NoNewline -ForegroundColor Green $global:_MKVENV_PROMPT_PREFIX
        if ($null -ne $global:_OLD_VIRTUAL_PROMPT) {
            & $global:_OLD_VIRTUAL_PROMPT
        }
    }
}
Remove-Variable -Name BinDir, ShowPrompt -ErrorAction SilentlyContinue

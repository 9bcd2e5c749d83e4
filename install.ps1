# Install mkvenv from its GitHub release, checked against the release's SHA256SUMS
# (Windows PowerShell 5.1 or PowerShell 7, on Windows, macOS or Linux):
#
#   irm https://github.com/mkvenv/mkvenv/releases/latest/download/install.ps1 | iex
#
# Environment:
#   MKVENV_VERSION       the release to install, e.g. 0.1.0 (default: the latest)
#   MKVENV_INSTALL_DIR   where to put mkvenv.exe (default: %LOCALAPPDATA%\Programs\mkvenv;
#                        ~/.local/bin elsewhere)
#   MKVENV_DOWNLOAD_URL  where the releases are (default: the GitHub releases of mkvenv):
#                        URL/download/vVERSION/FILE, URL/latest/download/FILE; a file:// URL
#                        reads a local directory laid out the same way
#
# The archive for this system is downloaded to a temporary directory and its SHA-256 compared
# with the release's SHA256SUMS; only then is the binary tried and moved into place, so a
# failure at any step leaves nothing installed and an older mkvenv untouched. Everything is
# inside one function called on the last line: a partial download runs nothing, and the
# settings below never leak into the session that ran `iex`.

function Install-Mkvenv {
    Set-StrictMode -Version 3.0
    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'

    # The repository the release workflow publishes from.
    $repository = 'mkvenv/mkvenv'

    $base = $env:MKVENV_DOWNLOAD_URL
    if (-not $base) { $base = "https://github.com/$repository/releases" }
    $base = $base.TrimEnd('/')
    $version = $env:MKVENV_VERSION
    if (-not $version) { $version = 'latest' }
    if ($version.StartsWith('v')) { $version = $version.Substring(1) }
    if ($version -ne 'latest' -and $version -notmatch '^[0-9A-Za-z.+-]+$') {
        throw "Cannot install mkvenv version `"$($env:MKVENV_VERSION)`": expected a version such as 0.1.0, or latest"
    }

    $onWindows = ($PSVersionTable.PSEdition -eq 'Desktop') -or $IsWindows
    if ($onWindows) {
        $osPart = 'pc-windows-msvc'
        $ext = 'zip'
        $exe = 'mkvenv.exe'
    } elseif ($IsMacOS) {
        $osPart = 'apple-darwin'
        $ext = 'tar.gz'
        $exe = 'mkvenv'
    } elseif ($IsLinux) {
        $osPart = 'unknown-linux-gnu'
        $ext = 'tar.gz'
        $exe = 'mkvenv'
    } else {
        throw 'Cannot install mkvenv on this system: release binaries exist for Windows, macOS and Linux only'
    }

    $arch = $null
    try {
        $arch = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString()
    } catch {
        $arch = $env:PROCESSOR_ARCHITEW6432
        if (-not $arch) { $arch = $env:PROCESSOR_ARCHITECTURE }
    }
    switch -Regex ($arch) {
        '^(X64|AMD64)$' { $archPart = 'x86_64'; break }
        '^(Arm64|ARM64)$' { $archPart = 'aarch64'; break }
        default { throw "Cannot install mkvenv on `"$arch`": release binaries exist for x86_64 and aarch64 only" }
    }
    $target = "$archPart-$osPart"

    $dir = $env:MKVENV_INSTALL_DIR
    if (-not $dir) {
        if ($onWindows) {
            $dir = Join-Path $env:LOCALAPPDATA 'Programs\mkvenv'
        } else {
            $dir = Join-Path $HOME '.local/bin'
        }
    }

    if ([Net.ServicePointManager]::SecurityProtocol -ne 0) {
        # Windows PowerShell 5.1 may not offer TLS 1.2 unless asked.
        [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    }

    $tmp = Join-Path ([IO.Path]::GetTempPath()) ("mkvenv-install-" + [Guid]::NewGuid().ToString('N'))
    $partial = $null
    New-Item -ItemType Directory -Path $tmp | Out-Null
    try {
        function Get-Download([string] $Url, [string] $File) {
            $uri = [Uri] $Url
            if ($uri.IsFile) {
                Copy-Item -LiteralPath $uri.LocalPath -Destination $File
            } else {
                Invoke-WebRequest -Uri $Url -OutFile $File -UseBasicParsing
            }
        }

        if ($version -eq 'latest') {
            $sumsUrl = "$base/latest/download/SHA256SUMS"
        } else {
            $sumsUrl = "$base/download/v$version/SHA256SUMS"
        }
        $sumsFile = Join-Path $tmp 'SHA256SUMS'
        try {
            Get-Download $sumsUrl $sumsFile
        } catch {
            throw "Cannot download ${sumsUrl}: no such release, or no network (check MKVENV_VERSION): $($_.Exception.Message)"
        }
        $sums = @{}
        foreach ($line in Get-Content -LiteralPath $sumsFile) {
            $fields = $line.Trim() -split '\s+', 2
            if ($fields.Count -eq 2) { $sums[$fields[1].TrimStart('*')] = $fields[0].ToLowerInvariant() }
        }

        if ($version -eq 'latest') {
            $suffix = "-$target.$ext"
            $asset = $sums.Keys | Where-Object { $_.StartsWith('mkvenv-') -and $_.EndsWith($suffix) } |
                Select-Object -First 1
            if (-not $asset) { throw "Cannot install mkvenv: the latest release has no binary for $target" }
            $version = $asset.Substring(7, $asset.Length - 7 - $suffix.Length)
        } else {
            $asset = "mkvenv-$version-$target.$ext"
        }
        if (-not $sums.ContainsKey($asset)) {
            throw "Cannot install mkvenv ${version}: the release has no binary for $target ($asset is not in SHA256SUMS)"
        }
        $expected = $sums[$asset]

        $url = "$base/download/v$version/$asset"
        Write-Host "mkvenv-install: downloading $url"
        $archive = Join-Path $tmp $asset
        try {
            Get-Download $url $archive
        } catch {
            throw "Cannot download ${url}: $($_.Exception.Message)"
        }
        $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $archive).Hash.ToLowerInvariant()
        if ($actual -ne $expected) {
            throw "Cannot install mkvenv: $asset does not match SHA256SUMS (expected $expected, got $actual); the download is damaged or was tampered with, and nothing was installed"
        }

        $unpacked = Join-Path $tmp 'unpacked'
        New-Item -ItemType Directory -Path $unpacked | Out-Null
        if ($ext -eq 'zip') {
            Expand-Archive -LiteralPath $archive -DestinationPath $unpacked
        } else {
            & tar -xzf $archive -C $unpacked
            if ($LASTEXITCODE -ne 0) { throw "Cannot unpack $asset" }
        }
        $binary = Join-Path $unpacked $exe
        if (-not (Test-Path -LiteralPath $binary -PathType Leaf)) {
            throw "Cannot install mkvenv: $asset holds no $exe"
        }
        if (-not $onWindows) { & chmod 755 $binary }
        $ran = & $binary --version 2>&1 | Out-String
        if ($LASTEXITCODE -ne 0) { throw "Cannot install mkvenv: the downloaded binary does not run here: $ran" }

        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        $partial = Join-Path $dir ".$exe.partial.$PID"
        Copy-Item -LiteralPath $binary -Destination $partial
        $final = Join-Path $dir $exe
        Move-Item -LiteralPath $partial -Destination $final -Force
        $partial = $null
        Write-Host "mkvenv-install: installed $($ran.Trim()) to $final"
        $onPath = ($env:PATH -split [IO.Path]::PathSeparator) | Where-Object { $_.TrimEnd('\', '/') -eq $dir.TrimEnd('\', '/') }
        if (-not $onPath) {
            Write-Host "mkvenv-install: $dir is not on PATH; add it, e.g. [Environment]::SetEnvironmentVariable('Path', `"$dir;`" + [Environment]::GetEnvironmentVariable('Path', 'User'), 'User')"
        }
    } finally {
        if ($partial) { Remove-Item -LiteralPath $partial -Force -ErrorAction SilentlyContinue }
        Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
    }
}

Install-Mkvenv

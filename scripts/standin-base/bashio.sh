#!/bin/bash
# Stand-in for the bashio functions the add-on calls. Options come from
# /data/options.json, as in bashio (a missing key reads as "null").
readonly __BASHIO_OPTIONS="${BASHIO_OPTIONS_FILE:-/data/options.json}"

bashio::config() { jq -r --arg key "$1" '.[$key] | if . == null then "null" else . end' "${__BASHIO_OPTIONS}"; }
bashio::config.true() { [[ "$(bashio::config "$1")" == "true" ]]; }
bashio::config.has_value() { local v; v="$(bashio::config "$1")"; [[ -n "${v}" && "${v}" != "null" ]]; }
bashio::log.info() { echo "[INFO] $*"; }
bashio::log.warning() { echo "[WARNING] $*"; }
bashio::log.error() { echo "[ERROR] $*" >&2; }
bashio::exit.nok() { echo "[FATAL] $*" >&2; exit 1; }
bashio::var.json() {
    local args=() filter="{" sep=""
    while (( $# >= 2 )); do
        args+=(--arg "$1" "$2"); filter+="${sep}\"$1\": \$$1"; sep=", "; shift 2
    done
    jq -cn "${args[@]}" "${filter}}"
}
# No Supervisor here: discovery fails, as it would with the real bashio.
bashio::discovery() { echo "[stand-in] discovery $1 $2" >&2; return 1; }

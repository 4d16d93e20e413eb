#!/usr/bin/env bash
# The clone port's transport: mutual TLS 1.3 whose only credential is the cluster Secret's backup password.
# Sourced by sidecar.sh (the donor: transport_listen) and clone.sh (the recipient: transport_fetch); run by the
# donor's listener once per authenticated connection (`bash transport.sh serve-connection`). The listener and
# the client are socat's, or on flavors seeded by the CLONE plugin openssl's (transport-openssl.sh: the
# official mysql images have no socat).
#
# Credential: every pod derives the same Ed25519 key from MYSQL_BACKUP_PASSWORD (PBKDF2-HMAC-SHA256, 600,000
# iterations, over a SHA-256 of the password) and the same self-signed certificate (a fixed template re-signed
# with that key; Ed25519 signatures are deterministic, so the files are identical on every pod, whichever
# OpenSSL its image has: the certificate's bytes are assembled here, not by `openssl x509`, whose output
# changed in OpenSSL 3.2 (a version 3 certificate with a key identifier)). Both ends
# present it and accept only it (socat verify=1, cafile = that certificate): a peer without the password
# fails the TLS handshake before the donor runs anything, a different password fails it both ways, a
# recorded handshake cannot be replayed (TLS 1.3), and a man in the middle cannot complete either side.
# Secrets never reach a command line: the password goes to sha256sum and openssl on stdin, the key bytes
# through bash's printf builtin into openssl's stdin, the files are private (umask 077) in $RUN_DIR.
#
# After the handshake the donor writes one line, then (only with OK, on flavors seeded by a backup stream)
# the backup stream:
#   MYSQL-CLUSTER-CLONE/1 OK <donor pod> size=<KiB>   the data a copy needs, about (binary and redo logs aside)
#   MYSQL-CLUSTER-CLONE/1 UNFIT <reason>             not ready, stale, errant, applier stopped: no backup
#   MYSQL-CLUSTER-CLONE/1 BUSY <reason>              at most CLONE_MAX_BACKUPS (default 2) backups run at once
# With SEEDING=clone-plugin (MySQL 9.7) the recipient first writes "MYSQL-CLUSTER-CLONE/1 HELLO <pod>", and the
# connection ends after the status line: the recipient asks the donor's server for the clone itself, and the
# port only vouches, under the cluster's credential, that the donor is fit.
# shellcheck shell=bash

# shellcheck source-path=SCRIPTDIR source=transport-socat.sh
source "$(dirname "${BASH_SOURCE[0]}")/transport-socat.sh"
# shellcheck source-path=SCRIPTDIR source=transport-openssl.sh
source "$(dirname "${BASH_SOURCE[0]}")/transport-openssl.sh"

CLONE_TLS_NAME=mysql-cluster-clone
CLONE_PROTOCOL=MYSQL-CLUSTER-CLONE/1
CLONE_KDF_ITERATIONS=600000
CLONE_KDF_SALT=6d7973716c636c31 # "mysqlcl1": PBKDF2 salt of openssl enc (8 bytes); not secret
# PKCS#8 header of an Ed25519 private key: 32 key bytes follow.
CLONE_ED25519_PREFIX='\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'
# X.509 v1, serial 1, subject and issuer CN=mysql-cluster-clone, valid from 2000-01-01 to 9999-12-31 (fixed
# dates: certificates made on nodes whose clocks differ still verify). Its key and signature are placeholders,
# replaced by transport_sign_certificate. Its DER: 30 81 e5, the to-be-signed part (bytes 3-157, the public
# key last, from byte 126), the signature algorithm (30 05 06 03 2b 65 70) and the signature (03 41 00 +
# 64 bytes).
CLONE_CERT_TEMPLATE='-----BEGIN CERTIFICATE-----
MIHlMIGYAgEBMAUGAytlcDAeMRwwGgYDVQQDDBNteXNxbC1jbHVzdGVyLWNsb25l
MCAXDTAwMDEwMTAwMDAwMFoYDzk5OTkxMjMxMjM1OTU5WjAeMRwwGgYDVQQDDBNt
eXNxbC1jbHVzdGVyLWNsb25lMCowBQYDK2VwAyEAH+BfwdgxPED5dnhpf8IKEyqW
MrcU/lFBLnKO5s4QpJswBQYDK2VwA0EApqDA85lq1Tt6gGdNjobMjC+rag4ePzna
8jlFK+pMQS5dLP+L74YDoEeAppKBhvx/kfNQNFj6O2lHbWPX/iSACA==
-----END CERTIFICATE-----'

transport_sign_certificate() { # <directory>: its `key` signs the template into its `crt`, byte for byte the
  # same with every OpenSSL from 3.0 (pkeyutl -rawin: a pure Ed25519 signature of the to-be-signed bytes)
  local dir=$1
  printf '%s\n' "$CLONE_CERT_TEMPLATE" | sed '1d;$d' | base64 -d >"$dir/template" || return 1
  head -c 126 "$dir/template" | tail -c +4 >"$dir/tbs" || return 1
  openssl pkey -in "$dir/key" -pubout -outform DER >"$dir/public" || return 1
  tail -c 32 "$dir/public" >>"$dir/tbs" || return 1
  openssl pkeyutl -sign -rawin -inkey "$dir/key" -in "$dir/tbs" -out "$dir/signature" || return 1
  {
    printf '%b' '\x30\x81\xe5'
    cat "$dir/tbs"
    printf '%b' '\x30\x05\x06\x03\x2b\x65\x70\x03\x41\x00'
    cat "$dir/signature"
  } >"$dir/der" || return 1
  [[ $(wc -c <"$dir/der") == 232 ]] || { echo "the certificate came out $(wc -c <"$dir/der") bytes long" >&2; return 1; }
  { echo '-----BEGIN CERTIFICATE-----' && base64 -w 64 "$dir/der" && echo '-----END CERTIFICATE-----'; } >"$dir/crt"
}

transport_files() { # prints "<certificate and key> <certificate>": the paths of the credential files
  printf '%s %s' "$RUN_DIR/clone-tls.pem" "$RUN_DIR/clone-tls.crt"
}

transport_credentials() { # (re)writes the credential files from MYSQL_BACKUP_PASSWORD; status 1 on failure
  refresh_passwords # the Secret's backup password now: each clone attempt and listener start derives anew
  require_env RUN_DIR MYSQL_BACKUP_PASSWORD
  [[ $RUN_DIR != *[,:\ \'\"!]* ]] || die "RUN_DIR='$RUN_DIR' holds a character socat addresses cannot carry"
  local pem crt tmp digest seed key_bytes='' i
  read -r pem crt <<<"$(transport_files)"
  digest=$(printf 'mysql-cluster clone credential v1\n%s' "$MYSQL_BACKUP_PASSWORD" | sha256sum) || return 1
  # openssl enc -P prints the PBKDF2 output (key=<hex>) and encrypts nothing; -pass stdin reads one line.
  seed=$(printf '%s\n' "${digest%% *}" | openssl enc -aes-256-cbc -pbkdf2 -md sha256 \
    -iter "$CLONE_KDF_ITERATIONS" -S "$CLONE_KDF_SALT" -pass stdin -P) || return 1
  [[ $seed =~ (^|$'\n')key=([0-9A-F]{64}) ]] || { log "openssl enc printed no key"; return 1; }
  for ((i = 0; i < 64; i += 2)); do key_bytes+="\\x${BASH_REMATCH[2]:i:2}"; done
  tmp=$(umask 077 && mktemp -d "$RUN_DIR/clone-tls.XXXXXX")
  if ! printf '%b' "$CLONE_ED25519_PREFIX$key_bytes" |
    openssl pkey -inform DER -out "$tmp/key" 2>"$tmp/errors" ||
    ! transport_sign_certificate "$tmp" 2>>"$tmp/errors"; then
    log "could not make the clone port's certificate: $(one_line "$(cat "$tmp/errors" 2>/dev/null)")"
    rm -rf "$tmp"
    return 1
  fi
  cat "$tmp/crt" "$tmp/key" >"$tmp/pem"
  chmod 0600 "$tmp/pem" "$tmp/crt" # made inside the private directory, private where they land
  mv -f "$tmp/pem" "$pem"
  mv -f "$tmp/crt" "$crt"
  rm -rf "$tmp"
}

# ------------------------------------------------------------------------------------------ donor --

transport_listen() { # <port>: serves backups in the background; sets TRANSPORT_LISTENER_PID
  # Optional environment: CLONE_HANDSHAKE_TIMEOUT (30 s for a peer to complete the TLS handshake).
  local port=$1 handshake=${CLONE_HANDSHAKE_TIMEOUT:-30}
  require_number handshake
  ((handshake >= 1)) || die "CLONE_HANDSHAKE_TIMEOUT='$handshake' must be at least 1"
  transport_credentials || return 1
  if [[ ${SEEDING:-} == clone-plugin ]]; then
    transport_openssl_listen "$port" "$handshake" &
    # shellcheck disable=SC2034 # read by the sourcing script
    TRANSPORT_LISTENER_PID=$!
    return 0
  fi
  transport_socat_listen "$port" "$handshake"
}

transport_log_refusal() { # <peer> <socat's error>
  log "refused a connection from $1: TLS handshake failed, no backup served ($2)"
}

transport_serve_connection() { # stdout: the authenticated peer; the verdict, a slot, the status line, the backup
  # The peer as the listener names it: socat's environment, or transport_openssl_accept's TRANSPORT_PEER.
  local limit=${CLONE_MAX_BACKUPS:-2} peer=${TRANSPORT_PEER:-"${SOCAT_PEERADDR:-unknown}:${SOCAT_PEERPORT:-?}"}
  local slot lock verdict
  require_number limit
  ((limit >= 1)) || die "CLONE_MAX_BACKUPS='$limit' must be at least 1"
  # First whether this pod may be cloned at all (ready, faithful): a refusal costs no backup. On success the
  # check prints the size of a copy.
  if ! verdict=$(bash "$CLUSTER_CONFIG_DIR/backup-stream.sh" check); then
    verdict=$(one_line "$verdict")
    log "refused a backup to $peer: ${verdict:-its donor checks failed}"
    printf '%s UNFIT %s\n' "$CLONE_PROTOCOL" "${verdict:-its donor checks failed (see its sidecar log)}"
    return 0
  fi
  if [[ ${SEEDING:-} == clone-plugin ]]; then # the donor's server serves the clone, one at a time
    log "vouched for a CLONE by $peer"
    printf '%s OK %s size=%s\n' "$CLONE_PROTOCOL" "$POD_NAME" "$verdict"
    return 0
  fi
  # One lock file per slot; flock releases it when the last process holding it (the backup tool included,
  # which inherits the descriptor) exits, however it exits.
  for ((slot = 1; slot <= limit; slot++)); do
    exec {lock}>"$RUN_DIR/clone-slot-$slot.lock"
    if flock -n "$lock"; then
      printf '%s OK %s size=%s\n' "$CLONE_PROTOCOL" "$POD_NAME" "$verdict"
      exec bash "$CLUSTER_CONFIG_DIR/backup-stream.sh"
    fi
    exec {lock}>&-
  done
  log "refused a backup to $peer: already serving $limit (CLONE_MAX_BACKUPS); it will retry"
  printf '%s BUSY serving its limit of %d concurrent backups\n' "$CLONE_PROTOCOL" "$limit"
}

# -------------------------------------------------------------------------------------- recipient --

transport_greeting_file() { printf '%s/clone-greeting' "$RUN_DIR"; }

transport_announced_kib() { # the size the last donor's OK announced (KiB; empty when unknown)
  local line
  line=$(cat "$(transport_greeting_file)" 2>/dev/null) || return 0
  [[ $line =~ \ size=([0-9]{1,15})($|\ ) ]] && printf '%s' "${BASH_REMATCH[1]}"
  return 0
}

transport_recipient_credentials() { # derives the credential once per process (sets TRANSPORT_CREDENTIALS_READY)
  # The derivation costs half a second of CPU: a recipient asking donors every second must not repeat it.
  # Call it outside a pipeline first (clone.sh, clone-plugin.sh): a pipeline's subshell would forget it.
  [[ -n ${TRANSPORT_CREDENTIALS_READY:-} ]] && return 0
  transport_credentials || return 1
  TRANSPORT_CREDENTIALS_READY=1
}

transport_fetch() { # <host> <port> [<volume>]: the donor's backup stream on stdout, after mutual authentication.
  # Status 1 when no backup was started (refused, busy, unfit, unreachable: asking another donor costs
  # nothing), 2 when the donor started one and it failed or this pod refused it (its volume cannot hold the
  # size announced); the reason is the last line on stderr, worded to follow "donor <n> (<host>) ".
  # Optional environment: CLONE_IDLE_TIMEOUT (1800 s without a byte from the donor ends the transfer).
  local host=$1 port=$2 volume=${3:-} idle=${CLONE_IDLE_TIMEOUT:-1800} errors detail greeting
  local -a status
  require_number idle
  greeting=$(transport_greeting_file)
  rm -f "$greeting"
  if ! transport_recipient_credentials; then
    printf 'was not asked (this pod could not make its clone credential)\n' >&2
    return 1
  fi
  errors=$(mktemp "$RUN_DIR/clone-transport-errors.XXXXXX")
  if [[ ${SEEDING:-} == clone-plugin ]]; then # a question and its answer: a minute is plenty
    transport_openssl_fetch "$host" "$port" 60 2>"$errors" |
      TRANSPORT_VOLUME=$volume transport_receive "$greeting"
    status=("${PIPESTATUS[@]}")
    detail=$(grep -m 1 -E ':error:|errno' "$errors") # the first: s_client's later ones follow from it
    ((status[0] != 124)) || detail="no answer within 60s"
  else
    transport_socat_fetch "$host" "$port" "$idle" 2>"$errors" |
      TRANSPORT_VOLUME=$volume transport_receive "$greeting"
    status=("${PIPESTATUS[@]}")
    detail=$(tail -n 1 "$errors")
    detail=${detail#*socat\[*\] [EFW] }
  fi
  rm -f "$errors"
  if ((status[1] == 0 && status[0] == 0)); then
    return 0
  elif ((status[1] == 3)); then
    return 1 # transport_receive gave the reason: no backup started
  elif ((status[1] == 4)); then
    return 2 # transport_receive gave the reason: a backup started, this pod cannot hold it
  elif [[ -f $greeting ]]; then
    printf 'broke off the backup stream (%s)\n' "$(one_line "${detail:-the connection ended early}")" >&2
    return 2
  elif [[ $detail == *'Connection refused'* ]]; then
    printf 'refused the connection (nothing listens on %s: not started yet?)\n' "$port" >&2
  elif [[ $detail == *'certificate verify failed'* || $detail == *'no peer certificate'* ]]; then
    # socat 1.7 says the former, socat 1.8 (Debian trixie and later) the latter.
    printf 'failed authentication: its certificate is not the cluster'\''s (%s)\n' \
      "is its Secret's backup password the same as ours?" >&2
  elif ((status[0] == 0)); then
    printf 'closed the connection without a greeting (%s)\n' \
      "did it refuse our credential? Its sidecar log says why" >&2
  else
    printf 'is unreachable (%s)\n' "$(one_line "$detail")" >&2
  fi
  return 1
}

transport_receive() { # <greeting file>; stdin: the connection; the status line, then the stream on stdout
  # Status 3: refused, no backup started; 4: this pod's volume (TRANSPORT_VOLUME) cannot hold the backup.
  local line size free
  IFS= read -r -n 200 line || [[ -n $line ]] || return 2
  case $line in
    "$CLONE_PROTOCOL OK "*)
      printf '%s\n' "$line" >"$1"
      size=$(transport_announced_kib)
      if [[ -n $size && -n ${TRANSPORT_VOLUME:-} ]]; then
        free=$(free_kib "$TRANSPORT_VOLUME")
        if [[ -n $free ]] && ((free < size)); then
          printf 'offered a backup of about %d MiB: this pod'\''s volume is full (%d MiB free on %s); give %s\n' \
            $((size / 1024)) $((free / 1024)) "$TRANSPORT_VOLUME" \
            "the pod a larger volume (storageSize); the donor is not at fault" >&2
          return 4
        fi
      fi
      cat
      ;;
    "$CLONE_PROTOCOL BUSY "*)
      printf 'is busy (%s)\n' "$(one_line "${line#"$CLONE_PROTOCOL BUSY "}")" >&2
      return 3
      ;;
    "$CLONE_PROTOCOL UNFIT "*)
      printf 'refuses to be cloned: %s\n' "$(one_line "${line#"$CLONE_PROTOCOL UNFIT "}")" >&2
      return 3
      ;;
    *)
      printf 'answered in a protocol this pod does not speak (%s)\n' "$(one_line "${line:0:60}")" >&2
      return 3
      ;;
  esac
}

# -------------------------------------------------------------------- per-connection entry point --

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  # shellcheck source-path=SCRIPTDIR source=lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  require_env CLUSTER_CONFIG_DIR RUN_DIR POD_NAME
  load_flavor
  [[ ${1:-} == serve-connection ]] || die "usage: bash transport.sh serve-connection (run by the listener)"
  transport_serve_connection
fi

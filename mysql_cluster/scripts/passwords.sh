# shellcheck shell=bash
# Sourced by lib.sh (never run): the passwords of the cluster's accounts as the mounted Secret holds them at
# use time, and the root passwords remembered on the data volume that open this pod's data while a rotation
# is on its way (see "Rotating passwords" in README.md).

# The root passwords that may open this pod's data while the Secret's is not applied to it yet
# (root_option_file): the one that last opened it, and the Secret's that it saw refused meanwhile (which an
# ALTER USER may apply at any moment). On the data volume beside data/, mode 0600: they must outlive the pod
# (a pod restarted in the middle of a rotation knows only the Secret's new passwords, which its data does not
# accept yet), and they stay outside data/, so no clone or re-seed copies them.
LAST_ROOT_PASSWORD_FILE_NAME="last-root-password"
PENDING_ROOT_PASSWORD_FILE_NAME="pending-root-password"

render_account_passwords() { # <template> <quoting function> [NAME=value...]: the template with the accounts'
  # Secret passwords (and the further values given)
  render_sql "$1" \
    ROOT_PASSWORD="$("$2" "$MYSQL_ROOT_PASSWORD")" \
    REPLICATION_USER="$("$2" "$REPLICATION_USER")" \
    REPLICATION_PASSWORD="$("$2" "$MYSQL_REPLICATION_PASSWORD")" \
    BACKUP_USER="$("$2" "$BACKUP_USER")" \
    BACKUP_PASSWORD="$("$2" "$MYSQL_BACKUP_PASSWORD")" \
    "${@:3}"
}

refresh_passwords() { # the passwords as the mounted Secret holds them NOW (see "Rotating passwords")
  # The kubelet updates a mounted Secret's files in running pods (within about a minute). Each container
  # mounts only the keys it uses, and gets no password in its environment (stale after a rotation, and
  # inherited by every process it starts): with SECRET_DIR set, each password variable whose file this
  # container has is read from $SECRET_DIR/<key>/value, as a shell variable, never exported. Without it
  # (the script tier's harness), the environment's values stay.
  [[ -n ${SECRET_DIR:-} ]] || return 0
  local pair var file value
  for pair in MYSQL_ROOT_PASSWORD=root-password MYSQL_REPLICATION_PASSWORD=replication-password \
    MYSQL_BACKUP_PASSWORD=backup-password; do
    var=${pair%%=*} file=$SECRET_DIR/${pair#*=}/value
    [[ -r $file ]] || continue
    value=$(<"$file")
    [[ -n $value ]] || continue # an emptied key is a mistake; keep the last value
    printf -v "$var" '%s' "$value"
  done
}

password_digest() { # <password>: a SHA-256 of it (to notice a change without keeping the password)
  printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

remembered_root_password() { # <file name>: a remembered root password ("" when there is none)
  local path=${DATA_ROOT:-}/$1
  [[ -n ${DATA_ROOT:-} && -r $path ]] || return 0
  printf '%s' "$(<"$path")"
}

remember_root_password() { # <file name> <password>: records it on the data volume (0600; "" removes it)
  # Written to a temporary file and renamed (never a half-written file), synced. Best effort: a full
  # volume must not fail a probe (the login itself works); the file then keeps its previous content.
  local path=$DATA_ROOT/$1 tmp
  if [[ -z $2 ]]; then
    if [[ -e $path ]]; then
      rm -f "$path" 2>/dev/null || true
      sync "$DATA_ROOT" || true
    fi
    return 0
  fi
  tmp=$(umask 077 && mktemp "$path.tmp.XXXXXX" 2>/dev/null) || return 0
  if printf '%s\n' "$2" >"$tmp" 2>/dev/null && sync "$tmp" && mv -f "$tmp" "$path"; then
    sync "$DATA_ROOT" || true
  else
    rm -f "$tmp"
  fi
}

root_option_file() { # the local server's administrator for this pod's scripts; prints its option file
  # The pod-local administrator (LOCAL_ADMIN_USER@localhost, SQL_LOCAL_ADMIN) needs no password: the server
  # authenticates the socket's peer as its own operating-system user, so no rotation can lock it out. A
  # replica applies the primary's binlogged ALTER USER of root as soon as it arrives, while its own mounted
  # Secret may show the new root password a minute later (the kubelet refreshes each pod's on its own
  # schedule): with root alone its probes were refused meanwhile, every replica at once (seen on MySQL 9.7).
  # Data initialised before that account existed (the primary's sidecar adds it) falls back to root, whose
  # remembered passwords are kept current all the same (no login at all while the Secret's is the last that
  # worked), so that the fallback holds at every moment.
  # Where the administrator answers, no root password is kept on the volume any longer (every file there
  # is readable by whoever gets the volume): the remembered ones are removed.
  local admin
  admin=$(client_option_file local-admin "${LOCAL_ADMIN_USER:-mysql}" "" "$(server_socket)")
  if server_answers "$admin"; then
    if [[ -n ${DATA_ROOT:-} ]]; then
      remember_root_password "$LAST_ROOT_PASSWORD_FILE_NAME" ""
      remember_root_password "$PENDING_ROOT_PASSWORD_FILE_NAME" ""
    fi
    printf '%s' "$admin"
  else
    root_password_option_file
  fi
}

secret_root_password_refused() { # the server answers, but not to the Secret's root password (a rotation
  # on its way to this data: the primary applies it, a replica receives it by replication)
  local admin current
  current=$(client_option_file root root "$MYSQL_ROOT_PASSWORD" "$(server_socket)")
  admin=$(client_option_file local-admin "${LOCAL_ADMIN_USER:-mysql}" "" "$(server_socket)")
  if server_answers "$admin"; then
    ! server_answers "$current"
  else
    [[ $(root_password_option_file) == */client-root-previous.cnf ]]
  fi
}

root_password_option_file() { # root@localhost over the socket, with the root password that works; prints its path
  # The Secret's current root password opens the data unless a rotation is on its way: the primary's sidecar
  # applies it (ALTER USER), replicas receive it by replication. Meanwhile the candidates remembered on the
  # data volume do: the last password that worked, then the Secret's that was refused while it worked (an
  # ALTER USER may have applied it since, and the Secret may have moved on again). Each successful login
  # updates them, so they follow every password the data takes on; the Secret's password that works removes
  # the pending one. A pod restarted at any moment of a rotation thus still logs in to its own data.
  require_env MYSQL_ROOT_PASSWORD RUN_DIR DATA_ROOT
  local current last pending candidate options
  current=$(client_option_file root root "$MYSQL_ROOT_PASSWORD" "$(server_socket)")
  last=$(remembered_root_password "$LAST_ROOT_PASSWORD_FILE_NAME")
  if [[ $last == "$MYSQL_ROOT_PASSWORD" ]]; then
    printf '%s' "$current"
    return 0
  fi
  if server_answers "$current"; then
    remember_root_password "$LAST_ROOT_PASSWORD_FILE_NAME" "$MYSQL_ROOT_PASSWORD"
    remember_root_password "$PENDING_ROOT_PASSWORD_FILE_NAME" ""
    printf '%s' "$current"
    return 0
  fi
  pending=$(remembered_root_password "$PENDING_ROOT_PASSWORD_FILE_NAME")
  for candidate in "$last" "$pending"; do
    [[ -n $candidate && $candidate != "$MYSQL_ROOT_PASSWORD" ]] || continue
    options=$(client_option_file root-previous root "$candidate" "$(server_socket)")
    server_answers "$options" || continue
    # This one opens the data now; the Secret's may be applied to it next (the order keeps, at every
    # moment, the password the data has among the files).
    [[ $candidate == "$last" ]] || remember_root_password "$LAST_ROOT_PASSWORD_FILE_NAME" "$candidate"
    [[ $pending == "$MYSQL_ROOT_PASSWORD" ]] ||
      remember_root_password "$PENDING_ROOT_PASSWORD_FILE_NAME" "$MYSQL_ROOT_PASSWORD"
    printf '%s' "$options"
    return 0
  done
  printf '%s' "$current" # none works (the server is down or starting): its error says why
}

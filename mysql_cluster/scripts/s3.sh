# shellcheck shell=bash disable=SC2034 # S3_PARTS is read by the caller (the manifest)
# Sourced by backup-upload.sh (never run): a small S3 client over `curl --aws-sigv4` (curl >= 7.75), path-style
# URLs (<endpoint>/<bucket>/<key>), every request signed, every payload's SHA-256 signed with it (the store
# checks it). The credentials reach curl only through a private config file (mode 0600 in $RUN_DIR, `-K`):
# never a command line, never an environment variable.
#   S3_ENDPOINT          http(s)://host[:port] of the store
#   S3_BUCKET            the bucket
#   S3_REGION            the signing region (default us-east-1)
#   S3_CREDENTIALS_DIR   a directory (the mounted Secret) with the files access-key-id and secret-access-key
#   S3_CA_FILE           optional: the CA bundle that verifies an https endpoint
#   S3_PART_SIZE         bytes per part of a streamed upload (default 64 MiB: 10,000 parts hold 625 GiB; S3
#                        refuses parts under 5 MiB except the last); one part at a time is spooled to $RUN_DIR
#   S3_MAX_RATE          optional: curl's --limit-rate per request (e.g. 50M), sparing the pod's network

S3_MIN_PART_SIZE=$((5 * 1024 * 1024))
# Set by the functions below: the curl config (s3_init), why the last request failed, the multipart upload in
# progress, and what s3_put_stream uploaded.
S3_CURL_CONFIG=''
S3_ERROR=''
S3_UPLOAD_ID=''
S3_UPLOADED_BYTES=0
S3_PARTS=0

s3_init() { # checks the settings and writes the private curl config; sets S3_CURL_CONFIG
  require_env S3_ENDPOINT S3_BUCKET S3_CREDENTIALS_DIR RUN_DIR
  local endpoint_pattern='^https?://[][A-Za-z0-9.:-]+$'
  [[ $S3_ENDPOINT =~ $endpoint_pattern ]] || die "S3_ENDPOINT='$S3_ENDPOINT' is not http(s)://host[:port]"
  [[ $S3_BUCKET =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "S3_BUCKET='$S3_BUCKET' is not a bucket name"
  S3_PART_SIZE=${S3_PART_SIZE:-$((64 * 1024 * 1024))}
  require_number S3_PART_SIZE
  ((S3_PART_SIZE >= S3_MIN_PART_SIZE)) || die "S3_PART_SIZE=$S3_PART_SIZE is below S3's minimum part ($S3_MIN_PART_SIZE)"
  local id secret file content
  for file in access-key-id secret-access-key; do
    [[ -r $S3_CREDENTIALS_DIR/$file ]] || die "$S3_CREDENTIALS_DIR/$file is missing or unreadable"
  done
  id=$(<"$S3_CREDENTIALS_DIR/access-key-id") secret=$(<"$S3_CREDENTIALS_DIR/secret-access-key")
  [[ -n $id && -n $secret ]] || die "the object store's credentials in $S3_CREDENTIALS_DIR are empty"
  # curl's config syntax: a double-quoted value with backslash escapes.
  id=${id//\\/\\\\} secret=${secret//\\/\\\\}
  content="# Written by $SCRIPT_NAME.sh: the object store's credentials (private to this pod)."
  content+=$'\n'"user = \"${id//\"/\\\"}:${secret//\"/\\\"}\""
  content+=$'\n'"aws-sigv4 = \"aws:amz:${S3_REGION:-us-east-1}:s3\""
  [[ -n ${S3_CA_FILE:-} ]] && content+=$'\n'"cacert = \"$S3_CA_FILE\""
  [[ -n ${S3_MAX_RATE:-} ]] && content+=$'\n'"limit-rate = \"$S3_MAX_RATE\""
  S3_CURL_CONFIG=$RUN_DIR/s3-curl.conf
  write_file_atomically "$S3_CURL_CONFIG" 0600 "$content"
}

s3_url() { # <key> [query]: the object's URL (keys are restricted to characters that need no escaping)
  [[ $1 =~ ^[A-Za-z0-9._/-]+$ && $1 != /* ]] || die "object key '$1' has characters this client does not escape"
  printf '%s/%s/%s%s' "$S3_ENDPOINT" "$S3_BUCKET" "$1" "${2:+?$2}"
}

s3_request() { # <method> <url> <payload file or ""> <response body file> [curl options...]: status 0 on 2xx
  # Prints nothing; on failure S3_ERROR says why (the HTTP status and the store's error code, or curl's error).
  local method=$1 url=$2 payload=$3 body=$4 hash code err
  shift 4
  if [[ -n $payload ]]; then
    hash=$(sha256sum <"$payload") || { S3_ERROR="cannot read $payload"; return 1; }
    hash=${hash%% *}
  else
    hash=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 # of nothing
    payload=/dev/null
  fi
  err=$(curl -K "$S3_CURL_CONFIG" --silent --show-error --request "$method" --upload-file "$payload" \
    --header "x-amz-content-sha256: $hash" --header 'Expect:' --output "$body" --write-out '%{http_code}' \
    --connect-timeout 10 --retry 3 --retry-all-errors "$@" -- "$url" 2>&1) && code=${err: -3} || code=
  if [[ $code == 2[0-9][0-9] ]]; then
    return 0
  fi
  if [[ -n $code ]]; then
    local text=''
    [[ -s $body ]] && text=$(head -c 2000 "$body")
    [[ $text =~ \<Code\>([^<]*)\</Code\> ]] && text=${BASH_REMATCH[1]} || text=''
    S3_ERROR="HTTP $code${text:+ ($text)} from $method $url"
  else
    S3_ERROR="curl failed for $method $url: $(one_line "$err")"
  fi
  return 1
}

s3_put_file() { # <key> <file>: uploads a small file (the manifest) in one request
  local body
  body=$(mktemp "$RUN_DIR/s3-body.XXXXXX")
  if ! s3_request PUT "$(s3_url "$1")" "$2" "$body"; then
    rm -f "$body"
    return 1
  fi
  rm -f "$body"
}

s3_delete() { # <key>: removes an object (absent is fine)
  local body status=0
  body=$(mktemp "$RUN_DIR/s3-body.XXXXXX")
  s3_request DELETE "$(s3_url "$1")" "" "$body" || status=1
  rm -f "$body"
  return "$status"
}

s3_get() { # <key> <file>: downloads an object into a file
  local body status=0
  body=$(mktemp "$RUN_DIR/s3-body.XXXXXX")
  s3_request GET "$(s3_url "$1")" "" "$2" || status=1
  rm -f "$body"
  return "$status"
}

# A streamed upload of unknown size (S3 multipart): one part at a time is read from stdin into a spool file in
# $RUN_DIR, uploaded with its signed SHA-256, and replaced by the next; the object exists only once
# CompleteMultipartUpload succeeded. S3_UPLOAD_ID names an upload in progress (s3_abort_upload drops it).
s3_put_stream() { # <key>: stdin -> the object; sets S3_UPLOADED_BYTES and S3_PARTS
  local key=$1 work size part=0 etag parts_xml=''
  work=$(mktemp -d "$RUN_DIR/s3-upload.XXXXXX")
  S3_UPLOADED_BYTES=0 S3_PARTS=0 S3_UPLOAD_ID=''
  if ! s3_request POST "$(s3_url "$key" uploads=)" "" "$work/body"; then
    rm -rf "$work"
    return 1
  fi
  [[ $(<"$work/body") =~ \<UploadId\>([^<]+)\</UploadId\> ]] || {
    S3_ERROR="no UploadId in the answer to CreateMultipartUpload of $key"
    rm -rf "$work"
    return 1
  }
  S3_UPLOAD_ID=${BASH_REMATCH[1]}
  while :; do
    head -c "$S3_PART_SIZE" >"$work/part" || { S3_ERROR="reading the stream failed"; break; }
    size=$(stat -c %s "$work/part")
    ((size > 0 || part == 0)) || { part=-1; break; }
    part=$((part + 1))
    if ! s3_request PUT "$(s3_url "$key" "partNumber=$part&uploadId=$S3_UPLOAD_ID")" "$work/part" "$work/body" \
      --dump-header "$work/headers"; then
      break
    fi
    etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\([^[:space:]]*\).*$/\1/p' "$work/headers")
    [[ -n $etag ]] || { S3_ERROR="no ETag in the answer to part $part of $key"; break; }
    parts_xml+="<Part><PartNumber>$part</PartNumber><ETag>$etag</ETag></Part>"
    S3_UPLOADED_BYTES=$((S3_UPLOADED_BYTES + size))
    S3_PARTS=$part
    ((size == S3_PART_SIZE)) || { part=-1; break; }
  done
  if ((part != -1)); then
    rm -rf "$work"
    return 1
  fi
  printf '<CompleteMultipartUpload>%s</CompleteMultipartUpload>' "$parts_xml" >"$work/complete.xml"
  # S3 may answer 200 and still fail: only a CompleteMultipartUploadResult is success.
  if ! s3_request POST "$(s3_url "$key" "uploadId=$S3_UPLOAD_ID")" "$work/complete.xml" "$work/body" ||
    ! grep -q '<CompleteMultipartUploadResult' "$work/body"; then
    S3_ERROR=${S3_ERROR:-"CompleteMultipartUpload of $key failed: $(head -c 300 "$work/body")"}
    rm -rf "$work"
    return 1
  fi
  S3_UPLOAD_ID=
  rm -rf "$work"
}

s3_abort_upload() { # <key>: drops the multipart upload in progress, if any (its parts are deleted)
  [[ -n ${S3_UPLOAD_ID:-} ]] || return 0
  local body
  body=$(mktemp "$RUN_DIR/s3-body.XXXXXX")
  s3_request DELETE "$(s3_url "$1" "uploadId=$S3_UPLOAD_ID")" "" "$body" || true
  rm -f "$body"
  S3_UPLOAD_ID=
}

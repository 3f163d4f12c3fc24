#!/usr/bin/env bash
# A Samba 4 Active Directory domain controller on loopback for the tests and for anyone trying the AD
# target.
#
#   . scripts/start-samba.sh && start_samba      # exports POSTERN_TEST_AD_*; stop_samba when done
#   scripts/start-samba.sh                       # starts it and prints the export lines
#
# Realm POSTERN.TEST, base DC=postern,DC=test, listening on POSTERN_SAMBA_IP (127.0.0.1; any other
# loopback address such as 127.0.0.7 lets two instances run side by side) with LDAPS on 636. A
# throwaway CA (<dir>/private/tls/ca.pem) signs the server certificate (IP SAN). The domain has
# OU=PosternUsers and a service account postern-agent (CN=Users) delegated on that OU: Reset Password,
# Change Password, write lockoutTime and pwdLastSet on user objects (samba-tool dsacl). Domain password
# settings: min-pwd-age 0, history 24, complexity on, min length 7.
#
# Provisioning takes several seconds, so a provisioned, configured template is cached under
# /tmp/postern-samba-template-v1 (root only) and copied for each start. Delete it to re-provision.
_postern_samba_caller_opts=$(set +o)
set -euo pipefail

POSTERN_SAMBA_TEMPLATE=${POSTERN_SAMBA_TEMPLATE:-/tmp/postern-samba-template-v1}

# _postern_samba_tls <tlsdir> <ip>: ca.pem + ca.key, cert.pem + key.pem (Samba's default names)
_postern_samba_tls() {
  local dir=$1 ip=$2
  mkdir -p "$dir"
  rm -f "$dir"/*.pem
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Postern test AD CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=dc.postern.test" -keyout "$dir/key.pem" -out "$dir/cert.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s,DNS:localhost,DNS:dc.postern.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$ip" >"$dir/cert.ext"
  openssl x509 -req -in "$dir/cert.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
    -extfile "$dir/cert.ext" -out "$dir/cert.pem" 2>/dev/null
  chmod 600 "$dir/key.pem" "$dir/ca.key"
}

_postern_samba_provision() {
  local tpl=$1 tmp admin_pw svc_pw sam sid base="DC=postern,DC=test"
  tmp=$(mktemp -d "$tpl.tmp.XXXXXX")
  admin_pw="Adm1n-$(openssl rand -hex 10)"
  svc_pw="Agent-$(openssl rand -hex 10)"
  samba-tool domain provision --targetdir="$tmp" --realm=POSTERN.TEST --domain=POSTERN \
    --server-role=dc --dns-backend=NONE --adminpass="$admin_pw" --use-rfc2307 \
    --option="interfaces=lo" --option="bind interfaces only=yes" >"$tmp/provision.log" 2>&1
  sam="tdb://$tmp/private/sam.ldb"
  samba-tool domain passwordsettings set -H "$sam" --min-pwd-age=0 --history-length=24 \
    --complexity=on --min-pwd-length=7 >/dev/null
  samba-tool ou create "OU=PosternUsers,$base" -H "$sam" >/dev/null
  samba-tool user create postern-agent "$svc_pw" -H "$sam" --description="Postern writeback agent" >/dev/null
  sid=$(samba-tool user show postern-agent -H "$sam" --attributes=objectSid | awk '/^objectSid:/{print $2}')
  # on user objects (bf967aba…) below the OU: Reset Password, Change Password, write lockoutTime, write pwdLastSet
  local user_class=bf967aba-0de6-11d0-a285-00aa003049e2 ace
  for ace in "CR;00299570-246d-11d0-a768-00aa006e0529" "CR;ab721a53-1e2f-11d0-9819-00aa0040529b" \
    "WP;28630ebf-41d5-11d1-a9c1-0000f80367c1" "WP;bf967a0a-0de6-11d0-a285-00aa003049e2"; do
    samba-tool dsacl set -H "$sam" --objectdn="OU=PosternUsers,$base" --action=allow \
      --sddl="(OA;CIIO;${ace};${user_class};${sid})" >/dev/null
  done
  printf 'ADMIN_PASSWORD=%q\nSERVICE_PASSWORD=%q\nTEMPLATE_DIR=%q\n' "$admin_pw" "$svc_pw" "$tmp" >"$tmp/postern.env"
  chmod 600 "$tmp/postern.env"
  rm -rf "$tpl"
  mv "$tmp" "$tpl"
}

start_samba() {
  local -
  set -euo pipefail
  if ! command -v samba >/dev/null 2>&1 && [ ! -x /usr/sbin/samba ]; then
    echo "start-samba: samba is not installed (apt-get install samba winbind krb5-user ldap-utils)" >&2
    return 1
  fi
  local ip=${POSTERN_SAMBA_IP:-127.0.0.1} root=${POSTERN_SERVICES_DIR:-}
  [ -n "$root" ] || root=$(mktemp -d /tmp/postern-samba.XXXXXX)
  local dir="$root/samba"
  if [ ! -f "$POSTERN_SAMBA_TEMPLATE/postern.env" ]; then
    # one provisioning at a time when several test runs start together
    (
      umask 077
      flock 9
      [ -f "$POSTERN_SAMBA_TEMPLATE/postern.env" ] || _postern_samba_provision "$POSTERN_SAMBA_TEMPLATE"
    ) 9>"$POSTERN_SAMBA_TEMPLATE.lock"
  fi
  local ADMIN_PASSWORD SERVICE_PASSWORD TEMPLATE_DIR
  # shellcheck disable=SC1091
  . "$POSTERN_SAMBA_TEMPLATE/postern.env"
  rm -rf "$dir"
  cp -a "$POSTERN_SAMBA_TEMPLATE" "$dir"
  # the provisioned paths point into the folder it was provisioned in
  sed -i "s#$TEMPLATE_DIR#$dir#g; s#^\(\s*interfaces\s*=\).*#\1 $ip/8#" "$dir/etc/smb.conf"
  # pid file and sockets of our own, so that another Samba on this machine does not stop ours;
  # "old password allowed period = 0": a replaced password stops binding at once (the default keeps
  # it valid for 60 minutes, which would hide a failed reset from the tests)
  mkdir -p "$dir/run/ncalrpc" "$dir/run/winbindd"
  sed -i "s#^\[global\]\$#[global]\n\tpid directory = $dir/run\n\tncalrpc dir = $dir/run/ncalrpc\n\twinbindd socket directory = $dir/run/winbindd\n\tntp signd socket directory = $dir/run/ntp_signd\n\told password allowed period = 0#" "$dir/etc/smb.conf"
  _postern_samba_tls "$dir/private/tls" "$ip"
  setsid samba -s "$dir/etc/smb.conf" -i -M single >"$dir/samba.log" 2>&1 </dev/null &
  echo $! >"$dir/postern-samba.pid"

  local i ok=""
  for i in $(seq 1 300); do
    # (Samba has no WhoAmI extended operation: read the base entry instead)
    if LDAPTLS_CACERT="$dir/private/tls/ca.pem" ldapsearch -x -H "ldaps://$ip:636" -D "postern-agent@postern.test" \
      -w "$SERVICE_PASSWORD" -b "DC=postern,DC=test" -s base dn >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$(cat "$dir/postern-samba.pid")" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$ok" ]; then
    echo "start-samba: Samba did not answer on ldaps://$ip:636; last log lines:" >&2
    tail -n 20 "$dir/samba.log" >&2
    cp "$dir/samba.log" "$root/samba-failed.log" 2>/dev/null || true
    POSTERN_SAMBA_DIR=$dir stop_samba
    [ -n "${POSTERN_SERVICES_DIR:-}" ] || echo "start-samba: log kept in $root/samba-failed.log" >&2
    return 1
  fi

  export POSTERN_SAMBA_DIR=$dir
  export POSTERN_TEST_AD_URL="ldaps://$ip:636"
  export POSTERN_TEST_AD_CA="$dir/private/tls/ca.pem"
  export POSTERN_TEST_AD_BASE="DC=postern,DC=test"
  export POSTERN_TEST_AD_ADMIN="Administrator@postern.test"
  export POSTERN_TEST_AD_ADMIN_PASSWORD="$ADMIN_PASSWORD"
  export POSTERN_TEST_AD_SERVICE_DN="CN=postern-agent,CN=Users,DC=postern,DC=test"
  export POSTERN_TEST_AD_SERVICE_PASSWORD="$SERVICE_PASSWORD"
  echo "start-samba: $(samba --version) AD DC on $ip (LDAPS 636)" >&2
}

stop_samba() {
  local dir=${POSTERN_SAMBA_DIR:-}
  [ -n "$dir" ] || return 0
  if [ -f "$dir/postern-samba.pid" ]; then
    local pid
    pid=$(cat "$dir/postern-samba.pid")
    # setsid made samba a process-group leader: its smbd / winbindd children go with it
    kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  unset POSTERN_SAMBA_DIR
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  start_samba
  env | grep '^POSTERN_TEST_AD_\|^POSTERN_SAMBA_DIR=' | sed 's/^/export /'
else
  eval "$_postern_samba_caller_opts"
fi

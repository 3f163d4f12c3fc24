#!/usr/bin/env bash
# OpenLDAP (slapd 2.5 + ppolicy) on loopback for the tests and for anyone trying the OpenLDAP target.
#
#   . scripts/start-slapd.sh && start_slapd      # exports POSTERN_TEST_SLAPD_*; stop_slapd when done
#   scripts/start-slapd.sh                       # starts it and prints the export lines
#
# Works in $POSTERN_SERVICES_DIR (else its own mktemp folder). Ports: POSTERN_SLAPD_LDAP_PORT (3389,
# StartTLS) and POSTERN_SLAPD_LDAPS_PORT (3636). TLS: a throwaway CA (ca.pem) signs a server
# certificate for IP:127.0.0.1 / DNS:localhost. Base dc=example,dc=test with ou=people, ou=groups,
# ou=services and ou=policies; cn=default is the ppolicy default (pwdMinLength 10, pwdInHistory 3,
# pwdCheckQuality 2, pwdMaxFailure 5, pwdLockout TRUE, pwdMinAge 0). cn=postern-agent,ou=services is a
# non-root service account that may reset passwords, set pwdReset / pwdAccountLockedTime under
# ou=people and read everything including userPassword (password hash sync).
_postern_slapd_caller_opts=$(set +o)
set -euo pipefail

# _postern_make_tls <dir> <ip>: <dir>/ca.pem + ca.key, <dir>/tls.crt + tls.key for IP <ip>
_postern_make_tls() {
  local dir=$1 ip=$2
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Postern test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$ip" -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$ip" >"$dir/tls.ext"
  openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
    -extfile "$dir/tls.ext" -out "$dir/tls.crt" 2>/dev/null
  chmod 600 "$dir/tls.key" "$dir/ca.key"
}

start_slapd() {
  local -
  set -euo pipefail
  if ! command -v slapd >/dev/null 2>&1 && [ ! -x /usr/sbin/slapd ]; then
    echo "start-slapd: slapd is not installed (apt-get install slapd ldap-utils)" >&2
    return 1
  fi
  local root=${POSTERN_SERVICES_DIR:-}
  [ -n "$root" ] || root=$(mktemp -d /tmp/postern-slapd.XXXXXX)
  local dir="$root/slapd" ldap_port=${POSTERN_SLAPD_LDAP_PORT:-3389} ldaps_port=${POSTERN_SLAPD_LDAPS_PORT:-3636}
  local base="dc=example,dc=test" admin_pw svc_pw
  admin_pw="Adm-$(openssl rand -hex 12)"
  svc_pw="Svc-$(openssl rand -hex 12)"
  mkdir -p "$dir/db"
  _postern_make_tls "$dir" 127.0.0.1

  cat >"$dir/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
TLSCACertificateFile $dir/ca.pem
TLSCertificateFile $dir/tls.crt
TLSCertificateKeyFile $dir/tls.key
password-hash {SSHA}
sizelimit unlimited

database mdb
maxsize 268435456
suffix "$base"
rootdn "cn=admin,$base"
rootpw $admin_pw
directory $dir/db
index objectClass,entryUUID eq
index uid,mail,cn eq
index member eq

overlay ppolicy
ppolicy_default "cn=default,ou=policies,$base"
ppolicy_use_lockout
ppolicy_hash_cleartext

access to dn.subtree="ou=people,$base" attrs=userPassword
  by dn.exact="cn=postern-agent,ou=services,$base" write
  by self write
  by anonymous auth
  by * none
access to dn.subtree="ou=people,$base" attrs=pwdReset,pwdAccountLockedTime
  by dn.exact="cn=postern-agent,ou=services,$base" write
  by * read
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to * by * read
EOF

  cat >"$dir/seed.ldif" <<EOF
dn: $base
objectClass: dcObject
objectClass: organization
dc: example
o: Postern test

dn: ou=people,$base
objectClass: organizationalUnit
ou: people

dn: ou=groups,$base
objectClass: organizationalUnit
ou: groups

dn: ou=services,$base
objectClass: organizationalUnit
ou: services

dn: ou=policies,$base
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$base
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: 10
pwdInHistory: 3
pwdCheckQuality: 2
pwdMaxFailure: 5
pwdLockout: TRUE
pwdMinAge: 0

dn: cn=postern-agent,ou=services,$base
objectClass: person
objectClass: simpleSecurityObject
cn: postern-agent
sn: postern-agent
userPassword: $(slappasswd -s "$svc_pw")
EOF
  slapadd -q -f "$dir/slapd.conf" -l "$dir/seed.ldif" >/dev/null
  slapd -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$ldap_port/ ldaps://127.0.0.1:$ldaps_port/"

  local i
  for i in $(seq 1 100); do
    if LDAPTLS_CACERT="$dir/ca.pem" ldapwhoami -x -H "ldaps://127.0.0.1:$ldaps_port" \
      -D "cn=postern-agent,ou=services,$base" -w "$svc_pw" >/dev/null 2>&1; then break; fi
    if [ "$i" = 100 ]; then echo "start-slapd: slapd did not answer on ldaps://127.0.0.1:$ldaps_port" >&2; return 1; fi
    sleep 0.1
  done

  POSTERN_SLAPD_DIR=$dir
  export POSTERN_SLAPD_DIR
  export POSTERN_TEST_SLAPD_URL="ldaps://127.0.0.1:$ldaps_port"
  export POSTERN_TEST_SLAPD_STARTTLS_URL="ldap://127.0.0.1:$ldap_port"
  export POSTERN_TEST_SLAPD_CA="$dir/ca.pem"
  export POSTERN_TEST_SLAPD_BASE="$base"
  export POSTERN_TEST_SLAPD_ADMIN_DN="cn=admin,$base"
  export POSTERN_TEST_SLAPD_ADMIN_PASSWORD="$admin_pw"
  export POSTERN_TEST_SLAPD_SERVICE_DN="cn=postern-agent,ou=services,$base"
  export POSTERN_TEST_SLAPD_SERVICE_PASSWORD="$svc_pw"
  echo "start-slapd: slapd $(slapd -VV 2>&1 | awk 'NR==1{print $4}') on 127.0.0.1:$ldap_port (StartTLS) and :$ldaps_port (LDAPS)" >&2
}

stop_slapd() {
  local dir=${POSTERN_SLAPD_DIR:-}
  [ -n "$dir" ] || return 0
  if [ -f "$dir/slapd.pid" ]; then
    local pid
    pid=$(cat "$dir/slapd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  unset POSTERN_SLAPD_DIR
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  start_slapd
  env | grep '^POSTERN_TEST_SLAPD_\|^POSTERN_SLAPD_DIR=' | sed 's/^/export /'
else
  eval "$_postern_slapd_caller_opts"
fi

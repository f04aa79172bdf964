#!/bin/sh
# Renders the edge proxy's nginx configuration from the operator's Secret and the environment.
# POSIX sh (runs in the nginx image's busybox/dash shell); needs envsubst (gettext) and sed.
#
# The Secret is read from SECRET_DIR (a mounted Secret volume: one file per key):
#   cname-api-key, origin-domain-name, domain, and mtls-domain (optional: renders edge-mtls.conf)
# Environment (defaults in brackets):
#   CLIENT_IP_HEADER     header Auth0 reads the client IP from (the domain's customClientIPHeader)
#                        [true-client-ip]; "x-forwarded-for" or "" means X-Forwarded-For only
#   HTTP_PORT/HTTPS_PORT listeners, [address:]port [8080/8443]
#   TLS_CERT_FILE/TLS_KEY_FILE  certificate for domain and mtls.<domain> [/etc/auth0-edge/tls/tls.crt|.key]
#   UPSTREAM_CA_FILE     CAs trusted for Auth0's origin [/etc/ssl/certs/ca-certificates.crt]
#   RESOLVER             DNS server for the origin name [first nameserver in /etc/resolv.conf]
#   EDGE_UPSTREAM        host:port to connect to [<origin-domain-name>:443]; tests point it elsewhere
#   TRUSTED_PROXY_CIDRS  comma-separated load balancers whose X-Forwarded-For is believed [none]
#   MTLS_CA_FILE         CA bundle that makes client-certificate-ca-verified SUCCESS [none]
#   TEMPLATE_DIR         where the *.template files are [this script's directory]
#   OUT_DIR              output: nginx.conf, conf.d/{edge.conf,edge-mtls.conf,auth0-origin.inc}, and
#                        nginx's pid and temp files at run time [/tmp/nginx]
# The key is never printed. Exit status 1 with a message on any invalid input.
set -eu

fail() {
    echo "render: $*" >&2
    exit 1
}

SECRET_DIR=${SECRET_DIR:-/etc/auth0-edge/secret}
TEMPLATE_DIR=${TEMPLATE_DIR:-$(dirname "$0")}
OUT_DIR=${OUT_DIR:-/tmp/nginx}

# Reads one Secret key; empty when absent (and allowed to be).
secret() {
    if [ -f "$SECRET_DIR/$1" ]; then
        # Secret values written by hand often end with a newline; strip CR/LF.
        tr -d '\r\n' <"$SECRET_DIR/$1"
    fi
}

CNAME_API_KEY=$(secret cname-api-key)
ORIGIN_DOMAIN_NAME=$(secret origin-domain-name)
DOMAIN=$(secret domain)
MTLS_DOMAIN=$(secret mtls-domain)

[ -n "$CNAME_API_KEY" ] || fail "$SECRET_DIR/cname-api-key is missing or empty (is the domain verified?)"
[ -n "$ORIGIN_DOMAIN_NAME" ] || fail "$SECRET_DIR/origin-domain-name is missing or empty"
[ -n "$DOMAIN" ] || fail "$SECRET_DIR/domain is missing or empty"

# Values end up inside nginx directives: allow only characters that cannot break out of them.
matches() {
    printf '%s' "$1" | grep -Eq "$2"
}
host_re='^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$'
matches "$CNAME_API_KEY" '^[A-Za-z0-9._~+/=-]+$' || fail "cname-api-key has characters outside [A-Za-z0-9._~+/=-]"
matches "$ORIGIN_DOMAIN_NAME" "$host_re" || fail "origin-domain-name is not a host name: $ORIGIN_DOMAIN_NAME"
matches "$DOMAIN" "$host_re" || fail "domain is not a host name: $DOMAIN"
if [ -n "$MTLS_DOMAIN" ]; then
    matches "$MTLS_DOMAIN" "$host_re" || fail "mtls-domain is not a host name: $MTLS_DOMAIN"
fi

HTTP_PORT=${HTTP_PORT:-8080}
HTTPS_PORT=${HTTPS_PORT:-8443}
listen_re='^([0-9.]+:|\[[0-9A-Fa-f:]+\]:)?[0-9]{1,5}$'
matches "$HTTP_PORT" "$listen_re" || fail "HTTP_PORT is not [address:]port: $HTTP_PORT"
matches "$HTTPS_PORT" "$listen_re" || fail "HTTPS_PORT is not [address:]port: $HTTPS_PORT"
TLS_CERT_FILE=${TLS_CERT_FILE:-/etc/auth0-edge/tls/tls.crt}
TLS_KEY_FILE=${TLS_KEY_FILE:-/etc/auth0-edge/tls/tls.key}
UPSTREAM_CA_FILE=${UPSTREAM_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}
EDGE_UPSTREAM=${EDGE_UPSTREAM:-$ORIGIN_DOMAIN_NAME:443}
CONF_DIR=$OUT_DIR/conf.d
for path in "$TLS_CERT_FILE" "$TLS_KEY_FILE" "$UPSTREAM_CA_FILE" "$OUT_DIR"; do
    matches "$path" '^[A-Za-z0-9_./-]+$' || fail "path with unexpected characters: $path"
done
matches "$EDGE_UPSTREAM" '^[A-Za-z0-9.-]+:[0-9]{1,5}$' || fail "EDGE_UPSTREAM is not host:port: $EDGE_UPSTREAM"

if [ -z "${RESOLVER:-}" ]; then
    RESOLVER=$(sed -n 's/^[[:space:]]*nameserver[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' /etc/resolv.conf 2>/dev/null | head -n 1)
    [ -n "$RESOLVER" ] || fail "no RESOLVER and no nameserver in /etc/resolv.conf"
    # nginx wants IPv6 addresses in brackets.
    case $RESOLVER in *:*) RESOLVER="[$RESOLVER]" ;; esac
fi
matches "$RESOLVER" '^[][A-Za-z0-9.:-]+$' || fail "RESOLVER has unexpected characters: $RESOLVER"

CLIENT_IP_HEADER=$(printf '%s' "${CLIENT_IP_HEADER-true-client-ip}" | tr 'A-Z' 'a-z')
case $CLIENT_IP_HEADER in
    "" | x-forwarded-for)
        # X-Forwarded-For is always set; a second directive for it would send the header twice.
        CLIENT_IP_DIRECTIVE="# client IP: X-Forwarded-For only"
        ;;
    *)
        matches "$CLIENT_IP_HEADER" '^[a-z0-9-]+$' || fail "CLIENT_IP_HEADER is not a header name: $CLIENT_IP_HEADER"
        CLIENT_IP_DIRECTIVE="proxy_set_header $CLIENT_IP_HEADER \$remote_addr;"
        ;;
esac

# Client-IP headers other than the configured one are emptied (not forwarded): a client could
# otherwise name any address in a header Auth0 or a later hop might believe.
for h in true-client-ip x-real-ip cf-connecting-ip x-client-ip x-cluster-client-ip fastly-client-ip forwarded; do
    [ "$h" = "$CLIENT_IP_HEADER" ] && continue
    CLIENT_IP_DIRECTIVE="$CLIENT_IP_DIRECTIVE
proxy_set_header $h \"\";"
done

REAL_IP_DIRECTIVES="# no trusted proxies in front: \$remote_addr is the client"
if [ -n "${TRUSTED_PROXY_CIDRS:-}" ]; then
    REAL_IP_DIRECTIVES="real_ip_header X-Forwarded-For;
real_ip_recursive on;"
    old_ifs=$IFS
    IFS=,
    for cidr in $TRUSTED_PROXY_CIDRS; do
        matches "$cidr" '^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$' || fail "TRUSTED_PROXY_CIDRS entry is not an address/CIDR: $cidr"
        REAL_IP_DIRECTIVES="$REAL_IP_DIRECTIVES
set_real_ip_from $cidr;"
    done
    IFS=$old_ifs
fi

MTLS_CA_DIRECTIVE="# no MTLS_CA_FILE: every client certificate is forwarded as not CA-verified"
if [ -n "${MTLS_CA_FILE:-}" ]; then
    matches "$MTLS_CA_FILE" '^[A-Za-z0-9_./-]+$' || fail "path with unexpected characters: $MTLS_CA_FILE"
    MTLS_CA_DIRECTIVE="ssl_client_certificate $MTLS_CA_FILE;"
fi

export CNAME_API_KEY ORIGIN_DOMAIN_NAME DOMAIN MTLS_DOMAIN HTTP_PORT HTTPS_PORT TLS_CERT_FILE \
    TLS_KEY_FILE UPSTREAM_CA_FILE EDGE_UPSTREAM OUT_DIR CONF_DIR RESOLVER CLIENT_IP_DIRECTIVE \
    REAL_IP_DIRECTIVES MTLS_CA_DIRECTIVE
# Only these names are substituted; nginx's own $variables stay as they are.
vars='${CNAME_API_KEY} ${ORIGIN_DOMAIN_NAME} ${DOMAIN} ${MTLS_DOMAIN} ${HTTP_PORT} ${HTTPS_PORT}
${TLS_CERT_FILE} ${TLS_KEY_FILE} ${UPSTREAM_CA_FILE} ${EDGE_UPSTREAM} ${OUT_DIR} ${CONF_DIR} ${RESOLVER}
${CLIENT_IP_DIRECTIVE} ${REAL_IP_DIRECTIVES} ${MTLS_CA_DIRECTIVE}'

mkdir -p "$CONF_DIR"
# The rendered files hold the key: readable by the rendering user (nginx's master) only.
umask 077
render_one() { # TEMPLATE OUTPUT
    envsubst "$vars" <"$TEMPLATE_DIR/$1.template" >"$2.tmp"
    mv "$2.tmp" "$2"
}
render_one nginx.conf "$OUT_DIR/nginx.conf"
render_one auth0-origin.inc "$CONF_DIR/auth0-origin.inc"
render_one edge.conf "$CONF_DIR/edge.conf"
if [ -n "$MTLS_DOMAIN" ]; then
    render_one edge-mtls.conf "$CONF_DIR/edge-mtls.conf"
else
    rm -f "$CONF_DIR/edge-mtls.conf"
fi
echo "render: $DOMAIN -> $ORIGIN_DOMAIN_NAME via $EDGE_UPSTREAM (resolver $RESOLVER)${MTLS_DOMAIN:+, mTLS on $MTLS_DOMAIN}, client IP header ${CLIENT_IP_HEADER:-x-forwarded-for}"

#!/bin/sh
# Runs the edge proxy: renders the nginx configuration (render.sh), starts nginx, and follows
# changes of the mounted Secrets without a restart. POSIX sh (busybox in nginx:alpine, dash).
#
# Every WATCH_INTERVAL seconds it fingerprints the operator's Secret (SECRET_DIR: the key,
# origin, domain, mtls-domain files) and the TLS certificate and key. kubelet updates a mounted
# Secret by swapping its `..data` symlink atomically; the files are read through it, so the new
# values show up as a new fingerprint. Then:
#   - the Secret changed: render.sh runs again; nginx is reloaded (SIGHUP to the master, what
#     `nginx -s reload` sends) only when the rendered files differ and `nginx -t` accepts them.
#     An invalid Secret (render.sh refuses it) or a config nginx refuses leaves the running
#     configuration in place and is logged.
#   - the TLS certificate or key changed (cert-manager renewal): nginx -t, then reload.
# The nginx master keeps its PID across reloads; connections in flight finish on the old workers.
# SIGTERM/SIGINT stop nginx gracefully (SIGQUIT); if nginx exits, this script exits with its status.
#
# Environment: everything render.sh reads, plus
#   WATCH_INTERVAL  seconds between checks [5] (fractions work with GNU and busybox sleep)
#   NGINX           nginx binary [nginx]
# The key is never printed.
set -u

SECRET_DIR=${SECRET_DIR:-/etc/auth0-edge/secret}
TEMPLATE_DIR=${TEMPLATE_DIR:-$(dirname "$0")}
OUT_DIR=${OUT_DIR:-/tmp/nginx}
TLS_CERT_FILE=${TLS_CERT_FILE:-/etc/auth0-edge/tls/tls.crt}
TLS_KEY_FILE=${TLS_KEY_FILE:-/etc/auth0-edge/tls/tls.key}
WATCH_INTERVAL=${WATCH_INTERVAL:-5}
NGINX=${NGINX:-nginx}
export SECRET_DIR TEMPLATE_DIR OUT_DIR TLS_CERT_FILE TLS_KEY_FILE

log() {
    echo "watch: $*" >&2
}

# Fingerprints: md5sum (busybox and coreutils) of the contents, and of the file names, so a key
# that appears or goes counts too.
secret_sum() {
    { ls "$SECRET_DIR" && cat "$SECRET_DIR"/*; } 2>/dev/null | md5sum
}
tls_sum() {
    cat "$TLS_CERT_FILE" "$TLS_KEY_FILE" 2>/dev/null | md5sum
}
rendered_sum() {
    { ls "$OUT_DIR/conf.d" && cat "$OUT_DIR/nginx.conf" "$OUT_DIR"/conf.d/*; } 2>/dev/null | md5sum
}

nginx_test() {
    "$NGINX" -e stderr -t -q -p "$OUT_DIR/" -c "$OUT_DIR/nginx.conf"
}

sh "$TEMPLATE_DIR/render.sh" || exit 1
"$NGINX" -e stderr -p "$OUT_DIR/" -c "$OUT_DIR/nginx.conf" &
nginx_pid=$!

stop() {
    log "received $1: stopping nginx gracefully"
    kill -QUIT "$nginx_pid" 2>/dev/null
    wait "$nginx_pid"
    exit 0
}
trap 'stop TERM' TERM
trap 'stop INT' INT

reload() {
    if nginx_test; then
        log "$1: reloading nginx (master $nginx_pid)"
        kill -HUP "$nginx_pid"
    else
        log "$1: nginx -t refused the new configuration; still serving the previous one"
    fi
}

secret_now=$(secret_sum)
tls_now=$(tls_sum)
log "nginx master $nginx_pid; watching $SECRET_DIR and the TLS files every ${WATCH_INTERVAL}s"
while :; do
    # In the background so a signal is handled at once, not after the sleep.
    sleep "$WATCH_INTERVAL" &
    wait $!
    if ! kill -0 "$nginx_pid" 2>/dev/null; then
        wait "$nginx_pid"
        status=$?
        log "nginx exited with status $status"
        exit "$status"
    fi
    secret_new=$(secret_sum)
    if [ "$secret_new" != "$secret_now" ]; then
        secret_now=$secret_new
        before=$(rendered_sum)
        if sh "$TEMPLATE_DIR/render.sh"; then
            if [ "$(rendered_sum)" != "$before" ]; then
                reload "Secret changed"
            else
                log "Secret changed, rendered configuration did not: no reload"
            fi
        else
            log "Secret changed but render.sh refused it; still serving the previous configuration"
        fi
    fi
    tls_new=$(tls_sum)
    if [ "$tls_new" != "$tls_now" ]; then
        tls_now=$tls_new
        reload "TLS certificate changed"
    fi
done

#!/usr/bin/env bash
# Serves the same corpus tree with `trawl serve` and with nginx (config from
# `trawl serve --print-nginx-config`) on loopback and checks both give the same bytes and the same
# Content-Type for every file of every host (plus 404 for unknown hosts and missing files).
#
#   tests/scripts/nginx-parity.sh [CORPUS_DIR]
#
# Without CORPUS_DIR a small fixture (UTF-8 forum, windows-1251 forum, GBK news site) is built.
# Skips (exit 0) when nginx, curl or python3 is missing. Env TRAWL: the binary (default: cargo build).
set -euo pipefail

for tool in nginx curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool not installed"
        exit 0
    fi
done
NGINX=$(command -v nginx)

cd "$(dirname "$0")/../.."
if [[ -z "${TRAWL:-}" ]]; then
    cargo build --quiet
    TRAWL=target/debug/trawl
fi

WORK=$(mktemp -d)
SERVE_PID=""
cleanup() {
    [[ -n "$SERVE_PID" ]] && kill -INT "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
    [[ -f "$WORK/nginx/nginx.pid" ]] && kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

CORPUS=${1:-}
if [[ -z "$CORPUS" ]]; then
    CORPUS="$WORK/corpus"
    python3 - "$CORPUS" <<'PY'
import json, os, sys
root = sys.argv[1]
def write(rel, data):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
hosts = [("forum.test", "forum", "utf-8"), ("ru.test", "forum", "windows-1251"), ("zh.test", "news", "gbk")]
manifest = {"format": 1, "scenario": "nginx-parity", "scenario_sha256": "", "seed": 0, "posts": 0,
            "counts": {}, "tree_sha256": "",
            "hosts": [{"host": h, "kind": k, "charset": c, "entry_points": ["/"], "langs": [],
                       "files": 0, "posts": 0} for h, k, c in hosts]}
write("manifest.json", json.dumps(manifest).encode())
texts = {"utf-8": "Привет 你好 hello", "windows-1251": "Привет, форум! Ёжик", "gbk": "你好，论坛，新闻"}
for h, k, c in hosts:
    page = f'<!DOCTYPE html><html><head><meta charset="{c}"></head><body><p>{texts[c]}</p></body></html>'
    write(f"sites/{h}/index.html", page.encode(c))
    write(f"sites/{h}/topic/1/index.html", page.replace("<p>", '<div id="p1"><a href="/topic/1/#p1">1</a>').encode(c))
    write(f"sites/{h}/topic/1/page-2.html", page.encode(c))
    write(f"sites/{h}/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    write(f"sites/{h}/sitemap.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset></urlset>\n')
    write(f"sites/{h}/static/site.css", b"body { color: #333 }\n")
PY
fi
CORPUS=$(cd "$CORPUS" && pwd)

# trawl serve (no faults, no state file).
"$TRAWL" serve "$CORPUS" --no-provider-state >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 100); do
    grep -q '^listening on ' "$WORK/serve.out" 2>/dev/null && break
    sleep 0.1
done
TRAWL_ADDR=$(head -1 "$WORK/serve.out" | sed 's|^listening on http://||')
[[ -n "$TRAWL_ADDR" ]] || { echo "trawl serve did not start"; cat "$WORK/serve.err"; exit 1; }

# nginx on a free loopback port, everything under $WORK/nginx.
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
{
    [[ $(id -u) == 0 ]] && echo "user root;"
    echo "daemon on; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;"
    echo "events {}"
    echo "http {"
    echo "access_log off; client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;"
    echo "fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;"
    "$TRAWL" serve "$CORPUS" --addr "127.0.0.1:$NGINX_PORT" --print-nginx-config
    echo "}"
} >"$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -t -q
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
for _ in $(seq 50); do [[ -f "$WORK/nginx/nginx.pid" ]] && break; sleep 0.1; done

fetch() { # ADDR HOST PATH OUTFILE -> prints "status content-type"
    curl -s --noproxy '*' -o "$4" -w '%{http_code} %{content_type}' -H "Host: $2" "http://$1$3"
}

checked=0
failed=0
compare() { # HOST PATH [status-only]: files must match byte for byte; error pages by status
    local a b
    a=$(fetch "$TRAWL_ADDR" "$1" "$2" "$WORK/a")
    b=$(fetch "127.0.0.1:$NGINX_PORT" "$1" "$2" "$WORK/b")
    checked=$((checked + 1))
    if [[ -n "${3:-}" ]]; then
        a=${a%% *}
        b=${b%% *}
        : >"$WORK/a"
        : >"$WORK/b"
    fi
    if [[ "$a" != "$b" ]] || ! cmp -s "$WORK/a" "$WORK/b"; then
        failed=$((failed + 1))
        echo "DIFF $1$2: trawl [$a] nginx [$b]"
    fi
}

MAX_FILES=${MAX_FILES:-500}
# One line per request to compare: HOST<TAB>PATH<TAB>MODE (files, their directory URLs, 404s).
python3 - "$CORPUS" "$MAX_FILES" >"$WORK/paths" <<'PY'
import json, os, sys, urllib.parse
root, cap = sys.argv[1], int(sys.argv[2])
for h in json.load(open(os.path.join(root, "manifest.json")))["hosts"]:
    host = h["host"]
    base = os.path.join(root, "sites", host)
    files = sorted(os.path.relpath(os.path.join(d, f), base)
                   for d, _, fs in os.walk(base) for f in fs)[:cap]
    for rel in files:
        path = "/" + urllib.parse.quote(rel.replace(os.sep, "/"))
        print(f"{host}\t{path}\tbytes")
        if path.endswith("/index.html"):
            print(f"{host}\t{path[:-len('index.html')]}\tbytes")
    print(f"{host}\t/no/such/file.html\tstatus-only")
    print(f"{host}\t/topic/1\tstatus-only")
PY
while IFS=$'\t' read -r host path mode; do
    if [[ "$mode" == status-only ]]; then compare "$host" "$path" status-only; else compare "$host" "$path"; fi
done <"$WORK/paths"
compare "unknown.test" "/" status-only

echo "nginx parity: $checked responses compared, $failed differ"
[[ $failed -eq 0 ]]

# A private nginx on loopback for the bench scripts (bench/stream-download,
# bench/stream-upload, bench/download-folios); sourced, not run.
#   nginx_dir                    sets $dir to a fresh directory, removed (its nginx stopped) on exit
#   free_port                    prints a free loopback TCP port
#   nginx_start HTTP SERVER URL  writes $dir/nginx.conf (HTTP: extra lines of the http
#                                block; SERVER: its server block's lines) and starts nginx;
#                                returns once URL answers
# shellcheck shell=bash

nginx_dir() {
    dir=$(mktemp -d)
    trap 'kill "$(cat "$dir/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$dir"' EXIT
    mkdir -p "$dir/logs"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

nginx_start() {
    cat >"$dir/nginx.conf" <<CONF
daemon on;
pid $dir/nginx.pid;
worker_processes 1;
error_log $dir/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
    uwsgi_temp_path $dir; scgi_temp_path $dir;
$1
    server {
$2
    }
}
CONF
    /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf"
    # nginx answers once its master has opened the sockets.
    curl -fsS --retry 20 --retry-connrefused --retry-delay 0 -o /dev/null "$3"
}

#!/bin/sh
# Container entrypoint for vecshard-server.
#   vecshard-entrypoint [flags...]    -> vecshard-server --bind 0.0.0.0 --protected-mode no --dir /data ENV-FLAGS flags...
#   vecshard-entrypoint CMD [args...] -> runs CMD (e.g. `sh`, `redis-cli`) instead of the server
# Every environment variable VECSHARD_<NAME>=value becomes `--<name> value` (NAME lower-cased, `_` -> `-`), e.g.
# VECSHARD_REQUIREPASS=s -> --requirepass s. They come after the image's defaults and before the command-line
# flags, so command-line flags win (the last occurrence of a directive counts, as with redis-server).
set -eu
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  exec "$@"
fi
for var in $(env | sed -n 's/^\(VECSHARD_[A-Z0-9_]*\)=.*/\1/p' | sort -r); do
  name=$(printf '%s' "${var#VECSHARD_}" | tr 'A-Z_' 'a-z-')
  eval "value=\${$var}"
  set -- "--$name" "$value" "$@"
done
exec vecshard-server --bind 0.0.0.0 --protected-mode no --dir /data "$@"

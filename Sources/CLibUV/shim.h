// Exposes libuv to Swift.
#include <uv.h>

// Exposes liburing to Swift. <features.h> must come first: liburing.h defines _GNU_SOURCE/_XOPEN_SOURCE before its
// own includes, which otherwise clashes (fd_set / __fds_bits) with Glibc/Dispatch in debug builds (swift-notes.md).
#include <features.h>
#include <liburing.h>

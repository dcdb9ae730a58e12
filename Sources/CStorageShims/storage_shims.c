// Compiled with _GNU_SOURCE so <fcntl.h> defines O_DIRECT.
#define _GNU_SOURCE
#include <fcntl.h>
#include "storage_shims.h"

const int vs_O_DIRECT = O_DIRECT;

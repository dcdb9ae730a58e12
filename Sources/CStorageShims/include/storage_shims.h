// The few constants Swift cannot see for the Storage target: O_DIRECT (hidden without _GNU_SOURCE in Glibc's module).
// liburing's static inline helpers import directly through CURing; nothing of liburing is wrapped here yet.
#ifndef VS_STORAGE_SHIMS_H
#define VS_STORAGE_SHIMS_H

/// open(2)'s O_DIRECT flag.
extern const int vs_O_DIRECT;

#endif

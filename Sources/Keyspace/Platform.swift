// Platform imports shared by the keyspace (clock_gettime).
#if canImport(Glibc)
@_exported import Glibc
#endif

// printf's %g for the reply hot path, callable from Swift without boxing arguments into a va_list; and strptime.
#ifndef VECSHARD_NUMBER_FORMAT_H
#define VECSHARD_NUMBER_FORMAT_H

/// Writes `value` as printf("%.*g", precision, value) into `out` (NUL-terminated); returns the length written.
int vs_format_g(double value, int precision, char *out, int capacity);

struct tm;
/// strptime(3), which glibc declares only under _XOPEN_SOURCE (FT.AGGREGATE's parsetime()).
char *vs_strptime(const char *text, const char *format, struct tm *parts);

#endif

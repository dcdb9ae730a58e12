// printf's %g for the reply hot path, callable from Swift without boxing arguments into a va_list.
#ifndef VECSHARD_NUMBER_FORMAT_H
#define VECSHARD_NUMBER_FORMAT_H

/// Writes `value` as printf("%.*g", precision, value) into `out` (NUL-terminated); returns the length written.
int vs_format_g(double value, int precision, char *out, int capacity);

#endif

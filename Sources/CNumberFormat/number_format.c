// printf's %g for the reply hot path (every KNN distance and loaded number), without Swift's va_list boxing.
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include "number_format.h"

int vs_format_g(double value, int precision, char *out, int capacity) {
    int n = snprintf(out, (size_t)capacity, "%.*g", precision, value);
    return n < capacity ? n : capacity - 1;
}

char *vs_strptime(const char *text, const char *format, struct tm *parts) {
    return strptime(text, format, parts);
}

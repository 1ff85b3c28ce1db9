#ifndef VEGA_CPCRE2_SHIM_H
#define VEGA_CPCRE2_SHIM_H
// pcre2.h requires the code unit width before inclusion; Vega matches raw UTF-8 bytes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

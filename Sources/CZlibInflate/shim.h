#ifndef VEGA_CZLIBINFLATE_SHIM_H
#define VEGA_CZLIBINFLATE_SHIM_H
// zlib (Debian's zlib1g-dev, which ZIPFoundation already needs): Vega inflates untrusted
// zip entries and gzip streams itself, so every byte can be counted as it comes out.
#include <zlib.h>
#endif

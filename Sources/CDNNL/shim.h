// oneDNN's C API (Debian: libdnnl-dev), used for direct convolutions.
#ifndef SVQ_CDNNL_SHIM_H
#define SVQ_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
#endif

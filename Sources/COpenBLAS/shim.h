// OpenBLAS's CBLAS interface plus its threading controls (Debian: libopenblas-dev).
#ifndef SVQ_COPENBLAS_SHIM_H
#define SVQ_COPENBLAS_SHIM_H
#include <cblas.h>
#endif

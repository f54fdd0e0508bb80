/* Compile-only check: the header included once for declarations and once
   more with the implementation, as C. */
#include "kdts.h"
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kdts.h"
int kdts_compile_c_probe(void);
int kdts_compile_c_probe(void) { return kdts_version_number(); }

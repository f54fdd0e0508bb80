// Compile-only check: the header as C++ (declarations, then implementation).
#include "kdts.h"
#define KDTS_IMPLEMENTATION
#include "kdts.h"
int kdts_compile_cpp_probe();
int kdts_compile_cpp_probe() { return kdts_version_number(); }

#include <zstd.h>
#include <zstd_errors.h>  // ZSTD_getErrorCode: which error, not only its text

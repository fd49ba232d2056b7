/* The CLI's HTTP client is the common one (common/http_client.h). These
 * names stay only while src/cli is being restructured (its command files
 * still say http__*); they go once that lands. */
#ifndef STRATA_CLI_HTTP_H
#define STRATA_CLI_HTTP_H

#include "common/http_client.h"

#define http_target http_client_target
#define http_resp http_client_resp
#define http__request http_client__request
#define http__transfer http_client__transfer
#define http__open_stream http_client__open_stream
#define http__json http_client__json

#endif

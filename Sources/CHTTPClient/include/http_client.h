#ifndef PIPEWATCH_HTTP_CLIENT_H
#define PIPEWATCH_HTTP_CLIENT_H

#include <stddef.h>

/* A small blocking HTTP client over libcurl for the alert sinks. libcurl's curl_easy_setopt is variadic and cannot
   be called from Swift, so the requests are made here. One client per sink thread; connections are kept alive. */

typedef struct pw_http_client pw_http_client;

typedef struct {
    const char *ca_file;      /* PEM bundle to verify the server with, or NULL for the system's */
    const char *cert_file;    /* client certificate (PEM), or NULL */
    const char *key_file;     /* client key (PEM), or NULL */
    long timeout_ms;          /* whole request */
    int insecure;             /* skip verification (tests against self-signed receivers only) */
} pw_http_options;

typedef struct {
    long status;              /* HTTP status, 0 when no response arrived */
    char error[256];          /* transport error text when status is 0 */
    char *body;               /* response body (malloc'd, NUL-terminated), free with pw_http_free_body */
    size_t body_length;
} pw_http_response;

pw_http_client *pw_http_client_new(const pw_http_options *options);
void pw_http_client_free(pw_http_client *client);

/* POSTs body to url with the given header lines ("Name: value"); fills response. Returns 0 when a response came. */
int pw_http_post(pw_http_client *client, const char *url, const char *const *headers, size_t header_count,
                 const void *body, size_t body_length, pw_http_response *response);

void pw_http_free_body(pw_http_response *response);

#endif

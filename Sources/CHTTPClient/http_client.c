#include "http_client.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

struct pw_http_client {
    CURL *curl;
    pw_http_options options;
};

pw_http_client *pw_http_client_new(const pw_http_options *options) {
    static int initialized = 0;
    if (!initialized) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        initialized = 1;
    }
    pw_http_client *client = calloc(1, sizeof(pw_http_client));
    if (!client) return NULL;
    client->curl = curl_easy_init();
    if (!client->curl) {
        free(client);
        return NULL;
    }
    client->options = *options;
    return client;
}

void pw_http_client_free(pw_http_client *client) {
    if (!client) return;
    curl_easy_cleanup(client->curl);
    free(client);
}

typedef struct {
    char *data;
    size_t length;
} buffer;

static size_t collect(char *chunk, size_t size, size_t count, void *user) {
    buffer *b = user;
    size_t n = size * count;
    if (b->length + n > 1 << 20) return n; /* keep at most 1 MiB of a response */
    char *grown = realloc(b->data, b->length + n + 1);
    if (!grown) return 0;
    b->data = grown;
    memcpy(b->data + b->length, chunk, n);
    b->length += n;
    b->data[b->length] = 0;
    return n;
}

int pw_http_post(pw_http_client *client, const char *url, const char *const *headers, size_t header_count,
                 const void *body, size_t body_length, pw_http_response *response) {
    CURL *curl = client->curl;
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < header_count; i++) list = curl_slist_append(list, headers[i]);
    buffer received = {NULL, 0};
    char error[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &received);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, client->options.timeout_ms > 0 ? client->options.timeout_ms : 30000L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (client->options.ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, client->options.ca_file);
    if (client->options.cert_file) curl_easy_setopt(curl, CURLOPT_SSLCERT, client->options.cert_file);
    if (client->options.key_file) curl_easy_setopt(curl, CURLOPT_SSLKEY, client->options.key_file);
    if (client->options.insecure) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }

    CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(list);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);

    memset(response, 0, sizeof(*response));
    response->body = received.data;
    response->body_length = received.length;
    if (code != CURLE_OK) {
        const char *text = error[0] ? error : curl_easy_strerror(code);
        strncpy(response->error, text, sizeof(response->error) - 1);
        return -1;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    return 0;
}

void pw_http_free_body(pw_http_response *response) {
    free(response->body);
    response->body = NULL;
    response->body_length = 0;
}

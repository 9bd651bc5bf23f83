#ifndef PIPEWATCH_TLS_CLIENT_H
#define PIPEWATCH_TLS_CLIENT_H

#include <stddef.h>

/* A blocking TLS client over OpenSSL for the syslog sink (RFC 5425). The caller connects the TCP socket (with its
   own timeout) and sets SO_SNDTIMEO and SO_RCVTIMEO on it, so that no call here blocks longer than that; this
   side does the handshake, the writes and the liveness check, and never closes the socket. Errors are written
   as text into `error` (at most error_size bytes, NUL-terminated). */

typedef struct pw_tls_client pw_tls_client;

/* Handshakes on the connected socket `fd`. The receiver's certificate must chain to `ca_file` (PEM) and name
   `servername`: an IP literal is checked against the certificate's IP SANs, a host name against its DNS names
   (and sent as SNI). `cert_file` and `key_file` (PEM, both or neither) authenticate this client (mutual TLS).
   NULL on failure, with the reason in `error`. */
pw_tls_client *pw_tls_client_new(int fd, const char *ca_file, const char *cert_file, const char *key_file,
                                 const char *servername, char *error, size_t error_size);

/* Writes all `length` bytes. 0 once every byte was handed to the socket, -1 on failure (then the connection is
   unusable: free it). */
int pw_tls_client_write_all(pw_tls_client *client, const void *bytes, size_t length, char *error, size_t error_size);

/* Whether the connection can take another write: 0 if the receiver closed it or sent an alert. Data waiting on
   the socket is read without blocking (TLS 1.3 session tickets; application data is discarded). */
int pw_tls_client_is_open(pw_tls_client *client);

/* Sends close_notify (unless the connection failed) and frees the client. The socket stays open. */
void pw_tls_client_free(pw_tls_client *client);

#endif

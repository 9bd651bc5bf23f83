#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pw_tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    int failed; /* after a fatal error OpenSSL must not send close_notify */
};

/* OpenSSL writes with write(2), which raises SIGPIPE on a connection the receiver reset, and that would end the
   process (the Swift sockets use MSG_NOSIGNAL instead). So SIGPIPE is blocked on this thread around each OpenSSL
   call that can write, and one raised meanwhile is taken off the pending set; the call fails with EPIPE. */
typedef struct {
    sigset_t previous;
    int was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *guard) {
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &guard->previous);
    sigpending(&pending);
    guard->was_pending = sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(sigpipe_guard *guard) {
    int saved_errno = errno;
    sigset_t pipe_only, pending;
    sigpending(&pending);
    if (!guard->was_pending && sigismember(&pending, SIGPIPE)) {
        int taken;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        sigwait(&pipe_only, &taken); /* returns at once: the signal is pending */
    }
    pthread_sigmask(SIG_SETMASK, &guard->previous, NULL);
    errno = saved_errno;
}

static void set_error(char *error, size_t size, const char *format, ...) {
    if (!error || size == 0) return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, size, format, arguments);
    va_end(arguments);
}

/* The most specific reason OpenSSL has: the certificate check's own, then the error queue's, then errno. */
static void describe(pw_tls_client *client, int result, int saved_errno, char *error, size_t size) {
    int kind = SSL_get_error(client->ssl, result);
    long verify = SSL_get_verify_result(client->ssl);
    unsigned long code = ERR_peek_last_error();
    if (verify != X509_V_OK) {
        set_error(error, size, "certificate verify failed: %s", X509_verify_cert_error_string(verify));
    } else if (code != 0) {
        const char *reason = ERR_reason_error_string(code);
        if (reason) {
            set_error(error, size, "%s", reason);
        } else if (error && size > 0) {
            ERR_error_string_n(code, error, size);
        }
    } else if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE || saved_errno == EAGAIN ||
               saved_errno == EWOULDBLOCK) {
        /* The socket's SO_RCVTIMEO / SO_SNDTIMEO expired. */
        set_error(error, size, "no progress within the timeout");
    } else if (kind == SSL_ERROR_ZERO_RETURN || (kind == SSL_ERROR_SYSCALL && saved_errno == 0)) {
        set_error(error, size, "the receiver closed the connection");
    } else {
        set_error(error, size, "%s", strerror(saved_errno));
    }
}

static void release(pw_tls_client *client) {
    if (client->ssl) SSL_free(client->ssl);
    if (client->ctx) SSL_CTX_free(client->ctx);
    free(client);
    ERR_clear_error();
}

static const char *queued_reason(void) {
    const char *reason = ERR_reason_error_string(ERR_peek_last_error());
    return reason ? reason : "unknown error";
}

/* Reads what the peer sent without blocking: 1 while the connection stays usable, 0 once it is closed or failed,
   with OpenSSL's reason in `reason` when given. */
static int drain_incoming(pw_tls_client *client, char *reason, size_t reason_size);

pw_tls_client *pw_tls_client_new(int fd, const char *ca_file, const char *cert_file, const char *key_file,
                                 const char *servername, char *error, size_t error_size) {
    pw_tls_client *client = calloc(1, sizeof(pw_tls_client));
    if (!client) {
        set_error(error, error_size, "out of memory");
        return NULL;
    }
    client->fd = fd;
    ERR_clear_error();
    /* A fresh context per connection: a reconnect picks up renewed CA, certificate and key files. */
    client->ctx = SSL_CTX_new(TLS_client_method());
    if (!client->ctx) {
        set_error(error, error_size, "cannot create a TLS context: %s", queued_reason());
        release(client);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(client->ctx, TLS1_2_VERSION); /* 1.0 and 1.1 are deprecated (RFC 8996) */
    SSL_CTX_set_verify(client->ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(client->ctx, ca_file, NULL) != 1) {
        set_error(error, error_size, "cannot load the CA file %s: %s", ca_file, queued_reason());
        release(client);
        return NULL;
    }
    if (cert_file && key_file) {
        if (SSL_CTX_use_certificate_chain_file(client->ctx, cert_file) != 1) {
            set_error(error, error_size, "cannot load the client certificate %s: %s", cert_file, queued_reason());
            release(client);
            return NULL;
        }
        if (SSL_CTX_use_PrivateKey_file(client->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(client->ctx) != 1) {
            set_error(error, error_size, "cannot use the client key %s: %s", key_file, queued_reason());
            release(client);
            return NULL;
        }
    }
    client->ssl = SSL_new(client->ctx);
    if (!client->ssl || SSL_set_fd(client->ssl, fd) != 1) {
        set_error(error, error_size, "cannot create a TLS session: %s", queued_reason());
        release(client);
        return NULL;
    }

    /* An IP literal is matched against the certificate's IP SANs only (and is not valid SNI, RFC 6066 §3); a
       name against its DNS names, and sent as SNI so that a receiver with several certificates picks this one. */
    unsigned char address[16];
    if (inet_pton(AF_INET, servername, address) == 1 || inet_pton(AF_INET6, servername, address) == 1) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(client->ssl), servername) != 1) {
            set_error(error, error_size, "cannot verify against the address %s", servername);
            release(client);
            return NULL;
        }
    } else {
        SSL_set_hostflags(client->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set_tlsext_host_name(client->ssl, servername) != 1 || SSL_set1_host(client->ssl, servername) != 1) {
            set_error(error, error_size, "cannot verify against the name %s", servername);
            release(client);
            return NULL;
        }
    }

    sigpipe_guard guard;
    sigpipe_block(&guard);
    int result = SSL_connect(client->ssl);
    int saved_errno = errno;
    sigpipe_restore(&guard);
    if (result != 1) {
        describe(client, result, saved_errno, error, error_size);
        client->failed = 1;
        release(client);
        return NULL;
    }
    /* In TLS 1.3 the server checks the client certificate after this side has finished the handshake, so a refusal
       arrives as an alert after SSL_connect succeeded. Wait a moment for it rather than write the first batch into
       a connection about to be refused (and count it delivered). A server that accepts sends its session tickets
       at once, or nothing. */
    struct pollfd incoming = {.fd = fd, .events = POLLIN, .revents = 0};
    char reason[256] = "";
    if (SSL_version(client->ssl) >= TLS1_3_VERSION && poll(&incoming, 1, 250) > 0
        && !drain_incoming(client, reason, sizeof reason)) {
        set_error(error, error_size, "the receiver closed the connection after the handshake: %s", reason);
        release(client);
        return NULL;
    }
    return client;
}

int pw_tls_client_write_all(pw_tls_client *client, const void *bytes, size_t length, char *error, size_t error_size) {
    if (client->failed) {
        set_error(error, error_size, "the connection failed earlier");
        return -1;
    }
    const unsigned char *next = bytes;
    size_t left = length;
    sigpipe_guard guard;
    sigpipe_block(&guard);
    while (left > 0) {
        ERR_clear_error();
        size_t written = 0;
        /* Blocking socket without SSL_MODE_ENABLE_PARTIAL_WRITE: returns once all is written or it failed; the
           loop only guards against a short count. A failed SSL_write cannot be resumed with other data, so any
           failure ends the connection. */
        int result = SSL_write_ex(client->ssl, next, left, &written);
        int saved_errno = errno;
        if (result != 1) {
            describe(client, result, saved_errno, error, error_size);
            client->failed = 1;
            sigpipe_restore(&guard);
            return -1;
        }
        next += written;
        left -= written;
    }
    sigpipe_restore(&guard);
    return 0;
}

int pw_tls_client_is_open(pw_tls_client *client) { return drain_incoming(client, NULL, 0); }

static int drain_incoming(pw_tls_client *client, char *reason, size_t reason_size) {
    if (client->failed) return 0;
    struct pollfd descriptor = {.fd = client->fd, .events = POLLIN, .revents = 0};
    if (poll(&descriptor, 1, 0) <= 0) return 1;
    if (descriptor.revents & (POLLERR | POLLHUP | POLLNVAL)) {
        client->failed = 1;
        return 0;
    }
    /* A syslog receiver sends no application data, but TLS 1.3 servers send session tickets after the handshake:
       those are records to read, not a sign of a closed connection (a raw recv would corrupt the stream). */
    int flags = fcntl(client->fd, F_GETFL);
    fcntl(client->fd, F_SETFL, flags | O_NONBLOCK);
    sigpipe_guard guard;
    sigpipe_block(&guard);
    int open = 1;
    unsigned char discard[4096];
    for (;;) {
        ERR_clear_error();
        int result = SSL_read(client->ssl, discard, sizeof discard);
        if (result > 0) continue;
        int kind = SSL_get_error(client->ssl, result);
        if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) break; /* nothing more to read */
        open = 0;
        if (reason) set_error(reason, reason_size, "%s", kind == SSL_ERROR_ZERO_RETURN ? "close_notify" : queued_reason());
        /* close_notify still allows one back; an alert or a reset does not. */
        if (kind != SSL_ERROR_ZERO_RETURN) client->failed = 1;
        break;
    }
    sigpipe_restore(&guard);
    fcntl(client->fd, F_SETFL, flags);
    ERR_clear_error();
    return open;
}

void pw_tls_client_free(pw_tls_client *client) {
    if (!client) return;
    if (!client->failed) {
        /* One-way close_notify (RFC 5425 §4.4): the receiver learns that nothing was cut off. */
        sigpipe_guard guard;
        sigpipe_block(&guard);
        ERR_clear_error();
        SSL_shutdown(client->ssl);
        sigpipe_restore(&guard);
    }
    release(client);
}

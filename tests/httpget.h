/* httpget: GET a path from 127.0.0.1:port with a plain socket (no HTTP
 * library on the test side), for the tests of the metrics endpoints
 * (test_metrics, test_telemetry). Header-only; include after cmocka.h. */
#ifndef REPORTD_HTTPGET_H
#define REPORTD_HTTPGET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"

/* The whole response (status line, headers, body), heap; the caller frees. */
static inline char *http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    struct buf b = {0};
    char chunk[4096];
    ssize_t k;
    while ((k = read(fd, chunk, sizeof chunk)) > 0)
        buf_append(&b, chunk, (size_t)k);
    close(fd);
    buf_append(&b, "", 0);
    return buf_take(&b);
}

#endif

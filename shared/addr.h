/*
 * addr.h -- IPv4/IPv6 addresses, only through inet_pton / inet_ntop.
 */
#ifndef DDNS_ADDR_H
#define DDNS_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define DDNS_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

struct ddns_addr {
	int family; /* AF_INET or AF_INET6; 0 = none */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

/*
 * Parse LEN bytes of untrusted text as one address.  A "/prefix" suffix is
 * stripped (Fritz!Box sends "2001:db8::/56"), surrounding blanks are not
 * accepted, an IPv4-mapped IPv6 address becomes IPv4.  The unspecified
 * addresses (0.0.0.0, ::) and multicast are refused.  Returns 0 or
 * DDNS_EBADADDR.
 */
int ddns_addr_parse(const char *s, size_t len, struct ddns_addr *out);

/* Canonical text form (RFC 5952 for IPv6) into BUF of at least
 * DDNS_ADDR_STRLEN bytes.  Returns BUF. */
const char *ddns_addr_format(const struct ddns_addr *a, char *buf, size_t len);

/* From a socket address; IPv4-mapped IPv6 becomes IPv4.  0 or EBADADDR. */
int ddns_addr_from_sockaddr(const struct sockaddr *sa, struct ddns_addr *out);

bool ddns_addr_equal(const struct ddns_addr *a, const struct ddns_addr *b);

/*
 * A listen address "127.0.0.1:8080", "[::1]:8080" (IPv6 must be bracketed)
 * into a sockaddr.  Returns 0 or DDNS_EINVAL.
 */
int ddns_hostport_parse(const char *s, struct sockaddr_storage *ss,
			socklen_t *sslen);

/* An address prefix such as "10.0.0.0/8", "::1", "2001:db8::/32". */
struct ddns_prefix {
	struct ddns_addr addr;
	unsigned len; /* prefix length in bits */
};
int ddns_prefix_parse(const char *s, struct ddns_prefix *out);
bool ddns_prefix_match(const struct ddns_prefix *p, const struct ddns_addr *a);

#endif

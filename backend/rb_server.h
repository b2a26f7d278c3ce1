/*
 * rb_server.h -- the remote backend's connectors on one libevent loop:
 * unix socket ("unix:/path"), HTTP post_json ("http:ADDR:PORT") and the
 * pipe connector (stdin/stdout).
 *
 * Stream connectors carry one JSON request per line and get one reply line
 * each.  A line longer than RB_LINE_MAX is answered {"result":false} and
 * discarded up to its end, so input is never buffered without bound.  Each
 * stream connection keeps one read transaction, renewed before and reset
 * after every request.
 */
#ifndef DDNS_RB_SERVER_H
#define DDNS_RB_SERVER_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/event.h>

#include "store.h"

typedef struct rb_server rb_server;

enum rb_listen_kind {
	RB_LISTEN_UNIX = 1,
	RB_LISTEN_HTTP = 2,
};

/* One parsed [backend] listen entry. */
struct rb_listen {
	enum rb_listen_kind kind;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix */
	struct sockaddr_storage ss;                              /* http */
	socklen_t sslen;
};

/*
 * Parse a listen entry, "unix:/abs/path.sock" or "http:ADDR:PORT" (IPv6
 * bracketed: "http:[::1]:8081"), without opening anything.  Returns 0, or
 * DDNS_EINVAL with a one-line reason in ERR.
 */
int rb_listen_parse(const char *spec, struct rb_listen *out, char *err,
		    size_t errlen);

/*
 * A server on BASE answering from STORE (both borrowed: they must outlive
 * the server).  At most MAX_CONN stream and HTTP connections are served at
 * once; more are closed at accept.  Returns 0 or DDNS_ENOMEM.
 */
int rb_server_new(struct event_base *base, ddns_store *store,
		  unsigned max_conn, rb_server **out);

/*
 * Open the backend state environment in DIR (rb_state.h) for the methods
 * that keep state (setNotified, DNSSEC keys, metadata); the server owns it
 * from then on.  Returns 0 or a DDNS_E* code (logged).
 */
int rb_server_open_state(rb_server *s, const char *dir);

/*
 * Start listening on L.  A unix socket's stale file is removed first (one
 * that another process still accepts on is refused), and the new one gets
 * SOCKET_MODE.  Returns 0, DDNS_EIO (logged with the path or address and
 * the system's reason) or DDNS_ENOMEM.
 */
int rb_server_listen(rb_server *s, const struct rb_listen *l,
		     unsigned socket_mode);

/*
 * Serve the pipe connector: requests on IN_FD, replies on OUT_FD.  When
 * IN_FD reaches end of file and the replies are written, the event loop is
 * told to stop.  Returns 0 or a DDNS_E* code.
 */
int rb_server_pipe(rb_server *s, int in_fd, int out_fd);

/* Close every connection and listener and remove the unix socket files.
 * NULL is accepted. */
void rb_server_free(rb_server *s);

/* Count every answered request in M (borrowed: it must outlive the
 * server, or be replaced by NULL first).  NULL counts nothing. */
struct rb_metrics;
void rb_server_set_metrics(rb_server *s, struct rb_metrics *m);

#endif

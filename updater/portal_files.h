/*
 * portal_files.h -- the portal's static files (updater/portal/), served at
 * the root of ddns-updater: "/" is index.html; otherwise only a plain
 * name directly in the directory ([A-Za-z0-9][A-Za-z0-9_-]* plus one of
 * .html .css .js .svg), which must be a regular file (no symbolic links)
 * of at most DDNS_PORTAL_FILE_MAX bytes.  Anything else is 404: no
 * "..", no dot-files, no directories, no percent-escapes.  GET and HEAD
 * only, with the security headers of schema/api/README.md section 6.
 */
#ifndef DDNS_PORTAL_FILES_H
#define DDNS_PORTAL_FILES_H

#include <stdbool.h>
#include <stddef.h>

struct evhttp_request;
typedef struct ddns_portal_files ddns_portal_files;

#define DDNS_PORTAL_FILE_MAX (1024 * 1024)
#define DDNS_PORTAL_NAME_MAX 64

/*
 * Serve the files of directory DIR; NULL: the installed copy (the
 * build's DDNS_PORTAL_DIR) when it holds index.html, else the source
 * tree's (DDNS_PORTAL_SRCDIR).  0, or DDNS_EIO with a reason in ERR when
 * the directory cannot be opened.
 */
int ddns_portal_files_new(ddns_portal_files **out, const char *dir, char *err,
			  size_t errlen);
void ddns_portal_files_free(ddns_portal_files *pf);

/* The directory in use (for the log). */
const char *ddns_portal_files_dir(const ddns_portal_files *pf);

/*
 * Answer REQ for PATH (PLEN bytes, raw: not percent-decoded, no query):
 * the file, 404, or 405 for a method other than GET and HEAD.
 */
void ddns_portal_serve(ddns_portal_files *pf, struct evhttp_request *req,
		       const char *path, size_t plen);

/*
 * The file name PATH (PLEN bytes) stands for ("/" is index.html) into
 * NAME, and its Content-Type into *CTYPE; false when PATH is not one the
 * portal may serve.  Pure: no file system access.
 */
bool ddns_portal_name(const char *path, size_t plen,
		      char name[DDNS_PORTAL_NAME_MAX + 1], const char **ctype);

#endif

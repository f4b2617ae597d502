#include "util_peer.h"
#include "util_loop.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RP_SCRIPT "tests/interop/peer.js"
#define RP_MAX_ARGS 32

const char *rp_str(const json_t *ev, const char *key)
{
    const char *s = json_string_value(json_object_get(ev, key));
    return s ? s : "";
}

long long rp_int(const json_t *ev, const char *key)
{
    return json_integer_value(json_object_get(ev, key));
}

/* Move complete stdout lines into the queue as JSON objects. */
static void collect(rp_peer *p)
{
    char *line;
    while ((line = up_take_line(&p->proc)) != NULL) {
        json_t *ev = json_loads(line, 0, NULL);
        if (!json_is_object(ev)) {
            json_decref(ev);
            ev = json_pack("{s:s, s:s}", "event", "unparsed", "line", line);
        }
        json_array_append_new(p->pending, ev);
        free(line);
    }
}

static void dump(rp_peer *p, const char *why)
{
    fprintf(stderr, "reference peer: %s\n", why);
    size_t i;
    json_t *ev;
    json_array_foreach(p->pending, i, ev) {
        char *s = json_dumps(ev, JSON_COMPACT);
        fprintf(stderr, "  queued: %.400s\n", s ? s : "?");
        free(s);
    }
    const char *err = up_stderr(&p->proc);
    if (*err) fprintf(stderr, "  stderr:\n%.4000s\n", err);
}

json_t *rp_take(rp_peer *p, const char *event)
{
    collect(p);
    size_t i;
    json_t *ev;
    json_array_foreach(p->pending, i, ev) {
        if (strcmp(rp_str(ev, "event"), event) != 0) continue;
        json_incref(ev);
        json_array_remove(p->pending, i);
        return ev;
    }
    return NULL;
}

json_t *rp_expect(rp_peer *p, const char *event, int timeout_ms)
{
    uint64_t deadline = ul_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        json_t *ev = rp_take(p, event);
        if (ev) return ev;
        if (ul_left(deadline) == 0 || (p->proc.out_fd < 0 && !p->proc.out.len)) {
            char why[128];
            snprintf(why, sizeof why, "no \"%s\" event within %d ms%s", event, timeout_ms,
                     p->proc.out_fd < 0 ? " (it exited)" : "");
            dump(p, why);
            return NULL;
        }
        ul_poll(ul_left(deadline));
    }
}

/* Wait for "done" or "error" about command @name. */
static int await_done(rp_peer *p, const char *name)
{
    uint64_t deadline = ul_now_ms() + RP_TIMEOUT_MS;
    for (;;) {
        collect(p);
        size_t i;
        json_t *ev;
        json_array_foreach(p->pending, i, ev) {
            const char *kind = rp_str(ev, "event");
            int done = !strcmp(kind, "done"), err = !strcmp(kind, "error");
            if ((!done && !err) || strcmp(rp_str(ev, "cmd"), name) != 0) continue;
            if (err) fprintf(stderr, "reference peer: %s failed: %s\n", name, rp_str(ev, "message"));
            json_array_remove(p->pending, i);
            return done ? 0 : -1;
        }
        if (ul_left(deadline) == 0 || p->proc.out_fd < 0) {
            dump(p, "a command got no answer");
            return -1;
        }
        ul_poll(ul_left(deadline));
    }
}

int rp_command(rp_peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    char *line = malloc((size_t)n + 2); /* commands may carry large payloads */
    if (!line) return -1;
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
    json_t *cmd = json_loads(line, 0, NULL);
    const char *name = json_string_value(json_object_get(cmd, "cmd"));
    char cname[32];
    snprintf(cname, sizeof cname, "%s", name ? name : "");
    json_decref(cmd);
    int rc = -1;
    if (!*cname) {
        fprintf(stderr, "rp_command: not a command: %.200s\n", line);
    } else {
        memcpy(line + n, "\n", 2);
        if (up_write(&p->proc, line) == 0) rc = await_done(p, cname);
    }
    free(line);
    return rc;
}

static void copy_listening(rp_peer *p, const json_t *ev)
{
    p->port = (uint16_t)rp_int(ev, "port");
    snprintf(p->id, sizeof p->id, "%s", rp_str(ev, "id"));
    snprintf(p->enode, sizeof p->enode, "%s", rp_str(ev, "enode"));
    p->chain = json_incref(json_object_get(ev, "chain"));
    p->listening = json_incref((json_t *)ev);
}

rp_peer *rp_start(const char *key_hex, const char *const *args)
{
    return rp_start_script(RP_SCRIPT, key_hex, args);
}

rp_peer *rp_start_script(const char *script, const char *key_hex, const char *const *args)
{
    if (access(script, R_OK) != 0 || access("tests/interop/node_modules", R_OK) != 0) {
        fprintf(stderr, "rp_start: %s or its node_modules missing (run from the repository "
                        "root after `make npm-deps`)\n", script);
        return NULL;
    }
    const char *argv[RP_MAX_ARGS + 8];
    int n = 0;
    const char *node = getenv("EP_NODE");
    argv[n++] = node && *node ? node : "node";
    argv[n++] = script;
    if (key_hex) {
        argv[n++] = "--key";
        argv[n++] = key_hex;
    }
    for (int i = 0; args && args[i] && i < RP_MAX_ARGS; i++) argv[n++] = args[i];
    argv[n] = NULL;

    rp_peer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->pending = json_array();
    if (up_spawn(&p->proc, (char *const *)argv) < 0) {
        json_decref(p->pending);
        free(p);
        return NULL;
    }
    json_t *ev = rp_expect(p, "listening", RP_START_TIMEOUT_MS);
    if (!ev) {
        rp_stop(p);
        return NULL;
    }
    copy_listening(p, ev);
    json_decref(ev);
    return p;
}

void rp_stop(rp_peer *p)
{
    if (!p) return;
    if (!p->proc.exited && up_write(&p->proc, "{\"cmd\":\"exit\"}\n") == 0)
        up_wait(&p->proc, 3000, NULL);
    up_kill(&p->proc);
    json_decref(p->pending);
    json_decref(p->chain);
    json_decref(p->listening);
    free(p);
}

/* Container lifecycle events: subscribers called in order, one event at a time. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "handle_internal.h"
#include "pod/pod_internal.h"

struct crio_subscription {
    crio_pods *p;
    crio_event_fn fn;
    void *payload;
    struct crio_subscription *next;
};

struct crio_event {
    crio_event_type type;
    const char *ctr_id, *pod_id;
    int64_t time;
};

crio_event_type crio_event_type_get(const crio_event *ev) { return ev->type; }
const char *crio_event_container_id(const crio_event *ev) { return ev->ctr_id; }
const char *crio_event_pod_id(const crio_event *ev) { return ev->pod_id; }
int64_t crio_event_time(const crio_event *ev) { return ev->time; }

void events_emit(crio_pods *p, crio_event_type type, const char *ctr_id, const char *pod_id)
{
    crio_event ev = { type, ctr_id, pod_id, crio_now_ns() };
    pthread_mutex_lock(&p->ev_lock);
    for (crio_subscription *s = p->subs; s; s = s->next)
        s->fn(&ev, s->payload);
    pthread_mutex_unlock(&p->ev_lock);
}

int crio_events_subscribe(crio_subscription **out, crio *c, crio_event_fn fn, void *payload)
{
    if (!out || !c || !fn)
        return crio_error_set(CRIO_EINVAL, "subscribe: NULL argument");
    crio_subscription *s = calloc(1, sizeof *s);
    if (!s)
        return crio_error_oom();
    s->p = c->pods;
    s->fn = fn;
    s->payload = payload;
    pthread_mutex_lock(&s->p->ev_lock);
    s->next = s->p->subs;
    s->p->subs = s;
    pthread_mutex_unlock(&s->p->ev_lock);
    *out = s;
    return 0;
}

void crio_events_unsubscribe(crio_subscription *sub)
{
    crio_subscription *s = sub;
    if (!s)
        return;
    /* Taking ev_lock waits for a delivery in progress: after this, fn is never running. */
    pthread_mutex_lock(&s->p->ev_lock);
    for (crio_subscription **pp = &s->p->subs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    pthread_mutex_unlock(&s->p->ev_lock);
    free(s);
}

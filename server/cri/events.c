/*
 * GetContainerEvents: the library's container events, each streamed with
 * the statuses of its pod and of all the pod's containers (what the
 * kubelet's evented PLEG caches in place of a relist).
 *
 * The library calls back from its own threads, possibly while it holds the
 * container's lock, and wants the callback quick: so the callback only
 * queues the event, and the call's own thread reads the statuses and sends.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "cri/cri.h"

/* Events waiting beyond this mean the stream cannot keep up: it ends, and the kubelet relists. */
#define MAX_QUEUED 4096
/* How often the call's thread looks whether the client went away while no event comes. */
#define POLL_NS (200 * 1000000L)

struct ev_item {
    struct ev_item *next;
    crio_event_type type;
    int64_t time;
    const char *pod_id; /* points into `ids`, after the container id */
    char ids[];
};

struct ev_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ev_item *head, *tail;
    size_t n;
    bool overflow; /* an event was lost (queue full or out of memory) */
};

/* crio_event_fn: copies the event into the queue and wakes the call's thread. */
static void on_event(const crio_event *ev, void *payload)
{
    struct ev_queue *q = payload;
    const char *cid = crio_event_container_id(ev), *pid = crio_event_pod_id(ev);
    cid = cid ? cid : "";
    pid = pid ? pid : "";
    size_t lc = strlen(cid) + 1, lp = strlen(pid) + 1;
    struct ev_item *it = malloc(sizeof *it + lc + lp);
    if (it) {
        it->next = NULL;
        it->type = crio_event_type_get(ev);
        it->time = crio_event_time(ev);
        memcpy(it->ids, cid, lc);
        memcpy(it->ids + lc, pid, lp);
        it->pod_id = it->ids + lc;
    }
    pthread_mutex_lock(&q->mu);
    if (!it || q->n >= MAX_QUEUED) {
        q->overflow = true;
        free(it);
    } else {
        if (q->tail)
            q->tail->next = it;
        else
            q->head = it;
        q->tail = it;
        q->n++;
    }
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static int queue_init(struct ev_queue *q)
{
    *q = (struct ev_queue){ 0 };
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    /* Timed waits on the monotonic clock: a wall-clock step must not stall or spin the loop. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int r = pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (r != 0)
        return -1;
    pthread_mutex_init(&q->mu, NULL);
    return 0;
}

static void items_free(struct ev_item *it)
{
    for (struct ev_item *next; it; it = next) {
        next = it->next;
        free(it);
    }
}

static void queue_destroy(struct ev_queue *q)
{
    items_free(q->head);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

/* Takes every queued event, waiting up to POLL_NS for one; *overflow tells whether any was lost. */
static struct ev_item *queue_take(struct ev_queue *q, bool *overflow)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_nsec += POLL_NS;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->overflow)
        if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT)
            break;
    struct ev_item *batch = q->head;
    q->head = q->tail = NULL;
    q->n = 0;
    *overflow = q->overflow;
    pthread_mutex_unlock(&q->mu);
    return batch;
}

static Runtime__V1__ContainerEventType event_type(crio_event_type t)
{
    switch (t) {
    case CRIO_EVENT_CONTAINER_CREATED: return RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT;
    case CRIO_EVENT_CONTAINER_STARTED: return RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT;
    case CRIO_EVENT_CONTAINER_STOPPED: return RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT;
    default: return RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT;
    }
}

/* The event's pod id, or else the container's (kept by the arena); "" when neither is known. */
static const char *event_pod_id(cri_arena *a, crio *c, const struct ev_item *it)
{
    crio_container *ctr = NULL;
    if (*it->pod_id || !*it->ids || crio_container_get(&ctr, c, it->ids) < 0)
        return it->pod_id;
    return cri_adopt(a, ctr, cri_free_container) == 0 ? crio_container_pod_id(ctr) : "";
}

/*
 * The statuses are read now, not when the event happened: the kubelet
 * caches them as the pod's current state.  A pod or container already gone
 * (a DELETED event) is simply absent: the kubelet skips an event without a
 * pod status, and its relist catches up.
 */
static void event_statuses(cri_arena *a, crio *c, const struct ev_item *it,
                           Runtime__V1__ContainerEventResponse *resp)
{
    const char *pod_id = event_pod_id(a, c, it);
    if (!*pod_id)
        return;
    crio_pod *pod = NULL;
    if (crio_pod_get(&pod, c, pod_id) == 0 && cri_adopt(a, pod, cri_free_pod) == 0)
        resp->pod_sandbox_status = cri_pod_status_build(a, pod);
    cri_pod_container_statuses(a, c, pod_id, &resp->containers_statuses, &resp->n_containers_statuses);
}

/* Sends one event: 0, or the final gRPC status of the call. */
static int send_event(crio *c, grpc_stream_writer *w, const struct ev_item *it)
{
    cri_arena a = { 0 };
    Runtime__V1__ContainerEventResponse resp = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
    resp.container_id = (char *)it->ids;
    resp.container_event_type = event_type(it->type);
    resp.created_at = it->time;
    event_statuses(&a, c, it, &resp);
    int status = GRPC_RESOURCE_EXHAUSTED;
    size_t n = a.oom ? 0 : protobuf_c_message_get_packed_size(&resp.base);
    uint8_t *buf = a.oom ? NULL : malloc(n ? n : 1);
    if (buf) {
        protobuf_c_message_pack(&resp.base, buf);
        status = grpc_stream_send(w, buf, n) == 0 ? GRPC_OK : GRPC_CANCELLED;
        free(buf);
    }
    cri_arena_free(&a);
    return status;
}

/* Sends events until the call is over (client gone, deadline, shutdown) or events were lost. */
static int pump(crio *c, struct ev_queue *q, grpc_stream_writer *w)
{
    for (;;) {
        bool overflow;
        struct ev_item *batch = queue_take(q, &overflow);
        int status = GRPC_OK;
        for (const struct ev_item *it = batch; it && status == GRPC_OK; it = it->next)
            status = send_event(c, w, it);
        items_free(batch);
        if (status != GRPC_OK)
            return status;
        if (overflow)
            return GRPC_RESOURCE_EXHAUSTED;
        if (grpc_stream_done(w))
            return GRPC_CANCELLED;
    }
}

void cri_get_container_events(const grpc_method *m, const uint8_t *req, size_t len, grpc_stream_writer *w,
                              grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    ProtobufCMessage *in = cri_decode(&runtime__v1__get_events_request__descriptor, req, len, reply);
    if (!in)
        return;
    protobuf_c_message_free_unpacked(in, NULL); /* GetEventsRequest has no fields */
    struct ev_queue q;
    if (queue_init(&q) < 0) {
        cri_reply_status(reply, GRPC_RESOURCE_EXHAUSTED, "GetContainerEvents: cannot set up the event queue");
        return;
    }
    crio_subscription *sub = NULL;
    int e = crio_events_subscribe(&sub, cx->handle, on_event, &q);
    if (e < 0) {
        cri_reply_error(reply, e);
        queue_destroy(&q);
        return;
    }
    int status = pump(cx->handle, &q, w);
    crio_events_unsubscribe(sub); /* once it returns, on_event no longer runs: the queue can go */
    queue_destroy(&q);
    if (status == GRPC_RESOURCE_EXHAUSTED)
        cri_reply_status(reply, status, "GetContainerEvents: events were lost (the stream fell behind); relist");
    else
        reply->status = status;
}

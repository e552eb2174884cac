/*
 * crio-pause: PID 1 of a pod's shared PID namespace.  It holds the namespace
 * open, reaps the orphans the containers leave, and exits 0 on SIGINT or
 * SIGTERM.  It prints nothing.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

/* Never runs (the signals are taken by sigwaitinfo); its presence matters:
 * PID 1 of a namespace gets no signal from outside for which it has no handler. */
static void ignore(int sig)
{
    (void)sig;
}

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    struct sigaction sa = { .sa_handler = ignore };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    /* Blocked and waited for: no race between a check and a pause(). */
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (;;) {
        /* Also the first time round: a child that ended before the exec
         * into this program left a zombie and no pending SIGCHLD. */
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGINT || sig == SIGTERM)
            return 0;
    }
}

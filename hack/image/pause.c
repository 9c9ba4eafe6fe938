/* The pod sandbox's process: holds the pod's namespaces open, reaps the
 * zombies re-parented to it, and exits 0 on SIGINT or SIGTERM. Signals are
 * blocked and taken with sigwaitinfo (no handler, no race), which also
 * delivers them to a PID-namespace init. Built: gcc -static -O2 -s. */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (;;) {
    int sig = sigwaitinfo(&set, NULL);
    if (sig == SIGINT || sig == SIGTERM) return 0;
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
  }
}

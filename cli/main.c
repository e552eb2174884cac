/* crioctl: a crictl-like client for CRI runtimes.  Everything but main()
 * lives in the other cli/ files, where the unit tests can reach it. */
#include "crioctl.h"

int main(int argc, char **argv)
{
    return crioctl_main(argc, argv);
}

/* A multi-hop network of the example programs (examples/testnet.sh): a
 * validator and 15 full nodes on their own 127.x.y.z, each told of one
 * random earlier node, so most are several hops from the validator and
 * follow it only because the nodes between relay its blocks. Every node
 * must follow the validator to within one block while transactions are
 * sent to random nodes; then a quarter of the full nodes are stopped,
 * the chain moves on, they are started again and all must catch up.
 * Deadlines are generous (a loaded 2-core machine): behaviour, not speed. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void test_testnet_16(void **state)
{
    (void)state;
    const char *b = getenv("EP_BUILD");
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "sh examples/testnet.sh --build %s --nodes 16 --seconds 15 --restart --quiet 2>&1",
             b ? b : "build");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[1024];
    int ok = 0, propagation = 0, txs = 0, restarted = 0;
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        ok |= strncmp(line, "testnet: OK", 11) == 0;
        propagation |= strncmp(line, "propagation: ", 13) == 0;
        txs |= strncmp(line, "transactions: ", 14) == 0;
        restarted |= strstr(line, "starting them again") != NULL;
    }
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(ok);
    assert_true(propagation);
    assert_true(txs);
    assert_true(restarted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_testnet_16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

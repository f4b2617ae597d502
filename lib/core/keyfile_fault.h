/* Test-only fault injection for the key file writer, so that tests can make
 * each step of creating <datadir>/p2p_key fail (or race with another writer)
 * without needing a broken disk. */
#ifndef EP_CORE_KEYFILE_FAULT_H
#define EP_CORE_KEYFILE_FAULT_H

enum ep_keyfile_step {
    EP_KF_STEP_WRITE = 1, /* writing the temp file */
    EP_KF_STEP_FSYNC,     /* fsync of the temp file */
    EP_KF_STEP_LINK,      /* linking the temp file into place */
    EP_KF_STEP_DIRSYNC    /* fsync of the directory */
};

/* Called before each step with the temp file's path. A non-zero return is an
 * errno value: the step then fails as if the system call had returned it.
 * Only in the test build of the objects (-DEP_TEST_HOOKS, linked into the
 * tests as libethp2p-test.a); the shipped libraries have no such hook. */
#ifdef EP_TEST_HOOKS
extern int (*ep_keyfile_fault_hook)(int step, const char *tmp_path);
#endif
#endif

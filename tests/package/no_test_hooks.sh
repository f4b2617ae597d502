#!/bin/sh
# The shipped libraries carry none of the test-only hooks (they are compiled
# only into libethp2p-test.a, with -DEP_TEST_HOOKS): their symbols must be
# absent from every library given, hidden or not.
# Hooks the tests no longer need are listed too, so that none comes back
# (ep_handle_set_clock: tests use the public p2p_config_set_clock).
# Usage: no_test_hooks.sh LIB...
set -e
hooks='ep_keyfile_fault_hook|ep_frame_test_fixed_mac|ep_handshake_set_ephemeral|ep_handshake_replace_output|ep_handle_set_clock'
for lib in "$@"; do
    [ -e "$lib" ] || { echo "no_test_hooks: $lib does not exist" >&2; exit 1; }
    found=$(nm -A "$lib" 2>/dev/null | grep -E " ($hooks)\$" || true)
    if [ -n "$found" ]; then
        echo "no_test_hooks: test-only hooks in $lib:"
        echo "$found"
        exit 1
    fi
done
echo "no_test_hooks: none of the test hooks in $*"

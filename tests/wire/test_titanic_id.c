/* test_titanic_id: the job UUID reportctl predicts is the one the broker
 * derives — a UUID submission id kept as its digits, any other id (and a
 * body without one) hashed with its tag — and the UUID frame check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "wire/titanic_id.h"

static void test_titanic_id_uuid_submission_id_is_kept(void **state)
{
    (void)state;
    char u[33];
    titanic_id_for("6F9619FF-8B86-D011-B42D-00C04FC964FF", u);
    assert_string_equal(u, "6f9619ff8b86d011b42d00c04fc964ff");
    /* one digit short, or no dashes: not a UUID, so hashed as it was written */
    titanic_id_for("6F9619FF-8B86-D011-B42D-00C04FC964F", u);
    assert_string_equal(u, "9640dcba4469fc4c326d030aaa6023c3");
}

static void test_titanic_id_other_ids_are_hashed(void **state)
{
    (void)state;
    char u[33], v[33];
    /* SHA-256("sid:report-2024-430381"), first 32 hex digits */
    titanic_id_for("report-2024-430381", u);
    assert_string_equal(u, "b8864fde37f3e7586fbbf477ae46347a");
    titanic_id_for("report-2024-430382", v);
    assert_string_not_equal(u, v);
    titanic_id_for("6F9619FF8B86D011B42D00C04FC964FF", u);
    assert_string_equal(u, "6df411d5dd703245e4bc0c7dfdc9eada");
}

static void test_titanic_id_for_bytes(void **state)
{
    (void)state;
    char u[33];
    /* SHA-256("raw:" service NUL body) */
    titanic_id_for_bytes("report.check", "\x01\x02garbage", 9, u);
    assert_string_equal(u, "5096a78e68756f1de6fa1dd4197ce78f");
}

static void test_titanic_id_parse_frame(void **state)
{
    (void)state;
    char u[33];
    assert_int_equal(titanic_id_parse("6F9619FF8B86D011B42D00C04FC964FF", 32, u), 0);
    assert_string_equal(u, "6f9619ff8b86d011b42d00c04fc964ff");
    assert_int_equal(titanic_id_parse("6f9619ff8b86d011b42d00c04fc964f", 31, u), -1);
    assert_int_equal(titanic_id_parse("6f9619ff8b86d011b42d00c04fc964fff", 33, u), -1);
    assert_int_equal(titanic_id_parse("6f9619ff8b86d011b42d00c04fc964fg", 32, u), -1);
    /* a NUL inside the frame is no hex digit (it must not cut the UUID short) */
    assert_int_equal(titanic_id_parse("6f9619ff8b86d011\0" "2d00c04fc964ff0", 32, u), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_titanic_id_uuid_submission_id_is_kept),
        cmocka_unit_test(test_titanic_id_other_ids_are_hashed),
        cmocka_unit_test(test_titanic_id_for_bytes),
        cmocka_unit_test(test_titanic_id_parse_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

# nector_add_test_suites(<target> <prefix> [TIMEOUT <seconds>])
#
# One CTest test per GoogleTest suite of <target>, named <prefix>.<Suite> and running
# `--gtest_filter=<Suite>.*`. The suites are listed when ctest starts (as
# gtest_discover_tests' PRE_TEST mode does), so a new suite is never left out. One process
# per suite rather than per test: a sanitizer build spends about half a second starting and
# ending each process, which over hundreds of small tests was most of CI's unit-test time.
function(nector_add_test_suites target prefix)
    cmake_parse_arguments(PARSE_ARGV 2 arg "" "TIMEOUT" "")
    set(timeout 300)
    if(arg_TIMEOUT)
        set(timeout ${arg_TIMEOUT})
    endif()
    string(CONFIGURE [==[
set(exe [=[$<TARGET_FILE:@target@>]=])
execute_process(COMMAND "${exe}" --gtest_list_tests
    OUTPUT_VARIABLE listing RESULT_VARIABLE listed TIMEOUT 120)
if(NOT listed EQUAL 0)
    # The listing failed (not built, or it crashes): a test that shows why.
    add_test("@prefix@.list_tests" "${exe}" --gtest_list_tests)
    return()
endif()
string(REPLACE "\n" ";" lines "${listing}")
foreach(line IN LISTS lines)
    # A suite line is "Suite." or "Prefix/Suite." (parameterised), maybe with "  # TypeParam".
    if(line MATCHES "^([A-Za-z0-9_/]+)\\.( .*)?$")
        set(suite "${CMAKE_MATCH_1}")
        add_test("@prefix@.${suite}" "${exe}" --gtest_filter=${suite}.*)
        set_tests_properties("@prefix@.${suite}" PROPERTIES TIMEOUT @timeout@)
    endif()
endforeach()
]==] content @ONLY)
    set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake")
    file(GENERATE OUTPUT "${script}" CONTENT "${content}")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()

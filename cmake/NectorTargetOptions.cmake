# Warnings and sanitizers, applied per target (never as global flags).
function(nector_target_options target)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(${target} PRIVATE
            -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
            -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
            -Wimplicit-fallthrough
            # Designated initializers of option aggregates leave fields at their defaults
            # on purpose.
            -Wno-missing-field-initializers)
    endif()
    if(NECTOR_SANITIZE)
        target_compile_options(${target} PRIVATE -fsanitize=${NECTOR_SANITIZE} -fno-omit-frame-pointer
                                                 -fno-sanitize-recover=all)
        target_link_options(${target} PRIVATE -fsanitize=${NECTOR_SANITIZE})
        if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND NECTOR_SANITIZE MATCHES "undefined")
            # clang 14's -fsanitize=function cannot compile Asio coroutines ("Cannot
            # represent a difference across sections"); the other UBSan checks stay on.
            target_compile_options(${target} PRIVATE -fno-sanitize=function)
        endif()
    endif()
endfunction()

# Test code (the suites and their servers) is compiled without optimisation in every build
# type, and without UBSan's checks where the library has them: what is tested, the library,
# keeps its build type's flags and every sanitizer, and the test code keeps ASan and TSan
# (its accesses to the library's memory are checked). -O0 builds the suites in about two
# thirds of the time of -O3 (tests/integration/tokens_test.cpp 17.0 s against 26.5 s), and
# UBSan's checks would add half again to the ASan build's (46.7 s against 30.5 s); CI's
# time.
function(nector_test_code target)
    target_compile_options(${target} PRIVATE -O0)
    if(NECTOR_SANITIZE MATCHES "undefined")
        target_compile_options(${target} PRIVATE -fno-sanitize=undefined)
    endif()
endfunction()
